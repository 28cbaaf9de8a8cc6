"""Bazel integration of elfpatch: bind the allocator import of a linked image.

    load("//build/bazel:elfpatch.bzl", "elfpatch_image")

    elfpatch_image(
        name = "app_patched",
        src = ":app.elf",          # an image linked with elfpatch's reservation
        arena_size = "16K",
        tool = "//tools:elfpatch", # the elfpatch binary
    )

elfpatch_image is a macro over a genrule that runs elfpatch as a tool: the
tool is built (or taken, if it is a prebuilt file) for the execution
platform, whatever platform the image is for. elfpatch gives the same bytes
for the same input and flags, so the output caches and shares like any
other action's.
"""

_SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:+=/@"

def _word(what, value):
    """Returns value as a string fit for a shell command line, or fails."""
    s = str(value)
    if not s:
        fail("elfpatch_image: empty %s" % what)
    for c in s.elems():
        if c not in _SAFE:
            fail("elfpatch_image: %s %r: character %r would need shell quoting" % (what, s, c))
    return s

def elfpatch_image(
        name,
        src,
        arena_size = None,
        out = None,
        tool = "//tools:elfpatch",
        imports = [],
        pointer_base = None,
        args = [],
        **kwargs):
    """Patches the linked image src into out with elfpatch.

    Args:
      name: the target's name.
      src: the linked image (a file or a rule with one output), linked
        through linkerscripts/elfpatch-ld with ELFPATCH_PATCH=0 or by the
        README's manual flow, so it carries elfpatch's reservation.
      arena_size: the arena's size: bytes (16384), hex (0x4000) or with a
        binary suffix ("16K", "1M"); None keeps the linked size.
      out: the output file; name + ".elf" by default.
      tool: the label of the elfpatch binary: a prebuilt file exported with
        exports_files, an sh_binary, or a go_binary built from source.
      imports: more import names to bind (--import NAME each).
      pointer_base: --pointer-base SYM|ADDR, for synth's offset ABI.
      args: more elfpatch flags, words without shell metacharacters.
      **kwargs: passed to the genrule (visibility, tags, testonly, ...).
    """
    flags = []
    if arena_size != None:
        flags += ["--arena-size", _word("arena_size", arena_size)]
    for i in imports:
        flags += ["--import", _word("import", i)]
    if pointer_base != None:
        flags += ["--pointer-base", _word("pointer_base", pointer_base)]
    flags += [_word("argument", a) for a in args]
    native.genrule(
        name = name,
        srcs = [src],
        outs = [out or name + ".elf"],
        tools = [tool],
        cmd = " ".join(["$(execpath %s)" % tool] + flags + ["-o $@", "$(execpath %s)" % src]),
        message = "elfpatch %s" % name,
        **kwargs
    )

// Package linkwrap runs a user's link command with what elfpatch needs added
// to it, then patches the output: the logic behind linkerscripts/elfpatch-ld.
//
// What a link needs, whatever the command:
//
//   - linkerscripts/arena.ld, before the user's own scripts (GNU ld applies
//     an INSERT command to what comes after it);
//   - the reserve object, which brings the allocator's code slot, its state
//     word (into the user's .bss) and the arena's storage;
//   - --emit-relocs, so the image keeps the relocations elfpatch re-applies;
//   - --unresolved-symbols=ignore-all, so the link leaves the arena imports
//     undefined; elfpatch then refuses any other undefined symbol, naming it
//     and its first use, as the linker would have.
//
// A linker (GNU ld, ld.lld) gets them as they are; a compiler driver (gcc,
// clang) gets the linker options behind -Wl.
package linkwrap

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pulseengine/elfpatch/linkerscripts"
	"github.com/pulseengine/elfpatch/patcher"
)

// Config is how one wrapped link runs.
type Config struct {
	// ArenaSize is reserved at link time and given to the patch.
	ArenaSize uint64
	// SlotSize is the code slot reserved for the allocator and its
	// veneers; 0 means the default.
	SlotSize uint64
	// Patch is false for a link only: the image is left ready for a later
	// elfpatch call.
	Patch bool
	// PatchImage patches the linked image in place, or with dryRun only
	// checks that it could be patched.
	PatchImage     func(path string, dryRun bool) error
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// UsageError is a link command the wrapper cannot work with.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

type kind int

const (
	gnuLD kind = iota
	lld
	driver
)

// Run runs the link command argv with elfpatch's additions and patches its
// output. It returns the exit status to leave with: the linker's own when
// the link fails, so its messages and status come through unchanged.
func Run(argv []string, cfg Config) (int, error) {
	if len(argv) == 0 {
		return 2, &UsageError{"no link command given"}
	}
	k, err := classify(argv[0])
	if err != nil {
		return 2, err
	}
	args := argv[1:]
	if partialLink(args) {
		// A partial link (-r) keeps its undefined symbols for the final
		// link, which is the one to wrap: pass it through untouched.
		return run(argv, cfg)
	}
	out := outputPath(args)
	target, err := detectTarget(argv[0], args)
	if err != nil {
		return 2, err
	}
	obj, err := patcher.ReserveObject(patcher.ReserveOptions{
		Machine: target.machine, Class: target.class, Flags: target.flags,
		ArenaSize: cfg.ArenaSize, SlotSize: cfg.SlotSize,
	})
	if err != nil {
		return 1, err
	}
	dir, err := os.MkdirTemp("", "elfpatch-ld-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "arena.ld")
	reserve := filepath.Join(dir, "elfpatch-reserve.o")
	if err := os.WriteFile(script, linkerscripts.ArenaLD, 0o644); err != nil {
		return 1, err
	}
	if err := os.WriteFile(reserve, obj, 0o644); err != nil {
		return 1, err
	}

	// GNU ld applies arena.ld's INSERT to the scripts that follow it, so it
	// must come first. A driver puts its own -T options after the objects
	// and linker options, in front of which a user's -Wl,-T script would
	// then stand; passed as a linker option at the very front, it stays
	// first. -Xlinker rather than -Wl: a path may hold a comma.
	ldOpts := []string{"-T", script, "--emit-relocs", "--unresolved-symbols=ignore-all"}
	cmd := []string{argv[0]}
	for _, o := range ldOpts {
		if k == driver {
			cmd = append(cmd, "-Xlinker")
		}
		cmd = append(cmd, o)
	}
	cmd = append(cmd, args...)
	cmd = append(cmd, reserve)
	if code, err := run(cmd, cfg); code != 0 || err != nil {
		return code, err
	}
	// An image that cannot be patched is a failed link: like a linker, the
	// wrapper leaves no output behind, so no build system takes it for a
	// finished one. A link only still checks, for the undefined symbols
	// --unresolved-symbols=ignore-all let through.
	if err := cfg.PatchImage(out, !cfg.Patch); err != nil {
		os.Remove(out)
		return 1, err
	}
	return 0, nil
}

func run(argv []string, cfg Config) (int, error) {
	c := exec.Command(argv[0], argv[1:]...)
	c.Stdin, c.Stdout, c.Stderr = cfg.Stdin, cfg.Stdout, cfg.Stderr
	err := c.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if code := exit.ExitCode(); code > 0 {
			return code, nil
		}
		return 1, fmt.Errorf("%s: %v", argv[0], err)
	}
	if err != nil {
		return 127, fmt.Errorf("cannot run %s: %v", argv[0], err)
	}
	return 0, nil
}

// classify tells a linker from a compiler driver by its name.
func classify(argv0 string) (kind, error) {
	base := filepath.Base(argv0)
	switch {
	case strings.Contains(base, "clang"), strings.Contains(base, "gcc"), strings.Contains(base, "g++"),
		base == "cc", base == "c++", strings.HasSuffix(base, "-cc"), strings.HasSuffix(base, "-c++"):
		return driver, nil
	case strings.Contains(base, "lld"):
		return lld, nil
	case base == "ld", strings.HasSuffix(base, "-ld"), strings.HasPrefix(base, "ld."), strings.Contains(base, "-ld."):
		return gnuLD, nil
	}
	return 0, &UsageError{fmt.Sprintf("cannot tell whether %q is a linker (ld, ld.lld) or a compiler driver (gcc, clang)", argv0)}
}

func partialLink(args []string) bool {
	for _, a := range args {
		opts := []string{a}
		if strings.HasPrefix(a, "-Wl,") {
			opts = strings.Split(a[len("-Wl,"):], ",")
		}
		for _, o := range opts {
			if o == "-r" || o == "--relocatable" || o == "-Ur" {
				return true
			}
		}
	}
	return false
}

// outputPath finds where the link writes: -o FILE, -oFILE, --output=FILE,
// --output FILE; a.out without any.
func outputPath(args []string) string {
	out := "a.out"
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case (a == "-o" || a == "--output") && i+1 < len(args):
			out = args[i+1]
			i++
		case strings.HasPrefix(a, "--output="):
			out = strings.TrimPrefix(a, "--output=")
		case strings.HasPrefix(a, "-o") && len(a) > 2 && !strings.HasPrefix(a, "--"):
			out = a[2:]
		}
	}
	return out
}

type targetInfo struct {
	machine elf.Machine
	class   elf.Class
	flags   uint32
}

// detectTarget finds the machine the link is for, so that the reserve
// object matches it: from the first ELF object among the inputs (or the
// first member of an archive), else from the tool's name or a --target.
func detectTarget(tool string, args []string) (targetInfo, error) {
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		data, err := os.ReadFile(strings.TrimPrefix(a, "@"))
		if err != nil {
			continue
		}
		if t, ok := objectTarget(data); ok {
			return t, nil
		}
		if t, ok := archiveTarget(data); ok {
			return t, nil
		}
	}
	arm := targetInfo{machine: elf.EM_ARM, class: elf.ELFCLASS32, flags: eabiVer5}
	if base := filepath.Base(tool); strings.HasPrefix(base, "arm-") || strings.HasPrefix(base, "thumb") {
		return arm, nil
	}
	for i, a := range args {
		t := strings.TrimPrefix(a, "--target=")
		if a == "-target" && i+1 < len(args) {
			t = args[i+1]
		}
		if strings.HasPrefix(t, "arm") || strings.HasPrefix(t, "thumb") {
			return arm, nil
		}
	}
	return targetInfo{}, &UsageError{"cannot tell the target: no ELF object or archive among the link's inputs"}
}

// eabiVer5 is EF_ARM_EABI_VER5, what every current ARM toolchain writes.
const eabiVer5 = 0x05000000

func objectTarget(data []byte) (targetInfo, bool) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil || f.Type != elf.ET_REL {
		return targetInfo{}, false
	}
	t := targetInfo{machine: f.Machine, class: f.Class}
	if f.Class == elf.ELFCLASS32 && len(data) >= 40 {
		t.flags = f.ByteOrder.Uint32(data[36:])
	} else if len(data) >= 52 {
		t.flags = f.ByteOrder.Uint32(data[48:])
	}
	return t, true
}

// archiveTarget looks at the first ELF member of a Unix ar archive.
func archiveTarget(data []byte) (targetInfo, bool) {
	const magic = "!<arch>\n"
	if !bytes.HasPrefix(data, []byte(magic)) {
		return targetInfo{}, false
	}
	off := len(magic)
	for off+60 <= len(data) {
		hdr := data[off : off+60]
		var size int
		if _, err := fmt.Sscanf(strings.TrimSpace(string(hdr[48:58])), "%d", &size); err != nil || size < 0 || off+60+size > len(data) {
			return targetInfo{}, false
		}
		body := data[off+60 : off+60+size]
		if t, ok := objectTarget(body); ok {
			return t, true
		}
		off += 60 + size + size%2
	}
	return targetInfo{}, false
}

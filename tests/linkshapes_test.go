package tests

// Every link command shape linkerscripts/elfpatch-ld can meet, with the
// real linkers (arm-none-eabi-ld, ld.lld) and drivers (arm-none-eabi-gcc,
// clang -fuse-ld=lld) of the Cortex-M3 target: output spellings, linker
// options passed through -Wl, and -Xlinker, response files, paths with
// spaces, several scripts, partial links, failing links and commands the
// wrapper refuses. Each image the wrapper makes is verified by elfpatch and
// runs the contract program under QEMU.

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// lsTool is a linker or driver of the m3 target, run with a whole command
// line the test writes out.
type lsTool struct {
	name   string
	tool   string
	cc     compiler // whose objects it links
	prefix []string // a driver's target options
	driver bool
}

var lsTools = []lsTool{
	{"ld", toolLD, gccCompiler, nil, false},
	{"lld", toolLLD, clangCompiler, nil, false},
	{"gcc", toolGCC, gccCompiler, []string{"-mcpu=cortex-m3", "-mthumb", "-nostdlib"}, true},
	{"clang", toolClang, clangCompiler, []string{"--target=thumbv7m-none-eabi", "-mcpu=cortex-m3", "-fuse-ld=lld", "-nostdlib"}, true},
}

// command is tool, its prefix, then args.
func (lt lsTool) command(args ...string) []string {
	return append(append([]string{lt.tool}, lt.prefix...), args...)
}

// linkOpt spells linker options for lt: as they are for a linker, behind
// one -Wl, for a driver.
func (lt lsTool) linkOpt(opts ...string) []string {
	if !lt.driver {
		return opts
	}
	return []string{"-Wl," + strings.Join(opts, ",")}
}

func lsRequireTools(t *testing.T) {
	t.Helper()
	requireTools(t, toolGCC, toolClang, toolLD, toolLLD, toolQEMU)
}

// lsArena is the arena every wrapped link here reserves.
const lsArena = "8K"

// lsWrapIn runs elfpatch-ld with argv in dir, the elfpatch binary as
// ELFPATCH and env added, and TMPDIR set to a fresh directory, which it
// returns with the result so that a test can see what is left in it.
func lsWrapIn(t *testing.T, dir string, env []string, argv ...string) (elfpatchResult, string) {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	env = append([]string{"ELFPATCH=" + elfpatchPath(t), "ELFPATCH_ARENA_SIZE=" + lsArena, "TMPDIR=" + tmp}, env...)
	return lsRunIn(t, dir, env, repoPath(t, "linkerscripts/elfpatch-ld"), argv...), tmp
}

// lsMustWrapIn is lsWrapIn that fails the test unless the wrapper exits 0.
func lsMustWrapIn(t *testing.T, dir string, env []string, argv ...string) {
	t.Helper()
	if r, _ := lsWrapIn(t, dir, env, argv...); r.code != 0 {
		t.Fatalf("elfpatch-ld %s: exit %d\n%s%s", commandLine(argv[0], argv[1:]), r.code, r.stdout, r.stderr)
	}
}

// lsRunIn runs name with args in dir with env added to the environment.
func lsRunIn(t *testing.T, dir string, env []string, name string, args ...string) elfpatchResult {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return elfpatchResult{0, out.String(), errb.String()}
	case errors.As(err, &exit):
		return elfpatchResult{exit.ExitCode(), out.String(), errb.String()}
	}
	t.Fatalf("%s: %v", commandLine(name, args), err)
	return elfpatchResult{}
}

// lsRequireContract verifies a wrapped image and runs the contract on it
// with the arena the wrapper reserved. QEMU runs a copy where the path
// has a space: its semihosting command line is split at spaces.
func lsRequireContract(t *testing.T, elf string) {
	t.Helper()
	mustElfpatch(t, "verify", elf)
	if strings.ContainsAny(elf, " ") {
		plain := filepath.Join(t.TempDir(), "image.elf")
		if err := os.WriteFile(plain, readFile(t, elf), 0o755); err != nil {
			t.Fatal(err)
		}
		elf = plain
	}
	requireRun(t, elf, "contract 8192", exitPass, "PASS contract")
}

func lsCopyInto(t *testing.T, dir string, files ...string) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		dst := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(dst, readFile(t, f), 0o755); err != nil {
			t.Fatal(err)
		}
		out = append(out, dst)
	}
	return out
}

func lsWriteText(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func lsExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// The output is where the link command puts it, however it says so, and
// that is the file patched. A driver's -Wl,-o,FILE is the linker's: gcc
// passes no -o of its own without one, so FILE is written; clang for a
// bare-metal target passes its own -o (a.out without one) after the
// user's linker options, and the linker takes the last: a.out is.
func TestLinkShapesWriteWhereTheCommandSays(t *testing.T) {
	lsRequireTools(t)
	type outCase struct {
		name string
		args []string
		want string
	}
	common := []outCase{
		{"-o FILE", []string{"-o", "out/app.elf"}, "out/app.elf"},
		{"-oFILE", []string{"-oout/app.elf"}, "out/app.elf"},
		{"--output=FILE", []string{"--output=out/app.elf"}, "out/app.elf"},
		{"--output FILE", []string{"--output", "out/app.elf"}, "out/app.elf"},
		{"no -o", nil, "a.out"},
	}
	for _, lt := range lsTools {
		cases := append([]outCase{}, common...)
		switch lt.name {
		case "ld":
			cases = append(cases, outCase{"--outp=FILE", []string{"--outp=out/app.elf"}, "out/app.elf"})
		case "gcc":
			cases = append(cases,
				outCase{"-Wl,-o,FILE", []string{"-Wl,-o,out/app.elf"}, "out/app.elf"},
				outCase{"-Xlinker -o -Xlinker FILE", []string{"-Xlinker", "-o", "-Xlinker", "out/app.elf"}, "out/app.elf"})
		case "clang":
			cases = append(cases, outCase{"-Wl,-o,FILE", []string{"-Wl,-o,out/app.elf"}, "a.out"})
		}
		for _, c := range cases {
			lt, c := lt, c
			t.Run(lt.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
					t.Fatal(err)
				}
				args := append([]string{"-T", linkerScript(t, scriptMPS2)}, sharedObjects(t, lt.cc, programOptions{})...)
				lsMustWrapIn(t, dir, nil, lt.command(append(args, c.args...)...)...)
				for _, other := range []string{"out/app.elf", "a.out"} {
					if other != c.want && lsExists(filepath.Join(dir, other)) {
						t.Errorf("the link wrote %s too", other)
					}
				}
				lsRequireContract(t, filepath.Join(dir, c.want))
			})
		}
	}
}

// The user's own linker options, through -Wl, and -Xlinker for a driver,
// keep working next to the wrapper's: --emit-relocs again, --gc-sections,
// a map file, and the strict undefined-symbol options, which the
// wrapper's --unresolved-symbols=ignore-all, given after them, overrides
// (elfpatch then names any undefined symbol but the imports).
func TestLinkShapesPassLinkerOptionsThrough(t *testing.T) {
	lsRequireTools(t)
	opts := []string{"--emit-relocs", "--gc-sections", "-Map=app.map", "--no-undefined"}
	for _, lt := range lsTools {
		spellings := map[string][]string{"options": lt.linkOpt(opts...)}
		if lt.driver {
			var x []string
			for _, o := range append(opts[:2:2], "-Map", "app.map", "-z", "defs") {
				x = append(x, "-Xlinker", o)
			}
			spellings["-Xlinker"] = x
		} else {
			spellings["separate values"] = []string{"--gc-sections", "-Map", "app.map", "-z", "defs", "--emit-relocs"}
		}
		for name, spelling := range spellings {
			lt, spelling := lt, spelling
			t.Run(lt.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				args := append([]string{"-T", linkerScript(t, scriptMPS2)}, sharedObjects(t, lt.cc, programOptions{})...)
				args = append(append(args, spelling...), "-o", "app.elf")
				lsMustWrapIn(t, dir, nil, lt.command(args...)...)
				if m := string(readFile(t, filepath.Join(dir, "app.map"))); !strings.Contains(m, ".arena") {
					t.Errorf("the map file does not show the arena:\n%.2000s", m)
				}
				lsRequireContract(t, filepath.Join(dir, "app.elf"))
			})
		}
	}
}

// lsQuote quotes s for a response file in one of three ways that GNU and
// LLVM tools read alike.
func lsQuote(s string, style int) string {
	switch style % 3 {
	case 0:
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	case 1:
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return strings.NewReplacer(`\`, `\\`, " ", `\ `, "'", `\'`, `"`, `\"`).Replace(s)
}

func lsQuoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = lsQuote(s, i)
	}
	return strings.Join(q, "\n")
}

// Response files hold objects, options and the output; the wrapper finds
// the output and the target in them (ld.lld has no name to guess the
// target from), nested ones included, relative to the working directory,
// with an option at the end of a file taking the argument after it. Paths
// in them have spaces and quotes, quoted in three ways. A driver's
// linker-level response file (-Wl,@FILE) is its linker's to read; an
// -Xlinker @FILE is the driver's own.
func TestLinkShapesReadResponseFiles(t *testing.T) {
	lsRequireTools(t)
	type rspCase struct {
		name  string
		files map[string]string // relative to the working directory
		args  []string          // after the tool and its prefix
		out   string
		mapf  string // a map file the link writes, if any
		bare  bool   // args hold the driver's prefix: none is added
	}
	for _, lt := range lsTools {
		shared := sharedObjects(t, lt.cc, programOptions{})
		// The objects and the script are copied to these paths, relative
		// to the working directory.
		var objs []string
		for _, o := range shared {
			objs = append(objs, filepath.Join("objs dir", filepath.Base(o)))
		}
		script := filepath.Join("scripts dir", scriptMPS2)
		cases := []rspCase{{
			name: "everything",
			files: map[string]string{"all.rsp": strings.Join(lt.prefix, " ") + "\n-T " + lsQuote(script, 0) + "\n" +
				lsQuoteAll(objs) + "\n-o " + lsQuote("out dir/it's app.elf", 1) + "\n"},
			args: []string{"@all.rsp"}, out: "out dir/it's app.elf", bare: true,
		}, {
			name: "nested",
			files: map[string]string{
				"rsp/outer.rsp":   "@rsp/objects.rsp\n@rsp/options.rsp\n",
				"rsp/objects.rsp": lsQuoteAll(objs),
				"rsp/options.rsp": "-T " + lsQuote(script, 2) + " " + strings.Join(lt.linkOpt("--gc-sections"), " ") + " -o\n",
			},
			args: []string{"@rsp/outer.rsp", "out dir/app.elf"}, out: "out dir/app.elf",
		}}
		if lt.driver {
			cases = append(cases, rspCase{
				name:  "-Wl,@FILE",
				files: map[string]string{"ld.rsp": lsQuoteAll(objs) + "\n--gc-sections \"-Map=out dir/app.map\"\n"},
				args:  []string{"-T", script, "-Wl,@ld.rsp", "-o", "out dir/app.elf"}, out: "out dir/app.elf", mapf: "out dir/app.map",
			}, rspCase{
				// Both drivers expand every argument that begins with @,
				// an -Xlinker's value too: the file's first argument goes
				// to the linker, the rest are the driver's.
				name: "-Xlinker @FILE",
				files: map[string]string{"drv.rsp": lsQuote(objs[0], 1) + "\n-T " + lsQuote(script, 1) + "\n" +
					lsQuoteAll(objs[1:]) + "\n-o 'out dir/linked.elf'\n"},
				args: []string{"-Xlinker", "@drv.rsp"}, out: "out dir/linked.elf",
			})
		}
		for _, c := range cases {
			lt, c := lt, c
			t.Run(lt.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				lsCopyInto(t, filepath.Join(dir, "objs dir"), shared...)
				lsCopyInto(t, filepath.Join(dir, "scripts dir"), linkerScript(t, scriptMPS2))
				for name, text := range c.files {
					lsWriteText(t, filepath.Join(dir, name), text)
				}
				if err := os.MkdirAll(filepath.Join(dir, "out dir"), 0o755); err != nil {
					t.Fatal(err)
				}
				argv := lt.command(c.args...)
				if c.bare {
					argv = append([]string{lt.tool}, c.args...)
				}
				lsMustWrapIn(t, dir, nil, argv...)
				if c.mapf != "" && !lsExists(filepath.Join(dir, c.mapf)) {
					t.Errorf("no map file %s", c.mapf)
				}
				lsRequireContract(t, filepath.Join(dir, c.out))
			})
		}
	}
}

// Spaces (and commas, which -Wl, would split) in the objects' paths, the
// script's, the output's, the elfpatch binary's and the temporary
// directory's, where the wrapper writes its own script and object.
func TestLinkShapesTakePathsWithSpaces(t *testing.T) {
	lsRequireTools(t)
	bin := lsCopyInto(t, filepath.Join(t.TempDir(), "elfpatch bin"), elfpatchPath(t))[0]
	for _, lt := range lsTools {
		lt := lt
		t.Run(lt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "a dir, with comma")
			objs := lsCopyInto(t, filepath.Join(dir, "obj dir"), sharedObjects(t, lt.cc, programOptions{})...)
			script := lsCopyInto(t, filepath.Join(dir, "script dir"), linkerScript(t, scriptMPS2))[0]
			tmp := filepath.Join(dir, "tmp dir, too")
			out := filepath.Join(dir, "out dir", "app image.elf")
			for _, d := range []string{tmp, filepath.Dir(out)} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			args := append(append([]string{"-T", script}, objs...), "-o", out)
			r := lsRunIn(t, dir, []string{"ELFPATCH=" + bin, "ELFPATCH_ARENA_SIZE=" + lsArena, "TMPDIR=" + tmp},
				repoPath(t, "linkerscripts/elfpatch-ld"), lt.command(args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("left in TMPDIR: %v", left)
			}
			lsRequireContract(t, out)
		})
	}
}

// Several scripts, in every spelling of -T: arena.ld still reaches the
// linker before all of them (GNU ld applies its INSERT to what follows).
// The test script is mps2.ld split in two, MEMORY and SECTIONS, as vendor
// SDKs ship theirs.
func TestLinkShapesPutTheArenaScriptBeforeSeveral(t *testing.T) {
	lsRequireTools(t)
	text := string(readFile(t, linkerScript(t, scriptMPS2)))
	i := strings.Index(text, "SECTIONS\n{")
	if i < 0 {
		t.Fatal("mps2.ld has no SECTIONS")
	}
	dir := t.TempDir()
	memory := lsWriteText(t, filepath.Join(dir, "memory.ld"), text[:i])
	sections := lsWriteText(t, filepath.Join(dir, "sections.ld"), text[i:])
	for _, c := range []struct {
		tool    string
		scripts []string
	}{
		{"ld", []string{"-T", memory, "--script=" + sections}},
		{"ld", []string{"--script", memory, "-T" + sections}},
		{"lld", []string{"--script", memory, "-T" + sections}},
		{"lld", []string{"-T", memory, "--script=" + sections}},
		{"gcc", []string{"-Wl,--script," + memory, "-T", sections}},
		{"gcc", []string{"-T", memory, "-Xlinker", "--script=" + sections}},
		{"clang", []string{"-Xlinker", "--script=" + memory, "-Wl,-T," + sections}},
		{"clang", []string{"-T", memory, "-T", sections}},
		{"clang", []string{"-Wl,--script," + memory + ",--script," + sections}},
	} {
		var lt lsTool
		for _, l := range lsTools {
			if l.name == c.tool {
				lt = l
			}
		}
		c := c
		t.Run(c.tool+"/"+strings.Join(c.scripts, " "), func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "app.elf")
			args := append(append(append([]string{}, c.scripts...), sharedObjects(t, lt.cc, programOptions{})...), "-o", out)
			lsMustWrapIn(t, t.TempDir(), nil, lt.command(args...)...)
			lsRequireContract(t, out)
		})
	}
}

// A partial link passes through untouched by default, byte for byte what
// the linker alone writes, and its object then links through the wrapper
// like any other. With ELFPATCH_PARTIAL=patch its object gets the
// allocator and an arena of ELFPATCH_ARENA_SIZE, and a plain final link,
// without the wrapper, makes an image that keeps the contract and traps
// one byte past the arena.
func TestLinkShapesPartialLinksPassThroughOrArePatched(t *testing.T) {
	lsRequireTools(t)
	partial := map[string][]string{"ld": {"-r"}, "lld": {"--relocatable"}, "gcc": {"-Wl,-r"}, "clang": {"-r"}}
	for _, lt := range lsTools {
		lt := lt
		t.Run(lt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			objs := sharedObjects(t, lt.cc, programOptions{})
			script := linkerScript(t, scriptMPS2)
			link := func(out string) []string {
				return lt.command(append(append(append([]string{}, partial[lt.name]...), objs...), "-o", out)...)
			}
			direct := link(filepath.Join(dir, "direct.o"))
			if r := lsRunIn(t, dir, nil, direct[0], direct[1:]...); r.code != 0 {
				t.Fatalf("%s: exit %d\n%s", commandLine(direct[0], direct[1:]), r.code, r.stderr)
			}

			passed := filepath.Join(dir, "passed.o")
			lsMustWrapIn(t, dir, nil, link(passed)...)
			if !sameFile(t, passed, filepath.Join(dir, "direct.o")) {
				t.Fatal("the passed-through partial link differs from the linker's own")
			}
			final := filepath.Join(dir, "final.elf")
			lsMustWrapIn(t, dir, nil, lt.command("-T", script, passed, "-o", final)...)
			lsRequireContract(t, final)

			patched := filepath.Join(dir, "patched.o")
			lsMustWrapIn(t, dir, []string{"ELFPATCH_PARTIAL=patch"}, link(patched)...)
			mustElfpatch(t, "verify", patched)
			plain := filepath.Join(dir, "plain.elf")
			cmd := lt.command("-T", script, patched, "-o", plain)
			if r := lsRunIn(t, dir, nil, cmd[0], cmd[1:]...); r.code != 0 {
				t.Fatalf("%s: exit %d\n%s", commandLine(cmd[0], cmd[1:]), r.code, r.stderr)
			}
			requireRun(t, plain, "contract 8192", exitPass, "PASS contract")
			requireRun(t, plain, "fill 8192", exitHardFault, "filled", "HARDFAULT")
		})
	}
}

// A failing link's status, standard output and standard error are the
// linker's, byte for byte, as the same command run without the wrapper
// gives them, and neither the output nor any temporary file is left. The
// program here brings its own allocator, so that the command alone has no
// undefined symbol the wrapper's additions would hide.
func TestLinkShapesFailuresComeThroughUnchanged(t *testing.T) {
	lsRequireTools(t)
	for _, lt := range lsTools {
		for _, c := range []struct {
			name string
			args func(t *testing.T, dir string, objs []string) []string
		}{
			{"missing input", func(t *testing.T, dir string, objs []string) []string {
				return append(append([]string{"-T", linkerScript(t, scriptMPS2)}, objs...), "missing.o")
			}},
			{"only a missing input", func(t *testing.T, dir string, objs []string) []string {
				return []string{"-T", linkerScript(t, scriptMPS2), "missing.o"}
			}},
			{"duplicate symbols", func(t *testing.T, dir string, objs []string) []string {
				return append(append([]string{"-T", linkerScript(t, scriptMPS2)}, objs...), objs...)
			}},
			{"broken script", func(t *testing.T, dir string, objs []string) []string {
				return append([]string{"-T", lsWriteText(t, filepath.Join(dir, "bad.ld"), "SECTIONS\n{\n  .text : { *(.text*) \n")}, objs...)
			}},
		} {
			lt, c := lt, c
			t.Run(lt.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				objs := sharedObjects(t, lt.cc, programOptions{RefArenaSize: 8192})
				argv := lt.command(append(c.args(t, dir, objs), "-o", "app.elf")...)
				tmp := filepath.Join(t.TempDir(), "tmp")
				if err := os.Mkdir(tmp, 0o755); err != nil {
					t.Fatal(err)
				}
				want := lsRunIn(t, dir, []string{"TMPDIR=" + tmp}, argv[0], argv[1:]...)
				if want.code == 0 {
					t.Fatalf("%s succeeded", commandLine(argv[0], argv[1:]))
				}
				got, wrapTmp := lsWrapIn(t, dir, nil, argv...)
				if got != want {
					t.Errorf("through the wrapper: exit %d\nstdout %q\nstderr %q\nthe linker alone: exit %d\nstdout %q\nstderr %q",
						got.code, got.stdout, got.stderr, want.code, want.stdout, want.stderr)
				}
				if left, _ := os.ReadDir(wrapTmp); len(left) != 0 {
					t.Errorf("left in TMPDIR: %v", left)
				}
				if left, _ := os.ReadDir(dir); len(left) > 1 || len(left) == 1 && left[0].Name() != "bad.ld" {
					t.Errorf("left beside the output: %v", left)
				}
			})
		}
	}
}

// A wrapper given nothing to run, a tool it does not know or cannot find,
// or no elfpatch binary says so, naming itself and the command, and exits
// 2; so does elfpatch link.
func TestLinkShapesTheWrapperRefusesClearly(t *testing.T) {
	requireTools(t, toolLD)
	wrapper := repoPath(t, "linkerscripts/elfpatch-ld")
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		env  []string
		cmd  []string
		want []string
	}{
		{"no command", nil, []string{wrapper},
			[]string{"elfpatch-ld: no link command given\n", "usage: elfpatch-ld LINK-COMMAND...\n"}},
		{"elfpatch link, no command", nil, []string{elfpatchPath(t), "link", "--"},
			[]string{"elfpatch-ld: no link command given\n", "usage: elfpatch-ld LINK-COMMAND...\n"}},
		{"unknown tool", nil, []string{wrapper, "make", "app.elf"},
			[]string{"elfpatch-ld: make: not a linker (ld, ld.bfd, ld.lld, TRIPLE-ld) or a compiler driver"}},
		{"missing tool", nil, []string{wrapper, "arm-none-eabi-nosuch-ld", "a.o"},
			[]string{"elfpatch-ld: arm-none-eabi-nosuch-ld: no such linker or compiler driver: not found in PATH\n"}},
		{"missing elfpatch", []string{"ELFPATCH=" + filepath.Join(dir, "no such dir", "elfpatch")}, []string{wrapper, toolLD, "a.o"},
			[]string{"elfpatch-ld: cannot run '" + filepath.Join(dir, "no such dir", "elfpatch") + "': set ELFPATCH"}},
		{"elfpatch not on PATH", []string{"ELFPATCH=elfpatch-not-on-path"}, []string{wrapper, toolLD, "a.o"},
			[]string{"elfpatch-ld: cannot run 'elfpatch-not-on-path'"}},
		{"bad ELFPATCH_PARTIAL", []string{"ELFPATCH_PARTIAL=always"}, []string{wrapper, toolLD, "-r", "a.o"},
			[]string{"elfpatch-ld: ELFPATCH_PARTIAL=always: want pass (the default) or patch\n"}},
	} {
		env := append([]string{"ELFPATCH=" + elfpatchPath(t)}, c.env...)
		r := lsRunIn(t, dir, env, c.cmd[0], c.cmd[1:]...)
		if r.code != 2 || r.stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", c.name, r.code, r.stdout, r.stderr)
			continue
		}
		rest := r.stderr
		for _, w := range c.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: stderr lacks %q:\n%s", c.name, w, r.stderr)
				break
			}
			rest = rest[i+len(w):]
		}
	}
}

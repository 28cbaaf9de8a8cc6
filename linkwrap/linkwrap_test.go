package linkwrap

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestTokenizeFollowsEachToolsQuoting(t *testing.T) {
	for _, c := range []struct {
		text      string
		gnu, llvm []string
	}{
		{"a.o  b.o\n\t-o app.elf\n", []string{"a.o", "b.o", "-o", "app.elf"}, nil},
		{`"dir with space/a.o" 'x y.ld'`, []string{"dir with space/a.o", "x y.ld"}, nil},
		{`dir\ with\ space/a.o`, []string{"dir with space/a.o"}, nil},
		{`'a\'b.o' c\\d.o "e\"f.o"`, []string{"a'b.o", `c\d.o`, `e"f.o`}, nil},
		{`pre"fix mid"post`, []string{"prefix midpost"}, nil},
		{`'it''s'`, []string{"its"}, nil},
		// GNU keeps an empty argument, LLVM drops it.
		{`'' a.o ""`, []string{"", "a.o", ""}, []string{"a.o"}},
		// GNU drops a backslash that ends the file, LLVM keeps it.
		{`a.o\`, []string{"a.o"}, []string{`a.o\`}},
		{"\uFEFFa.o", []string{"\uFEFFa.o"}, []string{"a.o"}},
		{"  \n ", nil, nil},
		{"-Wl,-T,x.ld\r\n-o\r\nout.elf\r\n", []string{"-Wl,-T,x.ld", "-o", "out.elf"}, nil},
	} {
		if c.llvm == nil {
			c.llvm = c.gnu
		}
		if got := tokenize(c.text, gnuQuoting); !slices.Equal(got, c.gnu) {
			t.Errorf("GNU tokenize(%q) = %q, want %q", c.text, got, c.gnu)
		}
		if got := tokenize(c.text, llvmQuoting); !slices.Equal(got, c.llvm) {
			t.Errorf("LLVM tokenize(%q) = %q, want %q", c.text, got, c.llvm)
		}
	}
}

// writeFiles writes name -> content under dir and returns dir.
func writeFiles(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Nested response files are relative to the working directory, as GNU
// ld, gcc, ld.lld 14 and clang 14 read them; beside the including file
// only where the working directory has none.
func TestResponseFilesExpandInPlaceAndNest(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"outer.rsp":         "first @sub/inner.rsp last",
		"sub/inner.rsp":     "@nested.rsp @only-here.rsp",
		"nested.rsp":        "from-cwd",
		"sub/nested.rsp":    "from-sub",
		"sub/only-here.rsp": "beside",
		"tail.rsp":          "-o",
		"loop.rsp":          "x @loop.rsp",
	})
	t.Chdir(dir)
	for _, c := range []struct {
		args, want []string
	}{
		{[]string{"@outer.rsp", "z"}, []string{"first", "from-cwd", "beside", "last", "z"}},
		// An option at the end of a file takes the argument after @FILE.
		{[]string{"@tail.rsp", "app.elf"}, []string{"-o", "app.elf"}},
		// Unreadable, missing or cyclic: left as it is, for the tool to
		// report.
		{[]string{"@missing.rsp", "@", "@sub"}, []string{"@missing.rsp", "@", "@sub"}},
		{[]string{"@loop.rsp"}, []string{"x", "@loop.rsp"}},
	} {
		for _, q := range []quoting{gnuQuoting, llvmQuoting} {
			if got := expandResponseFiles(c.args, q); !slices.Equal(got, c.want) {
				t.Errorf("expandResponseFiles(%q, %v) = %q, want %q", c.args, q, got, c.want)
			}
		}
	}
}

func TestOutputIsFoundInEveryForm(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"out.rsp":    "a.o -o 'dir with space/rsp.elf'",
		"ld-out.rsp": "--output=linker.elf",
		"drv.rsp":    "-Wl,-o,from-wl.elf -o driver.elf",
	})
	t.Chdir(dir)
	for _, c := range []struct {
		k    kind
		args []string
		want []string
	}{
		{gnuLD, []string{"a.o", "-o", "app.elf"}, []string{"app.elf"}},
		{gnuLD, []string{"-oapp.elf", "a.o"}, []string{"app.elf"}},
		{lld, []string{"--output=app.elf", "a.o"}, []string{"app.elf"}},
		{lld, []string{"--output", "app.elf", "a.o"}, []string{"app.elf"}},
		{gnuLD, []string{"--outp=app.elf"}, []string{"app.elf"}},
		{gnuLD, []string{"--outpu", "app.elf"}, []string{"app.elf"}},
		// --out and --ou are GNU ld's --out-implib; -output=X is -o utput=X.
		{gnuLD, []string{"--out", "lib.a", "a.o"}, []string{"a.out"}},
		{lld, []string{"-output=x.elf"}, []string{"utput=x.elf"}},
		{gnuLD, []string{"-omagic"}, []string{"magic"}},
		{gnuLD, []string{"a.o", "-o", "dir with space/app.elf"}, []string{"dir with space/app.elf"}},
		{gnuLD, []string{"a.o"}, []string{"a.out"}},
		{lld, []string{"-o", "first.elf", "-o", "last.elf"}, []string{"last.elf"}},
		{gnuLD, []string{"-Map", "-o", "a.o"}, []string{"a.out"}}, // -Map's value is a file named -o
		{gnuLD, []string{"@out.rsp"}, []string{"dir with space/rsp.elf"}},
		{lld, []string{"a.o", "@ld-out.rsp"}, []string{"linker.elf"}},
		{gccDriver, []string{"a.o", "-o", "app.elf"}, []string{"app.elf"}},
		{gccDriver, []string{"a.o", "-oapp.elf"}, []string{"app.elf"}},
		{clangDriver, []string{"a.o", "--output=app.elf"}, []string{"app.elf"}},
		{clangDriver, []string{"a.o", "--output", "app.elf"}, []string{"app.elf"}},
		{gccDriver, []string{"a.o"}, []string{"a.out"}},
		{clangDriver, []string{"a.o"}, []string{"a.out"}},
		// gcc passes no -o of its own without one: the linker's is it.
		{gccDriver, []string{"a.o", "-Wl,-o,wl.elf"}, []string{"wl.elf"}},
		{gccDriver, []string{"a.o", "-Xlinker", "--output=xl.elf"}, []string{"xl.elf"}},
		{gccDriver, []string{"a.o", "-Xlinker", "-o", "-Xlinker", "xl.elf"}, []string{"xl.elf"}},
		// clang passes -o a.out without one; which one the linker takes
		// depends on the target: both are candidates.
		{clangDriver, []string{"a.o", "-Wl,-o,wl.elf"}, []string{"wl.elf", "a.out"}},
		{gccDriver, []string{"-o", "drv.elf", "a.o", "-Wl,--output=wl.elf"}, []string{"wl.elf", "drv.elf"}},
		{gccDriver, []string{"@drv.rsp"}, []string{"from-wl.elf", "driver.elf"}},
		{clangDriver, []string{"a.o", "-Wl,@ld-out.rsp", "-o", "linker.elf"}, []string{"linker.elf"}},
	} {
		if got := readCommand(c.k, c.args).outputs; !slices.Equal(got, c.want) {
			t.Errorf("kind %d, %q: outputs %q, want %q", c.k, c.args, got, c.want)
		}
	}
}

func TestPartialLinksAreRecognised(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"r.rsp": "a.o\n-r\n-o part.o"})
	t.Chdir(dir)
	for _, c := range []struct {
		k    kind
		args []string
	}{
		{gnuLD, []string{"-r", "a.o"}}, {lld, []string{"--relocatable"}}, {lld, []string{"-relocatable"}},
		{gnuLD, []string{"-Ur"}}, {gnuLD, []string{"-i"}}, {gnuLD, []string{"--reloc"}},
		{gnuLD, []string{"@r.rsp"}},
		{gccDriver, []string{"-r", "a.o"}}, {gccDriver, []string{"-Wl,-r", "a.o"}},
		{clangDriver, []string{"-Wl,--gc-sections,-r"}}, {clangDriver, []string{"-Xlinker", "--relocatable"}},
		{gccDriver, []string{"@r.rsp"}},
	} {
		if !readCommand(c.k, c.args).partial {
			t.Errorf("kind %d, %q: not taken for a partial link", c.k, c.args)
		}
	}
	for _, c := range []struct {
		k    kind
		args []string
	}{
		{gnuLD, []string{"-rpath", "x", "-relax", "--rel", "a.o"}},
		{gccDriver, []string{"-Wl,-rpath,x", "-Wl,-Map,-r"}},
		{gnuLD, []string{"-Map", "-r"}},
	} {
		if readCommand(c.k, c.args).partial {
			t.Errorf("kind %d, %q: taken for a partial link", c.k, c.args)
		}
	}
}

func TestInputsSkipOptionValues(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{"in.rsp": "-T app.ld \"my obj.o\""})
	t.Chdir(dir)
	for _, c := range []struct {
		k          kind
		args, want []string
	}{
		{gnuLD, []string{"-Map", "m.map", "-T", "a.ld", "-e", "start", "-L", "lib", "-lc", "a.o", "-o", "x", "b.o"}, []string{"a.o", "b.o"}},
		{lld, []string{"--script", "s.ld", "--defsym", "x=1", "-z", "max-page-size=4", "@in.rsp", "c.o"}, []string{"my obj.o", "c.o"}},
		{gccDriver, []string{"-x", "c", "-I", "inc", "main.c", "-Wl,-Map,m.map", "-Xlinker", "x.o", "-T", "s.ld", "y.o", "-o", "out"}, []string{"main.c", "x.o", "y.o"}},
		{clangDriver, []string{"-target", "thumbv7m-none-eabi", "a.o", "--", "-weird.o", "b.o"}, []string{"a.o", "b.o"}},
	} {
		if got := readCommand(c.k, c.args).inputs; !slices.Equal(got, c.want) {
			t.Errorf("kind %d, %q: inputs %q, want %q", c.k, c.args, got, c.want)
		}
	}
}

func TestClassifyTellsLinkersFromDrivers(t *testing.T) {
	for name, want := range map[string]kind{
		"arm-none-eabi-ld": gnuLD, "/usr/bin/ld": gnuLD, "ld.bfd": gnuLD, "arm-none-eabi-ld.bfd": gnuLD,
		"ld.lld": lld, "ld.lld-14": lld,
		"arm-none-eabi-gcc": gccDriver, "/opt/x/bin/arm-none-eabi-g++": gccDriver, "cc": gccDriver,
		"clang": clangDriver, "clang-14": clangDriver, "clang++": clangDriver,
	} {
		if got, err := classify(name); err != nil || got != want {
			t.Errorf("classify(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	if _, err := classify("make"); err == nil || !strings.Contains(err.Error(), "make: not a linker") {
		t.Errorf("classify(make): %v", err)
	}
}

func TestTargetComesFromTheFirstObjectOrArchiveMember(t *testing.T) {
	dir := t.TempDir()
	obj := minimalObject(elf.EM_ARM, 0x05000400)
	ar := []byte("!<arch>\n")
	ar = append(ar, "/               0           0     0     0       4         `\n\x00\x00\x00\x00"...)
	ar = append(ar, "a.o/            0           0     0     644     52        `\n"...)
	ar = append(ar, obj...)
	writeFiles(t, dir, map[string]string{
		"a.o": string(obj), "liba.a": string(ar), "notes.txt": "not ELF",
		"objs.rsp": "notes.txt 'a.o'",
		"exec.o":   string(minimalELF(elf.EM_RISCV, elf.ET_EXEC, 0)),
	})
	t.Chdir(dir)
	for _, args := range [][]string{
		{"-T", "missing.ld", "notes.txt", "a.o"},
		{"liba.a"},
		{"@objs.rsp"},
		{"exec.o", "a.o"}, // an ET_EXEC is no target
	} {
		got, err := detectTarget(lld, "ld.lld", readCommand(lld, args))
		if err != nil || got.machine != elf.EM_ARM || got.flags != 0x05000400 {
			t.Errorf("detectTarget(%q) = %+v, %v", args, got, err)
		}
	}
	if got, err := detectTarget(clangDriver, "clang", readCommand(clangDriver, []string{"--target=thumbv7m-none-eabi", "main.c"})); err != nil || got.machine != elf.EM_ARM {
		t.Errorf("from --target: %+v, %v", got, err)
	}
	if got, err := detectTarget(gccDriver, "arm-none-eabi-gcc", readCommand(gccDriver, []string{"main.c"})); err != nil || got.machine != elf.EM_ARM {
		t.Errorf("from the tool's name: %+v, %v", got, err)
	}
	if _, err := detectTarget(lld, "ld.lld", readCommand(lld, []string{"missing.o"})); err == nil {
		t.Error("a target was found in no input at all")
	}
}

func TestAdditionsGoAroundTheUsersArguments(t *testing.T) {
	for _, c := range []struct {
		k    kind
		argv []string
		want []string
	}{
		{gnuLD, []string{"ld", "-T", "app.ld", "a.o", "-o", "x"},
			[]string{"ld", "-T", "S", "-T", "app.ld", "a.o", "-o", "x", "R", "--emit-relocs", "--unresolved-symbols=ignore-all"}},
		{gccDriver, []string{"gcc", "@args", "-o", "x"},
			[]string{"gcc", "-Xlinker", "-T", "-Xlinker", "S", "@args", "-o", "x", "-Xlinker", "R", "-Xlinker", "--emit-relocs", "-Xlinker", "--unresolved-symbols=ignore-all"}},
		{clangDriver, []string{"clang", "-o", "x", "--", "a.o"},
			[]string{"clang", "-Xlinker", "-T", "-Xlinker", "S", "-o", "x", "-Xlinker", "R", "-Xlinker", "--emit-relocs", "-Xlinker", "--unresolved-symbols=ignore-all", "--", "a.o"}},
	} {
		c2 := readCommand(c.k, c.argv[1:])
		if got := wrappedCommand(c.k, c.argv, c2.dashdash, "S", "R"); !slices.Equal(got, c.want) {
			t.Errorf("wrappedCommand(%q) =\n  %q\nwant\n  %q", c.argv, got, c.want)
		}
	}
	if got := wrappedCommand(lld, []string{"ld.lld", "a.o"}, -1, "S", ""); slices.Contains(got, "") {
		t.Errorf("without a reserve object: %q", got)
	}
}

func TestPartialSettingIsPassOrPatch(t *testing.T) {
	for s, want := range map[string]Partial{"": PartialPass, "pass": PartialPass, "patch": PartialPatch} {
		if got, err := ParsePartial(s); err != nil || got != want {
			t.Errorf("ParsePartial(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParsePartial("yes"); err == nil || !strings.Contains(err.Error(), "ELFPATCH_PARTIAL=yes") {
		t.Errorf("ParsePartial(yes): %v", err)
	}
}

func TestTheWrittenOutputIsTheNewOne(t *testing.T) {
	dir := t.TempDir()
	stale, fresh := filepath.Join(dir, "a.out"), filepath.Join(dir, "app.elf")
	writeFiles(t, dir, map[string]string{"a.out": "old"})
	before := snapshot([]string{fresh, stale})
	if _, err := writtenOutput("clang", []string{fresh, stale}, before); err == nil {
		t.Error("an output was found before the link wrote any")
	}
	writeFiles(t, dir, map[string]string{"app.elf": "new"})
	if got, err := writtenOutput("clang", []string{fresh, stale}, before); err != nil || got != fresh {
		t.Errorf("writtenOutput = %q, %v; want %q", got, err, fresh)
	}
	before = snapshot([]string{fresh, stale})
	os.Remove(stale)
	writeFiles(t, dir, map[string]string{"a.out": "replaced"})
	if got, err := writtenOutput("clang", []string{fresh, stale}, before); err != nil || got != stale {
		t.Errorf("writtenOutput = %q, %v; want %q", got, err, stale)
	}
}

// fakeTool writes an executable shell script named name into a new
// directory that it puts first in PATH. The script records its arguments,
// one a line, in $FAKE_LOG, writes "linked" to the last -o FILE (or
// a.out), and runs body.
func fakeTool(t *testing.T, name, body string) (log string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("fake tools are shell scripts")
	}
	dir := t.TempDir()
	log = filepath.Join(dir, "log")
	script := `#!/bin/sh
out=a.out
prev=
for a in "$@"; do
	printf '%s\n' "$a" >> "$FAKE_LOG"
	[ "$prev" = -o ] && out=$a
	prev=$a
done
` + body + `
echo linked > "$out"
`
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_LOG", log)
	return log
}

type wrapRun struct {
	code                int
	stdout, stderr      string
	patched, objects    []string
	dryRun              bool
	tmpLeft             []string
	patchErr, objectErr error
}

// wrap runs Run with fake patches and TMPDIR set to a fresh directory,
// and reports what is left in it.
func wrap(t *testing.T, cfg Config, patchErr, objectErr error, argv ...string) wrapRun {
	t.Helper()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var r wrapRun
	var out, errb bytes.Buffer
	cfg.Stdout, cfg.Stderr = &out, &errb
	cfg.PatchImage = func(path string, dryRun bool) error {
		r.patched = append(r.patched, path)
		r.dryRun = dryRun
		return patchErr
	}
	cfg.PatchObject = func(path string) error {
		r.objects = append(r.objects, path)
		return objectErr
	}
	r.code = Run(argv, cfg)
	r.stdout, r.stderr = out.String(), errb.String()
	left, _ := os.ReadDir(tmp)
	for _, e := range left {
		r.tmpLeft = append(r.tmpLeft, e.Name())
	}
	return r
}

func armObjectIn(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "a.o")
	if err := os.WriteFile(p, minimalObject(elf.EM_ARM, eabiVer5), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestAWrappedLinkGetsTheAdditionsAndIsPatched(t *testing.T) {
	log := fakeTool(t, "fake-ld", "")
	dir := t.TempDir()
	obj := armObjectIn(t, dir)
	out := filepath.Join(dir, "app.elf")
	r := wrap(t, Config{ArenaSize: 4096, Patch: true}, nil, nil, "fake-ld", obj, "-o", out)
	if r.code != 0 || r.stderr != "" || !slices.Equal(r.patched, []string{out}) || r.dryRun {
		t.Fatalf("%+v", r)
	}
	args := readLines(t, log)
	if len(args) != 8 || args[0] != "-T" || filepath.Base(args[1]) != "arena.ld" || args[2] != obj ||
		filepath.Base(args[5]) != "elfpatch-reserve.o" || args[6] != "--emit-relocs" {
		t.Errorf("the linker got %q", args)
	}
	if len(r.tmpLeft) != 0 {
		t.Errorf("left in TMPDIR: %q", r.tmpLeft)
	}
}

// A failing link exits with the linker's status; what it printed comes
// through byte for byte and the wrapper adds nothing, nor leaves anything.
func TestAFailingLinkComesThroughUnchanged(t *testing.T) {
	fakeTool(t, "fake-ld", `printf 'out \000 bytes\n'; printf 'fake-ld: error: it failed\n' >&2; exit 3`)
	dir := t.TempDir()
	obj := armObjectIn(t, dir)
	r := wrap(t, Config{Patch: true}, nil, nil, "fake-ld", obj, "-o", filepath.Join(dir, "app.elf"))
	if r.code != 3 || r.stdout != "out \x00 bytes\n" || r.stderr != "fake-ld: error: it failed\n" || r.patched != nil {
		t.Errorf("%+v", r)
	}
	if len(r.tmpLeft) != 0 {
		t.Errorf("left in TMPDIR: %q", r.tmpLeft)
	}
}

func TestARefusedImageIsRemoved(t *testing.T) {
	fakeTool(t, "fake-ld", "")
	dir := t.TempDir()
	obj := armObjectIn(t, dir)
	out := filepath.Join(dir, "app.elf")
	for _, patch := range []bool{true, false} {
		r := wrap(t, Config{Patch: patch}, errors.New("app.elf: .text+0x4: undefined symbol\nsecond line"), nil, "fake-ld", obj, "-o", out)
		if r.code != 1 || r.stderr != "elfpatch-ld: app.elf: .text+0x4: undefined symbol\nelfpatch-ld: second line\n" || r.dryRun == patch {
			t.Errorf("Patch %v: %+v", patch, r)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("Patch %v: the refused image is left", patch)
		}
	}
}

func TestPartialLinksPassThroughOrArePatched(t *testing.T) {
	log := fakeTool(t, "fake-ld", "")
	dir := t.TempDir()
	obj := armObjectIn(t, dir)
	out := filepath.Join(dir, "part.o")
	r := wrap(t, Config{Patch: true}, nil, nil, "fake-ld", "-r", obj, "-o", out)
	if r.code != 0 || r.patched != nil || r.objects != nil {
		t.Errorf("pass: %+v", r)
	}
	if args := readLines(t, log); !slices.Equal(args, []string{"-r", obj, "-o", out}) {
		t.Errorf("pass: the linker got %q", args)
	}
	r = wrap(t, Config{Patch: true, Partial: PartialPatch}, nil, nil, "fake-ld", "-r", obj, "-o", out)
	if r.code != 0 || r.patched != nil || !slices.Equal(r.objects, []string{out}) {
		t.Errorf("patch: %+v", r)
	}
	r = wrap(t, Config{Patch: false, Partial: PartialPatch}, nil, nil, "fake-ld", "-r", obj, "-o", out)
	if r.code != 0 || r.objects != nil {
		t.Errorf("patch, link only: %+v", r)
	}
	r = wrap(t, Config{Patch: true, Partial: PartialPatch}, nil, errors.New("part.o: refused"), "fake-ld", "-r", obj, "-o", out)
	if r.code != 1 || r.stderr != "elfpatch-ld: part.o: refused\n" {
		t.Errorf("patch refused: %+v", r)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("the refused object is left")
	}
}

// Without a target there is no reserve object; the link still runs, so
// that its own failure is what the user sees.
func TestWithoutATargetTheLinksOwnFailureComesFirst(t *testing.T) {
	fakeTool(t, "fake-ld", `[ -n "$FAIL" ] && { echo "fake-ld: cannot open missing.o" >&2; exit 1; }`)
	out := filepath.Join(t.TempDir(), "app.elf")
	t.Setenv("FAIL", "1")
	r := wrap(t, Config{Patch: true}, nil, nil, "fake-ld", "missing.o", "-o", out)
	if r.code != 1 || r.stderr != "fake-ld: cannot open missing.o\n" {
		t.Errorf("failing: %+v", r)
	}
	t.Setenv("FAIL", "")
	r = wrap(t, Config{Patch: true}, nil, nil, "fake-ld", "missing.o", "-o", out)
	if r.code != 2 || !strings.HasPrefix(r.stderr, "elfpatch-ld: fake-ld: cannot tell the target") || r.patched != nil {
		t.Errorf("succeeding: %+v", r)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("the unpatched image is left")
	}
}

func TestCommandsTheWrapperCannotRunAreUsageErrors(t *testing.T) {
	fakeTool(t, "fake-ld", "")
	for _, c := range []struct {
		argv []string
		want string
	}{
		{nil, "elfpatch-ld: no link command given\nusage: elfpatch-ld LINK-COMMAND...\n"},
		{[]string{"make", "all"}, "elfpatch-ld: make: not a linker"},
		{[]string{"arm-nosuch-ld", "a.o"}, "elfpatch-ld: arm-nosuch-ld: no such linker or compiler driver: not found in PATH\n"},
		{[]string{"/nonexistent/bin/ld.lld", "a.o"}, "elfpatch-ld: /nonexistent/bin/ld.lld: no such linker or compiler driver"},
	} {
		r := wrap(t, Config{Patch: true}, nil, nil, c.argv...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, c.want) || r.stdout != "" {
			t.Errorf("%q: %+v", c.argv, r)
		}
	}
}

// minimalObject is an ELF32 little-endian ET_REL header with no sections.
func minimalObject(m elf.Machine, flags uint32) []byte {
	return minimalELF(m, elf.ET_REL, flags)
}

func minimalELF(m elf.Machine, typ elf.Type, flags uint32) []byte {
	b := make([]byte, 52)
	copy(b, elf.ELFMAG)
	b[4], b[5], b[6] = byte(elf.ELFCLASS32), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	le := func(off int, v uint32, n int) {
		for i := 0; i < n; i++ {
			b[off+i] = byte(v >> (8 * i))
		}
	}
	le(16, uint32(typ), 2)
	le(18, uint32(m), 2)
	le(20, 1, 4)
	le(36, flags, 4)
	le(40, 52, 2)
	le(46, 40, 2)
	return b
}

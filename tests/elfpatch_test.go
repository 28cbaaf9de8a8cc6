package tests

// End-to-end tests of elfpatch on Cortex-M3 images: the contract program
// (common/contract.c, built for the m3 target) is compiled with gcc and clang
// WITHOUT an allocator, linked by every link command shape through
// linkerscripts/elfpatch-ld (or by hand with linkerscripts/arena.ld),
// patched by elfpatch, and run under qemu-system-arm, where it asserts the
// allocator contract itself.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
)

var (
	elfpatchOnce sync.Once
	elfpatchBin  string
	elfpatchErr  error
)

// elfpatchPath builds cmd/elfpatch once for the whole test binary.
func elfpatchPath(t testing.TB) string {
	t.Helper()
	elfpatchOnce.Do(func() {
		elfpatchBin = filepath.Join(sharedDir, "elfpatch")
		out, err := exec.Command("go", "build", "-o", elfpatchBin, "../cmd/elfpatch").CombinedOutput()
		if err != nil {
			elfpatchErr = errors.New(string(out))
		}
	})
	if elfpatchErr != nil {
		t.Fatalf("go build ./cmd/elfpatch: %v", elfpatchErr)
	}
	return elfpatchBin
}

func repoPath(t testing.TB, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// elfpatchResult is how one elfpatch run ended.
type elfpatchResult struct {
	code           int
	stdout, stderr string
}

// runElfpatch runs the elfpatch binary with env added to the environment.
func runElfpatch(t testing.TB, env []string, args ...string) elfpatchResult {
	t.Helper()
	return runCommand(t, env, elfpatchPath(t), args...)
}

func runCommand(t testing.TB, env []string, name string, args ...string) elfpatchResult {
	t.Helper()
	cmd := exec.Command(name, args...)
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

// mustElfpatch runs elfpatch and fails the test unless it exits 0.
func mustElfpatch(t testing.TB, args ...string) string {
	t.Helper()
	r := runElfpatch(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("elfpatch %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// programObjects compiles the contract program once per compiler and
// variant for the whole test binary.
func programObjects(t testing.TB, cc compiler, opt programOptions) []string {
	t.Helper()
	return sharedObjects(t, cc, opt)
}

// wrappedLink links objs through linkerscripts/elfpatch-ld with the given
// link shape; env sets ELFPATCH_ARENA_SIZE, ELFPATCH_PATCH and the like.
func wrappedLink(t testing.TB, shape linkShape, objs []string, script, out string, env []string, linkerArgs ...string) string {
	t.Helper()
	args := append([]string{shape.Tool}, shape.Args(objs, script, out, linkerArgs)...)
	env = append([]string{"ELFPATCH=" + elfpatchPath(t)}, env...)
	r := runCommand(t, env, repoPath(t, "linkerscripts/elfpatch-ld"), args...)
	if r.code != 0 {
		t.Fatalf("elfpatch-ld %s: exit %d\n%s%s", commandLine(args[0], args[1:]), r.code, r.stdout, r.stderr)
	}
	return out
}

// TestWrappedLinksOfEveryShapeRunTheContract is the vertical slice: both
// compilers, the four link command shapes, code near address 0 and code
// more than 16 MiB away from it, patched through elfpatch-ld, verified, and
// run: the contract holds, an arena of exactly the requested size fills to
// its last byte, and one byte more traps.
func TestWrappedLinksOfEveryShapeRunTheContract(t *testing.T) {
	requireTools(t, toolGCC, toolClang, toolLD, toolLLD, toolQEMU)
	for _, cc := range compilers {
		for _, shape := range linkShapes {
			for _, script := range []string{scriptMPS2, scriptMPS2Far} {
				cc, shape, script := cc, shape, script
				t.Run(cc.Name+"/"+shape.Name+"/"+script, func(t *testing.T) {
					t.Parallel()
					objs := programObjects(t, cc, programOptions{})
					elf := wrappedLink(t, shape, objs, linkerScript(t, script), filepath.Join(t.TempDir(), "app.elf"),
						[]string{"ELFPATCH_ARENA_SIZE=16K"}, "--gc-sections")
					mustElfpatch(t, "verify", elf)
					requireRun(t, elf, "contract 16384", exitPass, "PASS contract")
					requireRun(t, elf, "fill 16384", exitHardFault, "filled", "HARDFAULT")
					requireRun(t, elf, "fill 16383", exitPass, "filled", "survived")
				})
			}
		}
	}
}

// linkOnly links the gcc build of the program with GNU ld through the
// wrapper, reserving reserve bytes and leaving the patch for later.
func linkOnly(t testing.TB, cc compiler, shape string, reserve string, opt programOptions) string {
	t.Helper()
	objs := programObjects(t, cc, opt)
	return wrappedLink(t, linkShapeByName(t, shape), objs, linkerScript(t, scriptMPS2),
		filepath.Join(t.TempDir(), "app.elf"), []string{"ELFPATCH_ARENA_SIZE=" + reserve, "ELFPATCH_PATCH=0"})
}

func TestLinkOnlyLeavesTheImageForALaterPatch(t *testing.T) {
	requireTools(t, toolGCC, toolLD, toolQEMU)
	elf := linkOnly(t, gccCompiler, "arm-none-eabi-ld", "16K", programOptions{})
	if r := runElfpatch(t, nil, "verify", elf); r.code != 1 || !strings.Contains(r.stderr, "is not defined: the image is not patched") {
		t.Fatalf("verify of the unpatched image: exit %d\n%s", r.code, r.stderr)
	}
	mustElfpatch(t, elf)
	mustElfpatch(t, "verify", elf)
	requireRun(t, elf, "contract 16384", exitPass, "PASS contract")
}

// A deployment picks its arena size after the link: too small traps where
// a large one passes, and re-sizing an already patched image works both
// ways within the reservation.
func TestArenaSizeIsChosenAfterTheLink(t *testing.T) {
	requireTools(t, toolGCC, toolClang, toolLD, toolLLD, toolQEMU)
	for _, c := range []struct {
		cc    compiler
		shape string
	}{{gccCompiler, "arm-none-eabi-ld"}, {clangCompiler, "ld.lld"}} {
		t.Run(c.cc.Name+"/"+c.shape, func(t *testing.T) {
			t.Parallel()
			linked := linkOnly(t, c.cc, c.shape, "64K", programOptions{})
			dir := t.TempDir()
			small := filepath.Join(dir, "small.elf")
			large := filepath.Join(dir, "large.elf")
			mustElfpatch(t, "--arena-size", "4K", "-o", small, linked)
			mustElfpatch(t, "--arena-size", "0x10000", "-o", large, linked)
			requireRun(t, small, "contract 4096", exitPass, "PASS contract")
			requireRun(t, small, "fill 8192", exitHardFault, "HARDFAULT")
			requireRun(t, large, "fill 8192", exitPass, "survived")
			requireRun(t, large, "contract 65536", exitPass, "PASS contract")

			// Re-size the small image up, then back down.
			grown := filepath.Join(dir, "grown.elf")
			mustElfpatch(t, "--arena-size", "64KiB", "-o", grown, small)
			requireRun(t, grown, "contract 65536", exitPass, "PASS contract")
			if !sameFile(t, grown, large) {
				t.Error("growing the 4K image to 64K does not give the bytes of the 64K patch")
			}
			mustElfpatch(t, "--arena-size", "4096", grown)
			if !sameFile(t, grown, small) {
				t.Error("shrinking back to 4K does not give the bytes of the 4K patch")
			}

			// The same size again changes nothing.
			before := readFile(t, small)
			if out := mustElfpatch(t, "--arena-size", "4K", small); !strings.Contains(out, "unchanged") {
				t.Errorf("re-patch with the same size says %q", out)
			}
			if !bytes.Equal(before, readFile(t, small)) {
				t.Error("re-patching with the same size changed the image")
			}

			// More than the link reserved is refused, and nothing changes.
			r := runElfpatch(t, nil, "--arena-size", "65537", small)
			if r.code != 1 || !strings.Contains(r.stderr, "an arena of 65537 bytes does not fit: the region reserved at link time holds at most 65536 bytes") {
				t.Errorf("growing past the reservation: exit %d\n%s", r.code, r.stderr)
			}
			if !bytes.Equal(before, readFile(t, small)) {
				t.Error("a refused patch changed the image")
			}
		})
	}
}

// The manual flow of the README: reserve object, arena.ld in front of the
// user's script, an ordinary link, then elfpatch.
func TestManualFlowWithArenaScript(t *testing.T) {
	requireTools(t, toolGCC, toolClang, toolLD, toolLLD, toolQEMU)
	for _, c := range []struct {
		cc compiler
		ld string
	}{{gccCompiler, toolLD}, {clangCompiler, toolLLD}} {
		t.Run(c.cc.Name+"/"+c.ld, func(t *testing.T) {
			t.Parallel()
			objs := programObjects(t, c.cc, programOptions{})
			dir := t.TempDir()
			reserve := filepath.Join(dir, "elfpatch-reserve.o")
			mustElfpatch(t, "reserve-object", "--like", objs[0], "--arena-size", "16K", "-o", reserve)
			elf := filepath.Join(dir, "app.elf")
			args := []string{"-T", repoPath(t, "linkerscripts/arena.ld"), "-T", linkerScript(t, scriptMPS2),
				"--emit-relocs", "--unresolved-symbols=ignore-all"}
			args = append(append(args, objs...), reserve, "-o", elf)
			runTool(t, c.ld, args...)
			mustElfpatch(t, "--arena-size", "8K", elf)
			requireRun(t, elf, "contract 8192", exitPass, "PASS contract")
			requireRun(t, elf, "fill 8192", exitHardFault, "filled", "HARDFAULT")
		})
	}
}

func TestTrapsOnBadAlignmentAndWrap(t *testing.T) {
	requireTools(t, toolGCC, toolLD, toolQEMU)
	elf := linkOnly(t, gccCompiler, "arm-none-eabi-ld", "16K", programOptions{})
	mustElfpatch(t, elf)
	requireRun(t, elf, "badalign", exitHardFault, "badalign", "HARDFAULT")
	for _, kind := range []string{"len", "align", "grow"} {
		requireRun(t, elf, "wrap "+kind, exitHardFault, "wrap "+kind, "HARDFAULT")
	}
	requireRun(t, elf, "exhaust", exitHardFault, "exhaust", "HARDFAULT")
}

func TestTrapsCallTheImagesExhaustedHook(t *testing.T) {
	requireTools(t, toolClang, toolLLD, toolQEMU)
	elf := linkOnly(t, clangCompiler, "ld.lld", "16K", programOptions{ExhaustedHook: true})
	mustElfpatch(t, elf)
	requireRun(t, elf, "exhaust", exitExhausted, "EXHAUSTED")
	requireRun(t, elf, "badalign", exitExhausted, "EXHAUSTED")
	requireRun(t, elf, "wrap align", exitExhausted, "EXHAUSTED")
}

// After a warm reset, with RAM full of garbage, the image's ordinary
// startup leaves the arena empty again.
func TestWarmResetEmptiesTheArena(t *testing.T) {
	requireTools(t, toolGCC, toolClang, toolLD, toolLLD, toolQEMU)
	for _, c := range []struct {
		cc    compiler
		shape string
	}{{gccCompiler, "arm-none-eabi-gcc"}, {clangCompiler, "clang"}} {
		elf := linkOnly(t, c.cc, c.shape, "16K", programOptions{})
		mustElfpatch(t, elf)
		requireRun(t, elf, "reset", exitPass, "first boot", "second boot", "PASS reset")
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	requireTools(t, toolGCC, toolLD)
	elf := linkOnly(t, gccCompiler, "arm-none-eabi-ld", "16K", programOptions{})
	before := readFile(t, elf)
	st, _ := os.Stat(elf)
	out := mustElfpatch(t, "--dry-run", "--arena-size", "4K", elf)
	for _, want := range []string{"action:    bind", "R_ARM_THM_CALL", "cabi-arena-realloc", "__cabi_arena_realloc", "-> 4096 bytes", "changes:"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, out)
		}
	}
	st2, _ := os.Stat(elf)
	if !bytes.Equal(before, readFile(t, elf)) || !st.ModTime().Equal(st2.ModTime()) {
		t.Error("--dry-run changed the image")
	}
	entries, _ := os.ReadDir(filepath.Dir(elf))
	if len(entries) != 1 {
		t.Errorf("--dry-run left files behind: %v", entries)
	}
}

func TestInspectJSONNamesTheImportAndItsSites(t *testing.T) {
	requireTools(t, toolClang, toolLLD)
	elf := linkOnly(t, clangCompiler, "ld.lld", "16K", programOptions{})
	var rep struct {
		File    string
		Imports []struct {
			Name    string
			Defined bool
			Sites   int
		}
		Sites []struct {
			Section, Type, Symbol, Before string
		}
		Plan struct {
			Action string
			Linker string
		}
	}
	if err := json.Unmarshal([]byte(mustElfpatch(t, "inspect", "--json", elf)), &rep); err != nil {
		t.Fatalf("inspect --json is not JSON: %v", err)
	}
	names := map[string]bool{}
	for _, i := range rep.Imports {
		names[i.Name] = !i.Defined && i.Sites > 0
	}
	if !names[importSnake] || !names[importKebab] {
		t.Errorf("imports %+v, want both spellings undefined with sites", rep.Imports)
	}
	types := map[string]bool{}
	for _, s := range rep.Sites {
		types[s.Type] = true
	}
	for _, want := range []string{"R_ARM_THM_CALL", "R_ARM_THM_JUMP24", "R_ARM_ABS32", "R_ARM_THM_MOVW_ABS_NC", "R_ARM_THM_MOVT_ABS", "R_ARM_REL32"} {
		if !types[want] {
			t.Errorf("no %s site in %v", want, types)
		}
	}
	if rep.Plan.Action != "bind" || rep.Plan.Linker != "LLD" {
		t.Errorf("plan %+v, want a bind of an LLD image", rep.Plan)
	}
}

func TestRefusalsLeaveTheInputUntouchedAndUsageErrorsExit2(t *testing.T) {
	requireTools(t, toolGCC, toolLD)
	elf := linkOnly(t, gccCompiler, "arm-none-eabi-ld", "16K", programOptions{})
	before := readFile(t, elf)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--arena-size", "16KB", elf}, 2, "invalid size \"16KB\""},
		{[]string{"--arena-size", "1.5K", elf}, 2, "invalid size"},
		{[]string{}, 2, "no FILE given"},
		{[]string{"--no-such-flag", elf}, 2, "flag provided but not defined"},
		{[]string{elf, elf}, 2, "one FILE expected"},
		{[]string{"--arena-size", "1M", elf}, 1, "app.elf: .arena: an arena of 1048576 bytes does not fit"},
		{[]string{filepath.Dir(elf)}, 1, "is a directory"},
		{[]string{filepath.Join(filepath.Dir(elf), "missing.elf")}, 1, "no such file or directory"},
	} {
		r := runElfpatch(t, nil, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("elfpatch %v: exit %d, want %d with %q; stderr:\n%s", c.args, r.code, c.code, c.msg, r.stderr)
		}
		if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
			t.Errorf("elfpatch %v: a panic reached the user:\n%s", c.args, r.stderr)
		}
	}
	if !bytes.Equal(before, readFile(t, elf)) {
		t.Error("a refused patch changed the image")
	}
	entries, _ := os.ReadDir(filepath.Dir(elf))
	if len(entries) != 1 {
		t.Errorf("refused patches left files behind: %v", entries)
	}
}

// -o writes a new file with the input's permissions; in place keeps the
// file's own.
func TestOutputKeepsPermissions(t *testing.T) {
	requireTools(t, toolGCC, toolLD)
	elf := linkOnly(t, gccCompiler, "arm-none-eabi-ld", "16K", programOptions{})
	if err := os.Chmod(elf, 0o751); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.elf")
	mustElfpatch(t, "-o", out, elf)
	mustElfpatch(t, elf)
	for _, p := range []string{elf, out} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o751 {
			t.Errorf("%s: mode %v, want 0751", p, st.Mode().Perm())
		}
	}
	if !sameFile(t, elf, out) {
		t.Error("patching in place and with -o give different bytes")
	}
}

func TestFailingLinkPassesThroughTheLinkersStatus(t *testing.T) {
	requireTools(t, toolLD)
	r := runCommand(t, []string{"ELFPATCH=" + elfpatchPath(t)}, repoPath(t, "linkerscripts/elfpatch-ld"),
		toolLD, "-T", linkerScript(t, scriptMPS2), filepath.Join(t.TempDir(), "missing.o"), "-o", filepath.Join(t.TempDir(), "x.elf"))
	if r.code != 1 || !strings.Contains(r.stderr, "missing.o: No such file or directory") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// --version lists every allocator and shim elfpatch carries, with the
// hash of its object.
func TestVersionListsTheAllocatorsAndShimsWithTheirHashes(t *testing.T) {
	out := mustElfpatch(t, "--version")
	if !strings.HasPrefix(out, "elfpatch ") {
		t.Errorf("--version says:\n%s", out)
	}
	lines := strings.Split(out, "\n")
	for _, v := range arenablob.Variants() {
		if !slices.Contains(lines, fmt.Sprintf("  %-12s sha256:%s  %s", v.Name, v.SHA256, v.Suits)) {
			t.Errorf("--version does not list %s with its hash %s:\n%s", v.Name, v.SHA256, out)
		}
	}
	for _, s := range arenablob.Shims() {
		if !slices.Contains(lines, fmt.Sprintf("  %-12s sha256:%s  in front of %s", s.Name, s.SHA256, strings.Join(s.Serves, ", "))) {
			t.Errorf("--version does not list %s with its hash %s:\n%s", s.Name, s.SHA256, out)
		}
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameFile(t testing.TB, a, b string) bool {
	t.Helper()
	return bytes.Equal(readFile(t, a), readFile(t, b))
}

// The wrapper leaves every undefined symbol to the patch; any besides the
// imports fails the link by name and first use, as the linker would have,
// and leaves no image behind, whether it patches or only links.
func TestWrappedLinkRefusesOtherUndefinedSymbols(t *testing.T) {
	requireTools(t, toolGCC, toolLD)
	dir := t.TempDir()
	src := filepath.Join(dir, "extra.c")
	if err := os.WriteFile(src, []byte("extern void missing_function(void);\nvoid use_it(void) { missing_function(); }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	objs := append(append([]string{}, programObjects(t, gccCompiler, programOptions{})...),
		compileObject(t, gccCompiler, src, filepath.Join(dir, "extra.o")))
	for _, patch := range []string{"1", "0"} {
		elf := filepath.Join(dir, "app.elf")
		args := append([]string{toolLD}, directLinkArgs(objs, linkerScript(t, scriptMPS2), elf, nil)...)
		r := runCommand(t, []string{"ELFPATCH=" + elfpatchPath(t), "ELFPATCH_PATCH=" + patch}, repoPath(t, "linkerscripts/elfpatch-ld"), args...)
		if r.code != 1 || !strings.Contains(r.stderr, "app.elf: .text+0x") || !strings.Contains(r.stderr, ": R_ARM_THM_JUMP24 to missing_function: undefined symbol") {
			t.Errorf("ELFPATCH_PATCH=%s: exit %d, stderr:\n%s", patch, r.code, r.stderr)
		}
		if _, err := os.Stat(elf); !os.IsNotExist(err) {
			t.Errorf("ELFPATCH_PATCH=%s: the failed link left %s behind", patch, elf)
		}
	}
}

func TestHelpDescribesTheCommand(t *testing.T) {
	out := mustElfpatch(t, "--help")
	for _, want := range []string{"--arena-size", "inspect", "verify", "Exit status"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %q:\n%s", want, out)
		}
	}
}

// The README's first command patches examples/cortex-m3/app.elf. The image
// must be what its build script makes from the sources next to it, and the
// patched image must run.
func TestExampleImageRebuildsByteForByteAndRuns(t *testing.T) {
	requireTools(t, toolGCC, toolQEMU)
	rebuilt := filepath.Join(t.TempDir(), "app.elf")
	r := runCommand(t, []string{"ELFPATCH=" + elfpatchPath(t)}, repoPath(t, "examples/cortex-m3/build.sh"), rebuilt)
	if r.code != 0 {
		t.Fatalf("build.sh: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	shipped := repoPath(t, "examples/cortex-m3/app.elf")
	if !sameFile(t, rebuilt, shipped) {
		t.Fatal("examples/cortex-m3/app.elf is not what examples/cortex-m3/build.sh makes; rebuild it")
	}
	patched := filepath.Join(t.TempDir(), "app-patched.elf")
	mustElfpatch(t, "--arena-size", "16K", "-o", patched, shipped)
	requireRun(t, patched, "", exitPass,
		"string at 0x20000000: hello from the arena",
		"list at 0x20000018, grown in place, list[3] = 9",
		"string moved to 0x20000118: hello from the arena")
}

// A patch killed at any moment leaves the image as it was or fully
// patched, never a mixture: the output goes to a temporary file that is
// renamed over the image only when complete.
func TestAKilledPatchLeavesTheOldImageOrTheNewOne(t *testing.T) {
	requireTools(t, toolGCC, toolLD)
	linked := linkOnly(t, gccCompiler, "arm-none-eabi-ld", "16K", programOptions{})
	orig := readFile(t, linked)
	full := filepath.Join(t.TempDir(), "full.elf")
	mustElfpatch(t, "-o", full, linked)
	patched := readFile(t, full)
	dir := t.TempDir()
	work := filepath.Join(dir, "app.elf")
	var before, after int
	for i := 0; i < 60; i++ {
		if err := os.WriteFile(work, orig, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(elfpatchPath(t), work)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i%20) * 250 * time.Microsecond)
		cmd.Process.Kill()
		cmd.Wait()
		switch got := readFile(t, work); {
		case bytes.Equal(got, orig):
			before++
		case bytes.Equal(got, patched):
			after++
		default:
			t.Fatalf("trial %d: the image is neither the input nor the patched image", i)
		}
	}
	t.Logf("killed patches: %d left the input, %d the patched image", before, after)
}

// However a driver's user names the script (-T, -Wl,-T, -Wl,--script=,
// -Xlinker), elfpatch's arena.ld reaches GNU ld before it.
func TestDriversGetTheArenaScriptFirstWhateverTheScriptOption(t *testing.T) {
	requireTools(t, toolGCC, toolClang, toolLLD, toolQEMU)
	script := linkerScript(t, scriptMPS2)
	for _, cc := range []struct {
		c      compiler
		prefix []string
	}{
		{gccCompiler, []string{"-mcpu=cortex-m3", "-mthumb"}},
		{clangCompiler, []string{"--target=thumbv7m-none-eabi", "-mcpu=cortex-m3", "-fuse-ld=lld"}},
	} {
		for _, spelling := range [][]string{
			{"-T", script}, {"-Wl,-T," + script}, {"-Wl,--script=" + script}, {"-Xlinker", "-T", "-Xlinker", script},
		} {
			elf := filepath.Join(t.TempDir(), "app.elf")
			args := append(append([]string{cc.c.Tool}, cc.prefix...), "-nostdlib")
			args = append(append(args, spelling...), programObjects(t, cc.c, programOptions{})...)
			args = append(args, "-o", elf)
			r := runCommand(t, []string{"ELFPATCH=" + elfpatchPath(t), "ELFPATCH_ARENA_SIZE=8K"}, repoPath(t, "linkerscripts/elfpatch-ld"), args...)
			if r.code != 0 {
				t.Fatalf("%s with %v: exit %d\n%s%s", cc.c.Name, spelling, r.code, r.stdout, r.stderr)
			}
			requireRun(t, elf, "contract 8192", exitPass, "PASS contract")
		}
	}
}

// An image that links its own allocator, defining only
// __cabi_arena_realloc, gets the kebab spelling bound to it and nothing
// injected; placed more than 16 MiB from its callers, it is reached through
// veneers in the slot, and the contract holds through them.
func TestAnImagesOwnFarAllocatorIsReachedThroughVeneers(t *testing.T) {
	requireTools(t, toolGCC, toolClang, toolLD, toolLLD, toolQEMU)
	for _, c := range []struct {
		cc    compiler
		shape string
	}{{gccCompiler, "arm-none-eabi-ld"}, {clangCompiler, "ld.lld"}} {
		objs := sharedObjects(t, c.cc, programOptions{RefArenaSize: 16384, CFlags: []string{"-DREF_NO_KEBAB"}})
		elf := wrappedLink(t, linkShapeByName(t, c.shape), objs, cortexmPath(t, "mps2-faralloc.ld"),
			filepath.Join(t.TempDir(), "app.elf"), nil)
		var rep struct {
			Plan struct {
				Allocator struct {
					Address uint64
					Linked  bool
				}
				Sites []struct{ Type, Symbol, After string }
			}
		}
		inspectJSON(t, elf, &rep)
		if !rep.Plan.Allocator.Linked || rep.Plan.Allocator.Address < 0x20200000 {
			t.Fatalf("%s: allocator %+v, want the image's own in the far region", c.shape, rep.Plan.Allocator)
		}
		veneered := 0
		for _, s := range rep.Plan.Sites {
			if s.Symbol == importKebab && (s.Type == "R_ARM_THM_CALL" || s.Type == "R_ARM_THM_JUMP24") {
				if !strings.Contains(s.After, " 0x") || strings.Contains(s.After, "0x2020") {
					t.Errorf("%s: %s %s goes straight to the far allocator: %s", c.shape, s.Type, s.Symbol, s.After)
				}
				veneered++
			}
		}
		if veneered == 0 {
			t.Fatalf("%s: no call of the kebab spelling needed a veneer", c.shape)
		}
		mustElfpatch(t, "verify", elf)
		requireRun(t, elf, "contract 16384", exitPass, "PASS contract")
	}
}

package tests

// Self-test of the Cortex-M3 harness: the contract program is built with the
// test-only reference allocator (cortexm/refalloc.c) linked in, for both
// compilers, all four link shapes, both linker scripts, with and without
// --gc-sections, and must show exactly the behaviour the end-to-end tests
// will later demand of elfpatch's injected allocator.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// refArenaSize is the reference allocator's arena size in the matrix.
const refArenaSize = 65536

// refBuild is one linked program of the matrix.
type refBuild struct {
	cc      compiler
	shape   linkShape
	script  string
	gc      bool
	elf     string // contract program + refalloc.c
	hookELF string // the same with -DCONTRACT_EXHAUSTED_HOOK
}

func (b refBuild) name() string {
	gc := "nogc"
	if b.gc {
		gc = "gc"
	}
	return fmt.Sprintf("%s/%s/%s/%s", b.cc.Name, b.shape.Name, b.script, gc)
}

var refMatrix struct {
	once   sync.Once
	ok     bool
	builds []refBuild
}

func harnessTools() []string {
	return []string{toolQEMU, toolGCC, toolClang, toolLD, toolLLD}
}

// referenceBuilds builds the matrix once per test binary (objects once per
// compiler) and returns it.
func referenceBuilds(t *testing.T) []refBuild {
	t.Helper()
	requireTools(t, harnessTools()...)
	refMatrix.once.Do(func() {
		for _, cc := range compilers {
			dir := filepath.Join(sharedDir, "matrix", cc.Name)
			objs := buildProgramObjects(t, cc, dir, programOptions{RefArenaSize: refArenaSize})
			hookObjs := buildProgramObjects(t, cc, dir, programOptions{RefArenaSize: refArenaSize, ExhaustedHook: true})
			for _, shape := range linkShapes {
				for _, script := range []string{scriptMPS2, scriptMPS2Far} {
					for _, gc := range []bool{true, false} {
						b := refBuild{cc: cc, shape: shape, script: script, gc: gc}
						var largs []string
						if gc {
							largs = append(largs, "--gc-sections")
						}
						base := filepath.Join(dir, strings.ReplaceAll(strings.TrimPrefix(b.name(), cc.Name+"/"), "/", "_"))
						b.elf = linkProgram(t, shape, objs, linkerScript(t, script), base+".elf", largs...)
						b.hookELF = linkProgram(t, shape, hookObjs, linkerScript(t, script), base+"-hook.elf", largs...)
						refMatrix.builds = append(refMatrix.builds, b)
					}
				}
			}
		}
		refMatrix.ok = true
	})
	if !refMatrix.ok {
		t.Fatal("building the reference programs failed (see the log of the test that built them)")
	}
	return refMatrix.builds
}

// forEachBuild runs f for every build of the matrix as parallel subtests.
func forEachBuild(t *testing.T, f func(t *testing.T, b refBuild)) {
	for _, b := range referenceBuilds(t) {
		t.Run(b.name(), func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

func TestHarnessRunsContractWithReferenceAllocator(t *testing.T) {
	t.Parallel()
	forEachBuild(t, func(t *testing.T, b refBuild) {
		out := requireRun(t, b.elf, fmt.Sprintf("contract %d", refArenaSize), exitPass, "arena start=", "PASS contract")
		if strings.Contains(out, "FAIL") || strings.Contains(out, "HARDFAULT") {
			t.Fatalf("unexpected output:\n%s", out)
		}
	})
}

func TestHarnessTrapsWhenReferenceArenaIsFull(t *testing.T) {
	t.Parallel()
	forEachBuild(t, func(t *testing.T, b refBuild) {
		out := requireRun(t, b.elf, fmt.Sprintf("fill %d", refArenaSize), exitHardFault, "filled", "HARDFAULT")
		if strings.Contains(out, "survived") {
			t.Fatalf("fill SIZE: one more byte was handed out:\n%s", out)
		}
		requireRun(t, b.elf, fmt.Sprintf("fill %d", refArenaSize-1), exitPass, "filled", "survived")
		out = requireRun(t, b.elf, fmt.Sprintf("fill %d", refArenaSize+1), exitHardFault, "HARDFAULT")
		if strings.Contains(out, "filled") {
			t.Fatalf("fill SIZE+1: the first request did not trap:\n%s", out)
		}
	})
}

func TestHarnessTrapsOnBadAlignAndAddressWrap(t *testing.T) {
	t.Parallel()
	forEachBuild(t, func(t *testing.T, b refBuild) {
		requireRun(t, b.elf, "badalign", exitHardFault, "badalign\n", "HARDFAULT")
		requireRun(t, b.elf, "wrap", exitHardFault, "wrap len\n", "HARDFAULT")
		for _, kind := range []string{"len", "align", "grow"} {
			out := requireRun(t, b.elf, "wrap "+kind, exitHardFault, "wrap "+kind+"\n", "HARDFAULT")
			if strings.Contains(out, "FAIL") {
				t.Fatalf("wrap %s:\n%s", kind, out)
			}
		}
		requireRun(t, b.elf, "exhaust", exitHardFault, "exhaust\n", "HARDFAULT")
	})
}

func TestHarnessWarmResetEmptiesReferenceArena(t *testing.T) {
	t.Parallel()
	forEachBuild(t, func(t *testing.T, b refBuild) {
		requireRun(t, b.elf, "reset", exitPass,
			"reset: first boot first_block=",
			"reset: second boot boots=0x00000002 bss_word_at_reset=0xa5a5a5a5",
			"PASS reset")
	})
}

func TestHarnessCallsExhaustedHookWhenProgramDefinesIt(t *testing.T) {
	t.Parallel()
	forEachBuild(t, func(t *testing.T, b refBuild) {
		for _, args := range []string{"exhaust", "badalign", "wrap grow", fmt.Sprintf("fill %d", refArenaSize)} {
			out := requireRun(t, b.hookELF, args, exitExhausted, "EXHAUSTED")
			if strings.Contains(out, "HARDFAULT") || strings.Contains(out, "survived") {
				t.Fatalf("%s:\n%s", args, out)
			}
		}
		requireRun(t, b.hookELF, fmt.Sprintf("contract %d", refArenaSize), exitPass, "PASS contract")
	})
}

// symbolAddrs returns the addresses of the symbols of a linked ELF.
func symbolAddrs(t *testing.T, elf string) map[string]uint64 {
	t.Helper()
	res := map[string]uint64{}
	for _, line := range strings.Split(runTool(t, toolObjdump, "-t", elf), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil {
			continue
		}
		res[f[len(f)-1]] = v
	}
	return res
}

func TestHarnessScriptsPlaceVectorsAndCode(t *testing.T) {
	t.Parallel()
	requireTools(t, toolObjdump)
	forEachBuild(t, func(t *testing.T, b refBuild) {
		syms := symbolAddrs(t, b.elf)
		for _, s := range []string{"startup_vectors", "Reset_Handler", importSnake, importKebab, "__bss_start__", "__noinit_start__", "end", "_end"} {
			if _, ok := syms[s]; !ok {
				t.Fatalf("%s: no symbol %s", b.elf, s)
			}
		}
		if syms["startup_vectors"] != 0 {
			t.Errorf("vector table at %#x, want 0", syms["startup_vectors"])
		}
		if syms[importSnake] != syms[importKebab] {
			t.Errorf("the two spellings differ: %#x %#x", syms[importSnake], syms[importKebab])
		}
		code := syms["Reset_Handler"] &^ 1
		switch b.script {
		case scriptMPS2:
			if code >= 0x400000 {
				t.Errorf("Reset_Handler at %#x, want in FLASH below 4 MiB", code)
			}
		case scriptMPS2Far:
			if code < 0x20200000 {
				t.Errorf("Reset_Handler at %#x, want at or above 0x20200000 (beyond BL range of 0)", code)
			}
		}
		if !(syms["__bss_start__"] >= 0x20000000 && syms["__bss_start__"] <= syms["__noinit_start__"] && syms["__noinit_start__"] <= syms["end"]) {
			t.Errorf("RAM layout: __bss_start__=%#x __noinit_start__=%#x end=%#x", syms["__bss_start__"], syms["__noinit_start__"], syms["end"])
		}
	})
}

// The semihosting exit status is QEMU's exit status, and the command line
// the program sees is QEMU's kernel file name followed by the -append words.
func TestHarnessPassesExitStatusAndCommandLine(t *testing.T) {
	t.Parallel()
	builds := referenceBuilds(t)
	for _, b := range []refBuild{builds[0], builds[len(builds)-1]} {
		t.Run(b.name(), func(t *testing.T) {
			t.Parallel()
			for _, code := range []int{0, 1, 2, 42, 255} {
				if got, out := runQEMU(t, b.elf, fmt.Sprintf("exit %d", code)); got != code {
					t.Errorf("exit %d: QEMU exit status %d; output:\n%s", code, got, out)
				}
			}
			out := requireRun(t, b.elf, "args  alpha beta", exitPass)
			want := fmt.Sprintf("argc=4\narg=%s\narg=args\narg=alpha\narg=beta\n", filepath.Base(b.elf))
			if out != want {
				t.Errorf("args: got %q, want %q", out, want)
			}
			requireRun(t, b.elf, "nosuchmode", exitFail, `FAIL unknown mode "nosuchmode"`)
			requireRun(t, b.elf, "contract 100", exitFail, "FAIL contract needs SIZE >= 4096")
		})
	}
}

// Each deliberately broken reference allocator must be caught.
func TestHarnessCatchesBrokenAllocators(t *testing.T) {
	t.Parallel()
	requireTools(t, harnessTools()...)
	const size = 16411 // odd, to exercise the exact fill with an unaligned end
	sz := strconv.Itoa(size)
	cases := []struct {
		bug      int
		what     string
		args     string
		wantCode int
		want     string
	}{
		{0, "correct allocator", "contract " + sz, exitPass, "PASS contract"},
		{1, "never resizes in place", "contract " + sz, exitFail, "FAIL"},
		{2, "does not copy the prefix", "contract " + sz, exitFail, "FAIL"},
		{3, "ignores align", "contract " + sz, exitFail, "FAIL"},
		{4, "size-0 request frees the last block", "contract " + sz, exitFail, "FAIL rule 2"},
		{5, "arena one byte short", "contract " + sz, exitHardFault, "HARDFAULT"},
		{6, "no wrap checks (len)", "wrap len", exitFail, "FAIL wrap"},
		{6, "no wrap checks (align)", "wrap align", exitFail, "FAIL wrap"},
		{6, "no wrap checks (grow)", "wrap grow", exitFail, "FAIL wrap"},
		{7, "accepts a bad align", "badalign", exitFail, "FAIL badalign"},
		{8, "state survives reset", "reset", exitFail, "FAIL reset: first allocation after reset"},
		{9, "returns NULL when full", "fill " + sz, exitPass, "survived"},
		{10, "shrink in place wastes", "contract " + sz, exitFail, "FAIL"},
	}
	for _, cc := range compilers {
		t.Run(cc.Name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			objs := buildProgramObjects(t, cc, dir, programOptions{})
			elfs := map[int]string{}
			for _, c := range cases {
				if _, ok := elfs[c.bug]; ok {
					continue
				}
				ref := compileObject(t, cc, "refalloc.c", filepath.Join(dir, fmt.Sprintf("refalloc-bug%d.o", c.bug)),
					"-DREF_ARENA_SIZE="+sz, fmt.Sprintf("-DREF_BUG=%d", c.bug))
				elfs[c.bug] = linkProgram(t, linkShapeByName(t, "ld.lld"), append(append([]string{}, objs...), ref),
					linkerScript(t, scriptMPS2), filepath.Join(dir, fmt.Sprintf("bug%d.elf", c.bug)), "--gc-sections")
			}
			for _, c := range cases {
				requireRun(t, elfs[c.bug], c.args, c.wantCode, c.want)
			}
		})
	}
}

// The program reaches the import through every relocation type, under both
// spellings, and defines neither.
func TestContractObjectUsesEveryRelocationTypeAgainstImport(t *testing.T) {
	t.Parallel()
	requireTools(t, toolGCC, toolClang, toolObjdump, toolReadelf)
	wantTypes := []string{
		"R_ARM_THM_CALL", "R_ARM_THM_JUMP24", "R_ARM_ABS32",
		"R_ARM_THM_MOVW_ABS_NC", "R_ARM_THM_MOVT_ABS", "R_ARM_REL32",
	}
	undef := regexp.MustCompile(`\*UND\*\s+\S+\s+(\S+)$`)
	for _, cc := range compilers {
		t.Run(cc.Name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			objs := buildProgramObjects(t, cc, dir, programOptions{})
			total := map[string]map[string]int{importSnake: {}, importKebab: {}}
			undefined := map[string]bool{}
			for _, obj := range objs {
				for sym, types := range relocationsAgainst(t, obj, importSnake, importKebab) {
					for ty, n := range types {
						total[sym][ty] += n
					}
				}
				for _, line := range strings.Split(runTool(t, toolObjdump, "-t", obj), "\n") {
					if m := undef.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
						undefined[m[1]] = true
					} else if strings.HasSuffix(line, " "+importSnake) || strings.HasSuffix(line, " "+importKebab) {
						t.Errorf("%s defines the import: %s", filepath.Base(obj), line)
					}
				}
			}
			for _, sym := range []string{importSnake, importKebab} {
				if !undefined[sym] {
					t.Errorf("%s is not an undefined symbol of the program", sym)
				}
				for _, ty := range wantTypes {
					if total[sym][ty] == 0 {
						t.Errorf("no %s against %s (have %v)", ty, sym, total[sym])
					}
				}
			}
		})
	}
}

// requireTools skips, or fails under CI=true, naming the missing tool.
func TestRequireToolsSkipsOrFailsOnMissingTool(t *testing.T) {
	old := lookPath
	defer func() { lookPath = old }()
	lookPath = func(name string) (string, error) {
		if name == "no-such-tool" {
			return "", os.ErrNotExist
		}
		return "/bin/" + name, nil
	}
	for _, ci := range []string{"true", ""} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			rec := &recordingTB{TB: t}
			requireTools(rec, "present", "no-such-tool")
			if ci == "true" {
				if !strings.Contains(rec.fatal, "no-such-tool") || rec.skip != "" {
					t.Errorf("CI=true: fatal=%q skip=%q", rec.fatal, rec.skip)
				}
			} else if !strings.Contains(rec.skip, "no-such-tool") || rec.fatal != "" {
				t.Errorf("CI unset: fatal=%q skip=%q", rec.fatal, rec.skip)
			}
			rec = &recordingTB{TB: t}
			requireTools(rec, "present")
			if rec.fatal != "" || rec.skip != "" {
				t.Errorf("all tools present: fatal=%q skip=%q", rec.fatal, rec.skip)
			}
		})
	}
}

// recordingTB records Fatalf/Skip instead of stopping the test.
type recordingTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordingTB) Helper()                           {}
func (r *recordingTB) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recordingTB) Skip(args ...any)                  { r.skip = fmt.Sprint(args...) }

// runQEMU kills QEMU and fails the test when the program does not end.
func TestRunQEMUKillsHungProgramAfterTimeout(t *testing.T) {
	t.Parallel()
	b := referenceBuilds(t)[0]
	rec := &recordingTB{TB: t}
	start := time.Now()
	code, out := runQEMUTimeout(rec, b.elf, "hang", 2*time.Second)
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("runQEMUTimeout took %v with a 2s timeout", d)
	}
	if !strings.Contains(rec.fatal, "QEMU killed after 2s") || !strings.Contains(rec.fatal, "hang") {
		t.Errorf("fatal=%q, want a timeout failure showing the output so far", rec.fatal)
	}
	if code != -1 || !strings.Contains(out, "hang") {
		t.Errorf("code=%d output=%q", code, out)
	}
}

// The end-to-end shape: the program without refalloc.c links with every
// shape and both scripts when the linker is told to leave the import
// undefined and to keep the relocations, and runs as long as it does not
// allocate.
func TestProgramWithoutAllocatorLinksWithImportUndefined(t *testing.T) {
	t.Parallel()
	requireTools(t, append(harnessTools(), toolReadelf)...)
	for _, cc := range compilers {
		t.Run(cc.Name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			objs := buildProgramObjects(t, cc, dir, programOptions{})
			for _, shape := range linkShapes {
				for _, script := range []string{scriptMPS2, scriptMPS2Far} {
					elf := linkProgram(t, shape, objs, linkerScript(t, script),
						filepath.Join(dir, fmt.Sprintf("%s-%s.elf", shape.Name, script)),
						"--gc-sections", "--unresolved-symbols=ignore-all", "--emit-relocs")
					relocs := relocationsAgainst(t, elf, importSnake, importKebab)
					for _, sym := range []string{importSnake, importKebab} {
						if relocs[sym]["R_ARM_THM_CALL"] == 0 || relocs[sym]["R_ARM_REL32"] == 0 {
							t.Errorf("%s: relocations against %s not kept: %v", filepath.Base(elf), sym, relocs[sym])
						}
					}
					requireRun(t, elf, "args x", exitPass, "argc=3\n", "arg=args\narg=x\n")
				}
			}
		})
	}
}

package tests

// Self-test of the harness: on every target, the contract program is built
// with the test-only reference allocator (common/refalloc.c) linked in, for
// every compiler, link shape and linker script (on m3 also with and without
// --gc-sections), and must show exactly the behaviour the end-to-end tests
// will later demand of elfpatch's injected allocator.

import (
	"debug/elf"
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

// refArenaSize is the reference allocator's arena size in the m3 matrix
// (each target's is its ArenaSize).
const refArenaSize = 65536

// refBuild is one linked program of the matrix.
type refBuild struct {
	tg      *target
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
	return fmt.Sprintf("%s/%s/%s/%s/%s", b.tg.Name, b.cc.Name, b.shape.Name, b.script, gc)
}

// size is the arena size of the build's reference allocator.
func (b refBuild) size() uint32 { return b.tg.ArenaSize }

// targetMatrix is the matrix of one target, built once per test binary.
type targetMatrix struct {
	once   sync.Once
	ok     bool
	builds []refBuild
}

var refMatrix = map[*target]*targetMatrix{}

func init() {
	for _, tg := range targets {
		refMatrix[tg] = &targetMatrix{}
	}
}

// programVariants returns the shared objects of the contract program with
// opt, and the same with the exhausted hook.
func programVariants(t testing.TB, cc compiler, opt programOptions) (objs, hookObjs []string) {
	t.Helper()
	hook := opt
	hook.ExhaustedHook = true
	return sharedObjects(t, cc, opt), sharedObjects(t, cc, hook)
}

// referenceBuilds builds tg's matrix once per test binary (objects once per
// compiler) and returns it.
func referenceBuilds(t *testing.T, tg *target) []refBuild {
	t.Helper()
	requireTarget(t, tg)
	m := refMatrix[tg]
	m.once.Do(func() {
		gcs := []bool{true}
		if tg == targetM3 {
			gcs = []bool{true, false}
		}
		for _, cc := range tg.Compilers {
			dir := filepath.Join(sharedDir, "matrix", tg.Name, cc.Name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			objs, hookObjs := programVariants(t, cc, programOptions{RefArenaSize: tg.ArenaSize})
			for _, shape := range tg.Shapes {
				for _, script := range tg.Scripts {
					for _, gc := range gcs {
						b := refBuild{tg: tg, cc: cc, shape: shape, script: script, gc: gc}
						var largs []string
						if gc {
							largs = append(largs, "--gc-sections")
						}
						base := filepath.Join(dir, strings.ReplaceAll(strings.TrimPrefix(b.name(), tg.Name+"/"+cc.Name+"/"), "/", "_"))
						b.elf = linkProgram(t, shape, objs, tg.script(t, script), base+".elf", largs...)
						b.hookELF = linkProgram(t, shape, hookObjs, tg.script(t, script), base+"-hook.elf", largs...)
						m.builds = append(m.builds, b)
					}
				}
			}
		}
		m.ok = true
	})
	if !m.ok {
		t.Fatalf("building the reference programs for %s failed (see the log of the test that built them)", tg.Name)
	}
	return m.builds
}

// forEachTarget runs f for every target as parallel subtests named after it.
func forEachTarget(t *testing.T, f func(t *testing.T, tg *target)) {
	for _, tg := range targets {
		t.Run(tg.Name, func(t *testing.T) {
			t.Parallel()
			f(t, tg)
		})
	}
}

// forEachBuild runs f for every build of every target's matrix as parallel
// subtests.
func forEachBuild(t *testing.T, f func(t *testing.T, b refBuild)) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		for _, b := range referenceBuilds(t, tg) {
			t.Run(strings.TrimPrefix(b.name(), tg.Name+"/"), func(t *testing.T) {
				t.Parallel()
				f(t, b)
			})
		}
	})
}

func TestHarnessRunsContractWithReferenceAllocator(t *testing.T) {
	t.Parallel()
	forEachBuild(t, func(t *testing.T, b refBuild) {
		out := b.tg.requireRun(t, b.elf, fmt.Sprintf("contract %d", b.size()), exitPass, "arena start=", "PASS contract")
		if strings.Contains(out, "FAIL") || strings.Contains(out, b.tg.Trap) {
			t.Fatalf("unexpected output:\n%s", out)
		}
	})
}

func TestHarnessTrapsWhenReferenceArenaIsFull(t *testing.T) {
	t.Parallel()
	forEachBuild(t, func(t *testing.T, b refBuild) {
		size := b.size()
		out := b.tg.requireRun(t, b.elf, fmt.Sprintf("fill %d", size), exitTrap, "filled", b.tg.Trap)
		if strings.Contains(out, "survived") {
			t.Fatalf("fill SIZE: one more byte was handed out:\n%s", out)
		}
		b.tg.requireRun(t, b.elf, fmt.Sprintf("fill %d", size-1), exitPass, "filled", "survived")
		out = b.tg.requireRun(t, b.elf, fmt.Sprintf("fill %d", size+1), exitTrap, b.tg.Trap)
		if strings.Contains(out, "filled") {
			t.Fatalf("fill SIZE+1: the first request did not trap:\n%s", out)
		}
	})
}

func TestHarnessTrapsOnBadAlignAndAddressWrap(t *testing.T) {
	t.Parallel()
	forEachBuild(t, func(t *testing.T, b refBuild) {
		b.tg.requireRun(t, b.elf, "badalign", exitTrap, "badalign\n", b.tg.Trap)
		b.tg.requireRun(t, b.elf, "wrap", exitTrap, "wrap len\n", b.tg.Trap)
		for _, kind := range []string{"len", "align", "grow"} {
			out := b.tg.requireRun(t, b.elf, "wrap "+kind, exitTrap, "wrap "+kind+"\n", b.tg.Trap)
			if strings.Contains(out, "FAIL") {
				t.Fatalf("wrap %s:\n%s", kind, out)
			}
		}
		b.tg.requireRun(t, b.elf, "exhaust", exitTrap, "exhaust\n", b.tg.Trap)
	})
}

// Where the platform has a warm reset that keeps RAM (m3, m0, m33, rv32imac,
// rv32ima), the reset mode passes; elsewhere it says it is unsupported.
func TestHarnessWarmResetEmptiesReferenceArena(t *testing.T) {
	t.Parallel()
	forEachBuild(t, func(t *testing.T, b refBuild) {
		if !b.tg.Reset {
			b.tg.requireRun(t, b.elf, "reset", exitUnsupported, "UNSUPPORTED reset")
			return
		}
		b.tg.requireRun(t, b.elf, "reset", exitPass,
			"reset: first boot first_block=",
			"reset: second boot boots=0x00000002 bss_word_at_reset=0xa5a5a5a5",
			"PASS reset")
	})
}

func TestHarnessCallsExhaustedHookWhenProgramDefinesIt(t *testing.T) {
	t.Parallel()
	forEachBuild(t, func(t *testing.T, b refBuild) {
		for _, args := range []string{"exhaust", "badalign", "wrap grow", fmt.Sprintf("fill %d", b.size())} {
			out := b.tg.requireRun(t, b.hookELF, args, exitExhausted, "EXHAUSTED")
			if strings.Contains(out, b.tg.Trap) || strings.Contains(out, "survived") {
				t.Fatalf("%s:\n%s", args, out)
			}
		}
		b.tg.requireRun(t, b.hookELF, fmt.Sprintf("contract %d", b.size()), exitPass, "PASS contract")
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

// sectionOf returns the section of a linked ELF that holds addr (SHF_ALLOC
// sections only).
func sectionOf(t *testing.T, path string, addr uint64) string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC != 0 && addr >= s.Addr && addr < s.Addr+s.Size {
			return s.Name
		}
	}
	return ""
}

// symbolRange returns the value and size of a symbol of a linked ELF.
func symbolRange(t *testing.T, path, name string) (addr, size uint64) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == name {
			return s.Value, s.Size
		}
	}
	t.Fatalf("%s: no symbol %s", path, name)
	return 0, 0
}

// Each target's scripts put the vectors or the entry point where the
// machine starts, code and RAM where its memory map has them, and the
// reference arena in .bss below 4 GiB.
func TestHarnessScriptsPlaceVectorsAndCode(t *testing.T) {
	t.Parallel()
	forEachBuild(t, func(t *testing.T, b refBuild) {
		syms := symbolAddrs(t, b.elf)
		want := []string{importSnake, importKebab, "ref_arena"}
		if b.tg.Platform == "cortexm" {
			want = append(want, "startup_vectors", "Reset_Handler", "__bss_start__", "__noinit_start__", "end", "_end")
		} else {
			want = append(want, "_start")
		}
		for _, s := range want {
			if _, ok := syms[s]; !ok {
				t.Fatalf("%s: no symbol %s", b.elf, s)
			}
		}
		if syms[importSnake] != syms[importKebab] {
			t.Errorf("the two spellings differ: %#x %#x", syms[importSnake], syms[importKebab])
		}
		if sec := sectionOf(t, b.elf, syms["ref_arena"]); sec != ".bss" {
			t.Errorf("ref_arena at %#x is in %q, want .bss", syms["ref_arena"], sec)
		}
		if end := syms["ref_arena"] + uint64(b.size()); end > 1<<32 {
			t.Errorf("ref_arena ends at %#x, beyond 4 GiB", end)
		}
		inRAM := func(lo, hi uint64) {
			t.Helper()
			if !(syms["__bss_start__"] >= lo && syms["__bss_start__"] <= syms["__noinit_start__"] && syms["__noinit_start__"] <= syms["end"] && syms["end"] <= hi) {
				t.Errorf("RAM layout: __bss_start__=%#x __noinit_start__=%#x end=%#x, want in [%#x, %#x]", syms["__bss_start__"], syms["__noinit_start__"], syms["end"], lo, hi)
			}
		}
		code := syms["Reset_Handler"] &^ 1
		switch b.tg {
		case targetM3:
			if syms["startup_vectors"] != 0 {
				t.Errorf("vector table at %#x, want 0", syms["startup_vectors"])
			}
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
			inRAM(0x20000000, 0x20400000)
		case targetM0:
			if syms["startup_vectors"] != 0 || code >= 0x40000 {
				t.Errorf("vectors at %#x, Reset_Handler at %#x: want 0 and in the 256 KiB FLASH", syms["startup_vectors"], code)
			}
			inRAM(0x20000000, 0x20004000)
		case targetM33:
			if syms["startup_vectors"] != 0x10000000 || code < 0x10000000 || code >= 0x10400000 {
				t.Errorf("vectors at %#x, Reset_Handler at %#x: want the Secure vector table at INITSVTOR 0x10000000 and code in SSRAM1", syms["startup_vectors"], code)
			}
			inRAM(0x38000000, 0x38200000)
		case targetRV32IMAC, targetRV32IMA:
			if syms["_start"] != 0x80000000 {
				t.Errorf("_start at %#x, want 0x80000000 (where QEMU virt's reset ROM jumps)", syms["_start"])
			}
			inRAM(0x80400000, 0x80800000)
		}
	})
}

// The exit status is the runner's exit status, and the command line the
// program sees is QEMU's kernel file name (or argv[0]) followed by the
// words of args.
func TestHarnessPassesExitStatusAndCommandLine(t *testing.T) {
	t.Parallel()
	forEachTarget(t, func(t *testing.T, tg *target) {
		builds := referenceBuilds(t, tg)
		for _, b := range []refBuild{builds[0], builds[len(builds)-1]} {
			t.Run(strings.TrimPrefix(b.name(), tg.Name+"/"), func(t *testing.T) {
				t.Parallel()
				for _, code := range []int{0, 1, 2, 42, 255} {
					if got, out := tg.run(t, b.elf, fmt.Sprintf("exit %d", code)); got != code {
						t.Errorf("exit %d: exit status %d; output:\n%s", code, got, out)
					}
				}
				out := tg.requireRun(t, b.elf, "args  alpha beta", exitPass)
				want := fmt.Sprintf("argc=4\narg=%s\narg=args\narg=alpha\narg=beta\n", filepath.Base(b.elf))
				if out != want {
					t.Errorf("args: got %q, want %q", out, want)
				}
				tg.requireRun(t, b.elf, "nosuchmode", exitFail, `FAIL unknown mode "nosuchmode"`)
				tg.requireRun(t, b.elf, "contract 100", exitFail, fmt.Sprintf("FAIL contract needs SIZE >= %d", tg.MinArena))
			})
		}
	})
}

// Each deliberately broken reference allocator must be caught, on at least
// one target of every architecture family (and on every compiler there).
func TestHarnessCatchesBrokenAllocators(t *testing.T) {
	t.Parallel()
	const size = 16411 // odd, to exercise the exact fill with an unaligned end
	sz := strconv.Itoa(size)
	type bugCase struct {
		bug      int
		what     string
		args     string
		wantCode int
		want     string
	}
	cases := func(tg *target) []bugCase {
		cs := []bugCase{
			{0, "correct allocator", "contract " + sz, exitPass, "PASS contract"},
			{1, "never resizes in place", "contract " + sz, exitFail, "FAIL"},
			{2, "does not copy the prefix", "contract " + sz, exitFail, "FAIL"},
			{3, "ignores align", "contract " + sz, exitFail, "FAIL"},
			{4, "size-0 request frees the last block", "contract " + sz, exitFail, "FAIL rule 2"},
			{5, "arena one byte short", "contract " + sz, exitTrap, tg.Trap},
			{6, "no wrap checks (len)", "wrap len", exitFail, "FAIL wrap"},
			{6, "no wrap checks (align)", "wrap align", exitFail, "FAIL wrap"},
			{6, "no wrap checks (grow)", "wrap grow", exitFail, "FAIL wrap"},
			{7, "accepts a bad align", "badalign", exitFail, "FAIL badalign"},
			{9, "returns NULL when full", "fill " + sz, exitFail, "FAIL fill: the allocator returned NULL"},
			{10, "shrink in place wastes", "contract " + sz, exitFail, "FAIL"},
		}
		if tg.Reset {
			cs = append(cs, bugCase{8, "state survives reset", "reset", exitFail, "FAIL reset: first allocation after reset"})
		}
		if tg.Family == "aarch64" || tg.Family == "x86_64" {
			cs = append(cs, bugCase{11, "result not zero-extended", "contract " + sz, exitFail, "FAIL result not a zero-extended 32-bit pointer"})
		}
		return cs
	}
	// One target per family, m3 with both compilers: m3 (Thumb-2) and r5
	// (A32) for Arm, rv32imac, aarch64, x86_64.
	runs := []struct {
		tg *target
		cc compiler
	}{
		{targetM3, gccCompiler}, {targetM3, clangCompiler},
		{targetR5, targetR5.Compilers[0]}, {targetRV32IMAC, targetRV32IMAC.Compilers[1]},
		{targetAArch64, targetAArch64.Compilers[0]}, {targetX86_64, targetX86_64.Compilers[0]},
	}
	for _, r := range runs {
		tg, cc := r.tg, r.cc
		t.Run(tg.Name+"/"+cc.Name, func(t *testing.T) {
			t.Parallel()
			requireTarget(t, tg)
			dir := t.TempDir()
			elfs := map[int]string{}
			for _, c := range cases(tg) {
				if _, ok := elfs[c.bug]; ok {
					continue
				}
				objs := sharedObjects(t, cc, programOptions{RefArenaSize: size, RefBug: c.bug})
				elfs[c.bug] = linkProgram(t, tg.shape(t, "ld.lld"), objs,
					tg.script(t, tg.Scripts[0]), filepath.Join(dir, fmt.Sprintf("bug%d.elf", c.bug)), "--gc-sections")
			}
			for _, c := range cases(tg) {
				tg.requireRun(t, elfs[c.bug], c.args, c.wantCode, c.want)
			}
		})
	}
}

// The program reaches the import through every relocation type its target
// has (target.Relocs; a type listed twice must occur at least twice, where
// two forms share it), under both spellings, and defines neither; so does
// the pointer-base build, whose forms pass offsets.
func TestContractObjectUsesEveryRelocationTypeAgainstImport(t *testing.T) {
	t.Parallel()
	undef := regexp.MustCompile(`\*UND\*\s+\S+\s+(\S+)$`)
	forEachTarget(t, func(t *testing.T, tg *target) {
		requireTools(t, toolObjdump, toolReadelf)
		for _, v := range []struct {
			name string
			opt  programOptions
		}{{"", programOptions{}}, {"/based", programOptions{PointerBase: true}}} {
			for _, cc := range tg.Compilers {
				t.Run(cc.Name+v.name, func(t *testing.T) {
					t.Parallel()
					requireTools(t, cc.Tool)
					objs := sharedObjects(t, cc, v.opt)
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
					wantTypes := tg.Relocs[cc.Name]
					if len(wantTypes) == 0 {
						t.Fatalf("target %s lists no relocation types for %s", tg.Name, cc.Name)
					}
					for _, sym := range []string{importSnake, importKebab} {
						if !undefined[sym] {
							t.Errorf("%s is not an undefined symbol of the program", sym)
						}
						min := map[string]int{}
						for _, ty := range wantTypes {
							min[ty]++
						}
						for ty, n := range min {
							if total[sym][ty] < n {
								t.Errorf("%d %s against %s, want at least %d (have %v)", total[sym][ty], ty, sym, n, total[sym])
							}
						}
						for ty := range total[sym] {
							if !contains(wantTypes, ty) {
								t.Errorf("%s against %s is not in the target's list %v: add it", ty, sym, wantTypes)
							}
						}
					}
					t.Logf("%s/%s%s: %v", tg.Name, cc.Name, v.name, total)
				})
			}
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
			// A target's tools: the same rule.
			rec = &recordingTB{TB: t}
			requireTools(rec, append(targetRV32IMA.tools(), "no-such-tool")...)
			if (ci == "true") != (rec.fatal != "") {
				t.Errorf("target tools: fatal=%q skip=%q", rec.fatal, rec.skip)
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

// A run that does not end is killed and fails the test: QEMU system
// emulation, QEMU user mode and a native program alike.
func TestRunQEMUKillsHungProgramAfterTimeout(t *testing.T) {
	t.Parallel()
	for _, tg := range []*target{targetM3, targetR5, targetX86_64} {
		t.Run(tg.Name, func(t *testing.T) {
			t.Parallel()
			b := referenceBuilds(t, tg)[0]
			rec := &recordingTB{TB: t}
			start := time.Now()
			code, out := tg.runTimeout(rec, b.elf, "hang", 2*time.Second)
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("runTimeout took %v with a 2s timeout", d)
			}
			if want := tg.Run.what() + " killed after 2s"; !strings.Contains(rec.fatal, want) || !strings.Contains(rec.fatal, "hang") {
				t.Errorf("fatal=%q, want a timeout failure (%q) showing the output so far", rec.fatal, want)
			}
			if code != -1 || !strings.Contains(out, "hang") {
				t.Errorf("code=%d output=%q", code, out)
			}
		})
	}
	// The m3 helper of the first harness.
	b := referenceBuilds(t, targetM3)[0]
	rec := &recordingTB{TB: t}
	if code, _ := runQEMUTimeout(rec, b.elf, "hang", 2*time.Second); code != -1 || !strings.Contains(rec.fatal, "QEMU killed after 2s") {
		t.Errorf("runQEMUTimeout: code=%d fatal=%q", code, rec.fatal)
	}
}

// The end-to-end shape: on every target, the program without an allocator
// links with every shape and script when the linker is told to leave the
// import undefined and to keep the relocations, and runs as long as it does
// not allocate.
func TestProgramWithoutAllocatorLinksWithImportUndefined(t *testing.T) {
	t.Parallel()
	forEachTarget(t, func(t *testing.T, tg *target) {
		requireTarget(t, tg)
		for _, cc := range tg.Compilers {
			t.Run(cc.Name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				objs := sharedObjects(t, cc, programOptions{})
				for _, shape := range tg.Shapes {
					for _, script := range tg.Scripts {
						elf := linkProgram(t, shape, objs, tg.script(t, script),
							filepath.Join(dir, fmt.Sprintf("%s-%s.elf", shape.Name, script)),
							"--gc-sections", "--unresolved-symbols=ignore-all", "--emit-relocs")
						relocs := relocationsAgainst(t, elf, importSnake, importKebab)
						for _, sym := range []string{importSnake, importKebab} {
							if len(relocs[sym]) == 0 {
								t.Errorf("%s: relocations against %s not kept", filepath.Base(elf), sym)
							}
						}
						tg.requireRun(t, elf, "args x", exitPass, "argc=3\n", "arg=args\narg=x\n")
					}
				}
			})
		}
	})
}

// An allocator object linked directly (programOptions.AllocatorObject):
// elfpatch's Thumb-2 allocator, arena_blob/thumb2.o, with the harness's
// storage, on m3 and m33. Its trap is "bl __cabi_arena_exhausted" (weak)
// followed by "udf #0": without a hook GNU ld turns the call into nop.w and
// ld.lld into a BL to the next instruction, so either way the udf traps.
func TestHarnessLinksAnAllocatorObject(t *testing.T) {
	t.Parallel()
	blob := filepath.Join("..", "arena_blob", "thumb2.o")
	if _, err := os.Stat(blob); err != nil {
		t.Fatalf("allocator object: %v", err)
	}
	const size = 16384
	for _, tg := range []*target{targetM3, targetM33} {
		for _, cc := range tg.Compilers {
			t.Run(tg.Name+"/"+cc.Name, func(t *testing.T) {
				t.Parallel()
				requireTarget(t, tg)
				dir := t.TempDir()
				objs, hookObjs := programVariants(t, cc, programOptions{AllocatorObject: blob, ArenaSize: size})
				for _, shape := range armDirect {
					elf := linkProgram(t, shape, objs, tg.script(t, tg.Scripts[0]), filepath.Join(dir, shape.Name+".elf"), "--gc-sections")
					hookELF := linkProgram(t, shape, hookObjs, tg.script(t, tg.Scripts[0]), filepath.Join(dir, shape.Name+"-hook.elf"), "--gc-sections")
					syms := symbolAddrs(t, elf)
					if syms["__elfpatch_arena_end"]-syms["__elfpatch_arena_start"] != size || syms[importSnake] != syms[importKebab] {
						t.Fatalf("%s: arena [%#x, %#x), imports %#x %#x", shape.Name, syms["__elfpatch_arena_start"], syms["__elfpatch_arena_end"], syms[importSnake], syms[importKebab])
					}
					if sec := sectionOf(t, elf, syms["__elfpatch_state"]); sec != ".bss" {
						t.Errorf("%s: __elfpatch_state in %q, want .bss", shape.Name, sec)
					}
					// What the linker made of the call to the undefined weak hook.
					addr, n := symbolRange(t, elf, importSnake)
					dis := runTool(t, toolObjdump, "-d", "--no-show-raw-insn",
						fmt.Sprintf("--start-address=%#x", addr&^1), fmt.Sprintf("--stop-address=%#x", addr&^1+n), elf)
					call := regexp.MustCompile(`(?m)^\s*([0-9a-f]+):\s+(\S+)\s*(.*)\n\s*([0-9a-f]+):\s+udf\s`).FindStringSubmatch(dis)
					switch {
					case call == nil:
						t.Errorf("%s: no udf in the allocator:\n%s", shape.Name, dis)
					case shape.Name == "arm-none-eabi-ld" && call[2] != "nop.w":
						t.Errorf("%s: before the udf: %s %s, want nop.w", shape.Name, call[2], call[3])
					case shape.Name == "ld.lld" && !(call[2] == "bl" && strings.HasPrefix(call[3], "0x"+call[4])):
						t.Errorf("%s: before the udf: %s %s, want a bl to the udf", shape.Name, call[2], call[3])
					}
					tg.requireRun(t, elf, fmt.Sprintf("contract %d", size), exitPass, "PASS contract")
					tg.requireRun(t, elf, fmt.Sprintf("fill %d", size), exitTrap, "filled", tg.Trap)
					tg.requireRun(t, elf, fmt.Sprintf("fill %d", size-1), exitPass, "filled", "survived")
					tg.requireRun(t, elf, "badalign", exitTrap, "badalign", tg.Trap)
					for _, kind := range []string{"len", "align", "grow"} {
						tg.requireRun(t, elf, "wrap "+kind, exitTrap, "wrap "+kind, tg.Trap)
					}
					tg.requireRun(t, elf, "exhaust", exitTrap, "exhaust", tg.Trap)
					tg.requireRun(t, elf, "reset", exitPass, "first boot", "second boot", "PASS reset")
					tg.requireRun(t, hookELF, "exhaust", exitExhausted, "EXHAUSTED")
					tg.requireRun(t, hookELF, "badalign", exitExhausted, "EXHAUSTED")
				}
			})
		}
	}
}

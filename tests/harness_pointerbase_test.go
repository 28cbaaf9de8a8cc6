package tests

// Self-test of the pointer-base build of the contract program
// (programOptions.PointerBase): the program and the reference allocator
// (refalloc.c with -DREF_POINTER_BASE) speak offsets from
// __linear_memory_base, as synth's default ABI and elfpatch --pointer-base
// __linear_memory_base do. On every target, compiler, link shape and
// script the linear memory is where the target says, the program passes
// every mode with offsets, and it catches broken allocators, including
// one that answers with native addresses.

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// basedBuild is one linked pointer-base program: refBuild's fields, the
// program built with PointerBase.
type basedBuild = refBuild

var basedMatrix = map[*target]*targetMatrix{}

func init() {
	for _, tg := range targets {
		basedMatrix[tg] = &targetMatrix{}
	}
}

// pointerBaseBuilds builds tg's pointer-base matrix once per test binary:
// every compiler, link shape and script, with --gc-sections, the reference
// allocator speaking offsets (and the same with the exhausted hook).
func pointerBaseBuilds(t *testing.T, tg *target) []basedBuild {
	t.Helper()
	requireTarget(t, tg)
	m := basedMatrix[tg]
	m.once.Do(func() {
		for _, cc := range tg.Compilers {
			dir := filepath.Join(sharedDir, "based", tg.Name, cc.Name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			objs, hookObjs := programVariants(t, cc, programOptions{RefArenaSize: tg.ArenaSize, PointerBase: true})
			for _, shape := range tg.Shapes {
				for _, script := range tg.Scripts {
					b := basedBuild{tg: tg, cc: cc, shape: shape, script: script, gc: true}
					base := filepath.Join(dir, shape.Name+"_"+script)
					b.elf = linkProgram(t, shape, objs, tg.script(t, script), base+".elf", "--gc-sections")
					b.hookELF = linkProgram(t, shape, hookObjs, tg.script(t, script), base+"-hook.elf", "--gc-sections")
					m.builds = append(m.builds, b)
				}
			}
		}
		m.ok = true
	})
	if !m.ok {
		t.Fatalf("building the pointer-base programs for %s failed (see the log of the test that built them)", tg.Name)
	}
	return m.builds
}

// forEachBasedBuild runs f for every pointer-base build of every target as
// parallel subtests.
func forEachBasedBuild(t *testing.T, f func(t *testing.T, b basedBuild)) {
	forEachTarget(t, func(t *testing.T, tg *target) {
		for _, b := range pointerBaseBuilds(t, tg) {
			t.Run(strings.TrimPrefix(b.name(), tg.Name+"/"), func(t *testing.T) {
				t.Parallel()
				f(t, b)
			})
		}
	})
}

// linearMemory returns __linear_memory_base's value and st_size in a
// linked image, the address of its .data section, and the end of its
// writable sections (.data, .bss, .noinit, ...).
func linearMemory(t *testing.T, path string) (base, size, data, rwEnd uint64) {
	t.Helper()
	base, size = symbolRange(t, path, "__linear_memory_base")
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := f.Section(".data")
	if s == nil {
		t.Fatalf("%s: no .data section", path)
	}
	for _, sec := range f.Sections {
		if sec.Flags&(elf.SHF_ALLOC|elf.SHF_WRITE) == elf.SHF_ALLOC|elf.SHF_WRITE && sec.Addr+sec.Size > rwEnd {
			rwEnd = sec.Addr + sec.Size
		}
	}
	return base, size, s.Addr, rwEnd
}

// The linear memory starts at .data, which is the start of RAM on the
// bare-metal targets, has the target's size as its st_size, and holds
// .data, the arena and .bss; the program's own objects stay native.
func TestPointerBaseLinearMemoryIsWhereTheTargetSays(t *testing.T) {
	t.Parallel()
	ramStart := map[*target]uint64{targetM3: 0x20000000, targetM0: 0x20000000, targetM33: 0x38000000,
		targetRV32IMAC: 0x80400000, targetRV32IMA: 0x80400000}
	forEachBasedBuild(t, func(t *testing.T, b basedBuild) {
		base, size, data, rwEnd := linearMemory(t, b.elf)
		if size != uint64(b.tg.LinearMemory) {
			t.Errorf("__linear_memory_base's st_size is %#x, want the target's LinearMemory %#x", size, b.tg.LinearMemory)
		}
		if base != data {
			t.Errorf("__linear_memory_base at %#x, want the start of .data %#x", base, data)
		}
		if want, ok := ramStart[b.tg]; ok && base != want {
			t.Errorf("__linear_memory_base at %#x, want the start of RAM %#x", base, want)
		}
		arena := symbolAddrs(t, b.elf)["ref_arena"]
		if !(base < arena && arena+uint64(b.size()) <= rwEnd && rwEnd <= base+size) {
			t.Errorf("linear memory [%#x, %#x) does not hold the arena [%#x, %#x) and the writable sections up to %#x",
				base, base+size, arena, arena+uint64(b.size()), rwEnd)
		}
		if base%8 != 0 {
			t.Errorf("__linear_memory_base at %#x is not 8-aligned", base)
		}
	})
}

var arenaLine = regexp.MustCompile(`arena start=0x([0-9a-f]{8}) end=0x([0-9a-f]{8})`)

// Every build passes the contract and fills its arena exactly, with
// offsets; the builds of each compiler's first link shape (one per
// script) also run every other mode, and the same with the hook.
func TestPointerBaseRunsEveryModeWithOffsets(t *testing.T) {
	t.Parallel()
	forEachBasedBuild(t, func(t *testing.T, b basedBuild) {
		tg, size := b.tg, b.size()
		base, _, _, _ := linearMemory(t, b.elf)
		arena := symbolAddrs(t, b.elf)["ref_arena"]
		out := tg.requireRun(t, b.elf, fmt.Sprintf("contract %d", size), exitPass,
			"arena start=", "linear memory base=", fmt.Sprintf("size=0x%08x", tg.LinearMemory), "PASS contract")
		if strings.Contains(out, "FAIL") || strings.Contains(out, tg.Trap) {
			t.Fatalf("unexpected output:\n%s", out)
		}
		// The arena is reported as offsets: the reference arena's address minus the base.
		m := arenaLine.FindStringSubmatch(out)
		start, _ := strconv.ParseUint(m[1], 16, 32)
		if want := arena - base; start != want {
			t.Errorf("arena start=%#x, want the offset %#x of ref_arena %#x from the base %#x", start, want, arena, base)
		}
		if !strings.Contains(out, fmt.Sprintf("base=0x%0*x", 2*ptrSize(t, b.elf), base)) {
			t.Errorf("the base printed is not %#x:\n%s", base, out)
		}

		out = tg.requireRun(t, b.elf, fmt.Sprintf("fill %d", size), exitTrap, "filled", tg.Trap)
		if strings.Contains(out, "survived") {
			t.Fatalf("fill SIZE: one more byte was handed out:\n%s", out)
		}
		tg.requireRun(t, b.elf, fmt.Sprintf("fill %d", size-1), exitPass, "filled",
			fmt.Sprintf("survived first=0x%08x second=0x%08x", arena-base, arena-base+uint64(size)-1))
		if b.shape.Name != tg.Shapes[0].Name {
			return
		}
		if out := tg.requireRun(t, b.elf, fmt.Sprintf("fill %d", size+1), exitTrap, tg.Trap); strings.Contains(out, "filled") {
			t.Fatalf("fill SIZE+1: the first request did not trap:\n%s", out)
		}
		tg.requireRun(t, b.elf, "badalign", exitTrap, "badalign\n", tg.Trap)
		for _, kind := range []string{"len", "align", "grow"} {
			if out := tg.requireRun(t, b.elf, "wrap "+kind, exitTrap, "wrap "+kind+"\n", tg.Trap); strings.Contains(out, "FAIL") {
				t.Fatalf("wrap %s:\n%s", kind, out)
			}
		}
		tg.requireRun(t, b.elf, "exhaust", exitTrap, "exhaust\n", tg.Trap)
		if tg.Reset {
			tg.requireRun(t, b.elf, "reset", exitPass,
				fmt.Sprintf("reset: first boot first_block=0x%08x", arena-base),
				"reset: second boot boots=0x00000002 bss_word_at_reset=0xa5a5a5a5", "PASS reset")
		} else {
			tg.requireRun(t, b.elf, "reset", exitUnsupported, "UNSUPPORTED reset")
		}

		for _, args := range []string{"exhaust", "badalign", "wrap grow", fmt.Sprintf("fill %d", size)} {
			out := tg.requireRun(t, b.hookELF, args, exitExhausted, "EXHAUSTED")
			if strings.Contains(out, tg.Trap) || strings.Contains(out, "survived") {
				t.Fatalf("%s:\n%s", args, out)
			}
		}
		tg.requireRun(t, b.hookELF, fmt.Sprintf("contract %d", size), exitPass, "PASS contract")
	})
}

// ptrSize is the size of an address in bytes (4 or 8) of a linked image.
func ptrSize(t *testing.T, path string) int {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Class == elf.ELFCLASS64 {
		return 8
	}
	return 4
}

// The pointer-base program catches each broken reference allocator, on the
// targets of every family; and it refuses an allocator that answers with
// native addresses (refalloc.c without -DREF_POINTER_BASE) where they lie
// beyond the linear memory's size, i.e. everywhere but on r5, whose image
// starts at 0x10000: there a native address is also a valid offset, and
// the program, which knows nothing of the allocator's arena, faults on it
// instead.
func TestPointerBaseCatchesBrokenAllocators(t *testing.T) {
	t.Parallel()
	type bugCase struct {
		bug      int
		args     string
		wantCode int
		want     string
	}
	// An odd size exercises the exact fill with an unaligned end; the m0 has 16 KiB of RAM.
	arenaSize := func(tg *target) uint32 {
		if tg == targetM0 {
			return 8187
		}
		return 16411
	}
	cases := func(tg *target) []bugCase {
		sz := strconv.Itoa(int(arenaSize(tg)))
		cs := []bugCase{
			{0, "contract " + sz, exitPass, "PASS contract"},
			{1, "contract " + sz, exitFail, "FAIL"},
			{2, "contract " + sz, exitFail, "FAIL"},
			{3, "contract " + sz, exitFail, "FAIL"},
			{4, "contract " + sz, exitFail, "FAIL rule 2"},
			{5, "contract " + sz, exitTrap, tg.Trap},
			{6, "wrap len", exitFail, "FAIL wrap"},
			{6, "wrap align", exitFail, "FAIL wrap"},
			{6, "wrap grow", exitFail, "FAIL wrap"},
			{7, "badalign", exitFail, "FAIL badalign"},
			{9, "fill " + sz, exitFail, "FAIL fill: the allocator returned NULL"},
			{10, "contract " + sz, exitFail, "FAIL"},
		}
		if tg.Reset {
			cs = append(cs, bugCase{8, "reset", exitFail, "FAIL reset: first allocation after reset"})
		}
		if tg.Family == "aarch64" || tg.Family == "x86_64" {
			cs = append(cs, bugCase{11, "contract " + sz, exitFail, "FAIL result not a zero-extended 32-bit pointer"})
		}
		return cs
	}
	runs := []struct {
		tg *target
		cc compiler
	}{
		{targetM3, gccCompiler}, {targetM3, clangCompiler}, {targetM0, targetM0.Compilers[0]},
		{targetR5, targetR5.Compilers[1]}, {targetRV32IMAC, targetRV32IMAC.Compilers[0]},
		{targetRV32IMAC, targetRV32IMAC.Compilers[1]},
		{targetAArch64, targetAArch64.Compilers[0]}, {targetX86_64, targetX86_64.Compilers[1]},
	}
	for _, r := range runs {
		tg, cc := r.tg, r.cc
		t.Run(tg.Name+"/"+cc.Name, func(t *testing.T) {
			t.Parallel()
			requireTarget(t, tg)
			size := arenaSize(tg)
			dir := t.TempDir()
			shape, script := tg.shape(t, "ld.lld"), tg.script(t, tg.Scripts[0])
			elfs := map[int]string{}
			for _, c := range cases(tg) {
				if _, ok := elfs[c.bug]; ok {
					continue
				}
				objs := sharedObjects(t, cc, programOptions{RefArenaSize: size, RefBug: c.bug, PointerBase: true})
				elfs[c.bug] = linkProgram(t, shape, objs, script, filepath.Join(dir, fmt.Sprintf("bug%d.elf", c.bug)), "--gc-sections")
			}
			for _, c := range cases(tg) {
				tg.requireRun(t, elfs[c.bug], c.args, c.wantCode, c.want)
			}

			// The based program with the native reference allocator.
			objs := sharedObjects(t, cc, programOptions{PointerBase: true})
			native := compileObject(t, cc, "common/refalloc.c", filepath.Join(dir, "refalloc-native.o"),
				fmt.Sprintf("-DREF_ARENA_SIZE=%d", size))
			mixed := linkProgram(t, shape, append(objs, native), script, filepath.Join(dir, "native-allocator.elf"), "--gc-sections")
			if arena := symbolAddrs(t, mixed)["ref_arena"]; arena+uint64(size) > uint64(tg.LinearMemory) {
				tg.requireRun(t, mixed, fmt.Sprintf("contract %d", size), exitFail, "linear memory base=", "FAIL arena outside the linear memory")
			} else if tg != targetR5 {
				t.Errorf("the native arena at %#x is a valid offset on %s", arena, tg.Name)
			}
		})
	}
}

package tests

// Interrupt safety of the M-profile allocator, under QEMU: an interrupt
// handler that allocates must never tear the bump (read cursor, compute,
// write cursor) of the code it interrupted. cortexm/irq.c allocates in its
// main loop and in a SysTick handler that it arms, before every call, to
// fire a few ticks later; it checks that the blocks never overlap, that
// their bytes stay intact and that the cursor is exactly where the blocks
// handed out end (see irq.c).
//
// QEMU runs with -icount: guest time is the instruction count, so SysTick
// expires at an exact instruction, the same one on every run, and QEMU
// delivers the interrupt there, in the middle of a translation block if
// need be. Without -icount the timer follows the host clock and interrupts
// are taken only between translation blocks: of 20000 interrupts, 1 (m3)
// to 11 (m33) landed between the allocator's LDREX and STREX. At shift=7
// an instruction takes 128 ns of guest time, 3.2, 2.56 and 2 SysTick ticks
// on the m3, m33 and m0 (processor clocks of 25, 20 and 16 MHz), so
// walking the delay one tick at a time reaches every instruction of the
// call; at shift=0 one tick spans 40 to 62 instructions.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const (
	// irqIterations is how many interleavings each run makes: one
	// allocation of the main loop, one interrupt that allocates.
	irqIterations = 120000
	// irqArena is the arena size: the m0's 16 KiB of RAM also holds the
	// program's block records and its stack. A round ends before the
	// arena is full, and the program empties it for the next round.
	irqArena = 4096
	// irqMinHeld is the least number of interrupts the Thumb-1 allocator
	// must be seen to hold back until its MSR PRIMASK: with the short
	// masked bump, one in twenty (gcc) to one in seventy (clang) comes due
	// while it is masked.
	irqMinHeld = irqIterations / 120
	// irqMinWindow is the least number of interrupts that must land inside
	// the Thumb-2 allocator's LDREX/STREX window: about one in twenty does.
	irqMinWindow = irqIterations / 40
)

// irqTargets are the M-profile targets.
var irqTargets = []*target{targetM3, targetM0, targetM33}

// irqStatsLine matches irq.c's statistics ("PASS irq iterations=..." or
// after "FAIL ...").
var irqStatsLine = regexp.MustCompile(`iterations=(\d+) rounds=(\d+) blocks=(\d+) window=(\d+) covered=(\d+)/(\d+) retried=(\d+) torn=(\d+) held=(\d+)`)

// irqStats are the numbers irq.c prints.
type irqStats struct {
	Iterations, Rounds, Blocks, Window, Covered, Bounds, Retried, Torn, Held int
}

func parseIRQStats(t testing.TB, out string) irqStats {
	t.Helper()
	m := irqStatsLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no statistics in the output:\n%s", out)
	}
	n := make([]int, len(m)-1)
	for i := range n {
		v, err := strconv.Atoi(m[i+1])
		if err != nil {
			t.Fatal(err)
		}
		n[i] = v
	}
	return irqStats{n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8]}
}

// irqObjects compiles the program (cortexm/irq.c, the platform layer and
// common/print.c) for cc's target once per test binary; windowSymbols
// builds it with -DIRQ_WINDOW_SYMBOLS, for the non-atomic control. irq.o
// comes first: its vector table, the one with its SysTick handler, must
// be the first .isr_vector, the one at the start of FLASH.
func irqObjects(t testing.TB, cc compiler, windowSymbols bool) []string {
	t.Helper()
	variant, flags := "irq", []string(nil)
	if windowSymbols {
		variant, flags = "irq-symbols", []string{"-DIRQ_WINDOW_SYMBOLS"}
	}
	tg := targetOf(t, cc)
	return cachedBuild(t, filepath.Join(sharedDir, "irq", tg.Name, cc.Name, variant), func(dir string) []string {
		srcs := append(append([]string{"cortexm/irq.c"}, tg.platformSources()...), "common/print.c")
		jobs := make([]compileJob, len(srcs))
		objs := make([]string, len(srcs))
		for i, src := range srcs {
			objs[i] = filepath.Join(dir, objectName(src))
			jobs[i] = compileJob{src, objs[i], flags}
		}
		compileObjects(t, cc, jobs...)
		return objs
	})
}

// irqRun runs elf on tg under QEMU with -icount.
func irqRun(t testing.TB, tg *target, elf, args string) (int, string) {
	t.Helper()
	icounted := *tg
	icounted.Run.Args = append(append([]string{}, tg.Run.Args...), "-icount", "shift=7,align=off")
	return icounted.run(t, elf, args)
}

// irqTornLine is how irq.c reports a torn bump.
var irqTornLine = regexp.MustCompile(`FAIL (overlap: main's block and the handler's|lost allocation: a block handed out lies beyond the cursor) `)

// irqVariant is the built-in allocator elfpatch injects on tg.
func irqVariant(tg *target) string {
	if tg == targetM0 {
		return "thumb1" // ARMv6-M
	}
	return "thumb2"
}

// allocatorVariant is the built-in allocator elfpatch put into elf.
func allocatorVariant(t testing.TB, elf string) string {
	t.Helper()
	var rep struct {
		Plan struct{ Allocator struct{ Variant string } }
	}
	inspectJSON(t, elf, &rep)
	return rep.Plan.Allocator.Variant
}

// TestInterruptsCannotTearTheBump: on each M-profile target, built by each
// compiler, linked through elfpatch-ld so that elfpatch injects its
// allocator, irqIterations interleavings of the main loop's allocations
// and the SysTick handler's leave every block apart and intact and the
// cursor exact. On Thumb-2 thousands of interrupts land between the LDREX
// and the STREX, at every instruction boundary there, and each time the
// main loop's block ends up above the handler's: the STREX failed and the
// bump was retried. On Thumb-1 none lands between CPSID I and MSR PRIMASK,
// and thousands that came due there are taken right after the MSR.
func TestInterruptsCannotTearTheBump(t *testing.T) {
	for _, tg := range irqTargets {
		for _, cc := range tg.Compilers {
			tg, cc := tg, cc
			t.Run(tg.Name+"/"+cc.Name, func(t *testing.T) {
				t.Parallel()
				requireTarget(t, tg)
				elf := wrappedLink(t, tg.Shapes[0], irqObjects(t, cc, false), tg.script(t, tg.Scripts[0]),
					filepath.Join(t.TempDir(), "irq.elf"), []string{fmt.Sprintf("ELFPATCH_ARENA_SIZE=%d", irqArena)})
				mustElfpatch(t, "verify", elf)
				variant := allocatorVariant(t, elf)
				if want := irqVariant(tg); variant != want {
					t.Fatalf("allocator variant %q, want %q", variant, want)
				}

				code, out := irqRun(t, tg, elf, fmt.Sprintf("irq %d", irqIterations))
				t.Logf("%s", strings.TrimSpace(out))
				if code != exitPass || !strings.Contains(out, fmt.Sprintf("PASS irq iterations=%d rounds=", irqIterations)) {
					t.Fatalf("exit status %d, want %d and PASS irq iterations=%d; output:\n%s", code, exitPass, irqIterations, out)
				}
				s := parseIRQStats(t, out)
				if s.Torn != 0 || s.Retried != s.Window || s.Bounds == 0 {
					t.Errorf("window hits %d: retried %d, torn %d (window of %d boundaries)", s.Window, s.Retried, s.Torn, s.Bounds)
				}
				if variant == "thumb2" {
					if s.Window < irqMinWindow {
						t.Errorf("only %d interrupts landed between LDREX and STREX, want at least %d", s.Window, irqMinWindow)
					}
					if s.Covered != s.Bounds {
						t.Errorf("interrupts landed at %d of the window's %d instruction boundaries, want all", s.Covered, s.Bounds)
					}
					if s.Held != 0 {
						t.Errorf("held %d: no PRIMASK window on Thumb-2", s.Held)
					}
					// QEMU clears the exclusive monitor on exception
					// entry and return, as the cores do (an exception
					// removes the exclusive access tag): the STREX after
					// any interrupt fails, allocating or not.
					const want = "monitor no-irq=0 idle-irq=1 exclusive-irq=1 relock-irq=1"
					if code, out := irqRun(t, tg, elf, "monitor"); code != exitPass || !strings.Contains(out, want) {
						t.Errorf("monitor: exit status %d, want %d and %q; output:\n%s", code, exitPass, want, out)
					}
				} else {
					if s.Window != 0 || s.Covered != 0 {
						t.Errorf("%d interrupts were taken with the bump masked", s.Window)
					}
					if s.Held < irqMinHeld {
						t.Errorf("only %d interrupts were held back until the MSR PRIMASK, want at least %d", s.Held, irqMinHeld)
					}
				}
			})
		}
	}
}

// TestInterruptTestCatchesANonAtomicBump is the negative control: the same
// program linked with the built-in allocator's own source with the
// protection taken out (plain LDR/STR for LDREX/STREX on Thumb-2, no CPSID
// I on Thumb-1; nonAtomicAllocator) fails, on the first interrupt that
// lands between the load and the store of the cursor: the two blocks
// handed out overlap, or (when the handler's alignment kept them apart)
// the cursor lies below the handler's block.
func TestInterruptTestCatchesANonAtomicBump(t *testing.T) {
	for _, tg := range irqTargets {
		tg := tg
		t.Run(tg.Name, func(t *testing.T) {
			t.Parallel()
			requireTarget(t, tg)
			variant := irqVariant(tg)
			dir := t.TempDir()
			src := filepath.Join(dir, "nonatomic.S")
			if err := os.WriteFile(src, []byte(nonAtomicAllocator(t, variant)), 0o644); err != nil {
				t.Fatal(err)
			}
			cc := tg.compiler(t, "gcc")
			obj := compileObject(t, cc, src, filepath.Join(dir, "nonatomic.o"))
			objs := append(irqObjects(t, cc, true), obj)
			elf := wrappedLink(t, tg.Shapes[0], objs, tg.script(t, tg.Scripts[0]), filepath.Join(dir, "irq.elf"),
				[]string{fmt.Sprintf("ELFPATCH_ARENA_SIZE=%d", irqArena)})
			code, out := irqRun(t, tg, elf, fmt.Sprintf("irq %d", irqIterations))
			t.Logf("%s", strings.TrimSpace(out))
			if code != exitFail || !irqTornLine.MatchString(out) {
				t.Fatalf("exit status %d, want %d and %s; output:\n%s", code, exitFail, irqTornLine, out)
			}
			if s := parseIRQStats(t, out); s.Torn != 1 || s.Window != 1 || s.Retried != 0 {
				t.Errorf("failed after %d window hits (%d torn, %d retried), want on the first", s.Window, s.Torn, s.Retried)
			}
		})
	}
}

// nonAtomicAllocator returns arena_blob/VARIANT.S ("thumb2" or "thumb1")
// with the bump's protection taken out, everything else as it is, and the
// bump's window marked for irq.c (-DIRQ_WINDOW_SYMBOLS): irq_window_lo at
// the load of the cursor, irq_window_hi at its store. Linked into the
// image, it is the image's own allocator; elfpatch binds the kebab
// spelling to it.
//
//	thumb2:  ldrex rT, [rN]      ->  irq_window_lo: ldr.w rT, [rN]
//	         strex rD, rT, [rN]  ->  irq_window_hi: str.w rT, [rN]; mov rD, #0
//	thumb1:  cpsid i             ->  nop
//	         the first ldr after it gets irq_window_lo, the last str
//	         before the MSR PRIMASK that unmasks gets irq_window_hi
func nonAtomicAllocator(t testing.TB, variant string) string {
	t.Helper()
	text, err := os.ReadFile(repoPath(t, filepath.Join("arena_blob", variant+".S")))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(text), "\n")
	find := func(from, to, step int, re string) int {
		r := regexp.MustCompile(`^[ \t]*` + re)
		for i := from; i != to; i += step {
			if r.MatchString(lines[i]) {
				return i
			}
		}
		t.Fatalf("arena_blob/%s.S: no %q: the non-atomic control cannot be derived from it", variant, re)
		return -1
	}
	switch variant {
	case "thumb2":
		ldrex := regexp.MustCompile(`^([ \t]*)ldrex[ \t]+(\w+),[ \t]*\[(\w+)\]`)
		strex := regexp.MustCompile(`^([ \t]*)strex[ \t]+(\w+),[ \t]*(\w+),[ \t]*\[(\w+)\]`)
		l := find(0, len(lines), 1, `ldrex\s`)
		s := find(l, len(lines), 1, `strex\s`)
		if !ldrex.MatchString(lines[l]) || !strex.MatchString(lines[s]) {
			t.Fatalf("arena_blob/thumb2.S: unexpected operands:\n%s\n%s", lines[l], lines[s])
		}
		lines[l] = ldrex.ReplaceAllString(lines[l], "irq_window_lo:\n${1}ldr.w   ${2}, [${3}]")
		lines[s] = strex.ReplaceAllString(lines[s], "irq_window_hi:\n${1}str.w   ${3}, [${4}]\n${1}mov     ${2}, #0")
	case "thumb1":
		c := find(0, len(lines), 1, `cpsid[ \t]+i\b`)
		l := find(c, len(lines), 1, `ldr\s`)
		m := find(c, len(lines), 1, `msr[ \t]+primask`)
		s := find(m, c, -1, `str\s`)
		lines[c] = regexp.MustCompile(`cpsid[ \t]+i`).ReplaceAllString(lines[c], "nop    ")
		lines[s] = "irq_window_hi:\n" + lines[s]
		lines[l] = "irq_window_lo:\n" + lines[l]
	default:
		t.Fatalf("no non-atomic control for variant %q", variant)
	}
	return "@ arena_blob/" + variant + ".S with the bump's protection taken out (irq_test.go).\n" +
		"    .global irq_window_lo, irq_window_hi\n" + strings.Join(lines, "\n")
}

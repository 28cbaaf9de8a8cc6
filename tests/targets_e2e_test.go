package tests

// End-to-end tests of elfpatch on every target (targets_test.go): the
// contract program built without an allocator, by each compiler, linked
// through elfpatch-ld by each linker with each script (the linker's default
// script included), patched, verified and run under emulation.

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// e2eArena is the arena size a target's end-to-end tests patch in: small
// enough for the m0's 16 KiB of RAM, large enough for the contract.
func e2eArena(tg *target) uint32 {
	if tg.ArenaSize < 16384 {
		return tg.ArenaSize
	}
	return 16384
}

// TestEveryTargetBindsAndRunsTheContract: every target, compiler, linker
// and script. Each run proves the contract holds, that an arena of exactly
// the requested size fills to its last byte and one byte more traps (a
// too-small arena traps), and that a request whose arithmetic would wrap
// traps (an over-large request).
func TestEveryTargetBindsAndRunsTheContract(t *testing.T) {
	for _, tg := range targets {
		if tg == targetM3 {
			continue // TestWrappedLinksOfEveryShapeRunTheContract
		}
		for _, cc := range tg.Compilers {
			for _, shape := range tg.Shapes {
				for _, script := range tg.Scripts {
					tg, cc, shape, script := tg, cc, shape, script
					t.Run(fmt.Sprintf("%s/%s/%s/%s", tg.Name, cc.Name, shape.Name, script), func(t *testing.T) {
						t.Parallel()
						requireTarget(t, tg)
						size := e2eArena(tg)
						objs := sharedObjects(t, cc, programOptions{})
						elf := wrappedLink(t, shape, objs, tg.script(t, script), filepath.Join(t.TempDir(), "app.elf"),
							[]string{fmt.Sprintf("ELFPATCH_ARENA_SIZE=%d", size)})
						mustElfpatch(t, "verify", elf)
						tg.requireRun(t, elf, fmt.Sprintf("contract %d", size), exitPass, "PASS contract")
						tg.requireRun(t, elf, fmt.Sprintf("fill %d", size), exitTrap, "filled", tg.Trap)
						tg.requireRun(t, elf, fmt.Sprintf("fill %d", size-1), exitPass, "filled", "survived")
						tg.requireRun(t, elf, "wrap len", exitTrap, "wrap len", tg.Trap)
						tg.requireRun(t, elf, "badalign", exitTrap, "badalign", tg.Trap)
					})
				}
			}
		}
	}
}

// The exhausted hook, a warm reset and a resize, once per target with its
// first compiler and linker.
func TestEveryTargetCallsTheHookResetsAndResizes(t *testing.T) {
	for _, tg := range targets {
		tg := tg
		t.Run(tg.Name, func(t *testing.T) {
			t.Parallel()
			requireTarget(t, tg)
			cc, shape, script := tg.Compilers[0], tg.Shapes[0], tg.script(t, tg.Scripts[0])
			size := e2eArena(tg)
			hooked := wrappedLink(t, shape, sharedObjects(t, cc, programOptions{ExhaustedHook: true}), script,
				filepath.Join(t.TempDir(), "hook.elf"), []string{fmt.Sprintf("ELFPATCH_ARENA_SIZE=%d", size)})
			tg.requireRun(t, hooked, "exhaust", exitExhausted, "EXHAUSTED")
			tg.requireRun(t, hooked, "badalign", exitExhausted, "EXHAUSTED")

			elf := wrappedLink(t, shape, sharedObjects(t, cc, programOptions{}), script,
				filepath.Join(t.TempDir(), "app.elf"), []string{fmt.Sprintf("ELFPATCH_ARENA_SIZE=%d", size), "ELFPATCH_PATCH=0"})
			if tg.Reset {
				mustElfpatch(t, elf)
				tg.requireRun(t, elf, "reset", exitPass, "PASS reset")
			}
			mustElfpatch(t, "--arena-size", "4096", elf)
			tg.requireRun(t, elf, "contract 4096", exitPass, "PASS contract")
			tg.requireRun(t, elf, "fill 4097", exitTrap, tg.Trap)
			mustElfpatch(t, "--arena-size", fmt.Sprint(size), elf)
			tg.requireRun(t, elf, fmt.Sprintf("fill %d", size), exitTrap, "filled", tg.Trap)
		})
	}
}

// An image for a core without the C extension must never receive a
// compressed instruction: every halfword that starts an instruction of the
// injected allocator has its low two bits set.
func TestRV32WithoutCompressedGetsNoCompressedInstruction(t *testing.T) {
	for _, tg := range []*target{targetRV32IMA, targetRV32IMAC} {
		requireTarget(t, tg)
		cc := tg.Compilers[0]
		elf := wrappedLink(t, tg.Shapes[0], sharedObjects(t, cc, programOptions{}), tg.script(t, tg.Scripts[0]),
			filepath.Join(t.TempDir(), "app.elf"), []string{"ELFPATCH_ARENA_SIZE=16K"})
		var plan struct {
			Plan struct {
				Slot      struct{ Address, Used uint64 }
				Allocator struct{ Variant string }
			}
		}
		inspectJSON(t, elf, &plan)
		want := map[string]string{"rv32ima": "rv32", "rv32imac": "rv32c"}[tg.Name]
		if plan.Plan.Allocator.Variant != want {
			t.Fatalf("%s: allocator %q, want %q", tg.Name, plan.Plan.Allocator.Variant, want)
		}
		text := runTool(t, toolObjdump, "-d",
			fmt.Sprintf("--start-address=%#x", plan.Plan.Slot.Address),
			fmt.Sprintf("--stop-address=%#x", plan.Plan.Slot.Address+plan.Plan.Slot.Used), elf)
		compressed, insns := 0, 0
		for _, m := range insnLine.FindAllStringSubmatch(text, -1) {
			insns++
			if len(strings.Fields(m[1])) == 2 {
				compressed++
			}
		}
		if insns < 40 {
			t.Fatalf("%s: only %d instructions disassembled:\n%s", tg.Name, insns, text)
		}
		if tg == targetRV32IMA && compressed != 0 {
			t.Errorf("%s: %d compressed instructions injected:\n%s", tg.Name, compressed, text)
		}
		if tg == targetRV32IMAC && compressed == 0 {
			t.Errorf("%s: no compressed instruction in the compressed allocator; the check cannot see them:\n%s", tg.Name, text)
		}
	}
}

// insnLine matches a disassembled instruction: address, raw bytes, text.
var insnLine = regexp.MustCompile(`(?m)^\s*[0-9a-f]+:\s+((?:[0-9a-f]{2} )+)\s*(.*)$`)

// inspectJSON reads elfpatch inspect --json of elf into v.
func inspectJSON(t testing.TB, elf string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(mustElfpatch(t, "inspect", "--json", elf)), v); err != nil {
		t.Fatalf("inspect --json: %v", err)
	}
}

// A relocatable object patched before its final link (synth --relocatable,
// ld -r): the program partially linked into one object, patched with
// elfpatch, then linked by each linker with the target's script and NO
// help from elfpatch (no wrapper, no arena.ld, no options), and run.
func TestRelocatableObjectsPatchedBeforeAPlainLinkRun(t *testing.T) {
	for _, tg := range targets {
		for _, shape := range tg.Shapes {
			if strings.HasSuffix(shape.Name, "gcc") || shape.Name == "clang" {
				continue // drivers: the direct linkers cover them
			}
			tg, shape := tg, shape
			t.Run(tg.Name+"/"+shape.Name, func(t *testing.T) {
				t.Parallel()
				requireTarget(t, tg)
				dir := t.TempDir()
				objs := sharedObjects(t, tg.Compilers[0], programOptions{})
				partial := filepath.Join(dir, "app.o")
				linkProgram(t, shape, objs, "", partial, "-r")
				patched := filepath.Join(dir, "app-patched.o")
				mustElfpatch(t, "--arena-size", "8K", "-o", patched, partial)
				mustElfpatch(t, "verify", patched)
				elf := linkProgram(t, shape, []string{patched}, tg.script(t, tg.Scripts[0]), filepath.Join(dir, "app.elf"))
				tg.requireRun(t, elf, "contract 8192", exitPass, "PASS contract")
				tg.requireRun(t, elf, "fill 8192", exitTrap, "filled", tg.Trap)
				tg.requireRun(t, elf, "fill 8191", exitPass, "survived")

				// The program's own hook, defined in another object of the
				// partial link, overrides the patched object's fallback.
				hooked := filepath.Join(dir, "hook.o")
				linkProgram(t, shape, sharedObjects(t, tg.Compilers[0], programOptions{ExhaustedHook: true}), "", hooked, "-r")
				mustElfpatch(t, "--arena-size", "8K", hooked)
				elf = linkProgram(t, shape, []string{hooked}, tg.script(t, tg.Scripts[0]), filepath.Join(dir, "hook.elf"))
				tg.requireRun(t, elf, "exhaust", exitExhausted, "EXHAUSTED")

				// Re-sizing the patched object, then linking again.
				mustElfpatch(t, "--arena-size", "4096", patched)
				elf = linkProgram(t, shape, []string{patched}, tg.script(t, tg.Scripts[0]), filepath.Join(dir, "small.elf"))
				tg.requireRun(t, elf, "fill 4096", exitTrap, "filled", tg.Trap)
				tg.requireRun(t, elf, "contract 4096", exitPass, "PASS contract")
			})
		}
	}
}

// --arena-object on every target: the user's allocator (common/userarena.c,
// written against elfpatch's documented symbols, code only) goes into the
// slot of a linked image; gale-style allocator with storage of its own
// (common/galearena.c) goes into an object before its final link. Both run
// the contract.
func TestArenaObjectsRunTheContract(t *testing.T) {
	for _, tg := range targets {
		tg := tg
		t.Run(tg.Name, func(t *testing.T) {
			t.Parallel()
			requireTarget(t, tg)
			cc, shape, script := tg.Compilers[0], tg.Shapes[0], tg.script(t, tg.Scripts[0])
			dir := t.TempDir()
			user := userAllocatorObject(t, cc, "common/userarena.c")
			elf := wrappedLink(t, shape, sharedObjects(t, cc, programOptions{}), script, filepath.Join(dir, "app.elf"),
				[]string{"ELFPATCH_ARENA_SIZE=8K", "ELFPATCH_PATCH=0", "ELFPATCH_SLOT_SIZE=512"})
			mustElfpatch(t, "--arena-object", user, elf)
			mustElfpatch(t, "verify", "--arena-object", user, elf)
			var rep struct {
				Plan struct{ Allocator struct{ Variant string } }
			}
			inspectJSON(t, elf, &rep)
			tg.requireRun(t, elf, "contract 8192", exitPass, "PASS contract")
			tg.requireRun(t, elf, "fill 8192", exitTrap, "filled", tg.Trap)

			galeSize := e2eArena(tg) / 2 // its own .bss, beside the program's, in the m0's 16 KiB
			gale := userAllocatorObject(t, cc, "common/galearena.c", fmt.Sprintf("-DGALE_ARENA_SIZE=%d", galeSize))
			partial := filepath.Join(dir, "app.o")
			linkProgram(t, shape, sharedObjects(t, cc, programOptions{}), "", partial, "-r")
			mustElfpatch(t, "--arena-object", gale, partial)
			linked := linkProgram(t, shape, []string{partial}, script, filepath.Join(dir, "gale.elf"))
			tg.requireRun(t, linked, fmt.Sprintf("contract %d", galeSize), exitPass, "PASS contract")
			tg.requireRun(t, linked, fmt.Sprintf("fill %d", galeSize), exitTrap, "filled", tg.Trap)
		})
	}
}

// --pointer-base on every target: the program speaks offsets from
// __linear_memory_base (whose size is the linear memory's extent), and the
// bound allocator, through the shim, answers in offsets.
func TestPointerBaseImagesRunTheContractInOffsets(t *testing.T) {
	for _, tg := range targets {
		tg := tg
		t.Run(tg.Name, func(t *testing.T) {
			t.Parallel()
			requireTarget(t, tg)
			cc, shape, script := tg.Compilers[0], tg.Shapes[0], tg.script(t, tg.Scripts[0])
			size := e2eArena(tg)
			elf := wrappedLink(t, shape, sharedObjects(t, cc, programOptions{PointerBase: true}), script,
				filepath.Join(t.TempDir(), "app.elf"), []string{fmt.Sprintf("ELFPATCH_ARENA_SIZE=%d", size), "ELFPATCH_PATCH=0"})
			mustElfpatch(t, "--pointer-base", "__linear_memory_base", elf)
			mustElfpatch(t, "verify", elf)
			tg.requireRun(t, elf, fmt.Sprintf("contract %d", size), exitPass, "PASS contract")
			tg.requireRun(t, elf, fmt.Sprintf("fill %d", size), exitTrap, "filled", tg.Trap)
			tg.requireRun(t, elf, "badalign", exitTrap, tg.Trap)
		})
	}
}

// An image that links its own allocator written against elfpatch's region
// symbols (userarena.c, linked, not injected) gets the kebab spelling bound
// to it, and --arena-size then re-sizes its arena: the places that hold the
// arena's end are bound again.
func TestAnOwnAllocatorUsingTheRegionSymbolsIsResized(t *testing.T) {
	for _, tg := range []*target{targetM3, targetRV32IMAC, targetAArch64} {
		tg := tg
		t.Run(tg.Name, func(t *testing.T) {
			t.Parallel()
			requireTarget(t, tg)
			cc, shape, script := tg.Compilers[0], tg.Shapes[0], tg.script(t, tg.Scripts[0])
			objs := append(append([]string{}, sharedObjects(t, cc, programOptions{})...), userAllocatorObject(t, cc, "common/userarena.c"))
			elf := wrappedLink(t, shape, objs, script, filepath.Join(t.TempDir(), "app.elf"), []string{"ELFPATCH_ARENA_SIZE=16K"})
			var rep struct {
				Plan struct{ Allocator struct{ Linked bool } }
			}
			inspectJSON(t, elf, &rep)
			if !rep.Plan.Allocator.Linked {
				t.Fatalf("the image's own allocator was not recognised")
			}
			tg.requireRun(t, elf, "fill 16384", exitTrap, "filled", tg.Trap)
			mustElfpatch(t, "--arena-size", "4096", elf)
			mustElfpatch(t, "verify", elf)
			tg.requireRun(t, elf, "contract 4096", exitPass, "PASS contract")
			tg.requireRun(t, elf, "fill 4096", exitTrap, "filled", tg.Trap)
			tg.requireRun(t, elf, "fill 4095", exitPass, "survived")
		})
	}
}

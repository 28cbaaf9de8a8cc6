package tests

// Self-test of the user allocators for elfpatch --arena-object
// (common/userarena.c and common/galearena.c, built by userAllocatorObject):
// their objects have the shape injection needs, and, linked directly into
// the contract program (userarena.c with the harness's storage,
// common/arenastore.c; galearena.c with its own), they honour the
// allocator contract on every target, with every compiler and linker.

import (
	"debug/elf"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// userArenaSymbols are the symbols userarena.c may refer to: elfpatch's
// documented ones and the image's trap hook.
var userArenaSymbols = []string{"__elfpatch_arena_start", "__elfpatch_arena_end", "__elfpatch_state", "__cabi_arena_exhausted"}

// objectShape is what a relocatable object holds, for the checks below.
type objectShape struct {
	alloc    []*elf.Section // allocated sections with bytes (or NOBITS) in them
	globals  []string       // defined global or weak symbols
	undef    map[string]elf.SymBind
	relocs   map[string]map[string]int // target section -> "TYPE symbol" -> count
	relTypes map[string]bool
}

func readObjectShape(t *testing.T, path string) objectShape {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Type != elf.ET_REL {
		t.Fatalf("%s: %v, want a relocatable object", path, f.Type)
	}
	sh := objectShape{undef: map[string]elf.SymBind{}, relocs: map[string]map[string]int{}, relTypes: map[string]bool{}}
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC != 0 && s.Size > 0 {
			sh.alloc = append(sh.alloc, s)
		}
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		bind := elf.ST_BIND(s.Info)
		switch {
		case s.Section == elf.SHN_UNDEF && s.Name != "":
			sh.undef[s.Name] = bind
		case bind == elf.STB_GLOBAL || bind == elf.STB_WEAK:
			sh.globals = append(sh.globals, s.Name)
		}
	}
	// llvm-readelf names the relocations' types and symbols on every machine.
	target := ""
	for _, line := range strings.Split(runTool(t, toolReadelf, "-r", "-W", path), "\n") {
		if strings.HasPrefix(line, "Relocation section '") {
			name := strings.TrimPrefix(line, "Relocation section '")
			name = name[:strings.Index(name, "'")]
			target = strings.TrimPrefix(strings.TrimPrefix(name, ".rela"), ".rel")
			sh.relocs[target] = map[string]int{}
			continue
		}
		fl := strings.Fields(line)
		if len(fl) < 3 || !strings.HasPrefix(fl[2], "R_") {
			continue
		}
		sym := ""
		if len(fl) >= 5 {
			sym = fl[4]
		}
		sh.relocs[target][fl[2]+" "+sym]++
		sh.relTypes[fl[2]] = true
	}
	return sh
}

func (sh objectShape) describe() string {
	var secs, types []string
	for _, s := range sh.alloc {
		secs = append(secs, fmt.Sprintf("%s (%v, %d bytes)", s.Name, s.Type, s.Size))
	}
	for ty := range sh.relTypes {
		types = append(types, ty)
	}
	sort.Strings(types)
	return fmt.Sprintf("sections %s; relocations %s", strings.Join(secs, ", "), strings.Join(types, " "))
}

// userarena.o is code only: one allocated section, the function's, whose
// relocations refer to elfpatch's documented symbols, the weak hook or
// the section itself (gcc's RISC-V branches to local labels); it defines
// __cabi_arena_realloc and nothing else. galearena.o defines only
// __cabi_arena_realloc too, and keeps its storage in .bss.
func TestUserAllocatorObjectsHaveTheShapeInjectionNeeds(t *testing.T) {
	t.Parallel()
	forEachTarget(t, func(t *testing.T, tg *target) {
		requireTools(t, toolReadelf)
		for _, cc := range tg.Compilers {
			t.Run(cc.Name, func(t *testing.T) {
				t.Parallel()
				requireTools(t, cc.Tool)
				user := readObjectShape(t, userAllocatorObject(t, cc, "common/userarena.c"))
				t.Logf("%s/%s userarena.o: %s", tg.Name, cc.Name, user.describe())
				code := ".text." + importSnake
				if len(user.alloc) != 1 || user.alloc[0].Name != code || user.alloc[0].Flags&elf.SHF_EXECINSTR == 0 {
					t.Errorf("userarena.o: %s; want only %s, with code", user.describe(), code)
				}
				if len(user.globals) != 1 || user.globals[0] != importSnake {
					t.Errorf("userarena.o defines %v, want only %s", user.globals, importSnake)
				}
				for name, bind := range user.undef {
					if !contains(userArenaSymbols, name) {
						t.Errorf("userarena.o refers to %s, which elfpatch does not document", name)
					}
					if name == "__cabi_arena_exhausted" && bind != elf.STB_WEAK {
						t.Errorf("userarena.o: %s is %v, want weak", name, bind)
					}
				}
				for sec, rs := range user.relocs {
					if sec != code {
						t.Errorf("userarena.o has relocations for %s: %v", sec, rs)
					}
					for r := range rs {
						sym := r[strings.Index(r, " ")+1:]
						if !contains(userArenaSymbols, sym) && !strings.HasPrefix(sym, ".L") && sym != code {
							t.Errorf("userarena.o: relocation %s refers to neither elfpatch's symbols nor its own code", r)
						}
					}
				}

				gale := readObjectShape(t, userAllocatorObject(t, cc, "common/galearena.c"))
				t.Logf("%s/%s galearena.o: %s", tg.Name, cc.Name, gale.describe())
				if len(gale.globals) != 1 || gale.globals[0] != importSnake {
					t.Errorf("galearena.o defines %v, want only %s", gale.globals, importSnake)
				}
				for name := range gale.undef {
					if name != "__cabi_arena_exhausted" {
						t.Errorf("galearena.o refers to %s", name)
					}
				}
				bss := uint64(0)
				for _, s := range gale.alloc {
					switch {
					case s.Type == elf.SHT_NOBITS:
						bss += s.Size
					case s.Flags&elf.SHF_WRITE != 0:
						t.Errorf("galearena.o has initialised data: %s", s.Name)
					}
				}
				if bss < 16384 {
					t.Errorf("galearena.o: %d bytes of .bss, want its 16 KiB arena and its offset", bss)
				}
			})
		}
	})
}

// userAllocatorRuns runs the contract program's modes on elf, an image
// with an allocator of size bytes linked in, and on hookELF, the same
// with the exhausted hook. Without trapsWithoutHook, the modes that trap
// with no hook in the image are left out; without all, only the contract,
// the fills and one trap of each kind (bad align, exhaustion) are run.
func userAllocatorRuns(t *testing.T, tg *target, elf, hookELF string, size uint32, trapsWithoutHook, all bool) {
	t.Helper()
	out := tg.requireRun(t, elf, fmt.Sprintf("contract %d", size), exitPass, "arena start=", "PASS contract")
	if strings.Contains(out, "FAIL") {
		t.Fatalf("unexpected output:\n%s", out)
	}
	tg.requireRun(t, elf, fmt.Sprintf("fill %d", size-1), exitPass, "filled", "survived")
	if trapsWithoutHook {
		if out := tg.requireRun(t, elf, fmt.Sprintf("fill %d", size), exitTrap, "filled", tg.Trap); strings.Contains(out, "survived") {
			t.Fatalf("fill SIZE: one more byte was handed out:\n%s", out)
		}
		tg.requireRun(t, elf, "badalign", exitTrap, "badalign\n", tg.Trap)
	}
	tg.requireRun(t, hookELF, "exhaust", exitExhausted, "exhaust\n", "EXHAUSTED")
	if !all {
		return
	}
	if trapsWithoutHook {
		for _, kind := range []string{"len", "align", "grow"} {
			tg.requireRun(t, elf, "wrap "+kind, exitTrap, "wrap "+kind+"\n", tg.Trap)
		}
		tg.requireRun(t, elf, "exhaust", exitTrap, "exhaust\n", tg.Trap)
	}
	if tg.Reset {
		tg.requireRun(t, elf, "reset", exitPass, "first boot", "second boot", "PASS reset")
	}
	for _, kind := range []string{"len", "align", "grow"} {
		tg.requireRun(t, hookELF, "wrap "+kind, exitExhausted, "wrap "+kind+"\n", "EXHAUSTED")
	}
	for _, args := range []string{"badalign", fmt.Sprintf("fill %d", size)} {
		if out := tg.requireRun(t, hookELF, args, exitExhausted, "EXHAUSTED"); strings.Contains(out, tg.Trap) || strings.Contains(out, "survived") {
			t.Fatalf("%s:\n%s", args, out)
		}
	}
}

// lldSelfJump is "auipc ra, 0; jalr ra, 0(ra)": a jump to the AUIPC itself.
var lldSelfJump = regexp.MustCompile(`(?m)^\s*([0-9a-f]+):\s+97 00 00 00\s+auipc\s+ra, 0\n\s*[0-9a-f]+:\s+e7 80 00 00\s+jalr\s+ra`)

// lldJumpsToItself reports whether the allocator in elf, linked by ld.lld
// for RISC-V, calls the undefined weak __cabi_arena_exhausted as a jump to
// itself: a loop.
func lldJumpsToItself(t *testing.T, elf string) bool {
	t.Helper()
	addr, n := symbolRange(t, elf, importSnake)
	dis := runTool(t, toolObjdump, "-d", fmt.Sprintf("--start-address=%#x", addr), fmt.Sprintf("--stop-address=%#x", addr+n), elf)
	return lldSelfJump.MatchString(dis)
}

// Both user allocators, linked directly into the contract program (the
// kebab spelling bound to them by the harness's one-line script), pass it
// on every target, compiler and link shape, and trap as they must, through
// the image's hook when it has one (every mode with the target's first
// shape, the contract, the fills and a trap of each kind with the others). galearena.c tests the hook's address,
// which the final link resolves to 0 without one. userarena.c calls it
// straight away, as an object elfpatch injects after the link must (see
// userarena.c), and the call becomes what the linker makes of a call of an
// undefined weak symbol: a no-op or a call of the next instruction on Arm
// and AArch64 and a call of address 0 on x86-64 and with GNU ld on RISC-V,
// so it traps; but ld.lld links it on RISC-V as a jump to itself, which
// never traps: there the test checks that that is what it did, and leaves
// the traps without a hook out.
func TestUserAllocatorsHonourTheContract(t *testing.T) {
	t.Parallel()
	forEachTarget(t, func(t *testing.T, tg *target) {
		requireTarget(t, tg)
		size := e2eArena(tg)
		for _, cc := range tg.Compilers {
			for _, which := range []string{"userarena", "galearena"} {
				t.Run(cc.Name+"/"+which, func(t *testing.T) {
					t.Parallel()
					var opt programOptions
					switch which {
					case "userarena":
						opt = programOptions{AllocatorObject: userAllocatorObject(t, cc, "common/userarena.c"), ArenaSize: size}
					case "galearena":
						opt = programOptions{AllocatorObject: userAllocatorObject(t, cc, "common/galearena.c", fmt.Sprintf("-DGALE_ARENA_SIZE=%d", size)),
							AllocatorHasStorage: true}
					}
					objs, hookObjs := programVariants(t, cc, opt)
					dir := t.TempDir()
					for _, shape := range tg.Shapes {
						elf := linkProgram(t, shape, objs, tg.script(t, tg.Scripts[0]), filepath.Join(dir, shape.Name+".elf"), "--gc-sections")
						hookELF := linkProgram(t, shape, hookObjs, tg.script(t, tg.Scripts[0]), filepath.Join(dir, shape.Name+"-hook.elf"), "--gc-sections")
						syms := symbolAddrs(t, elf)
						if syms[importSnake] != syms[importKebab] {
							t.Fatalf("%s: the spellings differ: %#x %#x", shape.Name, syms[importSnake], syms[importKebab])
						}
						switch which {
						case "userarena":
							if syms["__elfpatch_arena_end"]-syms["__elfpatch_arena_start"] != uint64(size) {
								t.Fatalf("%s: arena [%#x, %#x)", shape.Name, syms["__elfpatch_arena_start"], syms["__elfpatch_arena_end"])
							}
						case "galearena":
							if _, ok := syms["__elfpatch_arena_start"]; ok {
								t.Fatalf("%s: the harness's storage is linked with galearena.o", shape.Name)
							}
						}
						traps := true
						if which == "userarena" && tg.Family == "riscv" && shape.Tool == toolLLD {
							if !lldJumpsToItself(t, elf) {
								t.Errorf("%s: the call of the undefined weak hook is not a jump to itself; run the traps", shape.Name)
							}
							traps = false
						}
						all := shape.Name == tg.Shapes[0].Name
						t.Run(shape.Name, func(t *testing.T) { userAllocatorRuns(t, tg, elf, hookELF, size, traps, all) })
					}
				})
			}
		}
	})
}

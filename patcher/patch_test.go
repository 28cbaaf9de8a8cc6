package patcher

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
	"github.com/pulseengine/elfpatch/relocs"
)

// siteTarget decodes where a site of img now points, as the CPU will see
// it: a branch's destination, or the address a data word or MOVW/MOVT pair
// holds (with the Thumb bit).
func siteTarget(t *testing.T, img *Image, r *Reloc) uint64 {
	t.Helper()
	typ := elf.R_ARM(r.Type)
	_, off, err := img.place(r, armArch{}.siteSize(uint32(typ)))
	if err != nil {
		t.Fatal(err)
	}
	loc := img.Data[off:]
	switch typ {
	case rThmCall, elf.R_ARM_THM_JUMP24:
		to, blx, err := relocs.ARMBranchTarget(loc, r.Offset)
		if err != nil || blx {
			t.Fatalf("%s at %#x: %v (blx %v)", relocs.ARMTypeName(typ), r.Offset, err, blx)
		}
		return to | 1
	case elf.R_ARM_ABS32:
		return uint64(binary.LittleEndian.Uint32(loc))
	case elf.R_ARM_REL32:
		return uint64(uint32(binary.LittleEndian.Uint32(loc) + uint32(r.Offset)))
	case elf.R_ARM_THM_MOVW_ABS_NC, elf.R_ARM_THM_MOVT_ABS:
		v, err := relocs.ARMAddend(typ, loc)
		if err != nil {
			t.Fatal(err)
		}
		return uint64(uint16(v))
	}
	t.Fatalf("unexpected site type %v", typ)
	return 0
}

func TestBindsEverySiteTypeToTheAllocator(t *testing.T) {
	for _, linker := range []string{"ld", "lld"} {
		for _, flash := range []string{"0x0", "0x08000000", "0x00fff000"} {
			t.Run(linker+"@"+flash, func(t *testing.T) {
				img := readImage(t, buildImage(t, imageSpec{linker: linker, flash: flash}))
				p, out := patched(t, img, Options{})
				if p.Action != "bind" {
					t.Fatalf("action %q, want bind", p.Action)
				}
				wantLinker := map[string]string{"ld": "GNU ld", "lld": "LLD"}[linker]
				if p.Linker != wantLinker {
					t.Errorf("linker %q, want %q", p.Linker, wantLinker)
				}
				alloc := out.SymbolNamed(allocSym)
				if alloc == nil || alloc.Undefined() || alloc.Kind() != elf.STT_FUNC || alloc.Value&1 != 1 {
					t.Fatalf("%s after the patch: %+v", allocSym, alloc)
				}
				if alloc.Value&^1 != p.Slot.Address {
					t.Errorf("allocator at %#x, slot at %#x", alloc.Value&^1, p.Slot.Address)
				}
				seen := map[string]int{}
				for _, r := range out.Relocs {
					name := out.Syms[r.Sym].Name
					if name != "cabi-arena-realloc" && name != allocSym {
						continue
					}
					typ := elf.R_ARM(r.Type)
					seen[relocs.ARMTypeName(typ)]++
					got := siteTarget(t, out, r)
					want := alloc.Value
					switch typ {
					case elf.R_ARM_THM_MOVW_ABS_NC:
						want &= 0xffff
					case elf.R_ARM_THM_MOVT_ABS:
						want >>= 16
					}
					if got != want {
						t.Errorf("%s at %#x reaches %#x, want %#x", relocs.ARMTypeName(typ), r.Offset, got, want)
					}
				}
				wantSeen := map[string]int{"R_ARM_THM_CALL": 2, "R_ARM_THM_JUMP24": 1, "R_ARM_THM_MOVW_ABS_NC": 1, "R_ARM_THM_MOVT_ABS": 1, "R_ARM_ABS32": 2, "R_ARM_REL32": 1}
				for k, v := range wantSeen {
					if seen[k] != v {
						t.Errorf("%d %s sites, want %d (all: %v)", seen[k], k, v, seen)
					}
				}
				for _, name := range []string{"cabi-arena-realloc", allocSym} {
					if s := out.SymbolNamed(name); s == nil || s.Value != alloc.Value || s.Shndx != alloc.Shndx {
						t.Errorf("%s is not defined as the allocator: %+v", name, s)
					}
				}
				rep, err := Verify(out, Options{})
				if err != nil || !rep.OK {
					t.Fatalf("verify: %v %v", err, rep.Problems)
				}
			})
		}
	}
}

func TestVerifyFailsOnAnUnpatchedImage(t *testing.T) {
	img := readImage(t, buildImage(t, imageSpec{}))
	rep, err := Verify(img, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.Sites) != 8 {
		t.Fatalf("verify ok=%v with %d sites, want a failure over 8 sites", rep.OK, len(rep.Sites))
	}
	if !strings.Contains(strings.Join(rep.Problems, "\n"), "app.elf: .text+0x0: R_ARM_THM_CALL to __cabi_arena_realloc: does not reach the allocator") {
		t.Errorf("problems do not name the first site:\n%s", strings.Join(rep.Problems, "\n"))
	}
}

func TestPatchingAgainWithTheSameSizeChangesNothing(t *testing.T) {
	for _, linker := range []string{"ld", "lld"} {
		img := readImage(t, buildImage(t, imageSpec{linker: linker}))
		_, once := patched(t, img, Options{})
		p, twice := patched(t, once, Options{})
		if p.Action != "unchanged" || !bytes.Equal(once.Data, twice.Data) {
			t.Errorf("%s: second patch: action %q, bytes equal %v", linker, p.Action, bytes.Equal(once.Data, twice.Data))
		}
	}
}

func TestPatchIsDeterministic(t *testing.T) {
	path := buildImage(t, imageSpec{})
	_, a := patched(t, readImage(t, path), Options{ArenaSize: 1000, SetSize: true})
	_, b := patched(t, readImage(t, path), Options{ArenaSize: 1000, SetSize: true})
	if !bytes.Equal(a.Data, b.Data) {
		t.Fatal("two patches of the same image with the same options differ")
	}
}

func TestResizeShrinksAndGrowsBackWithinTheReservation(t *testing.T) {
	img := readImage(t, buildImage(t, imageSpec{arenaSize: 8192}))
	_, full := patched(t, img, Options{})
	p, small := patched(t, full, Options{ArenaSize: 1024, SetSize: true})
	if p.Action != "resize" {
		t.Errorf("action %q, want resize", p.Action)
	}
	sec := small.SectionNamed(".arena")
	if sec.Size != 1024 || p.Arena.Max != 8192 {
		t.Errorf(".arena is %d bytes (max %d), want 1024 (max 8192)", sec.Size, p.Arena.Max)
	}
	if end := small.SymbolNamed(arenaEnd); end.Value != sec.Addr+1024 {
		t.Errorf("%s = %#x, want %#x", arenaEnd, end.Value, sec.Addr+1024)
	}
	_, back := patched(t, small, Options{ArenaSize: 8192, SetSize: true})
	if !bytes.Equal(back.Data, full.Data) {
		t.Error("growing back to the linked size does not give the bytes of the first patch")
	}
}

func TestGrowingPastTheReservationIsRefusedWithTheMaximum(t *testing.T) {
	img := readImage(t, buildImage(t, imageSpec{arenaSize: 4096}))
	_, err := NewPlan(img, Options{ArenaSize: 4097, SetSize: true})
	if err == nil || !strings.Contains(err.Error(), "app.elf: .arena: an arena of 4097 bytes does not fit: the region reserved at link time holds at most 4096 bytes") {
		t.Fatalf("got %v", err)
	}
}

// blobPlaces returns where, in a built-in allocator's code, each symbol it
// refers to is used: the relocation offsets by symbol name.
func blobPlaces(t *testing.T, variant string) map[string]uint64 {
	t.Helper()
	v, _ := arenablob.ByName(variant)
	obj, err := Read(variant, v.Object)
	if err != nil {
		t.Fatal(err)
	}
	places := map[string]uint64{}
	for _, r := range obj.Relocs {
		places[obj.Syms[r.Sym].Name] = r.Offset
	}
	return places
}

func TestTheAllocatorReadsTheArenaBoundsAndState(t *testing.T) {
	img := readImage(t, buildImage(t, imageSpec{arenaSize: 4096}))
	p, out := patched(t, img, Options{ArenaSize: 3000, SetSize: true})
	places := blobPlaces(t, "thumb2")
	for name, want := range map[string]uint64{stateSym: p.State.Address, arenaStart: p.Arena.Address, arenaEnd: p.Arena.Address + 3000} {
		at := p.Slot.fileOff + places[name]
		if got := binary.LittleEndian.Uint32(out.Data[at:]); uint64(got) != want {
			t.Errorf("literal for %s = %#x, want %#x", name, got, want)
		}
	}
	at := p.Slot.fileOff + places[trapHook]
	if !bytes.Equal(out.Data[at:at+4], armTrapThumb) {
		t.Errorf("the trap call was not turned into udf: % x", out.Data[at:at+4])
	}
}

func TestTrapCallsTheImagesExhaustedHook(t *testing.T) {
	asm := sitesAsm + `
  .text
  .global __cabi_arena_exhausted
  .type __cabi_arena_exhausted, %function
__cabi_arena_exhausted:
  b __cabi_arena_exhausted
`
	img := readImage(t, buildImage(t, imageSpec{asm: asm}))
	p, out := patched(t, img, Options{})
	hook := out.SymbolNamed("__cabi_arena_exhausted")
	off := blobPlaces(t, "thumb2")[trapHook]
	to, blx, err := relocs.ARMBranchTarget(out.Data[p.Slot.fileOff+off:], p.Slot.Address+off)
	if err != nil || blx || to != hook.Value&^1 {
		t.Fatalf("trap site goes to %#x (blx %v, %v), want %s at %#x", to, blx, err, hook.Name, hook.Value&^1)
	}
}

func TestOtherUndefinedSymbolsAreRefusedWithTheirFirstUse(t *testing.T) {
	asm := sitesAsm + `
  .text
  bl missing_function
  bl missing_function
`
	img := readImage(t, buildImage(t, imageSpec{asm: asm}))
	_, err := NewPlan(img, Options{})
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("got %v, want one error", err)
	}
	if !strings.Contains(errs[0].Error(), "app.elf: .text+0x0: R_ARM_THM_CALL to missing_function: undefined symbol") {
		t.Errorf("got %q", errs[0].Error())
	}
	if _, err := NewPlan(img, Options{AllowUndefined: true}); err != nil {
		t.Errorf("with AllowUndefined: %v", err)
	}
}

func TestASiteWhoseBytesCannotBeProvenIsRefused(t *testing.T) {
	img := readImage(t, buildImage(t, imageSpec{}))
	for _, r := range img.Relocs {
		if elf.R_ARM(r.Type) == rThmCall && img.Syms[r.Sym].Name == allocSym {
			_, off, _ := img.place(r, 4)
			img.Data[off+2] ^= 0x10 // shift the BL's target by 32 bytes
			break
		}
	}
	_, err := NewPlan(img, Options{})
	if err == nil || !strings.Contains(err.Error(), "app.elf: .text+0x0: R_ARM_THM_CALL to __cabi_arena_realloc: cannot prove the addend") {
		t.Fatalf("got %v", err)
	}
}

// A core without Thumb-2 must never receive a Thumb-2 instruction: an
// ARMv6-M image gets the Thumb-1 allocator, and llvm-objdump, told the core
// is ARMv6-M, decodes every instruction injected, none of them 32-bit but
// BL, MRS and MSR.
func TestAThumb1ImageReceivesOnlyARMv6MInstructions(t *testing.T) {
	needTools(t, "llvm-objdump")
	asm := strings.Replace(sitesAsm, ".cpu cortex-m3", ".cpu cortex-m0", 1)
	asm = strings.Replace(asm, "  movw r0, #:lower16:\"cabi-arena-realloc\"\n  movt r0, #:upper16:\"cabi-arena-realloc\"\n", "", 1)
	asm = strings.Replace(asm, "  b.w \"cabi-arena-realloc\"\n", "", 1)
	img := readImage(t, buildImage(t, imageSpec{asm: asm, cpu: "cortex-m0"}))
	p, out := patched(t, img, Options{})
	if p.Allocator.Variant != "thumb1" {
		t.Fatalf("an ARMv6-M image got the %s allocator", p.Allocator.Variant)
	}
	code := injectedCode(t, "thumb1", p.Slot.Address)
	path := filepath.Join(t.TempDir(), "out.elf")
	if err := WriteFile(path, out.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	text := runTool(t, ".", "llvm-objdump", "-d", "--triple=thumbv6m-none-eabi",
		"--start-address="+hex(code.start), "--stop-address="+hex(code.end), path)
	insns := 0
	insnLine := regexp.MustCompile(`^\s*[0-9a-f]+:\s+((?:[0-9a-f]{2} )+)\s*(.*)$`)
	for _, line := range strings.Split(text, "\n") {
		m := insnLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		insns++
		size, mnemonic := len(strings.Fields(m[1])), strings.Fields(m[2])
		if len(mnemonic) == 0 || strings.Contains(line, "<unknown>") {
			t.Errorf("not an ARMv6-M instruction: %s", line)
			continue
		}
		if size == 4 && mnemonic[0] != "bl" && mnemonic[0] != "mrs" && mnemonic[0] != "msr" {
			t.Errorf("a 32-bit instruction ARMv6-M lacks: %s", line)
		}
	}
	if insns < 40 {
		t.Fatalf("only %d instructions disassembled:\n%s", insns, text)
	}
}

// codeRange is where an allocator's instructions lie once injected: from
// the slot to its first data mapping symbol ($d), its literal pool.
type codeRange struct{ start, end uint64 }

func injectedCode(t *testing.T, variant string, slot uint64) codeRange {
	t.Helper()
	v, ok := arenablob.ByName(variant)
	if !ok {
		t.Fatalf("no %s allocator", variant)
	}
	obj, err := Read(variant, v.Object)
	if err != nil {
		t.Fatal(err)
	}
	fn := obj.SymbolNamed(allocSym)
	end := slot + fn.Size
	for _, s := range obj.Syms {
		if s.Name == "$d" && slot+s.Value < end {
			end = slot + s.Value
		}
	}
	return codeRange{slot, end}
}

func hex(v uint64) string { return fmt.Sprintf("%#x", v) }

func TestStateOutsideTheClearedBssIsRefused(t *testing.T) {
	script := strings.Replace(layoutScript, "*(.bss*)", "*(.bss)", 1)
	img := readImage(t, buildImage(t, imageSpec{script: script}))
	_, err := NewPlan(img, Options{})
	if err == nil || !strings.Contains(err.Error(), "__elfpatch_state: lies outside the range the startup clears, [__bss_start__, __bss_end__)") {
		t.Fatalf("got %v", err)
	}
}

func TestAnImageLinkedWithoutTheReserveIsRefused(t *testing.T) {
	needTools(t, "arm-none-eabi-as", "arm-none-eabi-ld")
	dir := t.TempDir()
	runTool(t, dir, "sh", "-c", "printf '%s' \"$0\" > app.s", sitesAsm)
	runTool(t, dir, "arm-none-eabi-as", "-mcpu=cortex-m3", "app.s", "-o", "app.o")
	runTool(t, dir, "arm-none-eabi-ld", "--emit-relocs", "--unresolved-symbols=ignore-all", "-e", "_start", "app.o", "-o", "app.elf")
	img := readImage(t, filepath.Join(dir, "app.elf"))
	_, err := NewPlan(img, Options{})
	if err == nil || !strings.Contains(err.Error(), "app.elf: no allocator slot: __elfpatch_slot is not defined") {
		t.Fatalf("got %v", err)
	}
}

func TestOnlyTheKebabSpellingGetsTheCanonicalNameAdded(t *testing.T) {
	asm := strings.NewReplacer("bl __cabi_arena_realloc\n", "", "ldr r1, =__cabi_arena_realloc\n", "", ".word __cabi_arena_realloc - .\n", "").Replace(sitesAsm)
	img := readImage(t, buildImage(t, imageSpec{asm: asm}))
	if img.SymbolNamed(allocSym) != nil {
		t.Fatalf("the test image already has %s", allocSym)
	}
	_, out := patched(t, img, Options{})
	s := out.SymbolNamed(allocSym)
	if s == nil || s.Bind() != elf.STB_GLOBAL || s.Value != out.SymbolNamed("cabi-arena-realloc").Value {
		t.Fatalf("%s after the patch: %+v", allocSym, s)
	}
	// The tables grew; binutils must read the result as it reads the input.
	if _, err := exec.LookPath("llvm-readelf"); err == nil {
		path := filepath.Join(t.TempDir(), "out.elf")
		if err := WriteFile(path, out.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		text := runTool(t, ".", "llvm-readelf", "--all", path)
		if strings.Contains(text, "warning") {
			t.Errorf("llvm-readelf warns about the patched image:\n%s", text)
		}
	}
}

func TestImagesWithNothingToBindAreLeftAlone(t *testing.T) {
	for _, name := range []string{"renode-test_gust_control.elf", "renode-test_gust_uart.elf"} {
		img := readImage(t, filepath.Join("..", "testdata", "synth", name))
		p, err := NewPlan(img, Options{})
		if err != nil || p.Action != "nothing to bind" {
			t.Errorf("%s: action %v, %v", name, p, err)
		}
	}
}

// GNU ld gives an empty .data loaded from flash an empty segment at the
// arena's start address; it does not end with the arena and must be left
// alone when the arena is resized.
func TestResizeLeavesAnEmptySegmentAtTheArenaStartAlone(t *testing.T) {
	asm := strings.Replace(sitesAsm, "  .data\n  .word \"cabi-arena-realloc\"\n", "", 1)
	img := readImage(t, buildImage(t, imageSpec{asm: asm, arenaSize: 8192}))
	var empty *Prog
	arena := img.SectionNamed(".arena")
	for _, pr := range img.Progs {
		if pr.Type == elf.PT_LOAD && pr.Memsz == 0 && pr.Vaddr == arena.Addr {
			empty = pr
		}
	}
	if empty == nil {
		t.Fatal("the linker made no empty segment at the arena's start; the test needs one")
	}
	_, out := patched(t, img, Options{ArenaSize: 4096, SetSize: true})
	if pr := out.Progs[empty.Index]; *pr != *empty {
		t.Errorf("the empty segment changed: %+v -> %+v", *empty, *pr)
	}
	if out.SectionNamed(".arena").Size != 4096 {
		t.Error("the arena was not resized")
	}
}

// synth's writer is not GNU's: unnamed symbol and string tables, unaligned
// section offsets, an entry point in ET_REL, undefined symbols with a value.
// Every file of the corpus reads, every ARM call site in it decodes to the
// addend an assembler writes, and inspect reports on each without failing.
func TestReaderAcceptsTheSynthCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "synth", "*.[oe]*"))
	if err != nil || len(files) < 30 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	for _, f := range files {
		img := readImage(t, f)
		for _, r := range img.Relocs {
			if img.Machine != elf.EM_ARM || img.Type != elf.ET_REL || elf.R_ARM(r.Type) != rThmCall {
				continue
			}
			_, off, err := img.place(r, 4)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if a, err := relocs.ARMAddend(rThmCall, img.Data[off:off+4]); err != nil || a != -4 {
				t.Errorf("%s: call at %#x: addend %d, %v", f, r.Offset, a, err)
			}
		}
		rep := Inspect(img, Options{})
		if rep.Plan == nil && len(rep.Problems) == 0 {
			t.Errorf("%s: inspect gave neither a plan nor a reason", f)
		}
	}
}

// An image that links its own allocator gets the other spellings bound to
// it, and nothing injected.
func TestAnImagesOwnAllocatorReceivesTheOtherSpellings(t *testing.T) {
	asm := strings.NewReplacer("bl __cabi_arena_realloc\n", "", "ldr r1, =__cabi_arena_realloc\n", "", ".word __cabi_arena_realloc - .\n", "").Replace(sitesAsm) + `
  .text
  .global __cabi_arena_realloc
  .type __cabi_arena_realloc, %function
__cabi_arena_realloc:
  bx lr
  .size __cabi_arena_realloc, .-__cabi_arena_realloc
`
	img := readImage(t, buildImage(t, imageSpec{asm: asm}))
	own := img.SymbolNamed(allocSym)
	p, out := patched(t, img, Options{})
	if p.Allocator == nil || !p.Allocator.Linked || p.Allocator.Address != own.Value&^1 {
		t.Fatalf("allocator %+v; want the image's own at %#x", p.Allocator, own.Value&^1)
	}
	if slot := img.SymbolNamed(slotSym); !bytes.Equal(img.Data[p.Slot.fileOff:p.Slot.fileOff+slot.Size], out.Data[p.Slot.fileOff:p.Slot.fileOff+slot.Size]) {
		t.Error("something was injected into the slot")
	}
	if kebab := out.SymbolNamed("cabi-arena-realloc"); kebab.Value != own.Value {
		t.Errorf("cabi-arena-realloc = %#x, want %#x", kebab.Value, own.Value)
	}
	if rep, err := Verify(out, Options{}); err != nil || !rep.OK {
		t.Errorf("verify: %v %v", err, rep.Problems)
	}
	if _, err := NewPlan(img, Options{ArenaSize: 4096, SetSize: true}); err == nil || !strings.Contains(err.Error(), "the image links its own allocator") {
		t.Errorf("resizing a linked allocator: %v", err)
	}
}

// Conditional and short branches (B<cond>.W, B.N) and an R_ARM_TARGET1
// word in .init_array can reach an import too.
func TestShortConditionalAndTarget1SitesAreBound(t *testing.T) {
	asm := `
  .syntax unified
  .cpu cortex-m3
  .thumb
  .section .text._start,"ax",%progbits
  .global _start
  .type _start, %function
_start:
  cmp r0, #0
  beq.w "cabi-arena-realloc"
  b.n __cabi_arena_realloc
  .section .init_array,"aw",%init_array
  .word __cabi_arena_realloc(target1)
  .bss
  .word 0
`
	for _, linker := range []string{"ld", "lld"} {
		img := readImage(t, buildImage(t, imageSpec{asm: asm, linker: linker}))
		p, out := patched(t, img, Options{})
		types := map[string]bool{}
		for _, s := range p.Sites {
			types[s.Type] = true
		}
		for _, want := range []string{"R_ARM_THM_JUMP19", "R_ARM_THM_JUMP11", "R_ARM_TARGET1"} {
			if !types[want] {
				t.Errorf("%s: no %s site among %v", linker, want, types)
			}
		}
		if rep, err := Verify(out, Options{}); err != nil || !rep.OK {
			t.Fatalf("%s: verify: %v %v", linker, err, rep.Problems)
		}
	}
}

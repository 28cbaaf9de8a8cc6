package patcher

import (
	"fmt"
	"strings"
	"testing"
)

// linearScript puts a linear memory first in RAM, as synth's default ABI
// has one, so the arena placed before .bss lies inside it.
const linearScript = `
MEMORY { FLASH (rx) : ORIGIN = FLASHORIGIN, LENGTH = 1M
         RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 256K }
ENTRY(_start)
SECTIONS {
  .text : { *(.text*) *(.rodata*) } > FLASH
  .linmem (NOLOAD) : { *(.linmem) } > RAM
  .data : { *(.data*) } > RAM AT > FLASH
  .bss : { __bss_start__ = .; *(.bss*) *(COMMON) __bss_end__ = .; } > RAM
}
`

// linearAsm declares the linear memory's base symbol with a size.
func linearAsm(size string) string {
	return sitesAsm + `
  .section .linmem,"aw",%nobits
  .global __linear_memory_base
  .type __linear_memory_base, %object
__linear_memory_base:
  .space 16
  .size __linear_memory_base, ` + size + `
`
}

func TestPointerBasePutsTheShimBeforeTheAllocator(t *testing.T) {
	img := readImage(t, buildImage(t, imageSpec{asm: linearAsm("0x10000"), script: linearScript}))
	base := img.SymbolNamed("__linear_memory_base")
	p, out := patched(t, img, Options{PointerBase: "__linear_memory_base"})
	if p.Allocator.Base != base.Value || p.Allocator.Address != p.Slot.Address || !strings.HasPrefix(p.Allocator.Variant, "thumb2+shim_thumb") {
		t.Fatalf("allocator %+v, slot at %#x, base at %#x", p.Allocator, p.Slot.Address, base.Value)
	}
	if s := out.SymbolNamed(pointerBaseSym); s == nil || s.Value != base.Value {
		t.Errorf("%s = %+v, want %#x", pointerBaseSym, s, base.Value)
	}
	abs := out.SymbolNamed(reallocAbsSym)
	if abs == nil || abs.Value&^1 <= p.Slot.Address || abs.Value&^1 >= p.Slot.Address+p.Slot.Size {
		t.Errorf("%s = %+v, not after the shim in the slot", reallocAbsSym, abs)
	}
	if rep, err := Verify(out, Options{}); err != nil || !rep.OK {
		t.Errorf("verify without --pointer-base: %v %v", err, rep.Problems)
	}
	if _, err := NewPlan(out, Options{}); err == nil || !strings.Contains(err.Error(), "give --pointer-base again") {
		t.Errorf("re-patching without --pointer-base: %v", err)
	}
	again, twice := patched(t, out, Options{PointerBase: "__linear_memory_base"})
	if again.Action != "unchanged" || string(twice.Data) != string(out.Data) {
		t.Errorf("re-patching with the same base: %s", again.Action)
	}
}

func TestPointerBaseRefusesAnArenaOutsideLinearMemory(t *testing.T) {
	img := readImage(t, buildImage(t, imageSpec{asm: linearAsm("0x100"), script: linearScript}))
	_, err := NewPlan(img, Options{PointerBase: "__linear_memory_base"})
	if err == nil || !strings.Contains(err.Error(), "does not lie inside the linear memory at __linear_memory_base (0x20000000-0x20000100)") {
		t.Fatalf("got %v", err)
	}
	if _, err := NewPlan(img, Options{PointerBase: "__linear_memory_base", PointerLimit: 0x40000}); err != nil {
		t.Errorf("with --pointer-limit covering the arena: %v", err)
	}
	if _, err := NewPlan(img, Options{PointerBase: "0x20000000"}); err == nil || !strings.Contains(err.Error(), "give --pointer-limit SIZE") {
		t.Errorf("an address without a limit: %v", err)
	}
	if _, err := NewPlan(img, Options{PointerBase: "no_such_base"}); err == nil || !strings.Contains(err.Error(), "no_such_base: is not defined") {
		t.Errorf("an unknown base symbol: %v", err)
	}
}

func TestPointerBaseRefusesABaseNotAlignedToEight(t *testing.T) {
	img := readImage(t, buildImage(t, imageSpec{asm: linearAsm("0x10000"), script: linearScript}))
	base := img.SymbolNamed("__linear_memory_base").Value
	for _, off := range []uint64{1, 2, 4} {
		_, err := NewPlan(img, Options{PointerBase: fmt.Sprintf("%#x", base+off), PointerLimit: 0x40000})
		want := fmt.Sprintf("the linear memory's base %#x is not 8-aligned", base+off)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("base %#x: got %v, want %q", base+off, err, want)
		}
	}
	if _, err := NewPlan(img, Options{PointerBase: fmt.Sprintf("%#x", base+8), PointerLimit: 0x40000}); err != nil {
		t.Errorf("an 8-aligned base: %v", err)
	}
}

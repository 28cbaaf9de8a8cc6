package patcher

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
	"github.com/pulseengine/elfpatch/relocs"
)

// farLayout puts code at CODE, a second code region FAR more than a
// branch's reach away, and RAM. SLOTPLACE and FARPLACE say which region
// takes the reserve object's slot and the image's far code.
const farLayout = `
MEMORY { CODE (rx) : ORIGIN = CODEORIGIN, LENGTH = 1M
         FAR (rx) : ORIGIN = FARORIGIN, LENGTH = 1M
         RAM (rwx) : ORIGIN = RAMORIGIN, LENGTH = 256K }
ENTRY(_start)
SECTIONS {
  .text : { *(.text._start) *(.text) NEARSLOT *(.rodata*) } > CODE
  .far : { *(.text.far) FARSLOT } > FAR
  .data : { *(.data*) } > RAM AT > CODE
  .bss : { __bss_start__ = .; *(.bss*) *(COMMON) __bss_end__ = .; } > RAM
}
`

// farCase is one architecture's branches, with their reach exceeded.
type farCase struct {
	arch           string
	code, far, ram string
	// calls are two calls to the kebab spelling, own defines
	// __cabi_arena_realloc (in .text.far).
	calls, own string
	branch     string // the relocation type of the calls, as reported
}

var farCases = []farCase{
	{
		arch: "arm", code: "0x08000000", far: "0x0a000000", ram: "0x20000000",
		calls: `  .syntax unified
  .cpu cortex-m3
  .thumb
  .section .text._start,"ax",%progbits
  .global _start
  .type _start, %function
_start:
  bl "cabi-arena-realloc"
  bl "cabi-arena-realloc"
  .bss
  .word 0
`,
		own: `  .section .text.far,"ax",%progbits
  .global __cabi_arena_realloc
  .type __cabi_arena_realloc, %function
__cabi_arena_realloc:
  bx lr
`,
		branch: "R_ARM_THM_CALL",
	},
	{
		// GNU ld computes a jal to an undefined symbol from 0, so the
		// code stays within its 1 MiB of address 0.
		arch: "riscv", code: "0x10000", far: "0x400000", ram: "0x800000",
		calls: `  .option norelax
  .section .text._start,"ax",@progbits
  .globl _start
_start:
  jal "cabi-arena-realloc"
  jal "cabi-arena-realloc"
  .bss
  .word 0
`,
		own: `  .section .text.far,"ax",@progbits
  .globl __cabi_arena_realloc
  .type __cabi_arena_realloc, @function
__cabi_arena_realloc:
  ret
`,
		branch: "R_RISCV_JAL",
	},
	{
		arch: "aarch64", code: "0x400000", far: "0x10400000", ram: "0x500000",
		calls: `  .section .text._start,"ax",@progbits
  .globl _start
_start:
  bl "cabi-arena-realloc"
  bl "cabi-arena-realloc"
  .bss
  .word 0
`,
		own: `  .section .text.far,"ax",@progbits
  .globl __cabi_arena_realloc
  .type __cabi_arena_realloc, %function
__cabi_arena_realloc:
  ret
`,
		branch: "R_AARCH64_CALL26",
	},
}

func (c farCase) script(slotFar bool) string {
	near, far := "*(.text.elfpatch.slot)", ""
	if slotFar {
		near, far = far, near
	}
	return strings.NewReplacer("CODEORIGIN", c.code, "FARORIGIN", c.far, "RAMORIGIN", c.ram,
		"NEARSLOT", near, "FARSLOT", far).Replace(farLayout)
}

// An image's own allocator beyond its callers' reach is reached through a
// veneer in the slot, as a linker would; the veneer is shared, and the
// patched image verifies and patches again to the same bytes.
func TestAFarAllocatorIsReachedThroughAVeneerInTheSlot(t *testing.T) {
	for _, c := range farCases {
		t.Run(c.arch, func(t *testing.T) {
			img := readImage(t, buildImage(t, imageSpec{arch: c.arch, asm: c.calls + c.own, script: c.script(false)}))
			p, out := patched(t, img, Options{})
			own := img.SymbolNamed(allocSym)
			if !p.Allocator.Linked || len(p.veneers) != 1 {
				t.Fatalf("allocator %+v, %d veneers; want the image's own through one veneer", p.Allocator, len(p.veneers))
			}
			v := p.veneers[0]
			if v.addr < p.Slot.Address || v.addr+uint64(len(v.code)) > p.Slot.Address+p.Slot.Size {
				t.Fatalf("veneer at %#x+%d outside the slot %#x+%d", v.addr, len(v.code), p.Slot.Address, p.Slot.Size)
			}
			if c.arch == "arm" {
				want, _ := relocs.ARMVeneerThumb(own.Value&^1, true, false)
				if !bytes.Equal(v.code, want) {
					t.Errorf("veneer % x, want % x", v.code, want)
				}
			}
			sites := 0
			for _, s := range p.Sites {
				if s.Type != c.branch {
					continue
				}
				sites++
				if !strings.Contains(s.After, strings.TrimPrefix(hex(v.addr), "0x")) {
					t.Errorf("site %s+%#x goes to %q, not the veneer at %#x", s.Section, s.Offset, s.After, v.addr)
				}
			}
			if sites != 2 {
				t.Errorf("%d %s sites, want 2", sites, c.branch)
			}
			if rep, err := Verify(out, Options{}); err != nil || !rep.OK {
				t.Fatalf("verify: %v %v", err, rep.Problems)
			}
			again, twice := patched(t, out, Options{})
			if again.Action != "unchanged" || !bytes.Equal(out.Data, twice.Data) {
				t.Errorf("patching the veneered image again: %s", again.Action)
			}
		})
	}
}

// A slot the sites cannot reach is refused, with the distance and what to
// do about it.
func TestASlotOutOfReachIsRefusedWithTheDistance(t *testing.T) {
	for _, c := range farCases {
		t.Run(c.arch, func(t *testing.T) {
			img := readImage(t, buildImage(t, imageSpec{arch: c.arch, asm: c.calls, script: c.script(true)}))
			slot := img.SymbolNamed(slotSym)
			_, err := NewPlan(img, Options{Variant: map[string]string{"arm": "thumb2", "riscv": "rv32c", "aarch64": "aarch64"}[c.arch]})
			if err == nil {
				t.Fatal("the patch was planned")
			}
			msg := err.Error()
			for _, want := range []string{
				"app.elf: .text+0x0: " + c.branch + " to cabi-arena-realloc: cannot reach __cabi_arena_realloc at " + hex(slot.Value),
				"out of range", "place the slot (__elfpatch_slot) within reach of this code",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("the refusal lacks %q:\n%s", want, msg)
				}
			}
		})
	}
}

func TestASlotTooSmallIsRefusedWithTheSizeNeeded(t *testing.T) {
	img := readImage(t, buildImage(t, imageSpec{slotSize: 64}))
	v, _ := arenablob.ByName("thumb2")
	obj, err := Read("thumb2", v.Object)
	if err != nil {
		t.Fatal(err)
	}
	size := obj.SectionOf(obj.SymbolNamed(allocSym)).Size
	_, err = NewPlan(img, Options{})
	want := fmt.Sprintf("app.elf: .text+0x20: __elfpatch_slot: the slot holds 64 bytes, but the allocator (%d bytes) and 0 veneer(s) need %d: link with a larger slot (ELFPATCH_SLOT_SIZE=%d)", size, size, (size+63)&^63)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}

// An A32 B cannot switch to Thumb state: a tail call from Cortex-R5 code
// reaches the Thumb allocator through an A32 veneer in the slot, while a BL
// becomes a BLX. GNU ld left the A32 branches as assembled where 0 was out
// of their reach (0x08000000) and computed them from 0 where it was not;
// it made the Thumb BL a BLX to 0; LLD branched to the next instruction.
func TestA32TailCallsReachTheThumbAllocatorThroughAVeneer(t *testing.T) {
	asm := `  .syntax unified
  .cpu cortex-r5
  .arm
  .section .text._start,"ax",%progbits
  .global _start
  .type _start, %function
_start:
  bl __cabi_arena_realloc
  b "cabi-arena-realloc"
  nop
  .thumb
  nop
  bl "cabi-arena-realloc"
  b.w __cabi_arena_realloc
  .bss
  .word 0
`
	for _, linker := range []string{"ld", "lld"} {
		for _, flash := range []string{"0x00100000", "0x08000000"} {
			img := readImage(t, buildImage(t, imageSpec{asm: asm, cpu: "cortex-r5", linker: linker, flash: flash}))
			p, out := patched(t, img, Options{})
			if p.Allocator.Variant != "thumb2" || len(p.veneers) != 1 {
				t.Fatalf("%s@%s: allocator %s with %d veneers; want thumb2 with one", linker, flash, p.Allocator.Variant, len(p.veneers))
			}
			if want := relocs.ARMVeneerA32(p.Allocator.Address, true); !bytes.Equal(p.veneers[0].code, want) {
				t.Errorf("%s@%s: veneer % x, want % x", linker, flash, p.veneers[0].code, want)
			}
			var insns []string
			for _, s := range p.Sites {
				insns = append(insns, s.After)
			}
			alloc, veneer := hex(p.Allocator.Address), hex(p.veneers[0].addr)
			want := []string{"blx " + alloc, "b " + veneer, "bl " + alloc, "b.w " + alloc}
			if strings.Join(insns, "; ") != strings.Join(want, "; ") {
				t.Errorf("%s@%s: sites after the patch: %q, want %q", linker, flash, insns, want)
			}
			if rep, err := Verify(out, Options{}); err != nil || !rep.OK {
				t.Fatalf("%s@%s: verify: %v %v", linker, flash, err, rep.Problems)
			}
		}
	}
}

package patcher

import (
	"debug/elf"
	"strings"
	"testing"
)

// No silent wrong call: a site whose instruction is not what its
// relocation type applies to is refused, naming the site, on every
// architecture, rather than rewritten into something else.

const riscvCallAsm = `  .option norelax
  .section .text._start,"ax",@progbits
  .global _start
_start:
  call __cabi_arena_realloc
  ret
  .bss
  .word 0
`

const aarch64CallAsm = `  .section .text._start,"ax",@progbits
  .global _start
_start:
  bl __cabi_arena_realloc
  ret
  .bss
  .word 0
`

func TestASiteWhoseInstructionIsNotWhatItsRelocationSaysIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec imageSpec
		typ  uint32
		at   uint64 // where in the site the wrong instruction goes
		insn []byte // little-endian
		want string
	}{
		{"thumb BL made two MOVs", imageSpec{}, uint32(rThmCall), 0, []byte{0x00, 0x46, 0x00, 0x46},
			"app.elf: .text+0x0: R_ARM_THM_CALL to __cabi_arena_realloc: R_ARM_THM_CALL applies to a BL or BLX, found 0x4600 0x4600 (not a 32-bit branch-with-link)"},
		{"thumb BL made a NOP.W", imageSpec{}, uint32(rThmCall), 0, []byte{0xaf, 0xf3, 0x00, 0x80},
			"app.elf: .text+0x0: R_ARM_THM_CALL to __cabi_arena_realloc: R_ARM_THM_CALL applies to a BL or BLX, found 0xf3af 0x8000 (a NOP.W, which GNU ld writes in place of a branch to an undefined weak symbol)"},
		{"riscv JALR made an ADDI", imageSpec{arch: "riscv", asm: riscvCallAsm, flash: "0x10000"}, uint32(elf.R_RISCV_CALL_PLT), 4, []byte{0x93, 0x00, 0x00, 0x00},
			"app.elf: .text+0x0: R_RISCV_CALL_PLT to __cabi_arena_realloc: R_RISCV_CALL_PLT applies to an auipc and a jalr, found 0xffff0097 0x00000093 (an auipc followed by an addi, not by a jalr)"},
		{"aarch64 BL made a NOP", imageSpec{arch: "aarch64", asm: aarch64CallAsm, flash: "0x400000"}, uint32(elf.R_AARCH64_CALL26), 0, []byte{0x1f, 0x20, 0x03, 0xd5},
			"app.elf: .text+0x0: R_AARCH64_CALL26 to __cabi_arena_realloc: R_AARCH64_CALL26 applies to a BL, found 0xd503201f (a NOP, which GNU ld writes in place of a branch to an undefined weak symbol)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := readImage(t, buildImage(t, tc.spec))
			found := false
			for _, r := range img.Relocs {
				if r.Type == tc.typ && img.Syms[r.Sym].Name == allocSym {
					_, off, _ := img.place(r, 4)
					copy(img.Data[off+tc.at:], tc.insn)
					found = true
					break
				}
			}
			if !found {
				t.Fatal("no site of that type")
			}
			_, err := NewPlan(img, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %q", err, tc.want)
			}
		})
	}
}

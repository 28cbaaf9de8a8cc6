package patcher

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
	"github.com/pulseengine/elfpatch/relocs"
)

// RISC-V uses RELA: every retained relocation carries its addend, so a
// site's new bytes are the ABI formula with the allocator as S, whatever
// the linker left in them. Two things are peculiar. A PC-relative address
// is an auipc (PCREL_HI20, against the symbol) and one or more later
// instructions (PCREL_LO12_I/S) whose relocation names the auipc's label,
// not the symbol: when the auipc's target moves, they move with it. And
// GNU ld relaxes: calls it could resolve may have become jal or c.jal, with
// R_RISCV_JAL or R_RISCV_RVC_JUMP retained; calls to a symbol it left
// undefined stay auipc+jalr. RELAX, ALIGN and NONE entries mark what a
// linker was free to do and name no place to change.
type riscvArch struct{}

// efRISCVRVC is EF_RISCV_RVC: the image may contain compressed
// instructions.
const efRISCVRVC = 0x1

func (riscvArch) defaultSlot() uint64   { return 384 }
func (riscvArch) family() string        { return "riscv" }
func (riscvArch) name() string          { return "RISC-V" }
func (riscvArch) rela() bool            { return true }
func (riscvArch) isaBit() bool          { return false }
func (riscvArch) pointerBits() uint     { return 32 }
func (riscvArch) slotAlign() uint64     { return 8 }
func (riscvArch) mappingSymbol() string { return "" }
func (riscvArch) typeName(t uint32) string {
	return relocs.RISCVTypeName(elf.R_RISCV(t))
}
func (riscvArch) marker(t uint32) bool {
	switch elf.R_RISCV(t) {
	case elf.R_RISCV_NONE, elf.R_RISCV_RELAX, elf.R_RISCV_ALIGN:
		return true
	}
	return false
}
func (riscvArch) siteSize(t uint32) uint64 {
	switch elf.R_RISCV(t) {
	case elf.R_RISCV_CALL, elf.R_RISCV_CALL_PLT, elf.R_RISCV_64, elf.R_RISCV_ADD64:
		return 8
	case elf.R_RISCV_RVC_JUMP, elf.R_RISCV_RVC_BRANCH, elf.R_RISCV_ADD16:
		return 2
	case elf.R_RISCV_ADD8:
		return 1
	}
	return 4
}
func (a riscvArch) check(t uint32, loc, _ []byte) error {
	if w, ok := a.addWidth(t); ok {
		if uint64(len(loc)) < w {
			return &relocs.InsnError{Type: a.typeName(t), Want: "a data word", Why: "too short"}
		}
		return nil
	}
	return relocs.RISCVCheck(elf.R_RISCV(t), loc)
}
func (riscvArch) apply(t uint32, loc []byte, v relocs.Values) error {
	return relocs.RISCVApply(elf.R_RISCV(t), loc, v)
}
func (a riscvArch) disasm(t uint32, loc, _ []byte, P uint64) string {
	if w, ok := a.addWidth(t); ok && uint64(len(loc)) >= w {
		b := make([]byte, 8)
		copy(b, loc[:w])
		return fmt.Sprintf(".%dbyte 0x%x", w, binary.LittleEndian.Uint64(b))
	}
	return relocs.RISCVDisasm(elf.R_RISCV(t), loc, P)
}

var errRELA = errors.New("internal error: a RELA architecture keeps its addends in the relocation entries")

func (riscvArch) canonicalAddend(uint32) (int64, bool)         { return 0, false }
func (riscvArch) implicitAddend(uint32, []byte) (int64, error) { return 0, errRELA }
func (riscvArch) unresolvedField(string, uint32, int64, uint64, []byte) (int64, error) {
	return 0, errRELA
}

// riscvUnimp is "unimp" in its 32-bit form (csrrw x0, cycle, x0), valid
// with and without the C extension.
var riscvUnimp = []byte{0x73, 0x10, 0x00, 0xc0}

func (riscvArch) trapCall(t uint32) (int, []byte, bool) {
	switch elf.R_RISCV(t) {
	case elf.R_RISCV_CALL, elf.R_RISCV_CALL_PLT:
		return 0, repeat(riscvUnimp, 8), true
	case elf.R_RISCV_JAL:
		return 0, riscvUnimp, true
	}
	return 0, nil, false
}

// fill is zeros: 0x0000 is c.unimp, and a zero word is illegal without C.
func (riscvArch) fill(n uint64) []byte { return make([]byte, n) }

// variant picks the compressed allocator only for an image that may hold
// compressed instructions: an image without RVC must never receive one.
func (riscvArch) variant(img *Image, forced string) (arenablob.Variant, error) {
	if forced != "" {
		return chooseForced(img, forced)
	}
	if img.Flags&efRISCVRVC != 0 {
		return variantNamed("rv32c")
	}
	return variantNamed("rv32")
}

// PCREL_LO12 relocations name the auipc whose PCREL_HI20 they complete:
// their symbol's address (plus addend) is the auipc's.
func (riscvArch) dependents(img *Image, hi *Reloc) []*Reloc {
	if elf.R_RISCV(hi.Type) != elf.R_RISCV_PCREL_HI20 {
		return nil
	}
	// Indexed once per image by the place each names, so that a patch
	// of many sites does not scan every relocation for each.
	if img.pcrelLo == nil {
		img.pcrelLo = map[relocPlace][]*Reloc{}
		for _, r := range img.Relocs {
			t := elf.R_RISCV(r.Type)
			if t != elf.R_RISCV_PCREL_LO12_I && t != elf.R_RISCV_PCREL_LO12_S {
				continue
			}
			s := img.Syms[r.Sym]
			k := relocPlace{r.Target, uint64(int64(s.Value) + r.Addend)}
			img.pcrelLo[k] = append(img.pcrelLo[k], r)
		}
	}
	return img.pcrelLo[relocPlace{hi.Target, hi.Offset}]
}

func (riscvArch) hiValue(S uint64, A int64, P uint64) int64 { return int64(S) + A - int64(P) }

func (riscvArch) applyDependent(t uint32, loc []byte, hiValue int64) error {
	return relocs.RISCVApplyPCRelLo(elf.R_RISCV(t), loc, hiValue)
}

// riscvVeneer is "auipc t1, 0; jalr x0, 0(t1)": it jumps anywhere within
// ±2 GiB, keeping ra as the branch to it set it. t1 is free at a call,
// as it is in a PLT entry, and below x16, as RV32E needs.
var riscvVeneer = []byte{0x17, 0x03, 0x00, 0x00, 0x67, 0x00, 0x03, 0x00}

func (riscvArch) veneer(p *Plan, t uint32, target uint64, _ bool) (veneerSpec, bool) {
	switch elf.R_RISCV(t) {
	case elf.R_RISCV_JAL, elf.R_RISCV_BRANCH, elf.R_RISCV_RVC_JUMP, elf.R_RISCV_RVC_BRANCH, elf.R_RISCV_CALL, elf.R_RISCV_CALL_PLT:
	default:
		return veneerSpec{}, false
	}
	return veneerSpec{kind: "auipc+jr", size: 8, align: 4, build: func(at uint64) ([]byte, error) {
		code := append([]byte(nil), riscvVeneer...)
		err := relocs.RISCVApply(elf.R_RISCV_CALL, code, relocs.Values{S: target, P: at})
		return code, err
	}}, true
}

// The assemblers write a difference such as ".4byte import - ." as an
// R_RISCV_ADD32 against the import and an R_RISCV_SUB32 against a label at
// the same place: the field is S + A of the one minus S + A of the other.
func (riscvArch) addWidth(t uint32) (uint64, bool) {
	switch elf.R_RISCV(t) {
	case elf.R_RISCV_ADD8:
		return 1, true
	case elf.R_RISCV_ADD16:
		return 2, true
	case elf.R_RISCV_ADD32:
		return 4, true
	case elf.R_RISCV_ADD64:
		return 8, true
	}
	return 0, false
}

func (riscvArch) subOf(add uint32) uint32 {
	switch elf.R_RISCV(add) {
	case elf.R_RISCV_ADD8:
		return uint32(elf.R_RISCV_SUB8)
	case elf.R_RISCV_ADD16:
		return uint32(elf.R_RISCV_SUB16)
	case elf.R_RISCV_ADD32:
		return uint32(elf.R_RISCV_SUB32)
	}
	return uint32(elf.R_RISCV_SUB64)
}

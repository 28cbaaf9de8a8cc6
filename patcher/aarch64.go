package patcher

import (
	"debug/elf"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
	"github.com/pulseengine/elfpatch/relocs"
)

// AArch64 uses RELA: a site's new bytes are the ABI formula with the
// allocator as S. The allocator takes its four i32 arguments in w0-w3 and
// returns a 32-bit pointer zero-extended in x0, so its arena must lie below
// 4 GiB.
type aarch64Arch struct{}

func (aarch64Arch) defaultSlot() uint64   { return 384 }
func (aarch64Arch) family() string        { return "aarch64" }
func (aarch64Arch) name() string          { return "AArch64" }
func (aarch64Arch) rela() bool            { return true }
func (aarch64Arch) isaBit() bool          { return false }
func (aarch64Arch) pointerBits() uint     { return 32 }
func (aarch64Arch) slotAlign() uint64     { return 8 }
func (aarch64Arch) mappingSymbol() string { return "$x" }
func (aarch64Arch) typeName(t uint32) string {
	return relocs.AArch64TypeName(elf.R_AARCH64(t))
}
func (aarch64Arch) marker(t uint32) bool { return elf.R_AARCH64(t) == elf.R_AARCH64_NONE }
func (aarch64Arch) siteSize(t uint32) uint64 {
	switch elf.R_AARCH64(t) {
	case elf.R_AARCH64_ABS64, elf.R_AARCH64_PREL64:
		return 8
	}
	return 4
}
func (aarch64Arch) check(t uint32, loc, _ []byte) error {
	return relocs.AArch64Check(elf.R_AARCH64(t), loc)
}
func (aarch64Arch) apply(t uint32, loc []byte, v relocs.Values) error {
	return relocs.AArch64Apply(elf.R_AARCH64(t), loc, v)
}
func (aarch64Arch) disasm(t uint32, loc, _ []byte, P uint64) string {
	return relocs.AArch64Disasm(elf.R_AARCH64(t), loc, P)
}
func (aarch64Arch) canonicalAddend(uint32) (int64, bool)         { return 0, false }
func (aarch64Arch) implicitAddend(uint32, []byte) (int64, error) { return 0, errRELA }
func (aarch64Arch) unresolvedField(string, uint32, int64, uint64, []byte) (int64, error) {
	return 0, errRELA
}

// a64UDF is "udf #0", all zeros; it also fills the slot.
var a64UDF = []byte{0, 0, 0, 0}

func (aarch64Arch) trapCall(t uint32) (int, []byte, bool) {
	if elf.R_AARCH64(t) == elf.R_AARCH64_CALL26 {
		return 0, a64UDF, true
	}
	return 0, nil, false
}
func (aarch64Arch) fill(n uint64) []byte { return make([]byte, n) }
func (aarch64Arch) variant(img *Image, forced string) (arenablob.Variant, error) {
	if forced != "" {
		return chooseForced(img, forced)
	}
	return variantNamed("aarch64")
}

// a64Veneer is "adrp x16, target; add x16, x16, :lo12:target; br x16", a
// linker's long-branch veneer: x16 (IP0) is free at a call by the ABI.
var a64Veneer = []byte{0x10, 0x00, 0x00, 0x90, 0x10, 0x02, 0x00, 0x91, 0x00, 0x02, 0x1f, 0xd6}

func (aarch64Arch) veneer(p *Plan, t uint32, target uint64, _ bool) (veneerSpec, bool) {
	switch elf.R_AARCH64(t) {
	case elf.R_AARCH64_CALL26, elf.R_AARCH64_JUMP26:
	default:
		return veneerSpec{}, false
	}
	return veneerSpec{kind: "adrp+br", size: 12, align: 4, build: func(at uint64) ([]byte, error) {
		code := append([]byte(nil), a64Veneer...)
		if err := relocs.AArch64Apply(elf.R_AARCH64_ADR_PREL_PG_HI21, code[0:4], relocs.Values{S: target, P: at}); err != nil {
			return nil, err
		}
		err := relocs.AArch64Apply(elf.R_AARCH64_ADD_ABS_LO12_NC, code[4:8], relocs.Values{S: target, P: at + 4})
		return code, err
	}}, true
}

package patcher

import (
	"debug/elf"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
	"github.com/pulseengine/elfpatch/relocs"
)

// x86-64 is here for host tests. It uses RELA; a call's rel32 sits one byte
// after its opcode, which the checks read too. The allocator returns a
// 32-bit pointer zero-extended in rax, so its arena must lie below 4 GiB.
type x86Arch struct{}

func (x86Arch) defaultSlot() uint64   { return 320 }
func (x86Arch) family() string        { return "x86_64" }
func (x86Arch) name() string          { return "x86-64" }
func (x86Arch) rela() bool            { return true }
func (x86Arch) isaBit() bool          { return false }
func (x86Arch) pointerBits() uint     { return 32 }
func (x86Arch) slotAlign() uint64     { return 16 }
func (x86Arch) mappingSymbol() string { return "" }
func (x86Arch) typeName(t uint32) string {
	return relocs.X86_64TypeName(elf.R_X86_64(t))
}
func (x86Arch) marker(t uint32) bool { return elf.R_X86_64(t) == elf.R_X86_64_NONE }
func (x86Arch) siteSize(t uint32) uint64 {
	switch elf.R_X86_64(t) {
	case elf.R_X86_64_64, elf.R_X86_64_PC64:
		return 8
	}
	return 4
}
func (x86Arch) check(t uint32, loc, before []byte) error {
	return relocs.X86_64Check(elf.R_X86_64(t), loc, before)
}
func (x86Arch) apply(t uint32, loc []byte, v relocs.Values) error {
	return relocs.X86_64Apply(elf.R_X86_64(t), loc, v)
}
func (x86Arch) disasm(t uint32, loc, before []byte, P uint64) string {
	return relocs.X86_64Disasm(elf.R_X86_64(t), loc, before, P)
}
func (x86Arch) canonicalAddend(uint32) (int64, bool)         { return 0, false }
func (x86Arch) implicitAddend(uint32, []byte) (int64, error) { return 0, errRELA }
func (x86Arch) unresolvedField(string, uint32, int64, uint64, []byte) (int64, error) {
	return 0, errRELA
}

// x86Trap replaces a 5-byte call (e8 rel32): ud2, then int3s.
var x86Trap = []byte{0x0f, 0x0b, 0xcc, 0xcc, 0xcc}

func (x86Arch) trapCall(t uint32) (int, []byte, bool) {
	if elf.R_X86_64(t) == elf.R_X86_64_PLT32 {
		return 1, x86Trap, true
	}
	return 0, nil, false
}

// fill is ud2 over and over.
func (x86Arch) fill(n uint64) []byte { return repeat([]byte{0x0f, 0x0b}, n) }
func (x86Arch) variant(img *Image, forced string) (arenablob.Variant, error) {
	if forced != "" {
		return chooseForced(img, forced)
	}
	return variantNamed("x86_64")
}

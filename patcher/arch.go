package patcher

import (
	"debug/elf"
	"fmt"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
	"github.com/pulseengine/elfpatch/relocs"
)

// arch is what the patcher needs to know of a machine, and nothing else
// asks which machine an image is for: how its relocations read and write,
// how big a site is, what a trap, a slot's fill and a veneer look like, and
// which allocator it runs. One implementation per architecture, over the
// pure encoders in relocs/.
type arch interface {
	name() string
	// family names the architecture as arena_blob's shims do.
	family() string
	// rela reports whether relocation entries carry their addends. REL
	// architectures (ARM) keep them in the relocated bytes, where a linked
	// image has overwritten them.
	rela() bool
	typeName(t uint32) string
	// marker reports relocation types that record a linker's freedom
	// (relaxation, alignment) and name no place to change.
	marker(t uint32) bool
	// siteSize is how many bytes at the place a relocation type changes.
	siteSize(t uint32) uint64
	// check confirms the place holds what type t applies to; before holds
	// up to the 3 bytes preceding it (an x86 opcode).
	check(t uint32, loc, before []byte) error
	apply(t uint32, loc []byte, v relocs.Values) error
	disasm(t uint32, loc, before []byte, P uint64) string

	// For REL architectures: the addend compilers give a reference to a
	// function, the addend a place keeps before the link, and what a linker
	// leaves in the field for a symbol it could not resolve.
	canonicalAddend(t uint32) (int64, bool)
	implicitAddend(t uint32, loc []byte) (int64, error)
	unresolvedField(linker string, t uint32, A int64, P uint64, loc []byte) (int64, error)

	// isaBit reports whether bit 0 of a function symbol's value selects
	// the instruction set (ARM: Thumb).
	isaBit() bool
	// trapCall is what replaces a call of type t to an undefined weak
	// symbol in allocator code: bytes written from delta bytes before the
	// relocated field.
	trapCall(t uint32) (delta int, code []byte, ok bool)
	// fill is n bytes of permanently undefined instructions, for the slot
	// beyond the allocator.
	fill(n uint64) []byte
	// variant chooses the allocator the image can run.
	variant(img *Image, forced string) (arenablob.Variant, error)
	// pointerBits is the width of the allocator's pointers: the arena must
	// lie below 1<<pointerBits.
	pointerBits() uint
	// slotAlign is the alignment of the code slot; mappingSymbol, when not
	// empty, marks the slot's start as code for disassemblers ($t, $x).
	slotAlign() uint64
	mappingSymbol() string
	// defaultSlot is the slot a link reserves: the largest allocator with
	// the pointer-base shim in front of it, and room for veneers.
	defaultSlot() uint64
}

// archOf returns the architecture of an image, or refuses it.
func archOf(img *Image) (arch, error) {
	a, ok := archFor(img.Machine, img.Class)
	if !ok {
		return nil, errorf(img.Name, "unsupported machine %s (%v)", machineName(img.Machine), img.Class)
	}
	return a, nil
}

// archFor returns the architecture of a machine and ELF class.
func archFor(m elf.Machine, c elf.Class) (arch, bool) {
	switch {
	case m == elf.EM_ARM && c == elf.ELFCLASS32:
		return armArch{}, true
	case m == elf.EM_RISCV && c == elf.ELFCLASS32:
		return riscvArch{}, true
	case m == elf.EM_AARCH64 && c == elf.ELFCLASS64:
		return aarch64Arch{}, true
	case m == elf.EM_X86_64 && c == elf.ELFCLASS64:
		return x86Arch{}, true
	}
	return nil, false
}

// chooseForced returns the variant the user named with --variant.
func chooseForced(img *Image, forced string) (arenablob.Variant, error) {
	v, ok := arenablob.ByName(forced)
	if !ok {
		var names []string
		for _, v := range arenablob.Variants() {
			names = append(names, v.Name)
		}
		return v, errorf(img.Name, "unknown allocator variant %q (have: %v)", forced, names)
	}
	return v, nil
}

// variantNamed returns a built-in variant that must exist.
func variantNamed(name string) (arenablob.Variant, error) {
	v, ok := arenablob.ByName(name)
	if !ok {
		return v, fmt.Errorf("internal error: no %s allocator is built in", name)
	}
	return v, nil
}

// site is a relocation's place in the image: where it is and its bytes.
type site struct {
	secOff, fileOff uint64
	loc, before     []byte
	P               uint64
}

// placeOf locates a relocation's bytes for arch a.
func (img *Image) placeOf(a arch, r *Reloc) (site, error) {
	size := a.siteSize(r.Type)
	secOff, fileOff, err := img.place(r, size)
	if err != nil {
		return site{}, err
	}
	// The bytes before a place matter for code only (an x86 opcode); in
	// data they belong to something else.
	lo := fileOff
	if r.Target.Flags&elf.SHF_EXECINSTR != 0 {
		lo -= min(fileOff-r.Target.Offset, 3)
	}
	P := r.Offset
	if img.Type == elf.ET_REL {
		P = secOff
	}
	return site{secOff: secOff, fileOff: fileOff, loc: img.Data[fileOff : fileOff+size], before: img.Data[lo:fileOff], P: P}, nil
}

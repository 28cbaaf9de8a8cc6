package patcher

import (
	"debug/elf"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
	"github.com/pulseengine/elfpatch/relocs"
)

// entryInfo describes the allocator function inside its linked code.
type entryInfo struct {
	offset uint64 // from the start of the code, without the Thumb bit
	size   uint64
	thumb  bool
}

// thumbTrap replaces a call to an undefined weak symbol in allocator code:
// two Thumb "udf #0", valid on every M-profile core. A linker would turn
// such a call into a no-op; in an allocator the call is its trap hook, and
// falling through a trap is never right.
var thumbTrap = []byte{0x00, 0xde, 0x00, 0xde}

// linkAllocator links an allocator object to run at addr inside img: the
// bytes of its code section with every relocation applied. syms resolves
// the symbols the allocator expects elfpatch to provide; anything else it
// needs must be defined by the image, except weak references, whose calls
// become traps.
func linkAllocator(img *Image, v arenablob.Variant, addr uint64, syms map[string]uint64) ([]byte, entryInfo, error) {
	objName := "allocator " + v.Name
	obj, err := Read(objName, v.Object)
	if err != nil {
		return nil, entryInfo{}, err
	}
	fn := obj.SymbolNamed(allocSym)
	if fn == nil || fn.Undefined() || fn.Kind() != elf.STT_FUNC {
		return nil, entryInfo{}, errorf(objName, "does not define %s as a function", allocSym)
	}
	sec := obj.SectionOf(fn)
	if sec == nil || sec.Type != elf.SHT_PROGBITS {
		return nil, entryInfo{}, errorf(objName, "%s is not in a section with code", allocSym)
	}
	for _, s := range obj.Sections {
		if s != sec && s.Alloc() && s.Size > 0 {
			return nil, entryInfo{}, &Error{File: objName, Section: s.Label(), Msg: "allocator objects keep everything in one code section"}
		}
	}
	code := append([]byte(nil), obj.contents(sec)...)
	entry := entryInfo{offset: fn.Value &^ 1, size: fn.Size, thumb: fn.Value&1 != 0}

	for _, r := range obj.Relocs {
		if r.Target != sec {
			continue
		}
		t := elf.R_ARM(r.Type)
		size := armSiteSize(t)
		if r.Offset > uint64(len(code)) || size > uint64(len(code))-r.Offset {
			return nil, entryInfo{}, obj.relocErr(r, "lies outside the code")
		}
		loc := code[r.Offset : r.Offset+size]
		sym := obj.Syms[r.Sym]
		var S uint64
		var T bool
		switch {
		case obj.SectionOf(sym) == sec:
			S = addr + sym.Value&^1
			T = sym.Kind() == elf.STT_FUNC && sym.Value&1 != 0
		case !sym.Undefined():
			return nil, entryInfo{}, obj.relocErr(r, "refers to a symbol outside the allocator's code")
		default:
			if val, ok := syms[sym.Name]; ok {
				S = val
				break
			}
			def := img.SymbolNamed(sym.Name)
			if def != nil && !def.Undefined() {
				S, T = def.Value&^1, def.Kind() == elf.STT_FUNC && def.Value&1 != 0
				if def.Kind() == elf.STT_FUNC && !T {
					return nil, entryInfo{}, &Error{File: img.Name, Symbol: sym.Name, Msg: "is ARM code; the allocator is Thumb code on a core without ARM state"}
				}
				break
			}
			if sym.Bind() == elf.STB_WEAK && t == rThmCall {
				copy(loc, thumbTrap)
				continue
			}
			return nil, entryInfo{}, obj.relocErr(r, "the image does not define this symbol")
		}
		A, err := relocs.ARMAddend(t, loc)
		if err != nil {
			return nil, entryInfo{}, obj.relocErr(r, "%v", err)
		}
		if err := relocs.ARMApply(t, loc, relocs.Values{S: S, A: A, P: addr + r.Offset, T: T}); err != nil {
			return nil, entryInfo{}, obj.relocErr(r, "placed at %#x: %v", addr, err)
		}
	}
	if entry.offset >= uint64(len(code)) {
		return nil, entryInfo{}, errorf(objName, "%s lies outside its code", allocSym)
	}
	return code, entry, nil
}

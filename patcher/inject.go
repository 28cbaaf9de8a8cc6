package patcher

import (
	"debug/elf"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
	"github.com/pulseengine/elfpatch/relocs"
)

// entryInfo describes the allocator function inside its linked code.
type entryInfo struct {
	offset uint64 // from the start of the code, without an ISA bit
	size   uint64
	thumb  bool
}

// linkAllocator links an allocator object to run at addr inside img: the
// bytes of its code section with every relocation applied. syms resolves
// the symbols the allocator expects elfpatch to provide; anything else it
// needs must be defined by the image, except weak references: a call to an
// undefined weak symbol becomes the architecture's trap. A linker would
// turn such a call into a no-op; in an allocator the call is its trap hook,
// and falling through a trap is never right.
func linkAllocator(img *Image, a arch, v arenablob.Variant, addr uint64, syms map[string]uint64) ([]byte, entryInfo, error) {
	objName := "allocator " + v.Name
	obj, err := Read(objName, v.Object)
	if err != nil {
		return nil, entryInfo{}, err
	}
	if obj.Machine != img.Machine || obj.Class != img.Class {
		return nil, entryInfo{}, errorf(objName, "is for %s (%v), the image for %s (%v)", machineName(obj.Machine), obj.Class, machineName(img.Machine), img.Class)
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
	off, thumb := symbolAddress(a, fn)
	entry := entryInfo{offset: off, size: fn.Size, thumb: thumb}

	for _, r := range obj.Relocs {
		if r.Target != sec || a.marker(r.Type) {
			continue
		}
		size := a.siteSize(r.Type)
		if r.Offset > uint64(len(code)) || size > uint64(len(code))-r.Offset {
			return nil, entryInfo{}, obj.relocErr(r, "lies outside the code")
		}
		loc := code[r.Offset : r.Offset+size]
		sym := obj.Syms[r.Sym]
		var S uint64
		var T bool
		switch {
		case obj.SectionOf(sym) == sec:
			S, T = symbolAddress(a, sym)
			S += addr
		case !sym.Undefined():
			return nil, entryInfo{}, obj.relocErr(r, "refers to a symbol outside the allocator's code")
		default:
			if val, ok := syms[sym.Name]; ok {
				S = val
				break
			}
			if def := img.SymbolNamed(sym.Name); def != nil && !def.Undefined() {
				S, T = symbolAddress(a, def)
				break
			}
			if delta, trap, ok := a.trapCall(r.Type); ok && sym.Bind() == elf.STB_WEAK && uint64(delta) <= r.Offset {
				copy(code[r.Offset-uint64(delta):], trap)
				continue
			}
			return nil, entryInfo{}, obj.relocErr(r, "the image does not define this symbol")
		}
		A := r.Addend
		if !a.rela() {
			if A, err = a.implicitAddend(r.Type, loc); err != nil {
				return nil, entryInfo{}, obj.relocErr(r, "%v", err)
			}
		}
		if err := a.apply(r.Type, loc, relocs.Values{S: S, A: A, P: addr + r.Offset, T: T}); err != nil {
			return nil, entryInfo{}, obj.relocErr(r, "placed at %#x: %v", addr, err)
		}
	}
	if entry.offset >= uint64(len(code)) {
		return nil, entryInfo{}, errorf(objName, "%s lies outside its code", allocSym)
	}
	return code, entry, nil
}

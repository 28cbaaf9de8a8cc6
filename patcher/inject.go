package patcher

import (
	"debug/elf"
	"fmt"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
	"github.com/pulseengine/elfpatch/relocs"
)

// entryInfo describes the allocator function inside its linked code.
type entryInfo struct {
	offset uint64 // from the start of the code, without an ISA bit
	size   uint64
	thumb  bool
}

// linkAllocator links an allocator object to run at addr inside img: its
// code and read-only sections, one after the other at their alignments,
// with every relocation applied. syms resolves the symbols the allocator
// expects elfpatch to provide; anything else it needs must be defined by
// the image, except weak references: a call to an undefined weak symbol
// becomes the architecture's trap. A linker would turn such a call into a
// no-op; in an allocator the call is its trap hook, and falling through a
// trap is never right.
//
// A linked image has no room for data of the allocator's own: an object
// with writable or zero-initialised sections is refused (it can be added
// to a relocatable object, before the final link, instead).
// symValue is the value elfpatch gives a symbol an allocator needs.
type symValue struct {
	addr  uint64
	thumb bool // ARM: the symbol is a Thumb function
}

func linkAllocator(img *Image, a arch, v arenablob.Variant, addr uint64, syms map[string]symValue) ([]byte, entryInfo, error) {
	objName := "allocator " + v.Name
	obj, err := Read(objName, v.Object)
	if err != nil {
		return nil, entryInfo{}, err
	}
	if obj.Type != elf.ET_REL || obj.Machine != img.Machine || obj.Class != img.Class {
		return nil, entryInfo{}, errorf(objName, "is not a relocatable object for %s (%v)", machineName(img.Machine), img.Class)
	}
	fn := obj.SymbolNamed(allocSym)
	if fn == nil || fn.Undefined() || fn.Kind() != elf.STT_FUNC {
		return nil, entryInfo{}, errorf(objName, "does not define %s as a function", allocSym)
	}
	// Lay the sections out.
	var code []byte
	base := map[int]uint64{}
	for _, s := range obj.Sections {
		if !s.Alloc() || s.Size == 0 {
			continue
		}
		if s.Type == elf.SHT_NOBITS || s.Flags&elf.SHF_WRITE != 0 {
			return nil, entryInfo{}, &Error{File: objName, Section: s.Label(),
				Msg: fmt.Sprintf("holds %d bytes of data of its own; a linked image has no room for it: use %s and the arena symbols, or patch the relocatable object before its final link", s.Size, stateSym)}
		}
		if err := padAlign(objName, s.Label(), s.Addralign); err != nil {
			return nil, entryInfo{}, err
		}
		code = pad(code, max(s.Addralign, 1))
		base[s.Index] = uint64(len(code))
		code = append(code, obj.contents(s)...)
	}
	fnOff, ok := base[int(fn.Shndx)]
	if !ok {
		return nil, entryInfo{}, errorf(objName, "%s is not in a section with code", allocSym)
	}
	off, thumb := symbolAddress(a, fn)
	entry := entryInfo{offset: fnOff + off, size: fn.Size, thumb: thumb}

	for _, r := range obj.Relocs {
		rbase, placed := base[r.Target.Index]
		if !placed || a.marker(r.Type) {
			continue
		}
		size := a.siteSize(r.Type)
		at := rbase + r.Offset
		if r.Offset > r.Target.Size || size > r.Target.Size-r.Offset {
			return nil, entryInfo{}, obj.relocErr(r, "lies outside its section")
		}
		loc := code[at : at+size]
		sym := obj.Syms[r.Sym]
		var S uint64
		var T bool
		sbase, inside := base[int(sym.Shndx)]
		switch {
		case !sym.Undefined() && inside:
			S, T = symbolAddress(a, sym)
			S += addr + sbase
		case !sym.Undefined():
			return nil, entryInfo{}, obj.relocErr(r, "refers to a symbol the allocator does not carry into the slot")
		default:
			if val, ok := syms[sym.Name]; ok {
				S, T = val.addr, val.thumb && a.isaBit()
				break
			}
			if def := img.SymbolNamed(sym.Name); def != nil && !def.Undefined() {
				S, T = symbolAddress(a, def)
				break
			}
			if delta, trap, ok := a.trapCall(r.Type); ok && sym.Bind() == elf.STB_WEAK && uint64(delta) <= at {
				copy(code[at-uint64(delta):], trap)
				continue
			}
			return nil, entryInfo{}, obj.relocErr(r, "the image does not define this symbol")
		}
		if err := a.check(r.Type, loc, code[at-min(at, 3):at]); err != nil {
			return nil, entryInfo{}, obj.relocErr(r, "%v", err)
		}
		A := r.Addend
		if !a.rela() {
			if A, err = a.implicitAddend(r.Type, loc); err != nil {
				return nil, entryInfo{}, obj.relocErr(r, "%v", err)
			}
		}
		if err := a.apply(r.Type, loc, relocs.Values{S: S, A: A, P: addr + at, T: T}); err != nil {
			return nil, entryInfo{}, obj.relocErr(r, "placed at %#x: %v", addr, err)
		}
	}
	return code, entry, nil
}

package patcher

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// The reserve object is the small relocatable object a link needs besides
// linkerscripts/arena.ld. A linker script alone cannot put a word into the
// user's zero-initialised .bss; an input object can, because the user's own
// script already collects *(.bss*) and *(.text*). It holds:
//
//	.text.elfpatch.slot   the code slot, filled with traps (swept into .text)
//	.bss.elfpatch.state   the allocator's one word of state (into .bss)
//	.arena                the heap, NOBITS, placed by arena.ld
//
// and defines __elfpatch_slot and __elfpatch_state. It has no code and no
// relocations; elfpatch writes the allocator into the slot after the link.

// ReserveOptions describe a reserve object.
type ReserveOptions struct {
	// Machine, Class and Flags must match the objects of the link; Flags is
	// copied from them (the ARM EABI version and float ABI bits, RISC-V's
	// RVC and float ABI bits).
	Machine elf.Machine
	Class   elf.Class
	Flags   uint32
	// ArenaSize is how many bytes the link reserves for the arena: the
	// largest size later patches can give it.
	ArenaSize uint64
	// SlotSize is how many bytes of code the slot holds; 0 means the
	// architecture's default: the largest built-in allocator with the
	// pointer-base shim, and room for a few veneers (256 bytes on ARM, 384
	// on RISC-V and AArch64, 320 on x86-64).
	SlotSize uint64
}

// ReserveObject builds the reserve object.
func ReserveObject(o ReserveOptions) ([]byte, error) {
	a, ok := archFor(o.Machine, o.Class)
	if !ok {
		return nil, fmt.Errorf("no reserve object for machine %s (%v)", machineName(o.Machine), o.Class)
	}
	if o.SlotSize == 0 {
		o.SlotSize = a.defaultSlot()
	}
	if o.SlotSize%8 != 0 {
		return nil, fmt.Errorf("slot size %d is not a multiple of 8", o.SlotSize)
	}
	if o.ArenaSize > 1<<a.pointerBits()-1 {
		return nil, fmt.Errorf("an arena of %d bytes does not fit the allocator's %d-bit pointers", o.ArenaSize, a.pointerBits())
	}
	w := &objWriter{class: o.Class, order: binary.LittleEndian}
	w.section(".text.elfpatch.slot", elf.SHT_PROGBITS, elf.SHF_ALLOC|elf.SHF_EXECINSTR, a.slotAlign(), a.fill(o.SlotSize), 0)
	w.section(".bss.elfpatch.state", elf.SHT_NOBITS, elf.SHF_ALLOC|elf.SHF_WRITE, 4, nil, 4)
	w.section(arenaName, elf.SHT_NOBITS, elf.SHF_ALLOC|elf.SHF_WRITE, 8, nil, o.ArenaSize)
	// The object needs no executable stack; saying so keeps GNU ld quiet.
	w.section(".note.GNU-stack", elf.SHT_PROGBITS, 0, 1, []byte{}, 0)
	if m := a.mappingSymbol(); m != "" {
		w.symbol(m, 0, 0, elf.STB_LOCAL, elf.STT_NOTYPE, 1)
	}
	w.symbol(slotSym, 0, o.SlotSize, elf.STB_GLOBAL, elf.STT_NOTYPE, 1)
	w.symbol(stateSym, 0, 4, elf.STB_GLOBAL, elf.STT_OBJECT, 2)
	return w.bytes(o.Machine, o.Flags), nil
}

// objWriter writes a little-endian relocatable object with a few sections
// and symbols, laid out in order.
type objWriter struct {
	class elf.Class
	order binary.ByteOrder
	secs  []objSection
	syms  []objSymbol
}

type objSection struct {
	name  string
	typ   elf.SectionType
	flags elf.SectionFlag
	align uint64
	data  []byte
	size  uint64 // for NOBITS
	link  uint32
	info  uint32
	ent   uint64
}

type objSymbol struct {
	name        string
	value, size uint64
	bind        elf.SymBind
	typ         elf.SymType
	shndx       uint16
}

func (w *objWriter) section(name string, t elf.SectionType, f elf.SectionFlag, align uint64, data []byte, size uint64) {
	if data != nil {
		size = uint64(len(data))
	}
	w.secs = append(w.secs, objSection{name: name, typ: t, flags: f, align: align, data: data, size: size})
}

// symbol adds a symbol; locals must come before globals.
func (w *objWriter) symbol(name string, value, size uint64, b elf.SymBind, t elf.SymType, shndx uint16) {
	w.syms = append(w.syms, objSymbol{name, value, size, b, t, shndx})
}

func (w *objWriter) bytes(m elf.Machine, flags uint32) []byte {
	o, is64 := w.order, w.class == elf.ELFCLASS64
	ehsize, shentsize, symsize, word := 52, 40, 16, uint64(4)
	if is64 {
		ehsize, shentsize, symsize, word = 64, 64, 24, 8
	}
	strtab := []byte{0}
	symtab := make([]byte, symsize)
	firstGlobal := uint32(len(w.syms) + 1)
	for i, s := range w.syms {
		if s.bind != elf.STB_LOCAL && firstGlobal > uint32(i+1) {
			firstGlobal = uint32(i + 1)
		}
		e := make([]byte, symsize)
		o.PutUint32(e[0:], uint32(len(strtab)))
		info := elf.ST_INFO(s.bind, s.typ)
		if is64 {
			e[4] = info
			o.PutUint16(e[6:], s.shndx)
			o.PutUint64(e[8:], s.value)
			o.PutUint64(e[16:], s.size)
		} else {
			o.PutUint32(e[4:], uint32(s.value))
			o.PutUint32(e[8:], uint32(s.size))
			e[12] = info
			o.PutUint16(e[14:], s.shndx)
		}
		symtab = append(symtab, e...)
		strtab = append(append(strtab, s.name...), 0)
	}
	n := uint32(len(w.secs))
	secs := append(append([]objSection{}, w.secs...),
		objSection{name: ".symtab", typ: elf.SHT_SYMTAB, align: word, data: symtab, link: n + 2, info: firstGlobal, ent: uint64(symsize)},
		objSection{name: ".strtab", typ: elf.SHT_STRTAB, align: 1, data: strtab},
	)
	shstrtab := []byte{0}
	names := make([]uint32, len(secs)+1)
	for i, s := range secs {
		names[i] = uint32(len(shstrtab))
		shstrtab = append(append(shstrtab, s.name...), 0)
	}
	names[len(secs)] = uint32(len(shstrtab))
	shstrtab = append(append(shstrtab, ".shstrtab"...), 0)
	secs = append(secs, objSection{name: ".shstrtab", typ: elf.SHT_STRTAB, align: 1, data: shstrtab})

	out := make([]byte, ehsize)
	offs := make([]uint64, len(secs))
	for i, s := range secs {
		if s.typ != elf.SHT_NOBITS {
			out = pad(out, s.align)
		}
		offs[i] = uint64(len(out))
		out = append(out, s.data...)
	}
	out = pad(out, word)
	shoff := uint64(len(out))
	out = append(out, make([]byte, shentsize)...)
	for i, s := range secs {
		h := make([]byte, shentsize)
		size := s.size
		if s.typ != elf.SHT_NOBITS {
			size = uint64(len(s.data))
		}
		o.PutUint32(h[0:], names[i])
		o.PutUint32(h[4:], uint32(s.typ))
		if is64 {
			o.PutUint64(h[8:], uint64(s.flags))
			o.PutUint64(h[24:], offs[i])
			o.PutUint64(h[32:], size)
			o.PutUint32(h[40:], s.link)
			o.PutUint32(h[44:], s.info)
			o.PutUint64(h[48:], s.align)
			o.PutUint64(h[56:], s.ent)
		} else {
			o.PutUint32(h[8:], uint32(s.flags))
			o.PutUint32(h[16:], uint32(offs[i]))
			o.PutUint32(h[20:], uint32(size))
			o.PutUint32(h[24:], s.link)
			o.PutUint32(h[28:], s.info)
			o.PutUint32(h[32:], uint32(s.align))
			o.PutUint32(h[36:], uint32(s.ent))
		}
		out = append(out, h...)
	}
	copy(out, elf.ELFMAG)
	out[4], out[5], out[6] = byte(w.class), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	o.PutUint16(out[16:], uint16(elf.ET_REL))
	o.PutUint16(out[18:], uint16(m))
	o.PutUint32(out[20:], uint32(elf.EV_CURRENT))
	tail := out[24:]
	if is64 {
		o.PutUint64(tail[16:], shoff) // e_shoff; e_entry and e_phoff stay 0
		tail = tail[24:]
	} else {
		o.PutUint32(tail[8:], uint32(shoff))
		tail = tail[12:]
	}
	o.PutUint32(tail[0:], flags)
	o.PutUint16(tail[4:], uint16(ehsize))
	o.PutUint16(tail[10:], uint16(shentsize))
	o.PutUint16(tail[12:], uint16(len(secs)+1))
	o.PutUint16(tail[14:], uint16(len(secs)))
	return out
}

package patcher

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// The round trip proves that the reader and the encoders agree: every
// structure elfpatch writes is encoded again from what Read decoded, with
// the writer's own encoders (putSymbol, encodeReloc, encodeShdr, putField),
// into a copy of the file whose old bytes there were cleared first. A file
// the two agree on comes back byte for byte; a field the reader decodes
// wrong, or an encoder puts in the wrong place or width, shows as the first
// byte that differs, named by the structure and field it belongs to.

// region is a range of the file one re-encoded structure covers.
type region struct {
	start, end uint64
	what       string
}

// Reencode returns a copy of img's bytes with the ELF header, every section
// header, program header, symbol table entry and relocation entry cleared
// and encoded again from the decoded model.
func Reencode(img *Image) ([]byte, error) {
	out, _, err := reencode(img)
	return out, err
}

// reencode is Reencode, also returning the regions it wrote.
func reencode(img *Image) ([]byte, []region, error) {
	out := bytes.Clone(img.Data)
	var regions []region
	wrote := func(start, size uint64, format string, args ...any) error {
		if start > uint64(len(out)) || size > uint64(len(out))-start {
			return atOffset(img.Name, start, "%s: 0x%x bytes lie past the end of the file", fmt.Sprintf(format, args...), size)
		}
		regions = append(regions, region{start, start + size, fmt.Sprintf(format, args...)})
		return nil
	}
	ehsize, shsize, phsize := uint64(52), uint64(40), uint64(32)
	if img.Class == elf.ELFCLASS64 {
		ehsize, shsize, phsize = 64, 64, 56
	}

	// The ELF header. e_ident past EI_VERSION (OS ABI, ABI version,
	// padding) is not part of the model and stays as it was.
	if err := wrote(0, ehsize, "ELF header"); err != nil {
		return nil, nil, err
	}
	clear(out[:elf.EI_OSABI])
	clear(out[elf.EI_NIDENT:ehsize])
	putEhdr(img, out, ehsize)

	// Section headers: each one whole through encodeShdr, the writer's
	// encoder of the headers it adds, then sh_addr, which that encoder
	// leaves 0, and the fields the writer changes in place, through
	// putField.
	if len(img.Sections) > 0 && uint64(img.Shentsize) < shsize {
		return nil, nil, atOffset(img.Name, img.Shoff, "e_shentsize %d is less than a section header (%d bytes)", img.Shentsize, shsize)
	}
	for _, s := range img.Sections {
		h := img.shdrOff(s.Index)
		if err := wrote(h, shsize, "section header %d (%s)", s.Index, s.Label()); err != nil {
			return nil, nil, err
		}
		clear(out[h : h+shsize])
		a := addedSection{typ: s.Type, flags: s.Flags, align: s.Addralign, link: s.Link, info: s.Info, entsize: s.Entsize, size: s.Size}
		copy(out[h:h+shsize], img.encodeShdr(s.NameOff, a, s.Offset))
		putField(img, out, h, shAddrField(img.Class), s.Addr)
		putField(img, out, h, shdrFieldOffset(img.Class, shOffset), s.Offset)
		putField(img, out, h, shdrFieldOffset(img.Class, shSize), s.Size)
		putField(img, out, h, shdrFieldOffset(img.Class, shInfo), uint64(s.Info))
	}

	// Program headers.
	if len(img.Progs) > 0 && uint64(img.Phentsize) < phsize {
		return nil, nil, atOffset(img.Name, img.Phoff, "e_phentsize %d is less than a program header (%d bytes)", img.Phentsize, phsize)
	}
	for _, p := range img.Progs {
		h := img.phdrOff(p.Index)
		if err := wrote(h, phsize, "program header %d (%v)", p.Index, p.Type); err != nil {
			return nil, nil, err
		}
		clear(out[h : h+phsize])
		putPhdr(img, out[h:], p)
		putField(img, out, h, phdrFieldOffset(img.Class, phMemsz), p.Memsz)
	}

	// Symbols, through putSymbol.
	if s := img.Symtab; s != nil {
		ent := img.symEntSize()
		for _, sym := range img.Syms {
			at := s.Offset + uint64(sym.Index)*ent
			if err := wrote(at, ent, "symbol %d (%s) of %s", sym.Index, sym.Name, s.Label()); err != nil {
				return nil, nil, err
			}
			clear(out[at : at+ent])
			putSymbol(img, out[at:], sym)
		}
	}

	// Relocations, through encodeReloc.
	for _, r := range img.Relocs {
		ent := img.relocEntSize(r.Rela)
		at := r.Sec.Offset + uint64(r.Index)*ent
		if err := wrote(at, ent, "relocation %d of %s", r.Index, r.Sec.Label()); err != nil {
			return nil, nil, err
		}
		clear(out[at : at+ent])
		copy(out[at:], img.encodeReloc(r.Offset, r.Sym, r.Type, r.Addend, r.Rela))
	}
	return out, regions, nil
}

// RoundTrip checks that img's model encodes back to its bytes (Reencode),
// and that a patch that changes nothing writes the file unchanged. The
// error names the first byte that differs and the structure it is in.
func RoundTrip(img *Image) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errorf(img.Name, "internal error: round trip: %v", r)
		}
	}()
	out, regions, err := reencode(img)
	if err != nil {
		return err
	}
	if off, ok := firstDifference(out, img.Data); ok {
		return atOffset(img.Name, uint64(off), "%s: re-encoded as 0x%02x where the file has 0x%02x",
			blame(regions, uint64(off)), out[off], img.Data[off])
	}
	// A patch that changes nothing. Images without a symbol table are
	// never patched (checkSupported refuses them).
	if img.Symtab == nil || len(img.Sections) == 0 {
		return nil
	}
	p := &Plan{File: img.Name, img: img, edit: newEdit()}
	o, err := p.render()
	if err != nil {
		return err
	}
	same := o.Bytes()
	if off, ok := firstDifference(same, img.Data); ok {
		return atOffset(img.Name, uint64(off), "a patch that changes nothing writes 0x%02x where the file has 0x%02x (%s)",
			byteAt(same, off), byteAt(img.Data, off), blame(regions, uint64(off)))
	}
	if !o.unchanged() {
		return errorf(img.Name, "internal error: a patch that changes nothing is not seen as unchanged")
	}
	return nil
}

// firstDifference is the first offset where a and b differ, counting a
// difference in length as one at the end of the shorter.
func firstDifference(a, b []byte) (int, bool) {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i, true
		}
	}
	if len(a) != len(b) {
		return n, true
	}
	return 0, false
}

func byteAt(b []byte, i int) int {
	if i < len(b) {
		return int(b[i])
	}
	return -1
}

// blame names the structure, and the byte within it, at off.
func blame(regions []region, off uint64) string {
	for _, r := range regions {
		if r.start <= off && off < r.end {
			return fmt.Sprintf("%s, byte %d", r.what, off-r.start)
		}
	}
	return "bytes no re-encoded structure covers"
}

// shAddrField is sh_addr, which no patch changes.
func shAddrField(c elf.Class) fieldSpec {
	if c == elf.ELFCLASS64 {
		return fieldSpec{16, 8}
	}
	return fieldSpec{12, 4}
}

// putEhdr encodes the ELF header from the model: e_ident through
// EI_VERSION, then every field. e_ehsize is the class's: the reader reads
// the fields where that size puts them.
func putEhdr(img *Image, out []byte, ehsize uint64) {
	o := img.Order
	copy(out, elf.ELFMAG)
	out[elf.EI_CLASS] = byte(img.Class)
	out[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	if o == binary.ByteOrder(binary.BigEndian) {
		out[elf.EI_DATA] = byte(elf.ELFDATA2MSB)
	}
	out[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	shnum, shstrndx := uint64(len(img.Sections)), uint64(img.Shstrndx)
	if shnum >= uint64(elf.SHN_LORESERVE) {
		shnum = 0 // section 0's sh_size holds the count
	}
	if shstrndx >= uint64(elf.SHN_LORESERVE) {
		shstrndx = uint64(elf.SHN_XINDEX) // section 0's sh_link holds it
	}
	o.PutUint16(out[16:], uint16(img.Type))
	o.PutUint16(out[18:], uint16(img.Machine))
	o.PutUint32(out[20:], uint32(elf.EV_CURRENT))
	if img.Class == elf.ELFCLASS64 {
		o.PutUint64(out[24:], img.Entry)
		o.PutUint64(out[32:], img.Phoff)
		o.PutUint64(out[40:], img.Shoff)
		o.PutUint32(out[48:], img.Flags)
		o.PutUint16(out[52:], uint16(ehsize))
		o.PutUint16(out[54:], uint16(img.Phentsize))
		o.PutUint16(out[56:], uint16(len(img.Progs)))
		o.PutUint16(out[58:], uint16(img.Shentsize))
		o.PutUint16(out[60:], uint16(shnum))
		o.PutUint16(out[62:], uint16(shstrndx))
		return
	}
	o.PutUint32(out[24:], uint32(img.Entry))
	o.PutUint32(out[28:], uint32(img.Phoff))
	o.PutUint32(out[32:], uint32(img.Shoff))
	o.PutUint32(out[36:], img.Flags)
	o.PutUint16(out[40:], uint16(ehsize))
	o.PutUint16(out[42:], uint16(img.Phentsize))
	o.PutUint16(out[44:], uint16(len(img.Progs)))
	o.PutUint16(out[46:], uint16(img.Shentsize))
	o.PutUint16(out[48:], uint16(shnum))
	o.PutUint16(out[50:], uint16(shstrndx))
}

// putPhdr encodes one program header.
func putPhdr(img *Image, b []byte, p *Prog) {
	o := img.Order
	if img.Class == elf.ELFCLASS64 {
		o.PutUint32(b[0:], uint32(p.Type))
		o.PutUint32(b[4:], uint32(p.Flags))
		o.PutUint64(b[8:], p.Off)
		o.PutUint64(b[16:], p.Vaddr)
		o.PutUint64(b[24:], p.Paddr)
		o.PutUint64(b[32:], p.Filesz)
		o.PutUint64(b[40:], p.Memsz)
		o.PutUint64(b[48:], p.Align)
		return
	}
	o.PutUint32(b[0:], uint32(p.Type))
	o.PutUint32(b[4:], uint32(p.Off))
	o.PutUint32(b[8:], uint32(p.Vaddr))
	o.PutUint32(b[12:], uint32(p.Paddr))
	o.PutUint32(b[16:], uint32(p.Filesz))
	o.PutUint32(b[20:], uint32(p.Memsz))
	o.PutUint32(b[24:], uint32(p.Flags))
	o.PutUint32(b[28:], uint32(p.Align))
}

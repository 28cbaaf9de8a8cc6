package patcher

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/pulseengine/elfpatch/relocs"
)

// Image is an ELF file as elfpatch sees it: its bytes, and the headers,
// sections, symbols and relocations decoded from them with the raw values a
// writer needs. Indices match the file's: Sections[i] is section i,
// Syms[i] is symbol i.
type Image struct {
	Name  string
	Data  []byte
	Class elf.Class
	Order binary.ByteOrder
	// Header fields, as in the file.
	Type      elf.Type
	Machine   elf.Machine
	Flags     uint32
	Entry     uint64
	Phoff     uint64
	Shoff     uint64
	Phentsize int
	Shentsize int
	Shstrndx  int

	Sections []*Section
	Progs    []*Prog
	// Symtab is the SHT_SYMTAB section (nil when there is none), Strtab
	// the string table it links to.
	Symtab *Section
	Strtab *Section
	Syms   []*Symbol
	// Relocs holds the SHT_REL/SHT_RELA sections' entries, in section
	// order and then entry order: every one in a relocatable object; in a
	// linked image those of loaded sections (see readRelocs).
	Relocs []*Reloc
	// Indexes of Relocs, built when first needed: by the place each
	// applies to (relocation section, offset), and RISC-V's PCREL_LO12
	// by the auipc each names (target section, address).
	relocsAt map[relocPlace][]*Reloc
	pcrelLo  map[relocPlace][]*Reloc
}

// relocPlace is a section and an offset in it: where a relocation
// applies, or what a RISC-V PCREL_LO12 names.
type relocPlace struct {
	sec *Section
	off uint64
}

// Section is one section header.
type Section struct {
	Index int
	Name  string
	// NameOff is sh_name, the name's offset in the section name table.
	NameOff   uint32
	Type      elf.SectionType
	Flags     elf.SectionFlag
	Addr      uint64
	Offset    uint64
	Size      uint64
	Link      uint32
	Info      uint32
	Addralign uint64
	Entsize   uint64
}

// Alloc reports whether the section occupies memory at run time.
func (s *Section) Alloc() bool { return s.Flags&elf.SHF_ALLOC != 0 }

// FileSize is how many bytes of the file the section holds.
func (s *Section) FileSize() uint64 {
	if s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_NULL {
		return 0
	}
	return s.Size
}

// Label is how messages name the section: its name, or its index when the
// producer left it unnamed (synth does, for its symbol and string tables).
func (s *Section) Label() string {
	if s.Name != "" {
		return s.Name
	}
	return fmt.Sprintf("[%d]", s.Index)
}

// Prog is one program header.
type Prog struct {
	Index  int
	Type   elf.ProgType
	Flags  elf.ProgFlag
	Off    uint64
	Vaddr  uint64
	Paddr  uint64
	Filesz uint64
	Memsz  uint64
	Align  uint64
}

// Symbol is one symbol table entry.
type Symbol struct {
	Index int
	Name  string
	// NameOff is st_name, the name's offset in the string table.
	NameOff uint32
	Value   uint64
	Size    uint64
	Info    uint8
	Other   uint8
	// Shndx is st_shndx as stored (SHN_UNDEF, SHN_ABS, an index, ...).
	Shndx uint16
}

// Bind is the symbol's binding.
func (s *Symbol) Bind() elf.SymBind { return elf.ST_BIND(s.Info) }

// Kind is the symbol's type.
func (s *Symbol) Kind() elf.SymType { return elf.ST_TYPE(s.Info) }

// Undefined reports whether the symbol is undefined in this file.
func (s *Symbol) Undefined() bool { return s.Shndx == uint16(elf.SHN_UNDEF) }

// Reloc is one relocation entry.
type Reloc struct {
	// Sec is the SHT_REL/SHT_RELA section holding the entry, Target the
	// section it applies to.
	Sec    *Section
	Target *Section
	// Index is the entry's position in Sec.
	Index  int
	Offset uint64
	Type   uint32
	Sym    uint32
	// Addend is the explicit addend of a RELA entry; REL entries keep
	// theirs in the relocated bytes.
	Addend int64
	Rela   bool
}

// maxSections bounds what a header may claim before anything is allocated
// for it: no real image comes near it.
const maxSections = 1 << 16

// Read decodes an ELF file. name is used in messages only.
func Read(name string, data []byte) (img *Image, err error) {
	defer func() {
		// debug/elf has panicked on malformed input before; a panic there
		// is a malformed file to us, never a crash.
		if r := recover(); r != nil {
			img, err = nil, errorf(name, "malformed ELF file: %v", r)
		}
	}()
	if len(data) < 16 || !bytes.Equal(data[:4], []byte(elf.ELFMAG)) {
		return nil, errorf(name, "not an ELF file")
	}
	if err := checkLayout(name, data); err != nil {
		return nil, err
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, errorf(name, "malformed ELF file: %v", trimELFPrefix(err))
	}
	img = &Image{
		Name:    name,
		Data:    data,
		Class:   f.Class,
		Order:   f.ByteOrder,
		Type:    f.Type,
		Machine: f.Machine,
		Entry:   f.Entry,
	}
	if err := img.readHeader(); err != nil {
		return nil, err
	}
	// From SHN_LORESERVE sections on, the counts and the name table's
	// index live in section 0 (debug/elf reads them there); the writer
	// keeps them in the file header.
	if len(f.Sections) >= int(elf.SHN_LORESERVE) || img.Shstrndx >= int(elf.SHN_LORESERVE) {
		return nil, errorf(name, "%d sections: extended section numbering is not supported", len(f.Sections))
	}
	ehsize := uint64(52)
	if img.Class == elf.ELFCLASS64 {
		ehsize = 64
	}
	headers := []struct {
		what     string
		off, end uint64
	}{
		{"file header", 0, ehsize},
		{"program header table", img.Phoff, img.Phoff + uint64(len(f.Progs))*uint64(img.Phentsize)},
		{"section header table", img.Shoff, img.Shoff + uint64(len(f.Sections))*uint64(img.Shentsize)},
	}
	for i, s := range f.Sections {
		// Size and Addralign as the header has them: for a compressed
		// section debug/elf reports the uncompressed ones instead, and
		// elfpatch handles the bytes in the file.
		sec := &Section{
			Index: i, Name: s.Name, Type: s.Type, Flags: s.Flags,
			Addr: s.Addr, Offset: s.Offset, Size: s.FileSize, Link: s.Link,
			Info: s.Info, Addralign: s.Addralign, Entsize: s.Entsize,
			NameOff: img.Order.Uint32(data[img.shdrOff(i):]),
		}
		if s.Flags&elf.SHF_COMPRESSED != 0 {
			if s.Flags&elf.SHF_ALLOC != 0 || s.Type == elf.SHT_NOBITS {
				return nil, &Error{File: name, Section: sec.Label(), Msg: "is compressed (SHF_COMPRESSED) but loaded or without contents"}
			}
			sec.Addralign = img.rawAddralign(i)
		}
		if n := sec.FileSize(); (n > 0 || sec.Type != elf.SHT_NOBITS && sec.Type != elf.SHT_NULL) && (sec.Offset > uint64(len(data)) || n > uint64(len(data))-sec.Offset) {
			return nil, &Error{File: name, Section: sec.Label(), Msg: fmt.Sprintf("contents at 0x%x+0x%x lie past the end of the file (0x%x bytes)", sec.Offset, n, len(data))}
		}
		// The writer rewrites sections, and the headers' fields, each on
		// its own: they must not lie over each other.
		for _, h := range headers {
			if n := sec.FileSize(); n > 0 && h.end > h.off && sec.Offset < h.end && h.off < sec.Offset+n {
				return nil, &Error{File: name, Section: sec.Label(), Msg: fmt.Sprintf("contents at 0x%x+0x%x lie over the %s (0x%x+0x%x)", sec.Offset, n, h.what, h.off, h.end-h.off)}
			}
		}
		img.Sections = append(img.Sections, sec)
	}
	if err := checkOverlaps(name, img.Sections); err != nil {
		return nil, err
	}
	for i, p := range f.Progs {
		img.Progs = append(img.Progs, &Prog{
			Index: i, Type: p.Type, Flags: p.Flags, Off: p.Off, Vaddr: p.Vaddr,
			Paddr: p.Paddr, Filesz: p.Filesz, Memsz: p.Memsz, Align: p.Align,
		})
	}
	if err := img.readSymbols(); err != nil {
		return nil, err
	}
	if err := img.readRelocs(); err != nil {
		return nil, err
	}
	return img, nil
}

func trimELFPrefix(err error) string {
	return strings.TrimPrefix(err.Error(), "elf: ")
}

// readHeader picks up the header fields debug/elf does not keep.
func (img *Image) readHeader() error {
	d, o := img.Data, img.Order
	switch img.Class {
	case elf.ELFCLASS32:
		if len(d) < 52 {
			return errorf(img.Name, "truncated ELF header")
		}
		img.Flags = o.Uint32(d[36:])
		img.Phoff = uint64(o.Uint32(d[28:]))
		img.Shoff = uint64(o.Uint32(d[32:]))
		img.Phentsize = int(o.Uint16(d[42:]))
		img.Shentsize = int(o.Uint16(d[46:]))
		img.Shstrndx = int(o.Uint16(d[50:]))
	case elf.ELFCLASS64:
		if len(d) < 64 {
			return errorf(img.Name, "truncated ELF header")
		}
		img.Flags = o.Uint32(d[48:])
		img.Phoff = o.Uint64(d[32:])
		img.Shoff = o.Uint64(d[40:])
		img.Phentsize = int(o.Uint16(d[54:]))
		img.Shentsize = int(o.Uint16(d[58:]))
		img.Shstrndx = int(o.Uint16(d[62:]))
	default:
		return errorf(img.Name, "unknown ELF class %v", img.Class)
	}
	return nil
}

// rawAddralign reads sh_addralign of section i from its header. Read has
// checked the header table lies in the file (debug/elf read it).
func (img *Image) rawAddralign(i int) uint64 {
	h := img.Data[img.Shoff+uint64(i)*uint64(img.Shentsize):]
	if img.Class == elf.ELFCLASS64 {
		return img.Order.Uint64(h[48:])
	}
	return uint64(img.Order.Uint32(h[32:]))
}

// contents returns the bytes a section holds in the file.
func (img *Image) contents(s *Section) []byte {
	n := s.FileSize()
	if n == 0 {
		return nil // a NOBITS section's offset may lie anywhere
	}
	return img.Data[s.Offset : s.Offset+n]
}

func (img *Image) symEntSize() uint64 {
	if img.Class == elf.ELFCLASS64 {
		return 24
	}
	return 16
}

func (img *Image) readSymbols() error {
	for _, s := range img.Sections {
		if s.Type != elf.SHT_SYMTAB {
			continue
		}
		if img.Symtab != nil {
			return &Error{File: img.Name, Section: s.Label(), Msg: "a second symbol table"}
		}
		img.Symtab = s
	}
	s := img.Symtab
	if s == nil {
		return nil
	}
	ent := img.symEntSize()
	if s.Size%ent != 0 {
		return &Error{File: img.Name, Section: s.Label(), Msg: fmt.Sprintf("size 0x%x is not a multiple of the symbol size %d", s.Size, ent)}
	}
	if int(s.Link) <= 0 || int(s.Link) >= len(img.Sections) || img.Sections[s.Link].Type != elf.SHT_STRTAB {
		return &Error{File: img.Name, Section: s.Label(), Msg: fmt.Sprintf("sh_link %d is not a string table", s.Link)}
	}
	img.Strtab = img.Sections[s.Link]
	strs := img.contents(img.Strtab)
	raw := img.contents(s)
	o := img.Order
	for i := uint64(0); i < s.Size/ent; i++ {
		e := raw[i*ent:]
		sym := &Symbol{Index: int(i)}
		if img.Class == elf.ELFCLASS64 {
			sym.NameOff = o.Uint32(e[0:])
			sym.Info, sym.Other = e[4], e[5]
			sym.Shndx = o.Uint16(e[6:])
			sym.Value = o.Uint64(e[8:])
			sym.Size = o.Uint64(e[16:])
		} else {
			sym.NameOff = o.Uint32(e[0:])
			sym.Value = uint64(o.Uint32(e[4:]))
			sym.Size = uint64(o.Uint32(e[8:]))
			sym.Info, sym.Other = e[12], e[13]
			sym.Shndx = o.Uint16(e[14:])
		}
		name, ok := cstring(strs, sym.NameOff)
		if !ok {
			return &Error{File: img.Name, Section: s.Label(), Offset: i * ent, HasOffset: true,
				Msg: fmt.Sprintf("symbol %d: name offset 0x%x is outside the string table (0x%x bytes)", i, sym.NameOff, len(strs))}
		}
		sym.Name = name
		img.Syms = append(img.Syms, sym)
	}
	return nil
}

// cstring reads the NUL-terminated string at off.
func cstring(tab []byte, off uint32) (string, bool) {
	if uint64(off) >= uint64(len(tab)) {
		return "", off == 0 && len(tab) == 0
	}
	end := bytes.IndexByte(tab[off:], 0)
	if end < 0 {
		return "", false
	}
	return string(tab[off : int(off)+end]), true
}

func (img *Image) readRelocs() error {
	for _, s := range img.Sections {
		if s.Type != elf.SHT_REL && s.Type != elf.SHT_RELA {
			continue
		}
		rela := s.Type == elf.SHT_RELA
		ent := img.relocEntSize(rela)
		if s.Size%ent != 0 {
			return &Error{File: img.Name, Section: s.Label(), Msg: fmt.Sprintf("size 0x%x is not a multiple of the entry size %d", s.Size, ent)}
		}
		if img.Symtab == nil || int(s.Link) != img.Symtab.Index {
			return &Error{File: img.Name, Section: s.Label(), Msg: fmt.Sprintf("sh_link %d is not the symbol table", s.Link)}
		}
		if s.Info == 0 || int(s.Info) >= len(img.Sections) {
			return &Error{File: img.Name, Section: s.Label(), Msg: fmt.Sprintf("sh_info %d names no section", s.Info)}
		}
		target := img.Sections[s.Info]
		if img.Type != elf.ET_REL && !target.Alloc() {
			// A linked image's relocations of what is not loaded (the
			// debug sections, with --emit-relocs) hold no import site and
			// nothing a patch changes: they are not decoded, so that
			// megabytes of them cost nothing.
			continue
		}
		raw := img.contents(s)
		o := img.Order
		for i := uint64(0); i < s.Size/ent; i++ {
			e := raw[i*ent:]
			r := &Reloc{Sec: s, Target: target, Index: int(i), Rela: rela}
			if img.Class == elf.ELFCLASS64 {
				r.Offset = o.Uint64(e[0:])
				info := o.Uint64(e[8:])
				r.Sym, r.Type = uint32(info>>32), uint32(info)
				if rela {
					r.Addend = int64(o.Uint64(e[16:]))
				}
			} else {
				r.Offset = uint64(o.Uint32(e[0:]))
				info := o.Uint32(e[4:])
				r.Sym, r.Type = info>>8, info&0xff
				if rela {
					r.Addend = int64(int32(o.Uint32(e[8:])))
				}
			}
			if int(r.Sym) >= len(img.Syms) {
				return &Error{File: img.Name, Section: s.Label(), Offset: i * ent, HasOffset: true,
					Msg: fmt.Sprintf("relocation %d: symbol index %d is out of range (%d symbols)", i, r.Sym, len(img.Syms))}
			}
			img.Relocs = append(img.Relocs, r)
		}
	}
	return nil
}

// SymbolNamed returns the first symbol called name, or nil.
func (img *Image) SymbolNamed(name string) *Symbol {
	for _, s := range img.Syms {
		if s.Index != 0 && s.Name == name {
			return s
		}
	}
	return nil
}

// SectionNamed returns the first section called name, or nil.
func (img *Image) SectionNamed(name string) *Section {
	for _, s := range img.Sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// SectionOf returns the section a defined symbol belongs to, or nil for
// undefined, absolute and common symbols.
func (img *Image) SectionOf(s *Symbol) *Section {
	if s.Shndx == uint16(elf.SHN_UNDEF) || s.Shndx >= uint16(elf.SHN_LORESERVE) || int(s.Shndx) >= len(img.Sections) {
		return nil
	}
	return img.Sections[s.Shndx]
}

// place locates a relocation's bytes: the section-relative offset and the
// file offset, checking that size bytes lie inside the target's contents.
// In an executable r_offset is an address; in an object it is an offset.
func (img *Image) place(r *Reloc, size uint64) (secOff, fileOff uint64, err error) {
	t := r.Target
	secOff = r.Offset
	if img.Type != elf.ET_REL {
		if r.Offset < t.Addr {
			return 0, 0, img.relocErr(r, "lies before its section %s at 0x%x", t.Label(), t.Addr)
		}
		secOff = r.Offset - t.Addr
	}
	if t.Type == elf.SHT_NOBITS || secOff > t.Size || size > t.Size-secOff {
		return 0, 0, img.relocErr(r, "%d bytes at offset 0x%x lie outside %s (0x%x bytes)", size, secOff, t.Label(), t.Size)
	}
	return secOff, t.Offset + secOff, nil
}

// relocErr makes an Error about a relocation, naming its place, type and
// symbol.
func (img *Image) relocErr(r *Reloc, format string, args ...any) *Error {
	t := r.Target
	off := r.Offset
	if img.Type != elf.ET_REL && off >= t.Addr {
		off -= t.Addr
	}
	typ := relocTypeName(img.Machine, r.Type)
	name := ""
	if int(r.Sym) < len(img.Syms) {
		name = img.Syms[r.Sym].Name
	}
	return &Error{File: img.Name, Section: t.Label(), Offset: off, HasOffset: true, Reloc: typ, Symbol: name, Msg: fmt.Sprintf(format, args...)}
}

// relocTypeName spells a relocation type as the ABI documents do.
func relocTypeName(m elf.Machine, t uint32) string {
	switch m {
	case elf.EM_ARM:
		return relocs.ARMTypeName(elf.R_ARM(t))
	case elf.EM_RISCV:
		return relocs.RISCVTypeName(elf.R_RISCV(t))
	case elf.EM_AARCH64:
		return relocs.AArch64TypeName(elf.R_AARCH64(t))
	case elf.EM_X86_64:
		return relocs.X86_64TypeName(elf.R_X86_64(t))
	}
	return fmt.Sprintf("relocation type %d", t)
}

// relocEntSize is the size of a REL or RELA entry of this class.
func (img *Image) relocEntSize(rela bool) uint64 {
	switch {
	case img.Class == elf.ELFCLASS64 && rela:
		return 24
	case img.Class == elf.ELFCLASS64:
		return 16
	case rela:
		return 12
	}
	return 8
}

// relocAlign is the alignment of a relocation section of this class.
func (img *Image) relocAlign() uint64 {
	if img.Class == elf.ELFCLASS64 {
		return 8
	}
	return 4
}

// encodeReloc encodes one REL or RELA entry.
func (img *Image) encodeReloc(off uint64, sym, typ uint32, addend int64, rela bool) []byte {
	o := img.Order
	b := make([]byte, img.relocEntSize(rela))
	if img.Class == elf.ELFCLASS64 {
		o.PutUint64(b[0:], off)
		o.PutUint64(b[8:], uint64(sym)<<32|uint64(typ))
		if rela {
			o.PutUint64(b[16:], uint64(addend))
		}
		return b
	}
	o.PutUint32(b[0:], uint32(off))
	o.PutUint32(b[4:], sym<<8|typ&0xff)
	if rela {
		o.PutUint32(b[8:], uint32(addend))
	}
	return b
}

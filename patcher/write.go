package patcher

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// edit collects what a plan writes: bytes overwritten in place, header
// fields, and symbol table entries changed or added. render turns it into
// the output file; nothing is written before the whole plan is made.
type edit struct {
	patches []patch
	shdr    map[fieldKey]uint64
	phdr    map[fieldKey]uint64
	// syms are changed entries by index; added are appended in order.
	syms  map[int]*Symbol
	added []*Symbol
}

type patch struct {
	off  uint64
	data []byte
}

type fieldKey struct {
	index int
	field hdrField
}

type hdrField int

// Header fields the patcher changes.
const (
	shOffset hdrField = iota
	shSize
	shInfo
	phMemsz
)

func newEdit() *edit {
	return &edit{shdr: map[fieldKey]uint64{}, phdr: map[fieldKey]uint64{}, syms: map[int]*Symbol{}}
}

func (e *edit) patch(off uint64, data []byte) {
	e.patches = append(e.patches, patch{off, append([]byte(nil), data...)})
}

func (e *edit) setShdr(i int, f hdrField, v uint64) { e.shdr[fieldKey{i, f}] = v }
func (e *edit) setPhdr(i int, f hdrField, v uint64) { e.phdr[fieldKey{i, f}] = v }

// setSymbol defines name (a global) as given, adding it when the image
// lacks it.
func (p *Plan) setSymbol(name string, value, size uint64, shndx uint16, kind elf.SymType) {
	if s := p.img.SymbolNamed(name); s != nil {
		p.defineSymbol(s, value, size, shndx, kind)
		return
	}
	for _, s := range p.edit.added {
		if s.Name == name {
			s.Value, s.Size, s.Shndx = value, size, shndx
			s.Info = elf.ST_INFO(elf.ST_BIND(s.Info), kind)
			return
		}
	}
	p.edit.added = append(p.edit.added, &Symbol{
		Index: len(p.img.Syms) + len(p.edit.added), Name: name, Value: value, Size: size,
		Info: elf.ST_INFO(elf.STB_GLOBAL, kind), Shndx: shndx,
	})
}

// defineSymbol makes an existing entry a definition, keeping its binding
// and visibility.
func (p *Plan) defineSymbol(s *Symbol, value, size uint64, shndx uint16, kind elf.SymType) {
	c := *s
	c.Value, c.Size, c.Shndx = value, size, shndx
	c.Info = elf.ST_INFO(elf.ST_BIND(s.Info), kind)
	if c == *s {
		delete(p.edit.syms, s.Index)
		return
	}
	p.edit.syms[s.Index] = &c
}

// shdrOff and phdrOff are the file offsets of header entries.
func (img *Image) shdrOff(i int) uint64 { return img.Shoff + uint64(i)*uint64(img.Shentsize) }
func (img *Image) phdrOff(i int) uint64 { return img.Phoff + uint64(i)*uint64(img.Phentsize) }

// Apply produces the patched file's bytes.
func (p *Plan) Apply() ([]byte, error) { return p.render() }

// renderObject builds a patched relocatable object. Nothing in it is
// loaded at an offset, so it keeps every byte where it was: a section that
// changes size is cleared where it was and written after the end, the new
// sections follow, and then the section header table, extended.
func (p *Plan) renderObject() ([]byte, error) {
	img, e := p.img, p.edit
	out := append([]byte(nil), img.Data...)
	contents := map[int][]byte{}
	for i, c := range p.objContents {
		contents[i] = c
	}
	if _, done := contents[img.Symtab.Index]; !done && (len(e.syms) > 0 || len(e.added) > 0) {
		symtab, strtab := p.renderSymbols()
		contents[img.Symtab.Index] = symtab
		if len(strtab) != int(img.Strtab.Size) {
			contents[img.Strtab.Index] = strtab
		}
	}
	shdr := map[fieldKey]uint64{}
	for k, v := range e.shdr {
		shdr[k] = v
	}
	// shstrtab gains the names of added sections.
	shstr := img.Sections[img.Shstrndx]
	var names []uint32
	if len(p.objAdded) > 0 {
		tab := append([]byte(nil), img.contents(shstr)...)
		if c, ok := contents[shstr.Index]; ok {
			tab = append([]byte(nil), c...)
		}
		for _, a := range p.objAdded {
			names = append(names, uint32(len(tab)))
			tab = append(append(tab, a.name...), 0)
		}
		contents[shstr.Index] = tab
	}
	for _, s := range img.Sections {
		c, ok := contents[s.Index]
		if !ok {
			continue
		}
		if uint64(len(c)) == s.FileSize() {
			copy(out[s.Offset:], c)
			continue
		}
		if err := padAlign(img.Name, s.Label(), s.Addralign); err != nil {
			return nil, err
		}
		clear(out[s.Offset : s.Offset+s.FileSize()])
		out = pad(out, max(s.Addralign, 1))
		shdr[fieldKey{s.Index, shOffset}] = uint64(len(out))
		shdr[fieldKey{s.Index, shSize}] = uint64(len(c))
		out = append(out, c...)
	}
	offs := make([]uint64, len(p.objAdded))
	for i, a := range p.objAdded {
		if a.typ != elf.SHT_NOBITS {
			out = pad(out, max(a.align, 1))
		}
		offs[i] = uint64(len(out))
		out = append(out, a.data...)
	}
	// The section header table moves to the end, its old place cleared.
	shtSize := uint64(len(img.Sections)) * uint64(img.Shentsize)
	sht := append([]byte(nil), img.Data[img.Shoff:img.Shoff+shtSize]...)
	if len(p.objAdded) > 0 {
		clear(out[img.Shoff : img.Shoff+shtSize])
		for i, a := range p.objAdded {
			sht = append(sht, img.encodeShdr(names[i], a, offs[i])...)
		}
		out = pad(out, img.relocAlign())
		shoff := uint64(len(out))
		out = append(out, sht...)
		if img.Class == elf.ELFCLASS64 {
			img.Order.PutUint64(out[40:], shoff)
			img.Order.PutUint16(out[60:], uint16(len(img.Sections)+len(p.objAdded)))
		} else {
			img.Order.PutUint32(out[32:], uint32(shoff))
			img.Order.PutUint16(out[48:], uint16(len(img.Sections)+len(p.objAdded)))
		}
		for k, v := range shdr {
			putField(img, out, shoff+uint64(k.index)*uint64(img.Shentsize), shdrFieldOffset(img.Class, k.field), v)
		}
		return out, nil
	}
	for k, v := range shdr {
		putField(img, out, img.shdrOff(k.index), shdrFieldOffset(img.Class, k.field), v)
	}
	return out, nil
}

// encodeShdr encodes a section header for an added section.
func (img *Image) encodeShdr(name uint32, a addedSection, off uint64) []byte {
	o := img.Order
	h := make([]byte, img.Shentsize)
	o.PutUint32(h[0:], name)
	o.PutUint32(h[4:], uint32(a.typ))
	if img.Class == elf.ELFCLASS64 {
		o.PutUint64(h[8:], uint64(a.flags))
		o.PutUint64(h[24:], off)
		o.PutUint64(h[32:], a.size)
		o.PutUint32(h[40:], a.link)
		o.PutUint32(h[44:], a.info)
		o.PutUint64(h[48:], a.align)
		o.PutUint64(h[56:], a.entsize)
		return h
	}
	o.PutUint32(h[8:], uint32(a.flags))
	o.PutUint32(h[16:], uint32(off))
	o.PutUint32(h[20:], uint32(a.size))
	o.PutUint32(h[24:], a.link)
	o.PutUint32(h[28:], a.info)
	o.PutUint32(h[32:], uint32(a.align))
	o.PutUint32(h[36:], uint32(a.entsize))
	return h
}

// render builds the output: the input's bytes with the plan's edits. Only
// the symbol and string tables may grow; when they do, they and whatever
// non-loaded sections follow them are laid out again after the loaded
// contents, and the section header table after them.
func (p *Plan) render() ([]byte, error) {
	if p.img.Type == elf.ET_REL {
		return p.renderObject()
	}
	img, e := p.img, p.edit
	out := append([]byte(nil), img.Data...)
	for _, pt := range e.patches {
		if pt.off > uint64(len(out)) || uint64(len(pt.data)) > uint64(len(out))-pt.off {
			return nil, atOffset(img.Name, pt.off, "internal error: patch of %d bytes past the end of the file", len(pt.data))
		}
		copy(out[pt.off:], pt.data)
	}

	contents := map[int][]byte{}
	for i, c := range p.objContents {
		contents[i] = c
	}
	if len(e.syms) > 0 || len(e.added) > 0 {
		symtab, strtab := p.renderSymbols()
		contents[img.Symtab.Index] = symtab
		if len(strtab) != int(img.Strtab.Size) {
			contents[img.Strtab.Index] = strtab
		}
	}
	// Added sections need their names in the section name table.
	var names []uint32
	if len(p.objAdded) > 0 {
		sh := img.Sections[img.Shstrndx]
		tab := append([]byte(nil), img.contents(sh)...)
		for _, a := range p.objAdded {
			names = append(names, uint32(len(tab)))
			tab = append(append(tab, a.name...), 0)
		}
		contents[sh.Index] = tab
	}

	shdr := map[fieldKey]uint64{}
	for k, v := range e.shdr {
		shdr[k] = v
	}
	shoff := img.Shoff
	var grown []*Section
	for i, c := range contents {
		s := img.Sections[i]
		if uint64(len(c)) == s.Size {
			copy(out[s.Offset:], c)
			continue
		}
		grown = append(grown, s)
	}
	if len(grown) > 0 {
		var err error
		out, shoff, err = p.relayout(out, grown, contents, shdr, names)
		if err != nil {
			return nil, err
		}
	}
	if len(p.objAdded) > 0 {
		shnum := uint16(len(img.Sections) + len(p.objAdded))
		if img.Class == elf.ELFCLASS64 {
			img.Order.PutUint16(out[60:], shnum)
		} else {
			img.Order.PutUint16(out[48:], shnum)
		}
	}

	// Headers: only the fields the plan changed are rewritten.
	if shoff != img.Shoff {
		if img.Class == elf.ELFCLASS64 {
			img.Order.PutUint64(out[40:], shoff)
		} else {
			img.Order.PutUint32(out[32:], uint32(shoff))
		}
	}
	for k, v := range shdr {
		off := shoff + uint64(k.index)*uint64(img.Shentsize)
		putField(img, out, off, shdrFieldOffset(img.Class, k.field), v)
	}
	for k, v := range e.phdr {
		putField(img, out, img.phdrOff(k.index), phdrFieldOffset(img.Class, k.field), v)
	}
	return out, nil
}

// relayout rewrites the file from the first grown section on: every
// section with contents from there is placed again, in the same order,
// each at its alignment, then the section header table. Only sections no
// segment loads may move.
func (p *Plan) relayout(out []byte, grown []*Section, contents map[int][]byte, shdr map[fieldKey]uint64, names []uint32) ([]byte, uint64, error) {
	img := p.img
	var loadEnd uint64 = img.Phoff + uint64(len(img.Progs))*uint64(img.Phentsize)
	for _, pr := range img.Progs {
		if e := pr.Off + pr.Filesz; e > loadEnd {
			loadEnd = e
		}
	}
	cut := uint64(len(out))
	for _, s := range grown {
		if s.Alloc() || s.Offset < loadEnd {
			return nil, 0, &Error{File: img.Name, Section: s.Label(), Msg: "cannot grow: the section lies among loaded contents"}
		}
		if s.Offset < cut {
			cut = s.Offset
		}
	}
	var moving []*Section
	for _, s := range img.Sections {
		// A section that grows from nothing moves too.
		_, grows := contents[s.Index]
		if (s.FileSize() > 0 || grows) && s.Offset >= cut {
			if s.Alloc() {
				return nil, 0, &Error{File: img.Name, Section: s.Label(), Msg: "cannot grow the symbol table: a loaded section follows it in the file"}
			}
			moving = append(moving, s)
		}
	}
	sort.SliceStable(moving, func(i, j int) bool { return moving[i].Offset < moving[j].Offset })
	moveSHT := img.Shoff >= cut
	sht := img.Data[img.Shoff : img.Shoff+uint64(len(img.Sections))*uint64(img.Shentsize)]

	res := append([]byte(nil), out[:cut]...)
	for _, s := range moving {
		if err := padAlign(img.Name, s.Label(), s.Addralign); err != nil {
			return nil, 0, err
		}
		data, ok := contents[s.Index]
		if !ok {
			data = out[s.Offset : s.Offset+s.Size]
		}
		res = pad(res, s.Addralign)
		if uint64(len(res)) != s.Offset {
			shdr[fieldKey{s.Index, shOffset}] = uint64(len(res))
		}
		if uint64(len(data)) != s.Size {
			shdr[fieldKey{s.Index, shSize}] = uint64(len(data))
		}
		res = append(res, data...)
	}
	// Added sections follow, and the section header table, extended with
	// their entries, goes last; when it stood before the cut, its old
	// place is cleared.
	var added []byte
	if len(p.objAdded) > 0 {
		for i, a := range p.objAdded {
			if a.typ != elf.SHT_NOBITS {
				res = pad(res, max(a.align, 1))
			}
			added = append(added, img.encodeShdr(names[i], a, uint64(len(res)))...)
			res = append(res, a.data...)
		}
		if !moveSHT {
			clear(res[img.Shoff : img.Shoff+uint64(len(sht))])
			moveSHT = true
		}
	}
	shoff := img.Shoff
	if moveSHT {
		res = pad(res, img.relocAlign())
		shoff = uint64(len(res))
		res = append(append(res, sht...), added...)
	}
	return res, shoff, nil
}

// maxPadAlign bounds the alignment elfpatch pads to where it places a
// section anew (a table that grew, one that follows it, a section it
// adds): the padding is written out, so a larger one, which no linker
// gives such a section, would grow the file without bound.
const maxPadAlign = 1 << 16

// padAlign refuses to place a section at an alignment above maxPadAlign.
func padAlign(file, section string, align uint64) error {
	if align > maxPadAlign {
		return &Error{File: file, Section: section, Msg: fmt.Sprintf("cannot place the section anew: its alignment %#x is more than %#x", align, uint64(maxPadAlign))}
	}
	return nil
}

func pad(b []byte, align uint64) []byte {
	if align <= 1 {
		return b
	}
	for uint64(len(b))%align != 0 {
		b = append(b, 0)
	}
	return b
}

// renderSymbols encodes the symbol table with the plan's changes, and the
// string table with the names of added symbols appended.
func (p *Plan) renderSymbols() (symtab, strtab []byte) {
	img, e := p.img, p.edit
	ent := img.symEntSize()
	symtab = append([]byte(nil), img.contents(img.Symtab)...)
	strtab = append([]byte(nil), img.contents(img.Strtab)...)
	for i, s := range e.syms {
		putSymbol(img, symtab[uint64(i)*ent:], s)
	}
	for _, s := range e.added {
		c := *s
		c.NameOff = uint32(len(strtab))
		strtab = append(append(strtab, s.Name...), 0)
		buf := make([]byte, ent)
		putSymbol(img, buf, &c)
		symtab = append(symtab, buf...)
	}
	return symtab, strtab
}

func putSymbol(img *Image, b []byte, s *Symbol) {
	o := img.Order
	if img.Class == elf.ELFCLASS64 {
		o.PutUint32(b[0:], s.NameOff)
		b[4], b[5] = s.Info, s.Other
		o.PutUint16(b[6:], s.Shndx)
		o.PutUint64(b[8:], s.Value)
		o.PutUint64(b[16:], s.Size)
		return
	}
	o.PutUint32(b[0:], s.NameOff)
	o.PutUint32(b[4:], uint32(s.Value))
	o.PutUint32(b[8:], uint32(s.Size))
	b[12], b[13] = s.Info, s.Other
	o.PutUint16(b[14:], s.Shndx)
}

// fieldSpec is a header field's offset and width.
type fieldSpec struct{ off, width uint64 }

func shdrFieldOffset(c elf.Class, f hdrField) fieldSpec {
	if c == elf.ELFCLASS64 {
		return map[hdrField]fieldSpec{shOffset: {24, 8}, shSize: {32, 8}, shInfo: {44, 4}}[f]
	}
	return map[hdrField]fieldSpec{shOffset: {16, 4}, shSize: {20, 4}, shInfo: {28, 4}}[f]
}

func phdrFieldOffset(c elf.Class, f hdrField) fieldSpec {
	if c == elf.ELFCLASS64 {
		return map[hdrField]fieldSpec{phMemsz: {40, 8}}[f]
	}
	return map[hdrField]fieldSpec{phMemsz: {20, 4}}[f]
}

func putField(img *Image, out []byte, base uint64, f fieldSpec, v uint64) {
	if f.width == 8 {
		img.Order.PutUint64(out[base+f.off:], v)
	} else {
		img.Order.PutUint32(out[base+f.off:], uint32(v))
	}
}

// WriteFile replaces path with data atomically: the bytes go to a
// temporary file in the same directory, which is synced and then renamed
// over path, so a killed process leaves either the old file or the new
// one. The new file gets mode perm.
func WriteFile(path string, data []byte, perm os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".elfpatch-*")
	if err != nil {
		return fmt.Errorf("%s: cannot create a temporary file beside it: %w", path, unwrapPath(err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("%s: writing: %w", path, unwrapPath(err))
	}
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("%s: writing: %w", path, unwrapPath(err))
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("%s: writing: %w", path, unwrapPath(err))
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// unwrapPath drops the temporary file's name from an error, since the
// message already names the file the user asked for.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	if le, ok := err.(*os.LinkError); ok {
		return le.Err
	}
	return err
}

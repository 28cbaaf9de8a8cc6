package patcher

import (
	"debug/elf"
	"fmt"
	"os"
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

// Apply produces the patched file's bytes, in memory.
func (p *Plan) Apply() ([]byte, error) {
	o, err := p.Render()
	if err != nil {
		return nil, err
	}
	return o.Bytes(), nil
}

// Render describes the patched file: WriteTo writes it.
func (p *Plan) Render() (*Output, error) {
	o, err := p.rendered, p.renderErr
	if o == nil && err == nil {
		o, err = p.render()
	}
	if err != nil {
		return nil, err
	}
	return o, o.check(p.img.Name)
}

// newContents gathers the sections the plan gives new contents.
func (p *Plan) newContents() map[int]rope {
	contents := map[int]rope{}
	for i, c := range p.objContents {
		contents[i] = bytesRope(c)
	}
	for i, r := range p.ropes {
		contents[i] = r
	}
	return contents
}

// renderObject builds a patched relocatable object. Nothing in it is
// loaded at an offset, so it keeps every byte where it was: a section that
// changes size is cleared where it was and written after the end, the new
// sections follow, and then the section header table, extended.
func (p *Plan) renderObject() (*Output, error) {
	img, e := p.img, p.edit
	out := newOutput(img.Data)
	out.appendInput(0, uint64(len(img.Data)))
	contents := p.newContents()
	if _, done := contents[img.Symtab.Index]; !done && (len(e.syms) > 0 || len(e.added) > 0) {
		symtab, strtab := p.renderSymbols()
		contents[img.Symtab.Index] = bytesRope(symtab)
		if len(strtab) != int(img.Strtab.Size) {
			contents[img.Strtab.Index] = bytesRope(strtab)
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
			tab = append([]byte(nil), c.bytes(img.Data)...)
		}
		for _, a := range p.objAdded {
			names = append(names, uint32(len(tab)))
			tab = append(append(tab, a.name...), 0)
		}
		contents[shstr.Index] = bytesRope(tab)
	}
	for _, s := range img.Sections {
		c, ok := contents[s.Index]
		if !ok {
			continue
		}
		if c.size() == s.FileSize() {
			out.writeAt(s.Offset, c.bytes(img.Data))
			continue
		}
		if err := padAlign(img.Name, s.Label(), s.Addralign); err != nil {
			return nil, err
		}
		out.writeAt(s.Offset, make([]byte, s.FileSize()))
		out.pad(max(s.Addralign, 1))
		shdr[fieldKey{s.Index, shOffset}] = out.Size()
		shdr[fieldKey{s.Index, shSize}] = c.size()
		out.appendRope(c)
	}
	offs := make([]uint64, len(p.objAdded))
	for i, a := range p.objAdded {
		if a.typ != elf.SHT_NOBITS {
			out.pad(max(a.align, 1))
		}
		offs[i] = out.Size()
		out.appendBytes(a.data)
	}
	// The section header table moves to the end, its old place cleared.
	shtSize := uint64(len(img.Sections)) * uint64(img.Shentsize)
	if len(p.objAdded) > 0 {
		out.writeAt(img.Shoff, make([]byte, shtSize))
		out.pad(img.relocAlign())
		shoff := out.Size()
		out.appendInput(img.Shoff, shtSize)
		for i, a := range p.objAdded {
			out.appendBytes(img.encodeShdr(names[i], a, offs[i]))
		}
		shnum := make([]byte, 2)
		img.Order.PutUint16(shnum, uint16(len(img.Sections)+len(p.objAdded)))
		if img.Class == elf.ELFCLASS64 {
			out.putField(img, 0, fieldSpec{40, 8}, shoff)
			out.writeAt(60, shnum)
		} else {
			out.putField(img, 0, fieldSpec{32, 4}, shoff)
			out.writeAt(48, shnum)
		}
		for _, k := range sortedKeys(shdr) {
			out.putField(img, shoff+uint64(k.index)*uint64(img.Shentsize), shdrFieldOffset(img.Class, k.field), shdr[k])
		}
		return out, nil
	}
	for _, k := range sortedKeys(shdr) {
		out.putField(img, img.shdrOff(k.index), shdrFieldOffset(img.Class, k.field), shdr[k])
	}
	return out, nil
}

// sortedKeys orders header edits, so that the output's list of edits is
// the same on every run.
func sortedKeys(m map[fieldKey]uint64) []fieldKey {
	keys := make([]fieldKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].index != keys[j].index {
			return keys[i].index < keys[j].index
		}
		return keys[i].field < keys[j].field
	})
	return keys
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

// render describes the output: the input's bytes with the plan's edits.
// Only non-loaded sections may grow (the symbol and string tables, the
// debug sections, the note); when they do, they and whatever non-loaded
// sections follow them are laid out again after the loaded contents, and
// the section header table after them.
func (p *Plan) render() (*Output, error) {
	if p.img.Type == elf.ET_REL {
		return p.renderObject()
	}
	img, e := p.img, p.edit
	out := newOutput(img.Data)
	for _, pt := range e.patches {
		if pt.off > uint64(len(img.Data)) || uint64(len(pt.data)) > uint64(len(img.Data))-pt.off {
			return nil, atOffset(img.Name, pt.off, "internal error: patch of %d bytes past the end of the file", len(pt.data))
		}
		out.patchInput(pt.off, pt.data)
	}

	contents := p.newContents()
	if len(e.syms) > 0 || len(e.added) > 0 {
		symtab, strtab := p.renderSymbols()
		contents[img.Symtab.Index] = bytesRope(symtab)
		if len(strtab) != int(img.Strtab.Size) {
			contents[img.Strtab.Index] = bytesRope(strtab)
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
		contents[sh.Index] = bytesRope(tab)
	}

	shdr := map[fieldKey]uint64{}
	for k, v := range e.shdr {
		shdr[k] = v
	}
	shoff := img.Shoff
	var grown []*Section
	for _, i := range sortedIndices(contents) {
		s, c := img.Sections[i], contents[i]
		if c.size() == s.Size {
			out.patchInput(s.Offset, c.bytes(img.Data))
			continue
		}
		grown = append(grown, s)
	}
	if len(grown) > 0 {
		var err error
		if p.appendGrown(grown, contents) {
			shoff, err = p.appendAtEnd(out, grown, contents, shdr, names)
		} else {
			shoff, err = p.relayout(out, grown, contents, shdr, names)
		}
		if err != nil {
			return nil, err
		}
	} else {
		out.appendInput(0, uint64(len(img.Data)))
	}
	if len(p.objAdded) > 0 {
		shnum := make([]byte, 2)
		img.Order.PutUint16(shnum, uint16(len(img.Sections)+len(p.objAdded)))
		if img.Class == elf.ELFCLASS64 {
			out.writeAt(60, shnum)
		} else {
			out.writeAt(48, shnum)
		}
	}

	// Headers: only the fields the plan changed are rewritten.
	if shoff != img.Shoff {
		if img.Class == elf.ELFCLASS64 {
			out.putField(img, 0, fieldSpec{40, 8}, shoff)
		} else {
			out.putField(img, 0, fieldSpec{32, 4}, shoff)
		}
	}
	for _, k := range sortedKeys(shdr) {
		out.putField(img, shoff+uint64(k.index)*uint64(img.Shentsize), shdrFieldOffset(img.Class, k.field), shdr[k])
	}
	for _, k := range sortedKeys(e.phdr) {
		out.putField(img, img.phdrOff(k.index), phdrFieldOffset(img.Class, k.field), e.phdr[k])
	}
	return out, nil
}

func sortedIndices(m map[int]rope) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}

// appendGrown decides where grown sections go. Laid out again (relayout),
// everything after the first of them moves with it: the right choice when
// that is little, as when the symbol table grows at the end of the file.
// When megabytes follow (the debug sections of a large image, after the
// .debug_info a patch extends), the grown sections go to the end instead
// and the rest of the file stays where it is, a single range of the input
// that the kernel copies from offset 0 or a filesystem clones whole; their
// old bytes stay behind, unreferenced, at most an eighth of what would
// have moved.
func (p *Plan) appendGrown(grown []*Section, contents map[int]rope) bool {
	img := p.img
	cut := uint64(len(img.Data))
	var grownBytes uint64
	isGrown := map[int]bool{}
	for _, s := range grown {
		cut = min(cut, s.Offset)
		grownBytes += contents[s.Index].size()
		isGrown[s.Index] = true
	}
	var moved uint64
	for _, s := range img.Sections {
		if !isGrown[s.Index] && s.Offset >= cut {
			moved += s.FileSize()
		}
	}
	return moved >= cloneMin && grownBytes <= moved/8
}

// appendAtEnd places the grown sections after the input's end, each at
// its alignment, then any added sections and, when there are, the section
// header table extended with their entries (its old place cleared).
func (p *Plan) appendAtEnd(out *Output, grown []*Section, contents map[int]rope, shdr map[fieldKey]uint64, names []uint32) (uint64, error) {
	img := p.img
	for _, s := range grown {
		if s.Alloc() {
			return 0, &Error{File: img.Name, Section: s.Label(), Msg: "cannot grow: the section is loaded"}
		}
	}
	sort.SliceStable(grown, func(i, j int) bool { return grown[i].Offset < grown[j].Offset })
	out.appendInput(0, uint64(len(img.Data)))
	for _, s := range grown {
		if err := padAlign(img.Name, s.Label(), s.Addralign); err != nil {
			return 0, err
		}
		c := contents[s.Index]
		out.pad(s.Addralign)
		if len(c) > 0 && c[0].input && c[0].n >= cloneMin && (s.Addralign <= 1 || cloneBlock%s.Addralign == 0) {
			out.appendBytes(make([]byte, (c[0].off-out.Size())%cloneBlock))
		}
		shdr[fieldKey{s.Index, shOffset}] = out.Size()
		shdr[fieldKey{s.Index, shSize}] = c.size()
		out.appendRope(c)
	}
	if len(p.objAdded) == 0 {
		return img.Shoff, nil
	}
	var added []byte
	for i, a := range p.objAdded {
		if a.typ != elf.SHT_NOBITS {
			out.pad(max(a.align, 1))
		}
		added = append(added, img.encodeShdr(names[i], a, out.Size())...)
		out.appendBytes(a.data)
	}
	shtSize := uint64(len(img.Sections)) * uint64(img.Shentsize)
	out.writeAt(img.Shoff, make([]byte, shtSize))
	out.pad(img.relocAlign())
	shoff := out.Size()
	out.appendBytes(append(append([]byte(nil), img.Data[img.Shoff:img.Shoff+shtSize]...), added...))
	return shoff, nil
}

// relayout lays the file out again from the first grown section on: every
// section with contents from there is placed again, in the same order,
// each at its alignment, then the section header table. Only sections no
// segment loads may move. The bytes before the cut, and those of the
// sections that move unchanged, stay ranges of the input.
func (p *Plan) relayout(out *Output, grown []*Section, contents map[int]rope, shdr map[fieldKey]uint64, names []uint32) (uint64, error) {
	img := p.img
	var loadEnd uint64 = img.Phoff + uint64(len(img.Progs))*uint64(img.Phentsize)
	for _, pr := range img.Progs {
		if e := pr.Off + pr.Filesz; e > loadEnd {
			loadEnd = e
		}
	}
	cut := uint64(len(img.Data))
	for _, s := range grown {
		if s.Alloc() || s.Offset < loadEnd {
			return 0, &Error{File: img.Name, Section: s.Label(), Msg: "cannot grow: the section lies among loaded contents"}
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
				return 0, &Error{File: img.Name, Section: s.Label(), Msg: "cannot grow the symbol table: a loaded section follows it in the file"}
			}
			moving = append(moving, s)
		}
	}
	sort.SliceStable(moving, func(i, j int) bool { return moving[i].Offset < moving[j].Offset })
	moveSHT := img.Shoff >= cut
	shtSize := uint64(len(img.Sections)) * uint64(img.Shentsize)

	out.appendInput(0, cut)
	for _, s := range moving {
		if err := padAlign(img.Name, s.Label(), s.Addralign); err != nil {
			return 0, err
		}
		data, ok := contents[s.Index]
		if !ok {
			data = rope{{input: true, off: s.Offset, n: s.Size}}
		}
		out.pad(s.Addralign)
		if data[0].input && data[0].n >= cloneMin && (s.Addralign <= 1 || cloneBlock%s.Addralign == 0) {
			// A large range of the input keeps its offset within a
			// block, so that the kernel can share it (copy_file_range
			// clones aligned blocks on XFS and Btrfs) or at least copy
			// it page by page.
			out.appendBytes(make([]byte, (s.Offset-out.Size())%cloneBlock))
		}
		if out.Size() != s.Offset {
			shdr[fieldKey{s.Index, shOffset}] = out.Size()
		}
		if n := data.size(); n != s.Size {
			shdr[fieldKey{s.Index, shSize}] = n
		}
		out.appendRope(data)
	}
	// Added sections follow, and the section header table, extended with
	// their entries, goes last; when it stood before the cut, its old
	// place is cleared.
	var added []byte
	if len(p.objAdded) > 0 {
		for i, a := range p.objAdded {
			if a.typ != elf.SHT_NOBITS {
				out.pad(max(a.align, 1))
			}
			added = append(added, img.encodeShdr(names[i], a, out.Size())...)
			out.appendBytes(a.data)
		}
		if !moveSHT {
			out.writeAt(img.Shoff, make([]byte, shtSize))
			moveSHT = true
		}
	}
	shoff := img.Shoff
	if moveSHT {
		out.pad(img.relocAlign())
		shoff = out.Size()
		out.appendBytes(append(append([]byte(nil), img.Data[img.Shoff:img.Shoff+shtSize]...), added...))
	}
	return shoff, nil
}

// cloneBlock is the block a filesystem shares extents in, and cloneMin
// the size from which a moved section keeps its offset within one: a few
// KiB of padding are nothing next to a MiB, and small images keep their
// tight layout.
const (
	cloneBlock = 4096
	cloneMin   = 1 << 20
)

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

// WriteFile replaces path with data atomically, as WriteOutput does.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	o := newOutput(nil)
	o.appendBytes(data)
	_, err := WriteOutput(path, o, nil, perm, nil)
	return err
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

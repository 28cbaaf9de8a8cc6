package patcher

import (
	"bytes"
	"compress/zlib"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"sort"

	"github.com/klauspost/compress/zstd"
	arenablob "github.com/pulseengine/elfpatch/arena_blob"
)

// A debugger should name the allocator and show its source like any other
// code of the image. When the image has DWARF, elfpatch appends one
// compile unit for the allocator: a DWARF 4 unit (whatever the image's own
// units use; debuggers take units of mixed versions) naming its source in
// arena_blob/, with a subprogram for __cabi_arena_realloc and a line table
// built from the line rows the pinned build recorded. The contributions go
// at the end of .debug_abbrev, .debug_info, .debug_line and .debug_aranges:
// as bytes after the input's own where a section is not compressed, as a
// zstd frame after its frames where it is zstd-compressed, as stored
// blocks after its deflate blocks where it is zlib-compressed (nothing is
// decompressed in any of these), and decompressed and compressed again
// where a previous patch's unit must be taken out first. Their offsets go into the provenance note, so a later
// patch takes the old unit out before it adds the new one.

// LineRow maps an offset in an allocator's code to a line of its source.
type LineRow struct {
	Offset uint64
	Line   int
}

// debugUnit is what elfpatch describes to a debugger.
type debugUnit struct {
	dir, file string // the source, relative to the repository: dir/file
	fn        string
	low, size uint64 // the code's address and size
	fnLow     uint64 // the function's address and size
	fnSize    uint64
	rows      []LineRow // offsets from low
}

// DebugOffsets are where a patch's compile unit begins in each debug
// section (uncompressed), recorded in the provenance note.
type DebugOffsets struct {
	Info    uint64 `json:"info"`
	Abbrev  uint64 `json:"abbrev"`
	Line    uint64 `json:"line"`
	Aranges uint64 `json:"aranges,omitempty"`
}

// DWARF constants used here.
const (
	dwTagCompileUnit = 0x11
	dwTagSubprogram  = 0x2e
	dwAtName         = 0x03
	dwAtStmtList     = 0x10
	dwAtLowPC        = 0x11
	dwAtHighPC       = 0x12
	dwAtLanguage     = 0x13
	dwAtCompDir      = 0x1b
	dwAtProducer     = 0x25
	dwAtExternal     = 0x3f
	dwFormAddr       = 0x01
	dwFormData2      = 0x05
	dwFormData4      = 0x06
	dwFormString     = 0x08
	dwFormSecOffset  = 0x17
	dwFormFlagPres   = 0x19
	dwLangAssembler  = 0x8001 // DW_LANG_Mips_Assembler: what assemblers say
)

// debugSection is one debug section: its uncompressed length, the part
// of it that stays (keep bytes) and what the patch appends. An
// uncompressed section is never read: its new contents are the input's
// range and the appended bytes. A compressed one is decompressed (data)
// and compressed again.
type debugSection struct {
	sec        *Section
	length     uint64 // uncompressed
	keep       uint64
	add        []byte
	data       []byte // a compressed section's uncompressed contents, once loaded
	compressed uint32 // ELFCOMPRESS_ZLIB (1), ELFCOMPRESS_ZSTD (2), or 0
	align      uint64 // ch_addralign of a compressed section
	hdr        int    // the compression header's size
	raw        []byte // a compressed section's contents, header included
}

// end is where the next appended byte lands, as an offset in the section.
func (d *debugSection) end() uint64 { return d.keep + uint64(len(d.add)) }

func (img *Image) readDebugSection(name string) (*debugSection, error) {
	sec := img.SectionNamed(name)
	if sec == nil {
		return nil, nil
	}
	d := &debugSection{sec: sec, length: sec.FileSize()}
	d.keep = d.length
	if sec.Flags&elf.SHF_COMPRESSED == 0 {
		return d, nil
	}
	raw := img.contents(sec)
	hdr := 12
	if img.Class == elf.ELFCLASS64 {
		hdr = 24
	}
	if len(raw) < hdr {
		return nil, &Error{File: img.Name, Section: sec.Label(), Msg: "truncated compression header"}
	}
	var size uint64
	d.compressed = img.Order.Uint32(raw)
	if img.Class == elf.ELFCLASS64 {
		size, d.align = img.Order.Uint64(raw[8:]), img.Order.Uint64(raw[16:])
	} else {
		size, d.align = uint64(img.Order.Uint32(raw[4:])), uint64(img.Order.Uint32(raw[8:]))
	}
	switch d.compressed {
	case uint32(elf.COMPRESS_ZLIB), uint32(elf.COMPRESS_ZSTD):
	default:
		return nil, &Error{File: img.Name, Section: sec.Label(), Msg: fmt.Sprintf("unknown compression type %d", d.compressed)}
	}
	d.hdr, d.raw = hdr, raw
	d.length, d.keep = size, size
	return d, nil
}

// reader decompresses a compressed section as a stream.
func (d *debugSection) reader(img *Image) (io.Reader, func(), error) {
	if d.compressed == uint32(elf.COMPRESS_ZLIB) {
		zr, err := zlib.NewReader(bytes.NewReader(d.raw[d.hdr:]))
		if err != nil {
			return nil, nil, &Error{File: img.Name, Section: d.sec.Label(), Msg: fmt.Sprintf("zlib: %v", err)}
		}
		return zr, func() {}, nil
	}
	zr, err := zstd.NewReader(bytes.NewReader(d.raw[d.hdr:]), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxDebugSection))
	if err != nil {
		return nil, nil, &Error{File: img.Name, Section: d.sec.Label(), Msg: fmt.Sprintf("zstd: %v", err)}
	}
	return zr, zr.Close, nil
}

// tail is a compressed section's bytes after the part kept (a unit a
// previous patch added), decompressed as a stream: the part kept is
// decoded and dropped, not held.
func (d *debugSection) tail(img *Image) ([]byte, error) {
	if d.data != nil {
		return d.data[d.keep:], nil
	}
	if d.length-d.keep > maxUnits {
		return nil, nil // more than elfpatch's units: not what it added
	}
	r, done, err := d.reader(img)
	if err != nil {
		return nil, err
	}
	defer done()
	if n, err := io.CopyN(io.Discard, r, int64(d.keep)); err != nil || uint64(n) != d.keep {
		return nil, &Error{File: img.Name, Section: d.sec.Label(), Msg: fmt.Sprintf("does not decompress to its %d bytes", d.length)}
	}
	tail, err := io.ReadAll(io.LimitReader(r, int64(d.length-d.keep)+1))
	if err != nil || uint64(len(tail)) != d.length-d.keep {
		return nil, &Error{File: img.Name, Section: d.sec.Label(), Msg: fmt.Sprintf("does not decompress to its %d bytes", d.length)}
	}
	return tail, nil
}

// load decompresses a compressed section.
func (d *debugSection) load(img *Image) error {
	if d.data != nil || d.compressed == 0 {
		return nil
	}
	if d.length > maxDebugSection {
		return &Error{File: img.Name, Section: d.sec.Label(), Msg: fmt.Sprintf("claims %d bytes uncompressed, more than elfpatch decompresses in memory (%d)", d.length, uint64(maxDebugSection))}
	}
	r, done, err := d.reader(img)
	if err != nil {
		return err
	}
	defer done()
	data, err := io.ReadAll(io.LimitReader(r, int64(d.length)+1))
	if err != nil || uint64(len(data)) != d.length {
		return &Error{File: img.Name, Section: d.sec.Label(), Msg: fmt.Sprintf("does not decompress to its %d bytes", d.length)}
	}
	d.data = data
	return nil
}

// chdr encodes a compression header for size uncompressed bytes.
func (img *Image) chdr(d *debugSection, size uint64) []byte {
	hdr := make([]byte, 12)
	if img.Class == elf.ELFCLASS64 {
		hdr = make([]byte, 24)
		img.Order.PutUint32(hdr, d.compressed)
		img.Order.PutUint64(hdr[8:], size)
		img.Order.PutUint64(hdr[16:], d.align)
		return hdr
	}
	img.Order.PutUint32(hdr, d.compressed)
	img.Order.PutUint32(hdr[4:], uint32(size))
	img.Order.PutUint32(hdr[8:], uint32(d.align))
	return hdr
}

// zstdFrame compresses b into one zstd frame.
func zstdFrame(b []byte) ([]byte, error) {
	var body bytes.Buffer
	w, err := zstd.NewWriter(&body, zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		return nil, err
	}
	return body.Bytes(), nil
}

// maxDebugSection bounds what a compressed debug section may claim when
// elfpatch must decompress it in memory (to take out a unit it added
// before, or a zlib stream it cannot walk).
const maxDebugSection = 256 << 20

// maxUnits bounds what elfpatch's own units take in a debug section: a
// few hundred bytes each.
const maxUnits = 1 << 20

// encodeDebugSection compresses a debug section's new contents as the
// section was compressed.
func (img *Image) encodeDebugSection(d *debugSection) ([]byte, error) {
	data := append(d.data[:d.keep:d.keep], d.add...)
	var body bytes.Buffer
	switch d.compressed {
	case uint32(elf.COMPRESS_ZLIB):
		w := zlib.NewWriter(&body)
		w.Write(data)
		if err := w.Close(); err != nil {
			return nil, err
		}
	default:
		w, err := zstd.NewWriter(&body, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			return nil, err
		}
	}
	return append(img.chdr(d, uint64(len(data))), body.Bytes()...), nil
}

// unitOf describes a built-in allocator or shim linked at addr: its code,
// the function fn it defines, and its line rows. A variant without rows
// (an --arena-object) gets no unit: its source is not elfpatch's.
func unitOf(v arenablob.Variant, fn string, addr uint64, code []byte, entry entryInfo) *debugUnit {
	if len(v.Lines) == 0 {
		return nil
	}
	u := &debugUnit{dir: "arena_blob", file: v.Source, fn: fn, low: addr, size: uint64(len(code)), fnLow: addr + entry.offset, fnSize: entry.size}
	for _, r := range v.Lines {
		u.rows = append(u.rows, LineRow{Offset: r.Offset, Line: r.Line})
	}
	return u
}

// describeAllocator adds the units to an executable image that has DWARF,
// in place of those a previous patch recorded adding.
func (p *Plan) describeAllocator(units ...*debugUnit) error {
	img := p.img
	var us []debugUnit
	for _, u := range units {
		if u != nil {
			us = append(us, *u)
		}
	}
	if img.Type != elf.ET_EXEC && img.Type != elf.ET_DYN || img.SectionNamed(".debug_info") == nil {
		return nil
	}
	pv, err := ReadProvenance(img)
	if err != nil {
		return err
	}
	var old *DebugOffsets
	if pv != nil {
		old = pv.Debug
	}
	if len(us) == 0 && old == nil {
		return nil
	}
	return p.addDebugInfo(us, old)
}

// addDebugInfo plans the allocator's compile units, when the image has
// DWARF to add them to. old are the offsets a previous patch recorded.
func (p *Plan) addDebugInfo(units []debugUnit, old *DebugOffsets) error {
	img := p.img
	info, err := img.readDebugSection(".debug_info")
	if err != nil || info == nil {
		return err
	}
	abbrev, err := img.readDebugSection(".debug_abbrev")
	if err != nil {
		return err
	}
	line, err := img.readDebugSection(".debug_line")
	if err != nil {
		return err
	}
	aranges, err := img.readDebugSection(".debug_aranges")
	if err != nil {
		return err
	}
	if abbrev == nil || line == nil {
		// Not DWARF a debugger could use; nothing to add to.
		return nil
	}
	// Take out a previous patch's unit.
	if old != nil {
		for _, c := range []struct {
			d   *debugSection
			off uint64
		}{{info, old.Info}, {abbrev, old.Abbrev}, {line, old.Line}, {aranges, old.Aranges}} {
			if c.d == nil {
				continue
			}
			if c.off > c.d.length {
				return &Error{File: img.Name, Section: c.d.sec.Label(), Msg: "is shorter than the unit elfpatch recorded adding"}
			}
			c.d.keep = c.off
		}
	}
	o, ok := img.Order.(binary.AppendByteOrder)
	if !ok {
		return errorf(img.Name, "internal error: byte order %v cannot append", img.Order)
	}
	addrSize := 4
	putAddr := func(b []byte, v uint64) []byte {
		if addrSize == 8 {
			return o.AppendUint64(b, v)
		}
		return o.AppendUint32(b, uint32(v))
	}
	if img.Class == elf.ELFCLASS64 {
		addrSize = 8
	}
	offs := &DebugOffsets{Info: info.end(), Abbrev: abbrev.end(), Line: line.end()}
	if aranges != nil {
		offs.Aranges = aranges.end()
	}
	if len(units) > 0 {
		// .debug_abbrev: one table for every unit: the unit and its
		// subprogram.
		abbrev.add = append(abbrev.add, 1, dwTagCompileUnit, 1,
			dwAtProducer, dwFormString, dwAtLanguage, dwFormData2, dwAtName, dwFormString, dwAtCompDir, dwFormString,
			dwAtLowPC, dwFormAddr, dwAtHighPC, dwFormData4, dwAtStmtList, dwFormSecOffset, 0, 0,
			2, dwTagSubprogram, 0,
			dwAtName, dwFormString, dwAtExternal, dwFormFlagPres, dwAtLowPC, dwFormAddr, dwAtHighPC, dwFormData4, 0, 0,
			0)
	}
	for _, u := range units {
		infoOff, lineOff := info.end(), line.end()

		// .debug_info: the unit and its one subprogram.
		var cu []byte
		cu = o.AppendUint16(cu, 4)
		cu = o.AppendUint32(cu, uint32(offs.Abbrev))
		cu = append(cu, byte(addrSize))
		cu = append(cu, 1)
		cu = append(append(cu, "elfpatch"...), 0)
		cu = o.AppendUint16(cu, dwLangAssembler)
		cu = append(append(cu, u.dir+"/"+u.file...), 0)
		cu = append(append(cu, "."...), 0)
		cu = putAddr(cu, u.low)
		cu = o.AppendUint32(cu, uint32(u.size))
		cu = o.AppendUint32(cu, uint32(lineOff))
		cu = append(cu, 2)
		cu = append(append(cu, u.fn...), 0)
		cu = putAddr(cu, u.fnLow)
		cu = o.AppendUint32(cu, uint32(u.fnSize))
		cu = append(cu, 0)
		info.add = append(o.AppendUint32(info.add, uint32(len(cu))), cu...)

		// .debug_line: a version 4 program over the rows.
		var prog []byte
		prog = append(prog, 0, byte(1+addrSize), 2) // DW_LNE_set_address
		prog = putAddr(prog, u.low)
		rows := append([]LineRow(nil), u.rows...)
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].Offset < rows[j].Offset })
		at, ln := uint64(0), 1
		for _, r := range rows {
			if r.Offset >= u.size {
				continue
			}
			if r.Offset > at {
				prog = binary.AppendUvarint(append(prog, 2), r.Offset-at) // DW_LNS_advance_pc
				at = r.Offset
			}
			if r.Line != ln {
				prog = appendSLEB(append(prog, 3), int64(r.Line-ln)) // DW_LNS_advance_line
				ln = r.Line
			}
			prog = append(prog, 1) // DW_LNS_copy
		}
		if u.size > at {
			prog = binary.AppendUvarint(append(prog, 2), u.size-at)
		}
		prog = append(prog, 0, 1, 1) // DW_LNE_end_sequence
		var hdr []byte
		hdr = append(hdr, 1, 1, 1, 0xfb, 14, 13) // min inst length, max ops, default_is_stmt, line_base -5, line_range, opcode_base
		hdr = append(hdr, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1)
		hdr = append(append(hdr, u.dir...), 0, 0)
		hdr = append(append(hdr, u.file...), 0, 1, 0, 0, 0)
		var lu []byte
		lu = o.AppendUint16(lu, 4)
		lu = o.AppendUint32(lu, uint32(len(hdr)))
		lu = append(append(lu, hdr...), prog...)
		line.add = append(o.AppendUint32(line.add, uint32(len(lu))), lu...)

		// .debug_aranges, where the image has them.
		if aranges != nil {
			var ar []byte
			ar = o.AppendUint16(ar, 2)
			ar = o.AppendUint32(ar, uint32(infoOff))
			ar = append(ar, byte(addrSize), 0)
			for (4+len(ar))%(2*addrSize) != 0 {
				ar = append(ar, 0)
			}
			ar = putAddr(putAddr(ar, u.low), u.size)
			ar = putAddr(putAddr(ar, 0), 0)
			aranges.add = append(o.AppendUint32(aranges.add, uint32(len(ar))), ar...)
		}
	}

	if p.objContents == nil {
		p.objContents = map[int][]byte{}
	}
	if p.ropes == nil {
		p.ropes = map[int]rope{}
	}
	for _, d := range []*debugSection{info, abbrev, line, aranges} {
		if d == nil {
			continue
		}
		if d.compressed == 0 {
			// The section stays where the input has it, with the new
			// bytes after the part kept: only those few are compared.
			if d.end() == d.length && bytes.Equal(d.add, img.contents(d.sec)[d.keep:]) {
				continue
			}
			p.ropes[d.sec.Index] = rope{{input: true, off: d.sec.Offset, n: d.keep}, {n: uint64(len(d.add)), data: d.add}}
			p.Changes = append(p.Changes, Change{What: fmt.Sprintf("debug information for the allocator in %s", d.sec.Label()), FileOffset: d.sec.Offset, Size: d.end()})
			continue
		}
		if d.keep == d.length && d.data == nil && len(d.add) == 0 {
			continue
		}
		if d.keep == d.length && d.data == nil {
			// Nothing of the section is decompressed: zstd decoders read
			// concatenated frames as one stream, so the unit goes in a
			// frame of its own; a zlib stream is extended in place (its
			// last block made not final, the unit after it in stored
			// blocks, the checksum continued: deflate.go). A zlib stream
			// that cannot be is decompressed below, as before.
			payload := d.raw[d.hdr:]
			at := d.sec.Offset + uint64(d.hdr)
			var body rope
			if d.compressed == uint32(elf.COMPRESS_ZSTD) {
				frame, err := zstdFrame(d.add)
				if err != nil {
					return &Error{File: img.Name, Section: d.sec.Label(), Msg: fmt.Sprintf("compressing: %v", err)}
				}
				body = rope{{input: true, off: at, n: uint64(len(payload))}, {n: uint64(len(frame)), data: frame}}
			} else if r, err := zlibAppend(payload, at, d.add); err == nil {
				body = r
			}
			if body != nil {
				r := append(bytesRope(img.chdr(d, d.end())), body...)
				p.ropes[d.sec.Index] = r
				p.Changes = append(p.Changes, Change{What: fmt.Sprintf("debug information for the allocator in %s", d.sec.Label()), FileOffset: d.sec.Offset, Size: r.size()})
				continue
			}
		}
		if d.end() == d.length {
			tail, err := d.tail(img)
			if err != nil {
				return err
			}
			if bytes.Equal(d.add, tail) {
				continue // the unit a previous patch added, as it was
			}
		}
		if err := d.load(img); err != nil {
			return err
		}
		enc, err := img.encodeDebugSection(d)
		if err != nil {
			return &Error{File: img.Name, Section: d.sec.Label(), Msg: fmt.Sprintf("compressing again: %v", err)}
		}
		if !bytes.Equal(enc, img.contents(d.sec)) {
			p.objContents[d.sec.Index] = enc
			p.Changes = append(p.Changes, Change{What: fmt.Sprintf("debug information for the allocator in %s", d.sec.Label()), FileOffset: d.sec.Offset, Size: uint64(len(enc))})
		}
	}
	if len(units) > 0 {
		p.debug = offs
	}
	return nil
}

// appendSLEB appends a signed LEB128 number.
func appendSLEB(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

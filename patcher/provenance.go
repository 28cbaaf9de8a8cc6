package patcher

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
)

// Every patched image carries a note saying what patched it: a section
// that is not loaded, so flash contents do not change. Its descriptor is
// JSON, so that anyone can read it with readelf -p; elfpatch reads it to
// verify an image with the allocator it was given.
const (
	provenanceSection = ".note.elfpatch"
	provenanceOwner   = "elfpatch"
	// ntProvenance is the note's type, under the owner "elfpatch".
	ntProvenance = 1
)

// Provenance is what the note records.
type Provenance struct {
	Tool    string `json:"tool"`
	Version string `json:"version"`
	// Variant is the allocator's name: a built-in variant, or the file
	// name of an --arena-object; SHA256 the hash of its object.
	Variant     string   `json:"variant"`
	SHA256      string   `json:"sha256,omitempty"`
	ArenaObject bool     `json:"arena_object,omitempty"`
	ArenaSize   uint64   `json:"arena_size"`
	PointerBase string   `json:"pointer_base,omitempty"`
	Imports     []string `json:"imports"`
	// Debug is where the allocator's compile unit begins in the image's
	// debug sections, when elfpatch added one.
	Debug *DebugOffsets `json:"debug,omitempty"`
}

// encodeNote wraps a descriptor in an ELF note.
func encodeNote(order binary.ByteOrder, desc []byte) []byte {
	name := append([]byte(provenanceOwner), 0)
	var b bytes.Buffer
	hdr := make([]byte, 12)
	order.PutUint32(hdr[0:], uint32(len(name)))
	order.PutUint32(hdr[4:], uint32(len(desc)))
	order.PutUint32(hdr[8:], ntProvenance)
	b.Write(hdr)
	b.Write(name)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	b.Write(desc)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

// ReadProvenance returns the note of a patched image, or nil when it has
// none.
func ReadProvenance(img *Image) (*Provenance, error) {
	sec := img.SectionNamed(provenanceSection)
	if sec == nil {
		return nil, nil
	}
	d := img.contents(sec)
	if len(d) < 12 {
		return nil, &Error{File: img.Name, Section: sec.Label(), Msg: "truncated note"}
	}
	o := img.Order
	namesz, descsz, typ := uint64(o.Uint32(d[0:])), uint64(o.Uint32(d[4:])), o.Uint32(d[8:])
	nameEnd := 12 + (namesz+3)&^3
	if typ != ntProvenance || namesz > uint64(len(d)) || nameEnd > uint64(len(d)) || descsz > uint64(len(d))-nameEnd ||
		string(bytes.TrimRight(d[12:12+namesz], "\x00")) != provenanceOwner {
		return nil, &Error{File: img.Name, Section: sec.Label(), Msg: "not an elfpatch note"}
	}
	var p Provenance
	if err := json.Unmarshal(d[nameEnd:nameEnd+descsz], &p); err != nil {
		return nil, &Error{File: img.Name, Section: sec.Label(), Msg: fmt.Sprintf("malformed note: %v", err)}
	}
	return &p, nil
}

// recordProvenance plans the note: a new section, or the old one's
// contents replaced.
func (p *Plan) recordProvenance(opts Options) {
	img := p.img
	// The spellings that name the allocator after the patch: the same set
	// when the patched image is planned again.
	names := map[string]bool{allocSym: true}
	for _, i := range p.Imports {
		names[i.Name] = true
	}
	pv := Provenance{Tool: "elfpatch", Version: opts.Version, Imports: []string{}}
	for n := range names {
		pv.Imports = append(pv.Imports, n)
	}
	sort.Strings(pv.Imports)
	if a := p.Allocator; a != nil {
		pv.Variant, pv.SHA256, pv.PointerBase = a.Variant, a.SHA256, a.PointerBase
		pv.ArenaObject = opts.ArenaObject != nil
	}
	if r := p.recorded; r != nil {
		pv.ArenaObject = r.ArenaObject
	}
	pv.Debug = p.debug
	switch {
	case p.Arena != nil:
		pv.ArenaSize = p.Arena.NewSize
	case img.SectionNamed(arenaName) != nil:
		pv.ArenaSize = img.SectionNamed(arenaName).Size
	default:
		if s := img.SymbolNamed(arenaStart); s != nil && img.SectionOf(s) != nil {
			pv.ArenaSize = img.SectionOf(s).Size
		}
	}
	desc, _ := json.Marshal(pv)
	note := encodeNote(img.Order, desc)
	if sec := img.SectionNamed(provenanceSection); sec != nil {
		if !bytes.Equal(img.contents(sec), note) {
			if p.objContents == nil {
				p.objContents = map[int][]byte{}
			}
			p.objContents[sec.Index] = note
			p.Changes = append(p.Changes, Change{What: "provenance note " + string(desc), FileOffset: sec.Offset, Size: uint64(len(note))})
		}
		return
	}
	p.objAdded = append(p.objAdded, addedSection{name: provenanceSection, typ: elf.SHT_NOTE, align: 4, data: note, size: uint64(len(note))})
	p.Changes = append(p.Changes, Change{What: "add provenance note " + string(desc)})
}

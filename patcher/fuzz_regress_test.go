package patcher

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Regression tests for what fuzzing found (FuzzRead, FuzzPatch): each
// builds the damaged input from a seed image in testdata/fuzz/images and
// checks elfpatch refuses it, or now patches it right.

// fuzzImage reads a seed image.
func fuzzImage(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fuzzImageDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// poke returns a copy of data with the little-endian field of width bytes
// at off set to v.
func poke(data []byte, off uint64, width int, v uint64) []byte {
	d := bytes.Clone(data)
	switch width {
	case 1:
		d[off] = byte(v)
	case 2:
		binary.LittleEndian.PutUint16(d[off:], uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(d[off:], uint32(v))
	default:
		binary.LittleEndian.PutUint64(d[off:], v)
	}
	return d
}

func mustRead(t *testing.T, data []byte) *Image {
	t.Helper()
	img, err := Read("fuzz.elf", data)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// planAndApply returns the first error of planning and applying.
func planAndApply(img *Image, opts Options) ([]byte, error) {
	p, err := NewPlan(img, opts)
	if err != nil {
		return nil, err
	}
	return p.Apply()
}

func wantRefusal(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an error saying %q", err, want)
	}
}

// shField is the file offset of a section header field.
func shField(img *Image, i int, field func(elfLayout) int) uint64 {
	return img.shdrOff(i) + uint64(field(elfLayouts[img.Class]))
}

// A table aligned to 2 GiB had the writer pad the output byte by byte up
// to it: a hang, and gigabytes allocated. Found by FuzzPatch.
func TestFuzzHugeAlignmentIsRefusedNotPadded(t *testing.T) {
	for _, name := range []string{"arm-ld-sites.elf", "arm-synth-timer.o", "aarch64-ld-sites.elf"} {
		data := fuzzImage(t, name)
		img := mustRead(t, data)
		w := elfLayouts[img.Class].word
		// The section the patch moves: the names grow in an image, the
		// symbols in an object.
		sec := img.Shstrndx
		if img.Type == elf.ET_REL {
			sec = img.Symtab.Index
		}
		data = poke(data, shField(img, sec, func(l elfLayout) int { return l.shAddralign }), w, 1<<31)
		start := time.Now()
		_, err := planAndApply(mustRead(t, data), Options{ArenaSize: 4096, SetSize: img.Type == elf.ET_REL})
		wantRefusal(t, err, "alignment 0x80000000 is more than 0x10000")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: refusing took %v", name, d)
		}
	}
}

// debug/elf reports a compressed section's uncompressed size and
// alignment, from the compression header: Read took them for the
// section's, so a compressed flag on .arena gave the arena a size read
// from whatever bytes lay at its offset. Found by FuzzPatch.
func TestFuzzCompressedSectionsKeepTheirHeaderSize(t *testing.T) {
	data := fuzzImage(t, "aarch64-ld-sites.elf")
	img := mustRead(t, data)
	w := elfLayouts[img.Class].word
	flags := func(l elfLayout) int { return l.shFlags }

	arena := img.SectionNamed(arenaName)
	_, err := Read("fuzz.elf", poke(data, shField(img, arena.Index, flags), w, uint64(arena.Flags|elf.SHF_COMPRESSED)))
	wantRefusal(t, err, ".arena: is compressed (SHF_COMPRESSED) but loaded or without contents")

	str := img.Strtab
	back := mustRead(t, poke(data, shField(img, str.Index, flags), w, uint64(str.Flags|elf.SHF_COMPRESSED)))
	if got := back.Sections[str.Index]; got.Size != str.Size || got.Addralign != str.Addralign {
		t.Errorf("a compressed .strtab reads as %#x bytes aligned to %d, its header says %#x aligned to %d", got.Size, got.Addralign, str.Size, str.Addralign)
	}
}

// An object whose e_shstrndx is 0 has no section names: the patch wrote the
// names of the sections it adds into section 0, the null section. Found by
// FuzzPatch.
func TestFuzzAnImageWithoutSectionNamesIsRefused(t *testing.T) {
	for _, name := range []string{"arm-synth-timer.o", "arm-ld-sites.elf"} {
		data := fuzzImage(t, name)
		img := mustRead(t, data)
		data = poke(data, uint64(elfLayouts[img.Class].shstrndx), 2, 0)
		_, err := planAndApply(mustRead(t, data), Options{})
		wantRefusal(t, err, "no section name table (e_shstrndx is 0)")
	}
}

// A .note.elfpatch that is not an SHT_NOTE section (here NOBITS) had the
// note written into the file at its offset, over whatever lies there, and
// the plan called that "unchanged". Found by FuzzPatch.
func TestFuzzANoteThatIsNotANoteIsRefused(t *testing.T) {
	data := fuzzImage(t, "arm-ld-sites-patched.elf")
	img := mustRead(t, data)
	note := img.SectionNamed(provenanceSection)
	for _, c := range []struct {
		field func(elfLayout) int
		v     uint64
	}{
		{func(l elfLayout) int { return l.shType }, uint64(elf.SHT_NOBITS)},
		{func(l elfLayout) int { return l.shFlags }, uint64(elf.SHF_ALLOC)},
	} {
		_, err := planAndApply(mustRead(t, poke(data, shField(img, note.Index, c.field), 4, c.v)), Options{})
		wantRefusal(t, err, ".note.elfpatch: is not the note elfpatch writes")
	}
}

// An empty .note.elfpatch grows when the patch writes the note, but the
// writer moved only sections with contents: the note's new bytes were
// never written, and the result failed verify. Found by FuzzPatch.
func TestFuzzAnEmptyNoteIsWrittenAgain(t *testing.T) {
	data := fuzzImage(t, "arm-ld-sites-patched.elf")
	img := mustRead(t, data)
	note := img.SectionNamed(provenanceSection)
	data = poke(data, shField(img, note.Index, func(l elfLayout) int { return l.shSize }), 4, 0)
	out, err := planAndApply(mustRead(t, data), Options{Version: "fuzz"})
	if err != nil {
		t.Fatal(err)
	}
	back := mustRead(t, out)
	if rep, err := Verify(back, Options{}); err != nil || !rep.OK {
		t.Fatalf("verify: %v %v", err, rep.Problems)
	}
}

// --import of a symbol the plan itself reads or defines (a .bss bound,
// elfpatch's own symbols) bound it to the allocator, and the result failed
// the checks the plan had passed. Found by FuzzPatch, with the symbols
// made undefined.
func TestFuzzImportsOfReservedSymbolsAreRefused(t *testing.T) {
	img := mustRead(t, fuzzImage(t, "arm-ld-sites.elf"))
	for _, name := range []string{"__bss_end__", "_sbss", slotSym, arenaLimit, trapHook} {
		_, err := NewPlan(img, Options{Imports: []string{name}})
		wantRefusal(t, err, name+": cannot be an import: elfpatch reads or defines this symbol")
	}
}

// An object that defines an import spelling as something other than the
// allocator (here an absolute symbol) kept that definition, and verify
// rejected the patched object; so did one whose __cabi_arena_realloc is
// not a function. Found by FuzzPatch.
func TestFuzzAnObjectsOtherDefinitionOfAnImportIsRefused(t *testing.T) {
	for _, c := range []struct {
		file, sym string
		field     func(elfLayout) int
		width     int
		v         uint64
		opts      Options
		want      string
	}{
		{"arm-synth-timer.o", "cabi-arena-realloc", func(l elfLayout) int { return l.symShndx }, 2, uint64(elf.SHN_ABS),
			Options{ArenaSize: 4096, SetSize: true}, "cabi-arena-realloc: is defined by the object, but not as __cabi_arena_realloc"},
		{"arm-synth-timer-patched.o", "cabi-arena-realloc", func(l elfLayout) int { return l.symShndx }, 2, uint64(elf.SHN_ABS),
			Options{}, "cabi-arena-realloc: is defined by the object, but not as __cabi_arena_realloc"},
		{"arm-synth-timer-patched.o", allocSym, func(l elfLayout) int { return l.symInfo }, 1, uint64(elf.ST_INFO(elf.STB_GLOBAL, elf.STT_OBJECT)),
			Options{}, "__cabi_arena_realloc: defined but not as a function"},
	} {
		data := fuzzImage(t, c.file)
		img := mustRead(t, data)
		s := img.SymbolNamed(c.sym)
		off := img.Symtab.Offset + uint64(s.Index)*img.symEntSize() + uint64(c.field(elfLayouts[img.Class]))
		_, err := planAndApply(mustRead(t, poke(data, off, c.width, c.v)), c.opts)
		wantRefusal(t, err, c.want)
	}
}

// Two relocations whose places overlap (here a .quad moved two bytes into
// the .long after it) were both written, the second over the first; and a
// site inside the slot was overwritten by the allocator. Found by
// FuzzPatch.
func TestFuzzOverlappingSitesAreRefused(t *testing.T) {
	for _, c := range []struct {
		file string
		typ  string // the site to move
		to   func(img *Image, r *Reloc) uint64
		want string
	}{
		{"x86_64-ld-sites.elf", "R_X86_64_64", func(_ *Image, r *Reloc) uint64 { return r.Offset + 2 }, "overlaps the R_X86_64_64"},
		{"x86_64-ld-sites.elf", "R_X86_64_64", func(img *Image, _ *Reloc) uint64 { return img.SymbolNamed(slotSym).Value + 8 }, "lies inside the allocator slot"},
	} {
		data := fuzzImage(t, c.file)
		img := mustRead(t, data)
		var site *Reloc
		for _, r := range img.Relocs {
			if img.Syms[r.Sym].Name == allocSym && relocTypeName(img.Machine, r.Type) == c.typ {
				site = r
			}
		}
		if site == nil {
			t.Fatalf("%s: no %s site", c.file, c.typ)
		}
		w := elfLayouts[img.Class].word
		off := site.Sec.Offset + uint64(site.Index)*img.relocEntSize(site.Rela)
		_, err := planAndApply(mustRead(t, poke(data, off, w, c.to(img, site))), Options{})
		wantRefusal(t, err, c.want)
	}
}

// A section lying over the section header table (here the note, moved
// into the table): the writer cut the file at the note to
// write it again, the table with it, and the patched image did not read
// back. Found by FuzzPatch (testdata/fuzz/FuzzPatch/e1ff4690126da79c).
func TestFuzzASectionOverTheHeaderTableIsRefused(t *testing.T) {
	data := fuzzImage(t, "aarch64-ld-sites-patched.elf")
	img := mustRead(t, data)
	note := img.SectionNamed(provenanceSection)
	data = poke(data, shField(img, note.Index, func(l elfLayout) int { return l.shOffset }), 8, img.Shoff+uint64(img.Shentsize))
	_, err := Read("fuzz.elf", data)
	wantRefusal(t, err, ".note.elfpatch: contents at 0x7b0+0xe8 lie over the section header table (0x770+0x2c0)")
}

// An empty section whose offset lies far past the end of the file passed
// Read, which checked only sections with contents, and reading its
// contents (inspect's provenance note) panicked. Found by FuzzRead
// (testdata/fuzz/FuzzRead/98546899b2d54641).
func TestFuzzAnEmptySectionPastTheEndIsRefused(t *testing.T) {
	data := fuzzImage(t, "aarch64-ld-sites-patched.elf")
	img := mustRead(t, data)
	note := img.SectionNamed(provenanceSection)
	data = poke(data, shField(img, note.Index, func(l elfLayout) int { return l.shSize }), 8, 0)
	data = poke(data, shField(img, note.Index, func(l elfLayout) int { return l.shOffset }), 8, 0x6400000000000688)
	_, err := Read("fuzz.elf", data)
	wantRefusal(t, err, ".note.elfpatch: contents at 0x6400000000000688+0x0 lie past the end of the file")
}

// --import naming a file symbol (app.o): the plan, like inspect, skips
// STT_FILE symbols, but verify counted it as an import spelling and
// reported the patched image unbound. Found by FuzzPatch
// (testdata/fuzz/FuzzPatch/8577dfb0255849ec).
func TestFuzzAFileSymbolIsNoImportForVerifyEither(t *testing.T) {
	img := mustRead(t, fuzzImage(t, "aarch64-ld-sites.elf"))
	if s := img.SymbolNamed("app.o"); s == nil || s.Kind() != elf.STT_FILE {
		t.Fatal("the seed has no file symbol app.o")
	}
	opts := Options{Imports: []string{"app.o"}}
	out, err := planAndApply(img, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := Verify(mustRead(t, out), opts); err != nil || !rep.OK {
		t.Fatalf("verify: %v %v", err, rep.Problems)
	}
}

// With SHN_LORESERVE (0xff00) sections or more, e_shnum is 0 and
// e_shstrndx SHN_XINDEX, the real values in section 0. debug/elf reads
// them, but the writer writes e_shnum and indexes the name table by
// e_shstrndx: Read refuses such a file before anything is planned. Found
// while writing FuzzRead (no fuzzer input is that large).
func TestFuzzExtendedSectionNumberingIsRefused(t *testing.T) {
	const n = 0xff01
	o := binary.LittleEndian
	names := []byte("\x00.shstrtab\x00")
	data := make([]byte, 52+len(names))
	copy(data, elf.ELFMAG)
	data[4], data[5], data[6] = byte(elf.ELFCLASS32), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	o.PutUint16(data[16:], uint16(elf.ET_EXEC))
	o.PutUint16(data[18:], uint16(elf.EM_ARM))
	o.PutUint32(data[20:], uint32(elf.EV_CURRENT))
	o.PutUint16(data[40:], 52)
	o.PutUint16(data[46:], 40)
	o.PutUint16(data[50:], uint16(elf.SHN_XINDEX))
	copy(data[52:], names)
	shoff := uint32(len(data))
	o.PutUint32(data[32:], shoff)
	sht := make([]byte, n*40)
	o.PutUint32(sht[20:], n)   // section 0: sh_size holds the count
	o.PutUint32(sht[24:], n-1) // sh_link the name table's index
	last := sht[(n-1)*40:]
	o.PutUint32(last[0:], 1)
	o.PutUint32(last[4:], uint32(elf.SHT_STRTAB))
	o.PutUint32(last[16:], 52)
	o.PutUint32(last[20:], uint32(len(names)))
	data = append(data, sht...)
	if f, err := elf.NewFile(bytes.NewReader(data)); err != nil || len(f.Sections) != n {
		t.Fatalf("debug/elf: %v", err)
	}
	_, err := Read("big.elf", data)
	wantRefusal(t, err, "65281 sections: extended section numbering is not supported")
}

// A section lying over the program header table (here the note): writing
// the note wrote JSON over the segments. Found by FuzzPatch
// (testdata/fuzz/FuzzPatch/08c18c481608c0fd); the file header is held to
// the same rule.
func TestFuzzASectionOverTheFileOrProgramHeadersIsRefused(t *testing.T) {
	data := fuzzImage(t, "arm-ld-sites-patched.elf")
	img := mustRead(t, data)
	note := img.SectionNamed(provenanceSection)
	for _, c := range []struct {
		off  uint64
		want string
	}{
		{img.Phoff, "lie over the program header table"},
		{8, "lie over the file header"},
	} {
		_, err := Read("fuzz.elf", poke(data, shField(img, note.Index, func(l elfLayout) int { return l.shOffset }), 4, c.off))
		wantRefusal(t, err, c.want)
	}
}

// An object that defines __elfpatch_arena_start itself but not
// __elfpatch_arena_end (here a linked image made ET_REL) got an arena section added for __elfpatch_arena_end
// only: the allocator's bounds lay in two sections, and the recorded arena
// size was not the one verify found. Found by FuzzPatch
// (testdata/fuzz/FuzzPatch/895a8cf5cc3342d5).
func TestFuzzAnObjectDefiningOneArenaBoundIsRefused(t *testing.T) {
	data := poke(fuzzImage(t, "arm-ld-kebab.elf"), 16, 2, uint64(elf.ET_REL))
	img := mustRead(t, data)
	end := img.SymbolNamed(arenaEnd)
	data = poke(data, img.Symtab.Offset+uint64(end.Index)*img.symEntSize()+uint64(elfLayouts[img.Class].symShndx), 2, uint64(elf.SHN_UNDEF))
	_, err := planAndApply(mustRead(t, data), Options{})
	wantRefusal(t, err, "__elfpatch_arena_start: is defined by the object itself")
}

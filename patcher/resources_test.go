package patcher

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// hugeClaim is a small file whose headers claim something enormous.
type hugeClaim struct {
	name string
	data []byte
	// want are words the refusal must have; nil: it may be read.
	want []string
}

// hugeClaims makes, from a small real file, one whose headers claim 2^32
// sections (extended numbering), a 4 GiB section, a relocation section of
// a billion entries (as many as the class can say), a symbol table of
// billions of symbols, 4 GiB of .bss-like NOBITS, and 65535 program
// headers. The files stay the size of the original.
func hugeClaims(t testing.TB, path string) []hugeClaim {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Read(path, data)
	if err != nil {
		t.Fatal(err)
	}
	o := binary.LittleEndian
	is64 := img.Class == elf.ELFCLASS64
	word := func(d []byte, off uint64, v uint64) {
		if is64 {
			o.PutUint64(d[off:], v)
		} else {
			o.PutUint32(d[off:], uint32(v))
		}
	}
	shSize := uint64(20)
	if is64 {
		shSize = 32
	}
	sizeOf := func(s *Section, v uint64) []byte {
		d := bytes.Clone(data)
		word(d, img.shdrOff(s.Index)+shSize, v)
		return d
	}
	limit := func(v uint64) uint64 { // what sh_size can hold
		if !is64 && v > 0xffffffff {
			return 0xffffffff &^ 0xf
		}
		return v
	}
	var out []hugeClaim

	// 2^32 sections: e_shnum 0, the count in section 0's sh_size.
	d := sizeOf(img.Sections[0], 1<<32-1)
	shnum := 48
	if is64 {
		shnum = 60
	}
	o.PutUint16(d[shnum:], 0)
	out = append(out, hugeClaim{"2^32-1 sections", d, []string{"section header table: 4294967295 entries of", "past the end of the file"}})

	for _, s := range img.Sections {
		switch {
		case s.Alloc() && s.Type == elf.SHT_PROGBITS && s.Size > 0 && !strings.Contains(s.Name, "isr"):
			out = append(out, hugeClaim{"a 4 GiB " + s.Name, sizeOf(s, limit(4<<30)), []string{s.Label() + ": contents at", "past the end of the file"}})
		case s.Type == elf.SHT_REL || s.Type == elf.SHT_RELA:
			n := limit(1_000_000_000 * img.relocEntSize(s.Type == elf.SHT_RELA))
			n -= n % img.relocEntSize(s.Type == elf.SHT_RELA)
			out = append(out, hugeClaim{fmt.Sprintf("%s of %d entries", s.Label(), n/img.relocEntSize(s.Type == elf.SHT_RELA)), sizeOf(s, n), []string{s.Label() + ": contents at", "past the end of the file"}})
		case s.Type == elf.SHT_SYMTAB:
			n := limit(3_000_000_000 * img.symEntSize())
			n -= n % img.symEntSize()
			out = append(out, hugeClaim{fmt.Sprintf("%s of %d symbols", s.Label(), n/img.symEntSize()), sizeOf(s, n), []string{s.Label() + ": contents at", "past the end of the file"}})
		case s.Type == elf.SHT_NOBITS:
			out = append(out, hugeClaim{"a 4 GiB NOBITS " + s.Name, sizeOf(s, limit(4<<30)), nil})
		}
	}
	if len(img.Progs) > 0 {
		d := bytes.Clone(data)
		phnum := 44
		if is64 {
			phnum = 56
		}
		o.PutUint16(d[phnum:], 0xffff)
		out = append(out, hugeClaim{"65535 program headers", d, []string{"program header table: 65535 entries of", "past the end of the file"}})
	}
	return out
}

// hugeClaimFiles are the real files the claims are made from: a linked
// ELF32 image and ELF64 and ELF32 objects.
var hugeClaimFiles = []string{
	filepath.Join("..", "examples", "cortex-m3", "app.elf"),
	filepath.Join("..", "arena_blob", "aarch64.o"),
	filepath.Join("..", "testdata", "synth", "drivers_os-node_os-ts-cm3.o"),
}

// Nothing a header claims is allocated for: each claim is refused, or
// read, planned and applied, with a few MiB allocated in all.
func TestHugeClaimsAreRefusedWithoutAllocatingForThem(t *testing.T) {
	const budget = 16 << 20
	for _, path := range hugeClaimFiles {
		for _, c := range hugeClaims(t, path) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			img, err := Read(filepath.Base(path), c.data)
			if err == nil {
				Inspect(img, Options{Version: "test"})
				if p, perr := NewPlan(img, Options{Version: "test"}); perr == nil {
					p.Apply()
				}
			}
			runtime.ReadMemStats(&after)
			got := after.TotalAlloc - before.TotalAlloc
			if got > budget {
				t.Errorf("%s, %s: %d MiB allocated", path, c.name, got>>20)
			}
			t.Logf("%s, %s: %d KiB allocated: %v", filepath.Base(path), c.name, got>>10, err)
			switch {
			case c.want == nil:
			case err == nil:
				t.Errorf("%s, %s: read without an error", path, c.name)
			default:
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s, %s: %v; want it to say %q", path, c.name, err, w)
					}
				}
			}
		}
	}
}

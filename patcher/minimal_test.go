package patcher

import (
	"debug/elf"
	"fmt"
	"strings"
	"testing"
)

// span is a half-open range of file offsets.
type span struct {
	lo, hi uint64
	why    string
}

// allowedChanges is every place a patch may write: the sites, the slot, the
// symbol, string and relocation tables (where they were and where they
// are), the section and program header entries it names, the header
// fields that locate the section header table, and what it appends.
func allowedChanges(in, out *Image, p *Plan) []span {
	var s []span
	add := func(lo, n uint64, why string) { s = append(s, span{lo, lo + n, why}) }
	for _, site := range p.Sites {
		add(site.fileOff, uint64(len(site.bytes)), "site "+site.Section)
	}
	if p.Slot != nil {
		add(p.Slot.fileOff, p.Slot.Size, "slot")
	}
	for _, img := range []*Image{in, out} {
		for _, sec := range img.Sections {
			switch {
			case sec.Type == elf.SHT_SYMTAB, sec.Type == elf.SHT_STRTAB, sec.Type == elf.SHT_REL, sec.Type == elf.SHT_RELA, sec.Type == shtLLVMAddrsig:
				add(sec.Offset, sec.FileSize(), "table "+sec.Label())
			case sec.Name == provenanceSection:
				add(sec.Offset, sec.FileSize(), "provenance note")
			}
		}
	}
	// Section header entries: in the input, only those the plan changed;
	// the table itself may move (then the new copy is appended data).
	for k := range p.edit.shdr {
		add(in.shdrOff(k.index), uint64(in.Shentsize), "section header "+in.Sections[k.index].Label())
	}
	for k := range p.edit.phdr {
		add(in.phdrOff(k.index), uint64(in.Phentsize), fmt.Sprintf("program header %d", k.index))
	}
	if out.Shoff != in.Shoff {
		add(in.Shoff, uint64(len(in.Sections))*uint64(in.Shentsize), "old section header table")
		add(out.Shoff, uint64(len(out.Sections))*uint64(out.Shentsize), "new section header table")
		if in.Class == elf.ELFCLASS64 {
			add(40, 8, "e_shoff")
		} else {
			add(32, 4, "e_shoff")
		}
	}
	if len(out.Sections) != len(in.Sections) {
		if in.Class == elf.ELFCLASS64 {
			add(60, 2, "e_shnum")
		} else {
			add(48, 2, "e_shnum")
		}
		// A moved shstrtab, or sections added after the old end.
		for _, sec := range out.Sections[len(in.Sections):] {
			add(sec.Offset, sec.FileSize(), "added "+sec.Label())
		}
		sh := out.Sections[out.Shstrndx]
		add(sh.Offset, sh.FileSize(), "section names")
		sh = in.Sections[in.Shstrndx]
		add(sh.Offset, sh.FileSize(), "old section names")
	}
	add(uint64(len(in.Data)), ^uint64(0)>>1, "appended")
	return s
}

// checkMinimal fails the test for every byte that differs between in and
// out outside what the patch needed, and for every section header field
// the plan did not set.
func checkMinimal(t *testing.T, in, out *Image, p *Plan) {
	t.Helper()
	allowed := allowedChanges(in, out, p)
	unexplained := 0
	for off := range min(len(in.Data), len(out.Data)) {
		if in.Data[off] == out.Data[off] {
			continue
		}
		ok := false
		for _, a := range allowed {
			if uint64(off) >= a.lo && uint64(off) < a.hi {
				ok = true
				break
			}
		}
		if !ok {
			unexplained++
			if unexplained <= 5 {
				t.Errorf("byte at file offset %#x changed (%#02x -> %#02x) outside anything the patch needed", off, in.Data[off], out.Data[off])
			}
		}
	}
	if unexplained > 5 {
		t.Errorf("... %d unexplained bytes in all", unexplained)
	}
	// Section headers: every field of every section as it was, but for
	// sizes and offsets of the tables that grew and what the plan set.
	for i, a := range in.Sections {
		b := out.Sections[i]
		if a.Name != b.Name || a.Type != b.Type || a.Flags != b.Flags || a.Addr != b.Addr || a.Link != b.Link || a.Addralign != b.Addralign || a.Entsize != b.Entsize {
			t.Errorf("section %d header changed: %+v -> %+v", i, *a, *b)
		}
		table := a.Type == elf.SHT_SYMTAB || a.Type == elf.SHT_STRTAB || a.Type == elf.SHT_REL || a.Type == elf.SHT_RELA
		_, sized := p.edit.shdr[fieldKey{i, shSize}]
		if !table && !sized && (a.Size != b.Size || a.Offset != b.Offset) {
			t.Errorf("section %s moved or changed size: %#x+%#x -> %#x+%#x", a.Label(), a.Offset, a.Size, b.Offset, b.Size)
		}
		_, info := p.edit.shdr[fieldKey{i, shInfo}]
		if a.Info != b.Info && !info {
			t.Errorf("section %s: sh_info %d -> %d", a.Label(), a.Info, b.Info)
		}
	}
	// Program headers: only the memory size the plan set.
	for i, a := range in.Progs {
		b := *out.Progs[i]
		if _, ok := p.edit.phdr[fieldKey{i, phMemsz}]; ok {
			b.Memsz = a.Memsz
		}
		if *a != b {
			t.Errorf("program header %d changed: %+v -> %+v", i, *a, *out.Progs[i])
		}
	}
}

func TestAPatchChangesNothingItDoesNotNeed(t *testing.T) {
	kebabOnly := strings.NewReplacer("bl __cabi_arena_realloc\n", "", "ldr r1, =__cabi_arena_realloc\n", "", ".word __cabi_arena_realloc - .\n", "").Replace(sitesAsm)
	for _, c := range []struct {
		name string
		spec imageSpec
		opts Options
	}{
		{"GNU ld, every site type", imageSpec{}, Options{}},
		{"LLD, every site type, resized", imageSpec{linker: "lld", arenaSize: 8192}, Options{ArenaSize: 1024, SetSize: true}},
		{"GNU ld, the tables grow", imageSpec{asm: kebabOnly}, Options{}},
		{"LLD, the tables grow", imageSpec{asm: kebabOnly, linker: "lld"}, Options{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := readImage(t, buildImage(t, c.spec))
			p, out := patched(t, in, c.opts)
			checkMinimal(t, in, out, p)
			// A resize of the patched image touches even less.
			p2, out2 := patched(t, out, Options{ArenaSize: 2048, SetSize: true})
			checkMinimal(t, out, out2, p2)
		})
	}
}

func TestPatchingAnObjectChangesNothingItDoesNotNeed(t *testing.T) {
	needTools(t, "arm-none-eabi-objcopy")
	in, _ := synthImport(t, t.TempDir(), "drivers_iso-core-fused-cm3.o", "cabi-arena-realloc")
	img := readImage(t, in)
	p, out := patched(t, img, Options{ArenaSize: 4096, SetSize: true})
	checkMinimal(t, img, out, p)
	p2, out2 := patched(t, out, Options{ArenaSize: 8192, SetSize: true})
	checkMinimal(t, out, out2, p2)
}

package arenablob

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"sort"
	"testing"
)

// The interface the patcher depends on, checked on the ELF structure of each
// object (no tools needed).

const (
	codeSection = ".text.__cabi_arena_realloc"
	entrySym    = "__cabi_arena_realloc"
	hookSym     = "__cabi_arena_exhausted"
)

// shape is what one variant's object must look like.
type shape struct {
	machine elf.Machine
	class   elf.Class
	thumb   bool // the entry symbol carries the Thumb bit
	// data lists, in a fixed order, the relocation types each of the three
	// data symbols is referred to with, exactly once each.
	data []uint32
	// call is the relocation type of the one call to the hook; the call
	// instruction starts callAt bytes before the relocated place and is
	// callLen bytes long; trap is the permanently undefined instruction
	// that follows it.
	call    uint32
	callAt  uint64
	callLen uint64
	trap    []byte
	// rvc: the RISC-V object is marked as holding compressed code.
	rvc bool
}

var armShape = shape{
	machine: elf.EM_ARM, class: elf.ELFCLASS32, thumb: true,
	data: []uint32{uint32(elf.R_ARM_ABS32)},
	call: uint32(elf.R_ARM_THM_PC22), callLen: 4, // R_ARM_THM_CALL (10)
	trap: []byte{0x00, 0xde}, // udf #0
}

var riscvData = []uint32{uint32(elf.R_RISCV_HI20), uint32(elf.R_RISCV_LO12_I)}

var shapes = map[string]shape{
	"thumb2": armShape,
	"thumb1": armShape,
	"rv32c": {
		machine: elf.EM_RISCV, class: elf.ELFCLASS32, data: riscvData, rvc: true,
		call: uint32(elf.R_RISCV_CALL_PLT), callLen: 8,
		trap: []byte{0x00, 0x00}, // c.unimp
	},
	"rv32": {
		machine: elf.EM_RISCV, class: elf.ELFCLASS32, data: riscvData,
		call: uint32(elf.R_RISCV_CALL_PLT), callLen: 8,
		trap: []byte{0x73, 0x10, 0x00, 0xc0}, // unimp: csrrw x0, cycle, x0
	},
	"aarch64": {
		machine: elf.EM_AARCH64, class: elf.ELFCLASS64,
		data: []uint32{uint32(elf.R_AARCH64_ADR_PREL_PG_HI21), uint32(elf.R_AARCH64_ADD_ABS_LO12_NC)},
		call: uint32(elf.R_AARCH64_CALL26), callLen: 4,
		trap: []byte{0, 0, 0, 0}, // udf #0
	},
	"x86_64": {
		machine: elf.EM_X86_64, class: elf.ELFCLASS64,
		data: []uint32{uint32(elf.R_X86_64_PC32)},
		call: uint32(elf.R_X86_64_PLT32), callAt: 1, callLen: 5, // e8 rel32
		trap: []byte{0x0f, 0x0b}, // ud2
	},
}

var dataSyms = []string{"__elfpatch_state", "__elfpatch_arena_start", "__elfpatch_arena_end"}

type reloc struct {
	off uint64
	typ uint32
	sym int // index into the symbol table (0 is the null symbol)
}

// relocsOf reads every relocation that applies to section target.
func relocsOf(f *elf.File, target int) ([]reloc, error) {
	var out []reloc
	for _, s := range f.Sections {
		if (s.Type != elf.SHT_REL && s.Type != elf.SHT_RELA) || int(s.Info) != target {
			continue
		}
		b, err := s.Data()
		if err != nil {
			return nil, err
		}
		var size int
		switch {
		case f.Class == elf.ELFCLASS32 && s.Type == elf.SHT_REL:
			size = 8
		case f.Class == elf.ELFCLASS32:
			size = 12
		case s.Type == elf.SHT_REL:
			size = 16
		default:
			size = 24
		}
		if len(b)%size != 0 {
			return nil, fmt.Errorf("%s: size %d is not a multiple of %d", s.Name, len(b), size)
		}
		for ; len(b) > 0; b = b[size:] {
			if f.Class == elf.ELFCLASS32 {
				info := binary.LittleEndian.Uint32(b[4:])
				out = append(out, reloc{uint64(binary.LittleEndian.Uint32(b)), info & 0xff, int(info >> 8)})
			} else {
				info := binary.LittleEndian.Uint64(b[8:])
				out = append(out, reloc{binary.LittleEndian.Uint64(b), uint32(info), int(info >> 32)})
			}
		}
	}
	return out, nil
}

func relocName(m elf.Machine, t uint32) string {
	switch m {
	case elf.EM_ARM:
		return elf.R_ARM(t).String()
	case elf.EM_RISCV:
		return elf.R_RISCV(t).String()
	case elf.EM_AARCH64:
		return elf.R_AARCH64(t).String()
	case elf.EM_X86_64:
		return elf.R_X86_64(t).String()
	}
	return fmt.Sprint(t)
}

func TestEveryObjectHasOneCodeSectionDefiningTheAllocator(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name, func(t *testing.T) {
			want, ok := shapes[v.Name]
			if !ok {
				t.Fatalf("no expected shape recorded for %s", v.Name)
			}
			f, err := elf.NewFile(bytes.NewReader(v.Object))
			if err != nil {
				t.Fatal(err)
			}
			if f.Type != elf.ET_REL || f.Machine != want.machine || f.Class != want.class || f.Data != elf.ELFDATA2LSB {
				t.Fatalf("object is %v %v %v %v, want ET_REL %v %v little-endian", f.Type, f.Machine, f.Class, f.Data, want.machine, want.class)
			}
			code := -1
			for i, s := range f.Sections {
				if s.Flags&elf.SHF_ALLOC == 0 || s.Size == 0 {
					continue
				}
				if s.Name != codeSection || s.Type != elf.SHT_PROGBITS || s.Flags&elf.SHF_EXECINSTR == 0 || code >= 0 {
					t.Errorf("allocated section %s (%v, %v, %d bytes): only %s may hold bytes", s.Name, s.Type, s.Flags, s.Size, codeSection)
					continue
				}
				code = i
			}
			if code < 0 {
				t.Fatalf("no %s section with code", codeSection)
			}
			syms, err := f.Symbols()
			if err != nil {
				t.Fatal(err)
			}
			checkEntry(t, f, syms, entrySym, code, want.thumb)
			var undef []string
			for _, s := range syms {
				if s.Section != elf.SHN_UNDEF {
					continue
				}
				bind := elf.STB_GLOBAL
				if s.Name == hookSym {
					bind = elf.STB_WEAK
				}
				if elf.ST_BIND(s.Info) != bind {
					t.Errorf("undefined %s is %v, want %v", s.Name, elf.ST_BIND(s.Info), bind)
				}
				undef = append(undef, s.Name)
			}
			sort.Strings(undef)
			wantUndef := append([]string{hookSym}, dataSyms...)
			sort.Strings(wantUndef)
			if fmt.Sprint(undef) != fmt.Sprint(wantUndef) {
				t.Errorf("undefined symbols %v, want %v", undef, wantUndef)
			}
		})
	}
}

func TestEveryObjectReferencesOnlyTheFourSymbolsWithTheListedRelocations(t *testing.T) {
	for _, v := range Variants() {
		t.Run(v.Name, func(t *testing.T) {
			want := shapes[v.Name]
			f, err := elf.NewFile(bytes.NewReader(v.Object))
			if err != nil {
				t.Fatal(err)
			}
			code := -1
			for i, s := range f.Sections {
				if s.Name == codeSection {
					code = i
				}
				if (s.Type == elf.SHT_REL || s.Type == elf.SHT_RELA) && f.Sections[s.Info].Name != codeSection {
					t.Errorf("%s relocates %s", s.Name, f.Sections[s.Info].Name)
				}
			}
			if code < 0 {
				t.Fatalf("no %s", codeSection)
			}
			text, err := f.Sections[code].Data()
			if err != nil {
				t.Fatal(err)
			}
			syms, err := f.Symbols()
			if err != nil {
				t.Fatal(err)
			}
			rs, err := relocsOf(f, code)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, r := range rs {
				if r.sym < 1 || r.sym > len(syms) {
					t.Errorf("relocation at %#x refers to symbol %d", r.off, r.sym)
					continue
				}
				name := syms[r.sym-1].Name
				got[name] = append(got[name], relocName(want.machine, r.typ))
				if name != hookSym {
					continue
				}
				if r.typ != want.call {
					continue // reported below
				}
				start := r.off - want.callAt
				end := start + want.callLen
				if r.off < want.callAt || end+uint64(len(want.trap)) > uint64(len(text)) {
					t.Errorf("the call at %#x does not fit in the code", start)
					continue
				}
				if after := text[end : end+uint64(len(want.trap))]; !bytes.Equal(after, want.trap) {
					t.Errorf("the call at %#x is followed by % x, want the undefined instruction % x", start, after, want.trap)
				}
			}
			wantRefs := map[string][]string{hookSym: {relocName(want.machine, want.call)}}
			for _, d := range dataSyms {
				for _, typ := range want.data {
					wantRefs[d] = append(wantRefs[d], relocName(want.machine, typ))
				}
			}
			for _, m := range []map[string][]string{got, wantRefs} {
				for _, l := range m {
					sort.Strings(l)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(wantRefs) {
				t.Errorf("relocations by symbol:\n got %v\nwant %v", got, wantRefs)
			}
			if want.machine == elf.EM_RISCV {
				flags := riscvFlags(v.Object)
				if rvc := flags&0x1 != 0; rvc != want.rvc {
					t.Errorf("EF_RISCV_RVC is %v, want %v", rvc, want.rvc)
				}
				if flags&^0x1 != 0 {
					t.Errorf("e_flags %#x: want the soft-float ilp32 ABI and no RVE, TSO or other flag", flags)
				}
			}
		})
	}
}

// riscvFlags returns e_flags of an ELF32 object (debug/elf does not keep it).
func riscvFlags(obj []byte) uint32 {
	return binary.LittleEndian.Uint32(obj[0x24:])
}

// checkEntry checks that name is defined once, as a global function that
// is the whole of section code (with the Thumb bit where thumb).
func checkEntry(t *testing.T, f *elf.File, syms []elf.Symbol, name string, code int, thumb bool) {
	t.Helper()
	entries := 0
	for _, s := range syms {
		if s.Name != name || s.Section == elf.SHN_UNDEF {
			continue
		}
		entries++
		if elf.ST_BIND(s.Info) != elf.STB_GLOBAL || elf.ST_TYPE(s.Info) != elf.STT_FUNC || int(s.Section) != code {
			t.Errorf("%s is %v %v in section %d, want a global function in %s", name, elf.ST_BIND(s.Info), elf.ST_TYPE(s.Info), s.Section, f.Sections[code].Name)
		}
		entry := uint64(0)
		if thumb {
			entry = 1
		}
		if s.Value != entry || s.Size != f.Sections[code].Size {
			t.Errorf("%s at %#x size %d, want %#x size %d (the whole section)", name, s.Value, s.Size, entry, f.Sections[code].Size)
		}
	}
	if entries != 1 {
		t.Errorf("%d definitions of %s, want 1", entries, name)
	}
}

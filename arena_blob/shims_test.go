package arenablob

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pulseengine/elfpatch/relocs"
)

// The pointer-base shims: what the patcher depends on (one code section,
// one entry, two symbols it resolves, relocation types its engine applies)
// and what each shim promises about its instructions.

const (
	absSym  = "__elfpatch_realloc_abs"
	baseSym = "__elfpatch_pointer_base"
)

// shimShape is what one shim's object must look like.
type shimShape struct {
	machine elf.Machine
	class   elf.Class
	thumb   bool
	// refs lists, per symbol, the relocation types it is referred to with
	// (each once per listed type).
	refs map[string][]uint32
}

var shimShapes = map[string]shimShape{
	"shim_thumb": {
		machine: elf.EM_ARM, class: elf.ELFCLASS32, thumb: true,
		refs: map[string][]uint32{
			absSym:  {uint32(elf.R_ARM_THM_PC22), uint32(elf.R_ARM_THM_JUMP11)}, // R_ARM_THM_CALL (10), the tail B
			baseSym: {uint32(elf.R_ARM_ABS32)},
		},
	},
	"shim_rv32": {
		machine: elf.EM_RISCV, class: elf.ELFCLASS32,
		refs: map[string][]uint32{
			absSym:  {uint32(elf.R_RISCV_CALL_PLT), uint32(elf.R_RISCV_CALL_PLT)}, // CALL, TAIL
			baseSym: {uint32(elf.R_RISCV_HI20), uint32(elf.R_RISCV_LO12_I)},
		},
	},
	"shim_aarch64": {
		machine: elf.EM_AARCH64, class: elf.ELFCLASS64,
		refs: map[string][]uint32{
			absSym:  {uint32(elf.R_AARCH64_CALL26), uint32(elf.R_AARCH64_JUMP26)},
			baseSym: {uint32(elf.R_AARCH64_ADR_PREL_PG_HI21), uint32(elf.R_AARCH64_ADD_ABS_LO12_NC)},
		},
	},
	"shim_x86_64": {
		machine: elf.EM_X86_64, class: elf.ELFCLASS64,
		refs: map[string][]uint32{
			absSym:  {uint32(elf.R_X86_64_PLT32), uint32(elf.R_X86_64_PLT32)}, // CALL, JZ
			baseSym: {uint32(elf.R_X86_64_PC32)},
		},
	},
}

func TestEmbeddedShimsMatchRecordedHashes(t *testing.T) {
	for _, s := range Shims() {
		sum := sha256.Sum256(s.Object)
		if got := hex.EncodeToString(sum[:]); got != s.SHA256 {
			t.Errorf("%s: embedded object hashes to %s, recorded %s", s.Name, got, s.SHA256)
		}
	}
}

func TestShimsOnePerFamilyServingEveryVariant(t *testing.T) {
	ss := Shims()
	want := []struct{ name, family string }{
		{"shim_thumb", "arm"}, {"shim_rv32", "riscv"}, {"shim_aarch64", "aarch64"}, {"shim_x86_64", "x86_64"},
	}
	if len(ss) != len(want) {
		t.Fatalf("have %d shims, want %d", len(ss), len(want))
	}
	served := map[string]string{}
	for i, s := range ss {
		if s.Name != want[i].name || s.Family != want[i].family {
			t.Errorf("shim %d is %q for %q, want %q for %q", i, s.Name, s.Family, want[i].name, want[i].family)
		}
		if got, ok := ShimFor(s.Family); !ok || got.Name != s.Name {
			t.Errorf("ShimFor(%q) does not find %s", s.Family, s.Name)
		}
		if s.Source == "" || len(s.Object) == 0 || len(s.Serves) == 0 {
			t.Errorf("%s: incomplete entry", s.Name)
		}
		if _, err := os.Stat(s.Source); err != nil {
			t.Errorf("%s: source: %v", s.Name, err)
		}
		f, err := elf.NewFile(bytes.NewReader(s.Object))
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		for _, name := range s.Serves {
			if other, dup := served[name]; dup {
				t.Errorf("%s is served by %s and %s", name, other, s.Name)
			}
			served[name] = s.Name
			v, ok := ByName(name)
			if !ok {
				t.Errorf("%s serves %q, which is no allocator variant", s.Name, name)
				continue
			}
			vf, err := elf.NewFile(bytes.NewReader(v.Object))
			if err != nil {
				t.Fatalf("%s: %v", v.Name, err)
			}
			if vf.Machine != f.Machine || vf.Class != f.Class {
				t.Errorf("%s (%v %v) serves %s (%v %v)", s.Name, f.Machine, f.Class, v.Name, vf.Machine, vf.Class)
			}
		}
	}
	for _, v := range Variants() {
		if _, ok := served[v.Name]; !ok {
			t.Errorf("no shim serves the allocator %s", v.Name)
		}
	}
	if _, ok := ShimFor("mips"); ok {
		t.Errorf("ShimFor finds a shim for a family elfpatch has no allocator for")
	}
}

func TestEveryShimHasOneCodeSectionDefiningTheEntry(t *testing.T) {
	for _, s := range Shims() {
		t.Run(s.Name, func(t *testing.T) {
			want, ok := shimShapes[s.Name]
			if !ok {
				t.Fatalf("no expected shape recorded for %s", s.Name)
			}
			f, code := shimCode(t, s)
			if f.Type != elf.ET_REL || f.Machine != want.machine || f.Class != want.class || f.Data != elf.ELFDATA2LSB {
				t.Fatalf("object is %v %v %v %v, want ET_REL %v %v little-endian", f.Type, f.Machine, f.Class, f.Data, want.machine, want.class)
			}
			syms, err := f.Symbols()
			if err != nil {
				t.Fatal(err)
			}
			checkEntry(t, f, syms, entrySym, code, want.thumb)
			var undef []string
			for _, sym := range syms {
				if sym.Section == elf.SHN_UNDEF {
					if elf.ST_BIND(sym.Info) != elf.STB_GLOBAL {
						t.Errorf("undefined %s is %v, want %v", sym.Name, elf.ST_BIND(sym.Info), elf.STB_GLOBAL)
					}
					undef = append(undef, sym.Name)
					continue
				}
				if sym.Name != entrySym && elf.ST_BIND(sym.Info) != elf.STB_LOCAL {
					t.Errorf("%s defines %s (%v) besides %s", s.Name, sym.Name, elf.ST_BIND(sym.Info), entrySym)
				}
			}
			sort.Strings(undef)
			if wantUndef := []string{baseSym, absSym}; fmt.Sprint(undef) != fmt.Sprint(wantUndef) { // both sorted
				t.Errorf("undefined symbols %v, want %v", undef, wantUndef)
			}
		})
	}
}

func TestEveryShimReferencesOnlyTheTwoSymbolsWithTheListedRelocations(t *testing.T) {
	for _, s := range Shims() {
		t.Run(s.Name, func(t *testing.T) {
			want := shimShapes[s.Name]
			f, code := shimCode(t, s)
			for _, sec := range f.Sections {
				if (sec.Type == elf.SHT_REL || sec.Type == elf.SHT_RELA) && int(sec.Info) != code {
					t.Errorf("%s relocates %s", sec.Name, f.Sections[sec.Info].Name)
				}
			}
			rs := shimRelocs(t, f, code)
			got := map[string][]string{}
			for _, r := range rs {
				got[r.name] = append(got[r.name], relocName(want.machine, r.typ))
			}
			wantRefs := map[string][]string{}
			for name, types := range want.refs {
				for _, typ := range types {
					wantRefs[name] = append(wantRefs[name], relocName(want.machine, typ))
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
				if flags := riscvFlags(s.Object); flags != 0 {
					t.Errorf("e_flags %#x: want 0 (no RVC: the shim runs on cores without C; soft-float ilp32, no RVE flag)", flags)
				}
			}
		})
	}
}

// The shim is linked by elfpatch's own engine (relocs), not a linker: every
// relocation must be one it applies to the instruction the assembler chose,
// and the result must call and tail-call the allocator placed after the
// shim and load the base.
func TestShimRelocationsLinkWithThePatchersEngine(t *testing.T) {
	for _, s := range Shims() {
		t.Run(s.Name, func(t *testing.T) {
			f, code := shimCode(t, s)
			text, err := f.Sections[code].Data()
			if err != nil {
				t.Fatal(err)
			}
			text = append([]byte(nil), text...)
			slot, base := uint64(0x0800_1000), uint64(0x2000_0404)
			if f.Class == elf.ELFCLASS64 {
				slot, base = 0x40_1000, 0x61_2344
			}
			// The allocator follows the shim, aligned as the largest of
			// the allocator sections (x86-64: 16).
			alloc := slot + (uint64(len(text))+15)&^15
			rs := shimRelocs(t, f, code)
			hi, lo := int64(0), int64(0)
			for _, r := range rs {
				S := base
				if r.name == absSym {
					S = alloc
				}
				P := slot + r.off
				where := fmt.Sprintf("%s at %#x", relocName(f.Machine, r.typ), r.off)
				switch f.Machine {
				case elf.EM_ARM:
					typ := elf.R_ARM(r.typ)
					loc := text[r.off : r.off+4]
					if typ == elf.R_ARM_THM_JUMP11 {
						loc = text[r.off : r.off+2]
					}
					A, err := relocs.ARMAddend(typ, loc)
					if err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					// The allocator is Thumb code: the patcher must resolve
					// __elfpatch_realloc_abs as such (T), or a BL would
					// become a BLX into ARM state.
					if err := relocs.ARMApply(typ, loc, relocs.Values{S: S, A: A, P: P, T: r.name == absSym}); err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					if typ == elf.R_ARM_ABS32 {
						if got := binary.LittleEndian.Uint32(loc); uint64(got) != base {
							t.Errorf("%s: the literal holds %#x, want the base %#x", where, got, base)
						}
						continue
					}
					to, blx, err := relocs.ARMBranchTarget(loc, P)
					if err != nil || blx || to != alloc {
						t.Errorf("%s: branches to %#x (BLX %v, %v), want the allocator at %#x", where, to, blx, err, alloc)
					}
				case elf.EM_RISCV:
					typ := elf.R_RISCV(r.typ)
					loc := text[r.off : r.off+4]
					if typ == elf.R_RISCV_CALL_PLT {
						loc = text[r.off : r.off+8]
					}
					if err := relocs.RISCVApply(typ, loc, relocs.Values{S: S, A: r.addend, P: P}); err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					v, err := relocs.RISCVField(typ, loc)
					if err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					switch typ {
					case elf.R_RISCV_CALL_PLT:
						if uint32(v) != uint32(alloc-P) {
							t.Errorf("%s: reaches %#x, want the allocator at %#x", where, uint32(int64(P)+v), alloc)
						}
					case elf.R_RISCV_HI20:
						hi = v
					case elf.R_RISCV_LO12_I:
						lo = v
					}
				case elf.EM_AARCH64:
					typ := elf.R_AARCH64(r.typ)
					loc := text[r.off : r.off+4]
					if err := relocs.AArch64Apply(typ, loc, relocs.Values{S: S, A: r.addend, P: P}); err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					v, err := relocs.AArch64Field(typ, loc)
					if err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					var want int64
					switch typ {
					case elf.R_AARCH64_CALL26, elf.R_AARCH64_JUMP26:
						want = int64(alloc - P)
					case elf.R_AARCH64_ADR_PREL_PG_HI21:
						want = int64(base&^0xfff) - int64(P&^0xfff)
					case elf.R_AARCH64_ADD_ABS_LO12_NC:
						want = int64(base & 0xfff)
					}
					if v != want {
						t.Errorf("%s: field %#x, want %#x", where, v, want)
					}
				case elf.EM_X86_64:
					typ := elf.R_X86_64(r.typ)
					loc := text[r.off : r.off+4]
					before := text[r.off-min(r.off, 3) : r.off]
					if err := relocs.X86_64Check(typ, loc, before); err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					if err := relocs.X86_64Apply(typ, loc, relocs.Values{S: S, A: r.addend, P: P}); err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					v, err := relocs.X86_64Field(typ, loc)
					if err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					// rel32 counts from the end of the instruction, which
					// the field ends (the addend is -4).
					if got := uint64(int64(P) + 4 + v); got != S {
						t.Errorf("%s: reaches %#x, want %#x", where, got, S)
					}
				}
			}
			if f.Machine == elf.EM_RISCV && uint32(hi+lo) != uint32(base) {
				t.Errorf("LUI + ADDI make %#x, want the base %#x", uint32(hi+lo), base)
			}
		})
	}
}

// ARMv6-M: 16-bit instructions and BL only, so one shim serves thumb1 and
// thumb2 images; the tail call is a 16-bit B.
func TestShimThumbHasOnlyInstructionsARMv6MExecutes(t *testing.T) {
	s := shimNamed(t, "shim_thumb")
	v := Variant{Name: s.Name, Object: s.Object}
	is := disassemble(t, v, "--triple=thumbv6m-none-eabi")
	covered(t, v, is)
	inPool, words, bls, bs := false, 0, 0, 0
	for _, i := range is {
		if i.data() {
			inPool = true
			words++
			if i.size != 4 || i.mnemonic != ".word" {
				t.Errorf("%v: the pool holds words only", i)
			}
			continue
		}
		if inPool {
			t.Errorf("%v: code after the literal pool", i)
		}
		switch {
		case i.size == 4 && i.mnemonic == "bl":
			bls++
		case i.size == 2:
			if i.mnemonic == "b" {
				bs++
			}
		default:
			t.Errorf("%v: a %d-byte instruction; the shim has 16-bit ones and BL only", i, i.size)
		}
		for _, bad := range []string{"cbz", "cbnz", "blx", "ldrex", "strex", "udf.w"} {
			if i.mnemonic == bad || (strings.HasPrefix(i.mnemonic, "it") && len(i.mnemonic) <= 5) {
				t.Errorf("%v: not an ARMv6-M instruction", i)
				break
			}
		}
	}
	if bls != 1 || bs != 1 || words != 1 {
		t.Errorf("%d BL, %d B, %d literal words; want one call, one tail call and the base", bls, bs, words)
	}
}

func TestShimRV32HasNoCompressedInstructionAndOnlyX1ToX15(t *testing.T) {
	s := shimNamed(t, "shim_rv32")
	v := Variant{Name: s.Name, Object: s.Object}
	code := codeBytes(t, v)
	if len(code)%4 != 0 {
		t.Fatalf("code is %d bytes, not whole 32-bit instructions", len(code))
	}
	for off := 0; off < len(code); off += 4 {
		if w := binary.LittleEndian.Uint32(code[off:]); w&3 != 3 {
			t.Errorf("%#x: %08x is not a 32-bit instruction", off, w)
		}
	}
	base := map[string]bool{}
	for _, m := range rv32iMnemonics {
		base[m] = true
	}
	is := disassemble(t, v, "--triple=riscv32", "--mattr=-c", "-M", "numeric")
	covered(t, v, is)
	regs := 0
	for _, i := range is {
		if i.size != 4 {
			t.Errorf("%v: %d bytes", i, i.size)
		}
		if !base[i.mnemonic] {
			t.Errorf("%v: not in RV32I", i)
		}
		for _, m := range xReg.FindAllStringSubmatch(i.operands, -1) {
			regs++
			if n, _ := strconv.Atoi(m[1]); n > 15 {
				t.Errorf("%v: x%d does not exist on RV32E", i, n)
			}
		}
	}
	if regs == 0 {
		t.Errorf("no register operand read: is -M numeric still understood?")
	}
	// The same bytes decode the same with C enabled: nothing in them is
	// read as a compressed instruction on an rv32c core either.
	withC := disassemble(t, v, "--triple=riscv32", "--mattr=+c", "-M", "numeric")
	if fmt.Sprint(withC) != fmt.Sprint(is) {
		t.Errorf("the shim decodes differently with C:\n%v\n%v", withC, is)
	}
}

func TestShimAArch64AndX86_64DecodeCompletely(t *testing.T) {
	for _, c := range []struct{ name, triple, call, tail string }{
		{"shim_aarch64", "aarch64", "bl", "b"},
		{"shim_x86_64", "x86_64", "callq", "je"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := shimNamed(t, c.name)
			v := Variant{Name: s.Name, Object: s.Object}
			is := disassemble(t, v, "--triple="+c.triple)
			covered(t, v, is)
			calls, tails := 0, 0
			for _, i := range is {
				switch strings.TrimSuffix(i.mnemonic, "q") {
				case strings.TrimSuffix(c.call, "q"):
					calls++
				case c.tail:
					tails++
				}
			}
			if calls != 1 || tails != 1 {
				t.Errorf("%d calls and %d tail calls, want one of each", calls, tails)
			}
			if last := is[len(is)-1]; strings.TrimSuffix(last.mnemonic, "q") != "ret" {
				t.Errorf("ends with %v, want ret", last)
			}
		})
	}
}

func shimNamed(t *testing.T, name string) Shim {
	t.Helper()
	for _, s := range Shims() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no shim %s", name)
	return Shim{}
}

// shimCode parses a shim and returns the index of its one code section,
// failing when any other allocated section holds bytes.
func shimCode(t *testing.T, s Shim) (*elf.File, int) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(s.Object))
	if err != nil {
		t.Fatal(err)
	}
	code := -1
	for i, sec := range f.Sections {
		if sec.Flags&elf.SHF_ALLOC == 0 || sec.Size == 0 {
			continue
		}
		if sec.Name != codeSection || sec.Type != elf.SHT_PROGBITS || sec.Flags&elf.SHF_EXECINSTR == 0 || code >= 0 {
			t.Errorf("allocated section %s (%v, %v, %d bytes): only %s may hold bytes", sec.Name, sec.Type, sec.Flags, sec.Size, codeSection)
			continue
		}
		code = i
	}
	if code < 0 {
		t.Fatalf("no %s section with code", codeSection)
	}
	return f, code
}

// shimReloc is one relocation of a shim's code, with its symbol's name and
// (RELA) addend.
type shimReloc struct {
	off    uint64
	typ    uint32
	name   string
	addend int64
}

func shimRelocs(t *testing.T, f *elf.File, code int) []shimReloc {
	t.Helper()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := relocsOf(f, code)
	if err != nil {
		t.Fatal(err)
	}
	// relocsOf reads the entries in order; the addends of RELA entries
	// follow here, read the same way.
	var addends []int64
	for _, sec := range f.Sections {
		if sec.Type != elf.SHT_RELA || int(sec.Info) != code {
			continue
		}
		b, err := sec.Data()
		if err != nil {
			t.Fatal(err)
		}
		size, at := 24, 16
		if f.Class == elf.ELFCLASS32 {
			size, at = 12, 8
		}
		for ; len(b) >= size; b = b[size:] {
			if f.Class == elf.ELFCLASS32 {
				addends = append(addends, int64(int32(binary.LittleEndian.Uint32(b[at:]))))
			} else {
				addends = append(addends, int64(binary.LittleEndian.Uint64(b[at:])))
			}
		}
	}
	if len(addends) != 0 && len(addends) != len(rs) {
		t.Fatalf("%d addends for %d relocations", len(addends), len(rs))
	}
	text := f.Sections[code].Size
	var out []shimReloc
	for k, r := range rs {
		if r.sym < 1 || r.sym > len(syms) {
			t.Fatalf("relocation at %#x refers to symbol %d", r.off, r.sym)
		}
		if r.off >= text {
			t.Fatalf("relocation at %#x lies outside the %d bytes of code", r.off, text)
		}
		sr := shimReloc{off: r.off, typ: r.typ, name: syms[r.sym-1].Name}
		if len(addends) != 0 {
			sr.addend = addends[k]
		}
		out = append(out, sr)
	}
	return out
}

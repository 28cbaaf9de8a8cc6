package relocs

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// An rvSite is one line of testdata/riscv/sites.txt: a relocation as a real
// assembler left it in an object and a real linker resolved it in an image.
// gen.sh in that directory says how they were made.
type rvSite struct {
	producer, name string // producer: "gnu" or "llvm"
	typ            elf.R_RISCV
	P, S           uint64
	A              int64
	object, linked []byte
	objdump        string // GNU objdump's reading of linked (od's for a data word)
}

func (s rvSite) String() string { return s.producer + "/" + s.name + "@" + fmt.Sprintf("%#x", s.P) }

func (s rvSite) values() Values { return Values{S: s.S, A: s.A, P: s.P} }

func (s rvSite) siteName() string { return s.name }

// undefined reports whether the site refers to the import nobody defines.
func (s rvSite) undefined() bool { return strings.HasPrefix(s.name, "undef_") }

var rvTypeByName = func() map[string]elf.R_RISCV {
	m := map[string]elf.R_RISCV{}
	for _, t := range []elf.R_RISCV{elf.R_RISCV_32, elf.R_RISCV_64, elf.R_RISCV_CALL, elf.R_RISCV_CALL_PLT,
		elf.R_RISCV_JAL, elf.R_RISCV_BRANCH, elf.R_RISCV_RVC_JUMP, elf.R_RISCV_RVC_BRANCH,
		elf.R_RISCV_HI20, elf.R_RISCV_LO12_I, elf.R_RISCV_LO12_S,
		elf.R_RISCV_PCREL_HI20, elf.R_RISCV_PCREL_LO12_I, elf.R_RISCV_PCREL_LO12_S} {
		m[RISCVTypeName(t)] = t
	}
	return m
}()

func loadRVSites(t *testing.T) []rvSite {
	t.Helper()
	var sites []rvSite
	for _, r := range readSites(t, "testdata/riscv/sites.txt") {
		sites = append(sites, rvSite{producer: r.producer(), name: r.name(), typ: typeNamed(t, r, rvTypeByName),
			P: r.P, S: r.S, A: r.addend(t), object: r.bytes(t, 6), linked: r.bytes(t, 7), objdump: r.objdump()})
	}
	return sites
}

// rvSitesNamed returns the rows of the sites with these names from every
// producer, and fails the test for a name no producer has.
func rvSitesNamed(t *testing.T, names ...string) []rvSite {
	t.Helper()
	return pickSites(t, loadRVSites(t), names...)
}

// rvSiteOf returns the first row of the site with this name and type.
func rvSiteOf(t *testing.T, name string, typ elf.R_RISCV) rvSite {
	t.Helper()
	return firstSite(t, rvSitesNamed(t, name), func(s rvSite) bool { return s.typ == typ }, "no "+RISCVTypeName(typ)+" row for site "+name)
}

// rvHiOf finds the R_RISCV_PCREL_HI20 a PCREL_LO12 row's symbol labels: the
// row of the same producer at the label's address.
func rvHiOf(t *testing.T, lo rvSite) rvSite {
	t.Helper()
	for _, s := range loadRVSites(t) {
		if s.producer == lo.producer && s.typ == elf.R_RISCV_PCREL_HI20 && s.P == uint64(int64(lo.S)+lo.A) {
			return s
		}
	}
	t.Fatalf("%v: no R_RISCV_PCREL_HI20 at %#x", lo, lo.S)
	return rvSite{}
}

// rvRelink applies a row's relocation to the object's bytes as the linker
// did, the PC-relative LO12 types with the value of their auipc's HI20.
func rvRelink(t *testing.T, s rvSite) []byte {
	t.Helper()
	loc := slices.Clone(s.object)
	switch s.typ {
	case elf.R_RISCV_PCREL_LO12_I, elf.R_RISCV_PCREL_LO12_S:
		hi := rvHiOf(t, s)
		if err := RISCVApplyPCRelLo(s.typ, loc, int64(hi.S)+hi.A-int64(hi.P)); err != nil {
			t.Fatalf("%v: RISCVApplyPCRelLo: %v", s, err)
		}
	default:
		if err := RISCVApply(s.typ, loc, s.values()); err != nil {
			t.Fatalf("%v: RISCVApply(%s, %+v): %v", s, RISCVTypeName(s.typ), s.values(), err)
		}
	}
	return loc
}

func TestRISCVEverySiteAppliesAsTheLinkerDid(t *testing.T) {
	for _, s := range loadRVSites(t) {
		if s.undefined() {
			continue // see TestRISCVUndefinedImportSitesHoldWhatEachLinkerWrites
		}
		t.Run(s.producer+"/"+s.name+"/"+RISCVTypeName(s.typ), func(t *testing.T) {
			if got := rvRelink(t, s); !bytes.Equal(got, s.linked) {
				t.Errorf("%s: wrote % x, the linker wrote % x (%s)", RISCVTypeName(s.typ), got, s.linked, s.objdump)
			}
		})
	}
}

func TestRISCVFieldReadsWhatTheLinkerMeant(t *testing.T) {
	for _, s := range loadRVSites(t) {
		if s.undefined() {
			continue
		}
		got, err := RISCVField(s.typ, s.linked)
		if err != nil {
			t.Errorf("%v: RISCVField: %v", s, err)
			continue
		}
		X := int64(s.S) + s.A - int64(s.P)
		var want int64
		switch s.typ {
		case elf.R_RISCV_32, elf.R_RISCV_64:
			want = int64(s.S) + s.A
			if s.typ == elf.R_RISCV_32 {
				want = int64(int32(want))
			}
		case elf.R_RISCV_HI20:
			want = int64(int32((int64(s.S) + s.A + 0x800) &^ 0xfff))
		case elf.R_RISCV_PCREL_HI20:
			want = (X + 0x800) &^ 0xfff
		case elf.R_RISCV_LO12_I, elf.R_RISCV_LO12_S:
			want = signExtend(s.S+uint64(s.A), 12)
		case elf.R_RISCV_PCREL_LO12_I, elf.R_RISCV_PCREL_LO12_S:
			hi := rvHiOf(t, s)
			want = signExtend(hi.S+uint64(hi.A)-hi.P, 12)
		default:
			want = X
		}
		if got != want {
			t.Errorf("%v: RISCVField(%s, % x) = %#x; want %#x", s, RISCVTypeName(s.typ), s.linked, got, want)
		}
	}
}

func TestRISCVAddendIsInTheEntryNotTheBytes(t *testing.T) {
	// RELA: clang leaves the field zero whatever the addend, GNU as what it
	// happened to compute (the low part of the addend in a LO12, a local
	// branch it resolved).
	for _, s := range rvSitesNamed(t, "abs_addend", "pcrel_addend", "word_addend", "word_zero", "dword_addend") {
		if s.typ == elf.R_RISCV_PCREL_LO12_I {
			continue // its addend is 0; the auipc's is not
		}
		field, err := RISCVField(s.typ, s.object)
		want := int64(0)
		if s.producer == "gnu" && s.typ == elf.R_RISCV_LO12_I {
			want = signExtend(uint64(s.A), 12)
		}
		if s.A == 0 || field != want || err != nil {
			t.Errorf("%v: addend %#x, the object's field holds %#x, %v; want a nonzero addend and %#x", s, s.A, field, err, want)
		}
	}
	for _, s := range rvSitesNamed(t, "local") {
		field, _ := RISCVField(s.typ, s.object)
		if s.producer == "gnu" && s.typ == elf.R_RISCV_RVC_BRANCH && (field == 0 || s.A != 0) {
			t.Errorf("%v: object field %#x, addend %#x; want GNU as's resolved offset and addend 0", s, field, s.A)
		}
	}
}

func TestRISCVApplyOverwritesWhateverTheFieldHeld(t *testing.T) {
	for _, s := range loadRVSites(t) {
		if s.undefined() {
			continue
		}
		dirty := slices.Clone(s.object)
		var err error
		if s.typ == elf.R_RISCV_PCREL_LO12_I || s.typ == elf.R_RISCV_PCREL_LO12_S {
			err = RISCVApplyPCRelLo(s.typ, dirty, -2)
		} else {
			err = RISCVApply(s.typ, dirty, Values{A: -2}) // all ones but bit 0, in every field's range
		}
		if err != nil {
			t.Fatalf("%v: %v", s, err)
		}
		s.object = dirty
		if got := rvRelink(t, s); !bytes.Equal(got, s.linked) {
			t.Errorf("%v: over % x wrote % x, the linker wrote % x", s, dirty, got, s.linked)
		}
	}
}

func TestRISCVUndefinedImportSitesHoldWhatEachLinkerWrites(t *testing.T) {
	// GNU ld resolves the undefined import against 0 everywhere. ld.lld 14
	// treats it as undefined weak: a call, tail or jal goes to itself; an
	// auipc pair, a lui pair and a word take 0.
	for _, s := range loadRVSites(t) {
		if !s.undefined() || strings.HasSuffix(s.name, "_wrap") {
			continue
		}
		if s.S != 0 && s.typ != elf.R_RISCV_PCREL_LO12_I {
			t.Errorf("%v: S = %#x; want 0 for the undefined import", s, s.S)
			continue
		}
		v := s.values()
		switch s.typ {
		case elf.R_RISCV_CALL, elf.R_RISCV_CALL_PLT, elf.R_RISCV_JAL:
			if s.producer == "llvm" {
				v.S = s.P
			}
		}
		loc := slices.Clone(s.object)
		var err error
		if s.typ == elf.R_RISCV_PCREL_LO12_I {
			hi := rvHiOf(t, s)
			err = RISCVApplyPCRelLo(s.typ, loc, int64(hi.S)+hi.A-int64(hi.P))
		} else {
			err = RISCVApply(s.typ, loc, v)
		}
		if err != nil || !bytes.Equal(loc, s.linked) {
			t.Errorf("%v: S=%#x gives % x, %v; the linker wrote % x (%s)", s, v.S, loc, err, s.linked, s.objdump)
		}
	}
}

func TestRISCVUndefinedImportAbove2GiBWrapsOnRV32(t *testing.T) {
	// 0 is 0x80001020 back from undef_call_wrap: out of the pair's reach,
	// but an RV32 pc wraps and both linkers write the pair that wraps.
	// RISCVApply refuses; RISCVField shows the wrapped offset as int32.
	for _, s := range rvSitesNamed(t, "undef_call_wrap", "undef_lla_wrap") {
		if s.typ == elf.R_RISCV_PCREL_LO12_I {
			continue
		}
		field, err := RISCVField(s.typ, s.linked)
		if err != nil {
			t.Fatalf("%v: %v", s, err)
		}
		want := int64(int32(s.A - int64(s.P))) // S = 0
		if s.typ == elf.R_RISCV_PCREL_HI20 {
			want = (want + 0x800) &^ 0xfff
		}
		if s.producer == "llvm" && s.typ == elf.R_RISCV_CALL {
			want = s.A // ld.lld: the call goes to itself
		}
		if field != want {
			t.Errorf("%v: field %#x; want %#x", s, field, want)
		}
		var re *RangeError
		if err := RISCVApply(s.typ, slices.Clone(s.object), s.values()); !errors.As(err, &re) || re.Value != -int64(s.P) {
			t.Errorf("%v: RISCVApply(S=0) = %v; want a RangeError for %#x", s, err, -int64(s.P))
		}
	}
}

func TestRISCVCallPairCarriesIntoTheHighPart(t *testing.T) {
	call := []byte{0x97, 0x00, 0x00, 0x00, 0xe7, 0x80, 0x00, 0x00} // auipc ra, 0; jalr ra, 0(ra)
	for _, tc := range []struct {
		X      int64
		hi, lo int64 // auipc's immediate, jalr's
	}{
		{0x7ff, 0, 2047},
		{0x800, 1, -2048}, // bit 11 set: lo is negative, hi one more
		{0x123457ff, 0x12345, 2047},
		{0x12345800, 0x12346, -2048},
		{-0x800, 0, -2048},
		{-0x801, 0xfffff, 2047},
		{0x7ffff7ff, 0x7ffff, 2047},   // the farthest forward
		{-0x80000800, 0x80000, -2048}, // the farthest back
		{-0x80000000, 0x80000, 0},     // hi's sign bit
		{0x7ffff7fe, 0x7ffff, 2046},   // as call_max_fwd
		{0x1800, 2, -2048},            // as call_carry
		{0x17fe, 1, 2046},             // as call_nocarry
		{-0x110, 0, -272},             // as call_back
		{-0x1000, 0xfffff, 0},         // a whole page back
		{-0x7ffff801, 0x80000, 2047},  // the lowest hi with the highest lo
		{0x7ffff000, 0x7ffff, 0},      // the highest hi alone
	} {
		loc := slices.Clone(call)
		if err := RISCVApply(elf.R_RISCV_CALL_PLT, loc, Values{A: tc.X}); err != nil {
			t.Errorf("X=%#x: %v", tc.X, err)
			continue
		}
		if hi, lo := int64(get32(loc)>>12), rvReadI(loc[4:]); hi != tc.hi || lo != tc.lo {
			t.Errorf("X=%#x: auipc %#x, jalr %d; want %#x, %d", tc.X, hi, lo, tc.hi, tc.lo)
		}
		if get32(loc)&0xfff != 0x097 || get32(loc[4:])&0xfffff != 0x080e7 {
			t.Errorf("X=%#x: the registers or opcodes changed: % x", tc.X, loc)
		}
		if got, _ := RISCVField(elf.R_RISCV_CALL_PLT, loc); got != tc.X {
			t.Errorf("X=%#x: RISCVField reads %#x", tc.X, got)
		}
	}
}

func TestRISCVCallPairTakesAnOddOffset(t *testing.T) {
	// jalr clears bit 0 of its sum, but the pair can hold an odd offset and
	// the linkers write one; only the jumps whose field has no bit 0 refuse.
	loc := []byte{0x97, 0x00, 0x00, 0x00, 0xe7, 0x80, 0x00, 0x00}
	if err := RISCVApply(elf.R_RISCV_CALL, loc, Values{S: 0x80001801, P: 0x80000000}); err != nil {
		t.Fatal(err)
	}
	if X, _ := RISCVField(elf.R_RISCV_CALL, loc); X != 0x1801 {
		t.Errorf("field %#x; want 0x1801", X)
	}
}

func TestRISCVAddressPairsCarryIntoTheHighPart(t *testing.T) {
	for _, tc := range []struct {
		site   string
		hi     uint32 // lui's or auipc's immediate
		lo     int64
		why    string
		hiType elf.R_RISCV
	}{
		{"abs_nocarry", 0x20000, 2047, "0x200007ff", elf.R_RISCV_HI20},
		{"abs_carry", 0x20001, -2048, "0x20000800: bit 11 set, hi one more", elf.R_RISCV_HI20},
		{"abs_sign", 0x80000, -2048, "0x7ffff800 carries into lui's sign bit", elf.R_RISCV_HI20},
		{"abs_top", 0xffffe, 2047, "0xffffe7ff", elf.R_RISCV_HI20},
		{"pcrel_nocarry", 1, 2047, "+0x17ff", elf.R_RISCV_PCREL_HI20},
		{"pcrel_carry", 2, -2048, "+0x1800", elf.R_RISCV_PCREL_HI20},
		{"pcrel_max_fwd", 0x7ffff, 2047, "+0x7ffff7ff, the farthest forward", elf.R_RISCV_PCREL_HI20},
		{"pcrel_max_back", 0x80000, -2048, "-0x80000800, the farthest back", elf.R_RISCV_PCREL_HI20},
	} {
		for _, s := range rvSitesNamed(t, tc.site) {
			got := rvRelink(t, s)
			if !bytes.Equal(got, s.linked) {
				t.Errorf("%v: wrote % x, the linker % x", s, got, s.linked)
			}
			if s.typ == tc.hiType {
				if hi := get32(got) >> 12; hi != tc.hi {
					t.Errorf("%v: hi %#x; want %#x (%s)", s, hi, tc.hi, tc.why)
				}
				continue
			}
			lo, _ := RISCVField(s.typ, got)
			if lo != tc.lo {
				t.Errorf("%v: lo %d; want %d (%s)", s, lo, tc.lo, tc.why)
			}
		}
	}
}

func TestRISCVPCRelLoNamesItsAuipcsLabel(t *testing.T) {
	// The LO12's symbol is the label on the auipc, which both linkers keep;
	// its own addend is 0, the target's is on the HI20.
	n := 0
	for _, s := range loadRVSites(t) {
		if s.typ != elf.R_RISCV_PCREL_LO12_I && s.typ != elf.R_RISCV_PCREL_LO12_S {
			continue
		}
		n++
		hi := rvHiOf(t, s)
		if s.A != 0 || hi.P+4 != s.P {
			t.Errorf("%v: label %#x+%d, auipc at %#x; want the auipc just before, addend 0", s, s.S, s.A, hi.P)
		}
	}
	if n == 0 {
		t.Fatal("no PCREL_LO12 rows")
	}
}

func TestRISCVPCRelLoThroughRISCVApplyIsPCRelLoError(t *testing.T) {
	for _, s := range rvSitesNamed(t, "pcrel_carry", "pcrel_store") {
		if s.typ == elf.R_RISCV_PCREL_HI20 {
			continue
		}
		loc := slices.Clone(s.object)
		err := RISCVApply(s.typ, loc, s.values())
		var pe *PCRelLoError
		want := RISCVTypeName(s.typ) + " takes the low part of the R_RISCV_PCREL_HI20 at the auipc its symbol labels; apply it with that value"
		if !errors.As(err, &pe) || err.Error() != want || !bytes.Equal(loc, s.object) {
			t.Errorf("%v: RISCVApply = %v and wrote % x; want %q and no write", s, err, loc, want)
		}
	}
	var ue *UnsupportedError
	err := RISCVApplyPCRelLo(elf.R_RISCV_LO12_I, []byte{0x13, 0x05, 0x05, 0x00}, 0x123)
	if !errors.As(err, &ue) {
		t.Errorf("RISCVApplyPCRelLo(LO12_I) = %v; want an UnsupportedError", err)
	}
	var ie *InsnError
	if err := RISCVApplyPCRelLo(elf.R_RISCV_PCREL_LO12_S, []byte{0x13, 0x05, 0x05, 0x00}, 0x123); !errors.As(err, &ie) {
		t.Errorf("RISCVApplyPCRelLo(PCREL_LO12_S, addi) = %v; want an InsnError", err)
	}
}

// rvPastTheEnd returns the row at one end of a field's range, with the
// values that move its symbol one step further.
func rvPastTheEnd(t *testing.T, name string, typ elf.R_RISCV, step int64) (rvSite, Values) {
	t.Helper()
	s := rvSiteOf(t, name, typ)
	v := s.values()
	v.S = uint64(int64(v.S) + step)
	return s, v
}

func checkRVRangeError(t *testing.T, s rvSite, v Values, want RangeError) {
	t.Helper()
	loc := slices.Clone(s.object)
	err := RISCVApply(s.typ, loc, v)
	var re *RangeError
	if !errors.As(err, &re) || *re != want {
		t.Errorf("%v: RISCVApply(%s, %+v) = %v; want %v", s, RISCVTypeName(s.typ), v, err, &want)
	}
	if !bytes.Equal(loc, s.object) {
		t.Errorf("%v: a failed RISCVApply wrote % x", s, loc)
	}
}

func TestRISCVPairsOutOfRangeAreRangeErrors(t *testing.T) {
	const lo, hi = -0x80000800, 0x7ffff7ff
	for _, tc := range []struct {
		site string
		typ  elf.R_RISCV
		step int64
		want RangeError
	}{
		{"call_max_fwd", elf.R_RISCV_CALL_PLT, +2, RangeError{0x7ffff800, lo, hi, "auipc+jalr offset"}},
		{"call_max_back", elf.R_RISCV_CALL_PLT, -2, RangeError{-0x80000802, lo, hi, "auipc+jalr offset"}},
		{"call64_max_fwd", elf.R_RISCV_CALL, +2, RangeError{0x7ffff800, lo, hi, "auipc+jalr offset"}},
		{"call64_max_back", elf.R_RISCV_CALL, -1, RangeError{-0x80000801, lo, hi, "auipc+jalr offset"}},
		{"pcrel_max_fwd", elf.R_RISCV_PCREL_HI20, +1, RangeError{0x7ffff800, lo, hi, "auipc offset"}},
		{"pcrel_max_back", elf.R_RISCV_PCREL_HI20, -1, RangeError{-0x80000801, lo, hi, "auipc offset"}},
	} {
		s, v := rvPastTheEnd(t, tc.site, tc.typ, tc.step)
		checkRVRangeError(t, s, v, tc.want)
	}
	// lui takes any 32-bit address, read signed or unsigned; no more.
	s := rvSiteOf(t, "abs_top", elf.R_RISCV_HI20)
	checkRVRangeError(t, s, Values{S: 0xffffffff, A: 1}, RangeError{0x100000000, -0x80000000, 0xffffffff, "lui address"})
	checkRVRangeError(t, s, Values{S: 0, A: -0x80000001}, RangeError{-0x80000001, -0x80000000, 0xffffffff, "lui address"})
	w := rvSiteOf(t, "word_fn", elf.R_RISCV_32)
	checkRVRangeError(t, w, Values{S: 0xfffffff8, A: 8}, RangeError{0x100000000, -0x80000000, 0xffffffff, "32-bit word"})

	loc := []byte{0x97, 0x00, 0x00, 0x00, 0xe7, 0x80, 0x00, 0x00}
	err := RISCVApply(elf.R_RISCV_CALL, loc, Values{S: 0x1_0000_0000, P: 0})
	if want := "value 0x100000000 out of range [-0x80000800, 0x7ffff7ff] of auipc+jalr offset"; err == nil || err.Error() != want {
		t.Errorf("4 GiB forward: got %v, want %s", err, want)
	}
}

func TestRISCVJumpsOutOfRangeAreRangeErrors(t *testing.T) {
	for _, tc := range []struct {
		site string
		typ  elf.R_RISCV
		step int64
		want RangeError
	}{
		{"jal_max_fwd", elf.R_RISCV_JAL, +2, RangeError{0x100000, -0x100000, 0xffffe, "jal offset"}},
		{"jal_max_back", elf.R_RISCV_JAL, -2, RangeError{-0x100002, -0x100000, 0xffffe, "jal offset"}},
		{"branch_max_fwd", elf.R_RISCV_BRANCH, +2, RangeError{0x1000, -0x1000, 0xffe, "branch offset"}},
		{"branch_max_back", elf.R_RISCV_BRANCH, -2, RangeError{-0x1002, -0x1000, 0xffe, "branch offset"}},
		{"cj_max_fwd", elf.R_RISCV_RVC_JUMP, +2, RangeError{0x800, -0x800, 0x7fe, "c.j offset"}},
		{"cj_max_back", elf.R_RISCV_RVC_JUMP, -2, RangeError{-0x802, -0x800, 0x7fe, "c.j offset"}},
		{"cb_max_fwd", elf.R_RISCV_RVC_BRANCH, +2, RangeError{0x100, -0x100, 0xfe, "c.beqz offset"}},
		{"cb_max_back", elf.R_RISCV_RVC_BRANCH, -2, RangeError{-0x102, -0x100, 0xfe, "c.beqz offset"}},
	} {
		s, v := rvPastTheEnd(t, tc.site, tc.typ, tc.step)
		checkRVRangeError(t, s, v, tc.want)
	}
}

func TestRISCVOddJumpTargetIsAlignError(t *testing.T) {
	for _, tc := range []struct {
		site string
		typ  elf.R_RISCV
		want AlignError
	}{
		{"jal_fwd", elf.R_RISCV_JAL, AlignError{0x101, 2, "jal offset"}},
		{"j_fwd", elf.R_RISCV_JAL, AlignError{0xc1, 2, "jal offset"}},
		{"branch_fwd", elf.R_RISCV_BRANCH, AlignError{0x101, 2, "branch offset"}},
		{"cj_fwd", elf.R_RISCV_RVC_JUMP, AlignError{0x101, 2, "c.j offset"}},
		{"cb_fwd", elf.R_RISCV_RVC_BRANCH, AlignError{0x81, 2, "c.beqz offset"}},
	} {
		s := rvSiteOf(t, tc.site, tc.typ)
		v := s.values()
		v.S++
		loc := slices.Clone(s.object)
		err := RISCVApply(s.typ, loc, v)
		var ae *AlignError
		if !errors.As(err, &ae) || *ae != tc.want {
			t.Errorf("%v: RISCVApply(%+v) = %v; want %v", s, v, err, &tc.want)
		}
		if !bytes.Equal(loc, s.object) {
			t.Errorf("%v: a failed RISCVApply wrote % x", s, loc)
		}
	}
	err := RISCVApply(elf.R_RISCV_JAL, []byte{0xef, 0, 0, 0}, Values{S: 0x80000101, P: 0x80000000})
	if want := "value 0x101 of jal offset is not a multiple of 2"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestRISCVCheckRejectsWrongInstruction(t *testing.T) {
	le := func(words ...uint32) []byte {
		var b []byte
		for _, w := range words {
			b = append(b, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
		}
		return b
	}
	for _, tc := range []struct {
		name string
		typ  elf.R_RISCV
		loc  []byte
		want string
	}{
		{"lla is no call", elf.R_RISCV_CALL, le(0x00000517, 0x00050513),
			"R_RISCV_CALL applies to an auipc and a jalr, found 0x00000517 0x00050513 (an auipc followed by an addi, not by a jalr)"},
		{"jal is no call pair", elf.R_RISCV_CALL_PLT, le(0x004000ef, 0x00000013),
			"R_RISCV_CALL_PLT applies to an auipc and a jalr, found 0x004000ef 0x00000013 (a jal)"},
		{"GNU ld's call to an undefined weak symbol", elf.R_RISCV_CALL_PLT, le(0x00000097, 0x000000e7),
			"R_RISCV_CALL_PLT applies to an auipc and a jalr, found 0x00000097 0x000000e7 (a jalr through zero, which GNU ld writes for a call to an undefined weak symbol)"},
		{"jalr through another register", elf.R_RISCV_CALL, le(0x00000097, 0x00030067),
			"R_RISCV_CALL applies to an auipc and a jalr, found 0x00000097 0x00030067 (the jalr adds to t1, the auipc writes ra)"},
		{"relaxed into c.jal", elf.R_RISCV_CALL, []byte{0x25, 0x20, 0x1d, 0xa0, 0x17, 0x05, 0x00, 0x00},
			"R_RISCV_CALL applies to an auipc and a jalr, found 0x2025 0xa01d 0x00000517 (a c.jal)"},
		{"jalr is no jal", elf.R_RISCV_JAL, le(0x000080e7),
			"R_RISCV_JAL applies to a jal, found 0x000080e7 (a jalr)"},
		{"auipc is no lui", elf.R_RISCV_HI20, le(0x00000517),
			"R_RISCV_HI20 applies to a lui, found 0x00000517 (an auipc)"},
		{"lui is no auipc", elf.R_RISCV_PCREL_HI20, le(0x000006b7),
			"R_RISCV_PCREL_HI20 applies to an auipc, found 0x000006b7 (a lui)"},
		{"a store is no I-type", elf.R_RISCV_LO12_I, le(0x00e6a023),
			"R_RISCV_LO12_I applies to an I-type instruction (addi, a load, jalr), found 0x00e6a023 (a sw)"},
		{"a shift's immediate is a shift amount", elf.R_RISCV_PCREL_LO12_I, le(0x00151513),
			"R_RISCV_PCREL_LO12_I applies to an I-type instruction (addi, a load, jalr), found 0x00151513 (not an instruction these relocations apply to)"},
		{"a load is no store", elf.R_RISCV_LO12_S, le(0x0006a503),
			"R_RISCV_LO12_S applies to a store, found 0x0006a503 (a lw)"},
		{"jal is no branch", elf.R_RISCV_BRANCH, le(0x0000006f),
			"R_RISCV_BRANCH applies to a branch (beq, bne, blt, bge, bltu, bgeu), found 0x0000006f (a jal)"},
		{"c.beqz is no c.j", elf.R_RISCV_RVC_JUMP, []byte{0x01, 0xc1},
			"R_RISCV_RVC_JUMP applies to a c.j or c.jal, found 0xc101 (a c.beqz)"},
		{"c.j is no c.beqz", elf.R_RISCV_RVC_BRANCH, []byte{0x01, 0xa0},
			"R_RISCV_RVC_BRANCH applies to a c.beqz or c.bnez, found 0xa001 (a c.j)"},
		{"a 32-bit jal is no c.j", elf.R_RISCV_RVC_JUMP, []byte{0xef, 0x00},
			"R_RISCV_RVC_JUMP applies to a c.j or c.jal, found 0xef 0x00 (not an instruction these relocations apply to)"},
		{"c.jr is no branch", elf.R_RISCV_RVC_BRANCH, []byte{0x82, 0x80},
			"R_RISCV_RVC_BRANCH applies to a c.beqz or c.bnez, found 0x8082 (a compressed instruction these relocations do not apply to)"},
	} {
		err := RISCVCheck(tc.typ, tc.loc)
		var ie *InsnError
		if !errors.As(err, &ie) || err.Error() != tc.want {
			t.Errorf("%s: RISCVCheck = %v\n\twant %s", tc.name, err, tc.want)
		}
		loc := slices.Clone(tc.loc)
		if err := RISCVApply(tc.typ, loc, Values{S: 0x100}); !errors.As(err, &ie) || !bytes.Equal(loc, tc.loc) {
			t.Errorf("%s: RISCVApply = %v and wrote % x; want an InsnError and no write", tc.name, err, loc)
		}
		if _, err := RISCVField(tc.typ, tc.loc); !errors.As(err, &ie) {
			t.Errorf("%s: RISCVField = %v; want an InsnError", tc.name, err)
		}
	}
}

func TestRISCVCheckAcceptsEveryFormItAppliesTo(t *testing.T) {
	le := func(w uint32) []byte { return []byte{byte(w), byte(w >> 8), byte(w >> 16), byte(w >> 24)} }
	for _, tc := range []struct {
		typ   elf.R_RISCV
		insns []uint32
	}{
		// addi slti sltiu xori ori andi addiw jalr lb lh lw lbu lhu flw fld
		{elf.R_RISCV_LO12_I, []uint32{0x00050513, 0x00052513, 0x00053513, 0x00054513, 0x00056513, 0x00057513,
			0x0005051b, 0x000500e7, 0x00050503, 0x00051503, 0x00052503, 0x00054503, 0x00055503, 0x00052507, 0x00053507}},
		// sb sh sw sd fsw fsd
		{elf.R_RISCV_PCREL_LO12_S, []uint32{0x00a50023, 0x00a51023, 0x00a52023, 0x00a53023, 0x00a52027, 0x00a53027}},
		// beq bne blt bge bltu bgeu
		{elf.R_RISCV_BRANCH, []uint32{0x00b50063, 0x00b51063, 0x00b54063, 0x00b55063, 0x00b56063, 0x00b57063}},
	} {
		for _, w := range tc.insns {
			if err := RISCVCheck(tc.typ, le(w)); err != nil {
				t.Errorf("%s, %#08x: %v", RISCVTypeName(tc.typ), w, err)
			}
		}
	}
}

func TestRISCVMarkersAreAcceptedAndWriteNothing(t *testing.T) {
	// NONE (also what GNU ld leaves of relaxed-away bytes), RELAX and ALIGN
	// have no field; the bytes at their offset belong to someone else.
	for _, typ := range []elf.R_RISCV{elf.R_RISCV_NONE, elf.R_RISCV_RELAX, elf.R_RISCV_ALIGN} {
		for _, loc := range [][]byte{nil, {0x01}, {0x97, 0x00, 0x00, 0x00, 0xe7, 0x80, 0x00, 0x00}} {
			before := slices.Clone(loc)
			if err := RISCVCheck(typ, loc); err != nil {
				t.Errorf("%s: RISCVCheck(% x) = %v", RISCVTypeName(typ), loc, err)
			}
			if err := RISCVApply(typ, loc, Values{S: 0x1234, A: 6, P: 0x80000000}); err != nil || !bytes.Equal(loc, before) {
				t.Errorf("%s: RISCVApply(% x) = %v, wrote % x", RISCVTypeName(typ), before, err, loc)
			}
			if v, err := RISCVField(typ, loc); v != 0 || err != nil {
				t.Errorf("%s: RISCVField = %#x, %v; want 0, nil", RISCVTypeName(typ), v, err)
			}
		}
	}
}

// TestRISCVFieldsRoundTrip writes values across each field's range (every
// one for the narrow fields, a stride and both ends for the wide ones) into
// real instructions and reads them back, checking that nothing but the
// field changed.
func TestRISCVFieldsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		site        string
		typ         elf.R_RISCV
		min, max    int64
		stride      int64
		field       func(x int64) int64 // what the field holds after writing x
		keep, keep2 uint64              // bits of the instruction(s) that must not change
	}{
		{"call_fwd", elf.R_RISCV_CALL_PLT, -0x80000800, 0x7ffff7ff, 4093, nil, 0xfff, 0xfffff},
		{"tail_fwd", elf.R_RISCV_CALL_PLT, -0x80000800, 0x7ffff7ff, 1<<20 + 1, nil, 0xfff, 0xfffff},
		{"pcrel_carry", elf.R_RISCV_PCREL_HI20, -0x80000800, 0x7ffff7ff, 4093, rvRounded, 0xfff, 0},
		{"abs_carry", elf.R_RISCV_HI20, -0x80000000, 0xffffffff, 4093, rvRounded, 0xfff, 0},
		{"abs_load", elf.R_RISCV_LO12_I, -0x800, 0x7ff, 1, nil, 0xfffff, 0},
		{"abs_store", elf.R_RISCV_LO12_S, -0x800, 0x7ff, 1, nil, 0x1fff07f, 0},
		{"pcrel_store", elf.R_RISCV_PCREL_LO12_S, -0x800, 0x7ff, 1, nil, 0x1fff07f, 0},
		{"jal_fwd", elf.R_RISCV_JAL, -0x100000, 0xffffe, 2, nil, 0xfff, 0},
		{"branch_max_back", elf.R_RISCV_BRANCH, -0x1000, 0xffe, 2, nil, 0x1fff07f, 0},
		{"cj_fwd", elf.R_RISCV_RVC_JUMP, -0x800, 0x7fe, 2, nil, 0xe003, 0},
		{"cjal_fwd", elf.R_RISCV_RVC_JUMP, -0x800, 0x7fe, 2, nil, 0xe003, 0},
		{"cb_back", elf.R_RISCV_RVC_BRANCH, -0x100, 0xfe, 2, nil, 0xe383, 0},
		{"word_fn", elf.R_RISCV_32, -0x80000000, 0xffffffff, 1<<20 + 7, func(x int64) int64 { return int64(int32(x)) }, 0, 0},
		{"dword_fn", elf.R_RISCV_64, -1 << 62, 1 << 62, 1<<50 + 3, nil, 0, 0},
	} {
		s := rvSiteOf(t, tc.site, tc.typ)
		var fixed func(b []byte) uint64
		switch len(s.object) {
		case 2:
			fixed = func(b []byte) uint64 { return uint64(get16(b)) & tc.keep }
		case 4:
			fixed = func(b []byte) uint64 { return uint64(get32(b)) & tc.keep }
		case 8:
			fixed = func(b []byte) uint64 { return uint64(get32(b))&tc.keep | uint64(get32(b[4:])&uint32(tc.keep2))<<32 }
		}
		try := func(x int64) {
			loc := slices.Clone(s.object)
			var err error
			if tc.typ == elf.R_RISCV_PCREL_LO12_S {
				err = RISCVApplyPCRelLo(tc.typ, loc, x)
			} else {
				// S = P = 0 makes the value A: the field gets x itself.
				err = RISCVApply(tc.typ, loc, Values{A: x})
			}
			if err != nil {
				t.Fatalf("%v: apply %#x: %v", s, x, err)
			}
			want := x
			if tc.field != nil {
				want = tc.field(x)
			}
			if got, err := RISCVField(tc.typ, loc); got != want || err != nil {
				t.Fatalf("%v: wrote %#x as % x, read back %#x, %v; want %#x", s, x, loc, got, err, want)
			}
			if fixed(loc) != fixed(s.object) {
				t.Fatalf("%v: writing %#x changed more than the field: % x -> % x", s, x, s.object, loc)
			}
		}
		for x := tc.min; x <= tc.max && x >= tc.min; x += tc.stride {
			try(x)
		}
		for _, x := range []int64{tc.min, tc.min + 2, -2, 0, 2, tc.max - 2, tc.max} {
			if x >= tc.min && x <= tc.max {
				try(x)
			}
		}
	}
}

// rvRounded is what an auipc or lui holds after x was written into it: x
// rounded to the nearest 0x1000 (half up), as a 32-bit signed value.
func rvRounded(x int64) int64 { return int64(int32((x + 0x800) &^ 0xfff)) }

func TestRISCVShortBuffersAreInsnErrors(t *testing.T) {
	seen := map[elf.R_RISCV]bool{}
	for _, s := range loadRVSites(t) {
		if seen[s.typ] {
			continue
		}
		seen[s.typ] = true
		for n := range len(s.object) {
			short := slices.Clone(s.object[:n])
			var ie *InsnError
			if err := RISCVCheck(s.typ, short); !errors.As(err, &ie) {
				t.Errorf("%v: RISCVCheck of %d bytes = %v; want an InsnError", s, n, err)
			}
			if _, err := RISCVField(s.typ, short); !errors.As(err, &ie) {
				t.Errorf("%v: RISCVField of %d bytes = %v; want an InsnError", s, n, err)
			}
			if err := RISCVApply(s.typ, short, s.values()); !errors.As(err, &ie) {
				t.Errorf("%v: RISCVApply of %d bytes = %v; want an InsnError", s, n, err)
			}
			if err := RISCVApplyPCRelLo(elf.R_RISCV_PCREL_LO12_I, short, 0); n < 4 && !errors.As(err, &ie) {
				t.Errorf("%v: RISCVApplyPCRelLo of %d bytes = %v; want an InsnError", s, n, err)
			}
			_ = RISCVDisasm(s.typ, short, s.P)
		}
	}
	for _, tc := range []struct {
		typ  elf.R_RISCV
		loc  []byte
		want string
	}{
		{elf.R_RISCV_CALL_PLT, []byte{0x97, 0x00, 0x00, 0x00}, "R_RISCV_CALL_PLT applies to an auipc and a jalr, found 0x97 0x00 0x00 0x00 (need 8 bytes, have 4)"},
		{elf.R_RISCV_32, []byte{0x01, 0x02}, "R_RISCV_32 applies to a 32-bit word, found 0x01 0x02 (need 4 bytes, have 2)"},
		{elf.R_RISCV_RVC_JUMP, nil, "R_RISCV_RVC_JUMP applies to a c.j or c.jal, found nothing (need 2 bytes, have 0)"},
	} {
		if err := RISCVCheck(tc.typ, tc.loc); err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %s", err, tc.want)
		}
	}
}

func TestRISCVUnsupportedTypeIsUnsupportedError(t *testing.T) {
	// The GOT, TLS and relaxation-made types do not reach an import in a
	// static image; a patcher should stop at them rather than guess.
	loc := []byte{0x17, 0x05, 0x00, 0x00}
	for _, typ := range []elf.R_RISCV{elf.R_RISCV_GOT_HI20, elf.R_RISCV_TPREL_HI20, elf.R_RISCV_RVC_LUI, elf.R_RISCV_GPREL_I, elf.R_RISCV_ADD32} {
		want := "unsupported relocation type " + RISCVTypeName(typ)
		_, errField := RISCVField(typ, loc)
		for _, err := range []error{RISCVCheck(typ, loc), errField, RISCVApply(typ, slices.Clone(loc), Values{})} {
			var ue *UnsupportedError
			if !errors.As(err, &ue) || err.Error() != want {
				t.Errorf("got %v, want %s", err, want)
			}
		}
	}
}

func TestRISCVDisasmReadsLikeObjdump(t *testing.T) {
	for _, s := range loadRVSites(t) {
		if got, want := RISCVDisasm(s.typ, s.linked, s.P), rvObjdumpToDisasm(s.objdump); got != want {
			t.Errorf("%v: RISCVDisasm(% x) = %q; objdump says %q, i.e. %q", s, s.linked, got, s.objdump, want)
		}
	}
	le := func(words ...uint32) []byte {
		var b []byte
		for _, w := range words {
			b = append(b, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
		}
		return b
	}
	for _, tc := range []struct {
		typ  elf.R_RISCV
		loc  []byte
		P    uint64
		want string
	}{
		{elf.R_RISCV_CALL_PLT, le(0x00000097, 0x000000e7), 0x400, "auipc ra, 0x0; jalr ra, 0(zero)"}, // GNU ld, undefined weak
		{elf.R_RISCV_CALL, le(0x00000297, 0x000282e7), 0x1000, "call t0, 0x1000"},
		{elf.R_RISCV_CALL, le(0x00000297, 0x00028067), 0x1000, "jump 0x1000, t0"},
		{elf.R_RISCV_CALL, le(0x00000517, 0x00050513), 0x1000, "auipc a0, 0x0; addi a0, a0, 0"},
		{elf.R_RISCV_CALL, []byte{0x25, 0x20}, 0x80000000, "c.jal 0x80000028"}, // GNU ld relaxed it
		{elf.R_RISCV_HI20, le(0x00000013 | 0x5<<12), 0, ".insn 0x00005013"},
		{elf.R_RISCV_RVC_JUMP, []byte{0x82, 0x80}, 0, ".insn 0x8082"},
		{elf.R_RISCV_LO12_I, le(0x00052507), 0, "flw fa0, 0(a0)"},
		{elf.R_RISCV_PCREL_LO12_S, le(0x00a53027), 0, "fsd fa0, 0(a0)"},
		{elf.R_RISCV_LO12_I, le(0xfff5051b), 0, "addiw a0, a0, -1"},
		{elf.R_RISCV_JAL, []byte{0xef}, 0, ".byte 0xef"},
		{elf.R_RISCV_32, nil, 0, "(no bytes)"},
		{elf.R_RISCV_NONE, []byte{0x01, 0x00}, 0, ".insn 0x0001"},
	} {
		if got := RISCVDisasm(tc.typ, tc.loc, tc.P); got != tc.want {
			t.Errorf("RISCVDisasm(%s, % x) = %q; want %q", RISCVTypeName(tc.typ), tc.loc, got, tc.want)
		}
	}
}

// rvHexOf rewrites objdump's hexadecimal digits the way %#x prints them.
func rvHexOf(digits string) string {
	n, _ := strconv.ParseUint(digits, 16, 64)
	return fmt.Sprintf("%#x", n)
}

var (
	rvObjdumpCallPair = regexp.MustCompile(`^auipc (\w+),0x[0-9a-f]+; jalr (\w+),-?\d+\((\w+)\) # 0x([0-9a-f]+)$`)
	rvObjdumpComment  = regexp.MustCompile(` # .*$`)
	rvObjdumpData     = regexp.MustCompile(`^(\.d?word) 0x([0-9a-f]+)$`)
)

// rvObjdumpToDisasm rewrites GNU objdump's -M no-aliases notation into
// RISCVDisasm's: an auipc+jalr pair as call or tail, a space after each
// comma, no comments, no leading zeros in data words.
func rvObjdumpToDisasm(s string) string {
	if m := rvObjdumpCallPair.FindStringSubmatch(s); m != nil {
		switch tmp, rd, rs := m[1], m[2], m[3]; {
		case tmp == "ra" && rd == "ra" && rs == "ra":
			return "call " + rvHexOf(m[4])
		case tmp == "t1" && rd == "zero" && rs == "t1":
			return "tail " + rvHexOf(m[4])
		}
	}
	if m := rvObjdumpData.FindStringSubmatch(s); m != nil {
		return m[1] + " " + rvHexOf(m[2])
	}
	s = rvObjdumpComment.ReplaceAllString(s, "")
	return strings.ReplaceAll(s, ",", ", ")
}

func TestRISCVGNUAndClangAgree(t *testing.T) {
	// They differ by design only at the undefined import: ld.lld sends a
	// call or jal to itself where GNU ld sends it to 0. GNU as writes
	// R_RISCV_CALL_PLT where clang 14 writes R_RISCV_CALL, and leaves
	// the offsets it could compute in the object.
	type key struct {
		name string
		P    uint64
	}
	rows := map[key]map[string]rvSite{}
	for _, s := range loadRVSites(t) {
		k := key{s.name, s.P}
		if rows[k] == nil {
			rows[k] = map[string]rvSite{}
		}
		rows[k][s.producer] = s
	}
	compared := map[string]bool{}
	differ := map[string]bool{}
	for k, p := range rows {
		gnu, ok1 := p["gnu"]
		llvm, ok2 := p["llvm"]
		if !ok1 || !ok2 {
			t.Errorf("%s at %#x: only one producer has it", k.name, k.P)
			continue
		}
		gt, lt := gnu.typ, llvm.typ
		if gt == elf.R_RISCV_CALL_PLT && lt == elf.R_RISCV_CALL {
			gt = lt
		}
		if gt != lt || gnu.S != llvm.S || gnu.A != llvm.A {
			t.Errorf("%s at %#x: GNU %s %#x%+d, LLVM %s %#x%+d", k.name, k.P, RISCVTypeName(gnu.typ), gnu.S, gnu.A, RISCVTypeName(llvm.typ), llvm.S, llvm.A)
			continue
		}
		compared[RISCVTypeName(lt)] = true
		if !bytes.Equal(gnu.linked, llvm.linked) {
			differ[k.name] = true
		}
	}
	want := map[string]bool{"undef_call": true, "undef_tail": true, "undef_jal": true, "undef_call_wrap": true}
	for name := range differ {
		if !want[name] {
			t.Errorf("%s: GNU ld and ld.lld wrote different bytes", name)
		}
	}
	for name := range want {
		if !differ[name] {
			t.Errorf("%s: GNU ld and ld.lld agree; they used not to", name)
		}
	}
	for name := range rvTypeByName {
		if name != "R_RISCV_CALL_PLT" && !compared[name] {
			t.Errorf("no %s row from both producers", name)
		}
	}
}

func FuzzRISCVNeverPanics(f *testing.F) {
	types := []elf.R_RISCV{elf.R_RISCV_NONE, elf.R_RISCV_32, elf.R_RISCV_64, elf.R_RISCV_BRANCH, elf.R_RISCV_JAL,
		elf.R_RISCV_CALL, elf.R_RISCV_CALL_PLT, elf.R_RISCV_PCREL_HI20, elf.R_RISCV_PCREL_LO12_I, elf.R_RISCV_PCREL_LO12_S,
		elf.R_RISCV_HI20, elf.R_RISCV_LO12_I, elf.R_RISCV_LO12_S, elf.R_RISCV_ALIGN, elf.R_RISCV_RVC_BRANCH,
		elf.R_RISCV_RVC_JUMP, elf.R_RISCV_RELAX, elf.R_RISCV_GOT_HI20}
	f.Add(uint8(5), []byte{0x97, 0x00, 0x00, 0x00, 0xe7, 0x80, 0x00, 0x00}, uint64(0x80000120), int64(0), uint64(0x80000000))
	f.Add(uint8(15), []byte{0x01, 0xa0}, uint64(0), int64(-1<<62), uint64(1<<63))
	f.Add(uint8(5), []byte{0x97}, uint64(1), int64(1), uint64(0))
	f.Fuzz(func(t *testing.T, i uint8, loc []byte, S uint64, A int64, P uint64) {
		typ := types[int(i)%len(types)]
		_ = RISCVCheck(typ, loc)
		_, _ = RISCVField(typ, loc)
		_ = RISCVDisasm(typ, loc, P)
		before := slices.Clone(loc)
		if err := RISCVApply(typ, loc, Values{S: S, A: A, P: P}); err != nil && !bytes.Equal(loc, before) {
			t.Errorf("a failed RISCVApply wrote % x over % x: %v", loc, before, err)
		}
		before = slices.Clone(loc)
		if err := RISCVApplyPCRelLo(typ, loc, A); err != nil && !bytes.Equal(loc, before) {
			t.Errorf("a failed RISCVApplyPCRelLo wrote % x over % x: %v", loc, before, err)
		}
	})
}

package relocs

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// An a64Site is one line of testdata/aarch64/sites.txt: a relocation as a
// real assembler left it in an object and a real linker resolved it in an
// image. gen.sh in that directory says how they were made.
type a64Site struct {
	producer, name string // producer: "gnu" or "llvm"
	typ            elf.R_AARCH64
	P, S           uint64
	A              int64
	object, linked []byte
	objdump        string // GNU objdump's reading of linked
}

func (s a64Site) String() string { return s.producer + "/" + s.name }

func (s a64Site) values() Values { return Values{S: s.S, A: s.A, P: s.P} }

func (s a64Site) siteName() string { return s.name }

// a64Types are the types aarch64.go handles.
var a64Types = []elf.R_AARCH64{
	elf.R_AARCH64_CALL26, elf.R_AARCH64_JUMP26,
	elf.R_AARCH64_ABS64, elf.R_AARCH64_ABS32, elf.R_AARCH64_PREL64, elf.R_AARCH64_PREL32,
	elf.R_AARCH64_ADR_PREL_PG_HI21, elf.R_AARCH64_ADR_PREL_PG_HI21_NC, elf.R_AARCH64_ADR_PREL_LO21,
	elf.R_AARCH64_ADD_ABS_LO12_NC,
	elf.R_AARCH64_LDST8_ABS_LO12_NC, elf.R_AARCH64_LDST16_ABS_LO12_NC, elf.R_AARCH64_LDST32_ABS_LO12_NC,
	elf.R_AARCH64_LDST64_ABS_LO12_NC, elf.R_AARCH64_LDST128_ABS_LO12_NC,
	elf.R_AARCH64_MOVW_UABS_G0, elf.R_AARCH64_MOVW_UABS_G0_NC, elf.R_AARCH64_MOVW_UABS_G1,
	elf.R_AARCH64_MOVW_UABS_G1_NC, elf.R_AARCH64_MOVW_UABS_G2, elf.R_AARCH64_MOVW_UABS_G2_NC,
	elf.R_AARCH64_MOVW_UABS_G3,
}

func loadA64Sites(t *testing.T) []a64Site {
	t.Helper()
	byName := map[string]elf.R_AARCH64{}
	for _, typ := range a64Types {
		byName[AArch64TypeName(typ)] = typ
	}
	var sites []a64Site
	for _, r := range readSites(t, "testdata/aarch64/sites.txt") {
		sites = append(sites, a64Site{producer: r.producer(), name: r.name(), typ: typeNamed(t, r, byName),
			P: r.P, S: r.S, A: r.addend(t), object: r.bytes(t, 6), linked: r.bytes(t, 7), objdump: r.objdump()})
	}
	return sites
}

// a64SitesNamed returns the sites with these names from every producer
// that has them, and fails the test for a name no producer has.
func a64SitesNamed(t *testing.T, names ...string) []a64Site {
	t.Helper()
	return pickSites(t, loadA64Sites(t), names...)
}

// a64SiteOf returns GNU's site of this name.
func a64SiteOf(t *testing.T, name string) a64Site {
	t.Helper()
	return firstSite(t, a64SitesNamed(t, name), func(s a64Site) bool { return s.producer == "gnu" }, "no gnu site "+name)
}

// a64Relink applies the relocation to the object's bytes with v, returning
// the bytes written.
func a64Relink(t *testing.T, s a64Site, v Values) []byte {
	t.Helper()
	loc := slices.Clone(s.object)
	if err := AArch64Apply(s.typ, loc, v); err != nil {
		t.Fatalf("%v: AArch64Apply(%s, %+v): %v", s, AArch64TypeName(s.typ), v, err)
	}
	return loc
}

func TestAArch64EverySiteAppliesAsTheLinkerDid(t *testing.T) {
	for _, s := range loadA64Sites(t) {
		if strings.HasPrefix(s.name, "undef_") {
			continue // see TestAArch64UndefinedImportIsZeroForGNUAndThePlaceForLLD
		}
		t.Run(s.String(), func(t *testing.T) {
			if got := a64Relink(t, s, s.values()); !bytes.Equal(got, s.linked) {
				t.Errorf("%s: wrote % x, the linker wrote % x (%s)", AArch64TypeName(s.typ), got, s.linked, s.objdump)
			}
		})
	}
}

func TestAArch64ObjectFieldsHoldZero(t *testing.T) {
	// RELA: the addend is in the entry, so the assembler leaves the field 0.
	for _, s := range loadA64Sites(t) {
		if got, err := AArch64Field(s.typ, s.object); got != 0 || err != nil {
			t.Errorf("%v: AArch64Field(%s, % x) = %#x, %v; want 0", s, AArch64TypeName(s.typ), s.object, got, err)
		}
	}
}

func TestAArch64FieldReadsWhatTheLayoutPlaced(t *testing.T) {
	// The values are layout.ld's comments: computed by hand from the
	// addresses there, not by the code under test.
	for _, tc := range []struct {
		site string
		want uint64
	}{
		{"bl_fwd", 0x800}, {"bl_back", -0x1010 & mask64}, {"bl_max_fwd", 0x7fffffc}, {"bl_max_back", -0x8000000 & mask64},
		{"b_fwd", 0x7c0}, {"b_back", -0x1050 & mask64}, {"b_max_fwd", 0x7fffffc}, {"b_max_back", -0x8000000 & mask64},
		{"bl_addend", 0x7c0},
		{"adrp_fwd", 0x11000}, {"adrp_back", -0x11000 & mask64}, {"adrp_max_fwd", 0xfffff000},
		{"adrp_max_back", -0x100000000 & mask64}, {"adrp_nc", 0x11000}, {"adrp_addend", 0x12000},
		{"adr_fwd", 0x112e5}, {"adr_back", -0x105b4 & mask64}, {"adr_max_fwd", 0xfffff}, {"adr_max_back", -0x100000 & mask64},
		{"add_lo12", 0x345}, {"add_lo12_addend", 0x1},
		{"ldst8", 0xfff}, {"ldst16", 0xffe}, {"ldst32", 0xffc}, {"ldst64", 0xff8}, {"ldst128", 0xff0},
		{"ldst64_str_wrap", 0}, {"ldst32_ldrsw", 0xff4}, {"ldst64_fp", 0xff8},
		{"movz_g0_max", 0xffff}, {"movz_g1_max", 0xffff0000}, {"movz_g2_max", 0xffff00000000},
		{"movz_g3", 0xfedc000000000000}, {"movk_g2_nc", 0xba9800000000}, {"movk_g1_nc", 0x76540000},
		{"movk_g0_nc", 0x3210}, {"movz_g1_carry", 0x10000}, {"movk_w_g1_nc", 0x76540000},
		{"xword_abs64", 0xfedcba9876543211}, {"xword_abs64_fn", 0x100000800}, {"xword_prel64", -0x12564 & mask64},
		{"word_abs32_max", 0xffffffff}, {"word_abs32", 0x1abc},
		{"word_prel32_max", 0x7fffffff}, {"word_prel32_min", -0x80000000 & mask64},
	} {
		for _, s := range a64SitesNamed(t, tc.site) {
			if got, err := AArch64Field(s.typ, s.linked); uint64(got) != tc.want || err != nil {
				t.Errorf("%v: AArch64Field(%s, % x) = %#x, %v; want %#x", s, AArch64TypeName(s.typ), s.linked, got, err, tc.want)
			}
		}
	}
}

const mask64 = 1<<64 - 1

func TestAArch64LoadStoreFieldIsScaledByAccessSize(t *testing.T) {
	for _, tc := range []struct {
		site string
		imm  uint32 // bits 21:10 as the instruction holds them
	}{
		{"ldst8", 0xfff}, {"ldst16", 0x7ff}, {"ldst32", 0x3ff}, {"ldst64", 0x1ff}, {"ldst128", 0xff},
		{"ldst32_ldrsw", 0x3fd}, {"ldst64_fp", 0x1ff},
	} {
		for _, s := range a64SitesNamed(t, tc.site) {
			if got := readA64Imm12(get32(s.linked)); got != tc.imm {
				t.Errorf("%v: imm12 %#x; want %#x", s, got, tc.imm)
			}
		}
	}
}

func TestAArch64AdrpAndLo12RebuildTheAddress(t *testing.T) {
	// The page from ADRP and the low 12 bits from the ADD are one address,
	// S + A, though only ADRP counts from P.
	for _, tc := range []struct {
		adrp, lo12 string
		want       uint64
	}{
		{"adrp_fwd", "add_lo12", 0x100012345},
		{"undef_adrp", "undef_add", 0x1234}, // the import at 0, addend 0x1234
	} {
		for _, adrp := range a64SitesNamed(t, tc.adrp) {
			for _, lo := range a64SitesNamed(t, tc.lo12) {
				if lo.producer != adrp.producer {
					continue
				}
				page, err1 := AArch64Field(adrp.typ, adrp.linked)
				low, err2 := AArch64Field(lo.typ, lo.linked)
				if got := uint64(a64Page(int64(adrp.P)) + page + low); got != tc.want || err1 != nil || err2 != nil {
					t.Errorf("%v + %v: %#x (%v, %v); want %#x", adrp, lo, got, err1, err2, tc.want)
				}
			}
		}
	}
}

// a64PastTheEnd returns GNU's site at one end of a field's range, with the
// values that move its symbol one step further.
func a64PastTheEnd(t *testing.T, name string, step int64) (a64Site, Values) {
	t.Helper()
	s := a64SiteOf(t, name)
	v := s.values()
	v.S = uint64(int64(v.S) + step)
	return s, v
}

func a64CheckRangeError(t *testing.T, s a64Site, v Values, want RangeError) {
	t.Helper()
	loc := slices.Clone(s.object)
	err := AArch64Apply(s.typ, loc, v)
	var re *RangeError
	if !errors.As(err, &re) || *re != want {
		t.Errorf("%v: AArch64Apply(%s, %+v) = %v; want %v", s, AArch64TypeName(s.typ), v, err, &want)
	}
	if !bytes.Equal(loc, s.object) {
		t.Errorf("%v: a failed AArch64Apply wrote % x", s, loc)
	}
}

func TestAArch64BranchOutOfRangeIsRangeError(t *testing.T) {
	for _, tc := range []struct {
		site string
		step int64
		want RangeError
	}{
		{"bl_max_fwd", +4, RangeError{0x8000000, -0x8000000, 0x7fffffc, "BL offset"}},
		{"bl_max_back", -4, RangeError{-0x8000004, -0x8000000, 0x7fffffc, "BL offset"}},
		{"b_max_fwd", +4, RangeError{0x8000000, -0x8000000, 0x7fffffc, "B offset"}},
		{"b_max_back", -4, RangeError{-0x8000004, -0x8000000, 0x7fffffc, "B offset"}},
	} {
		s, v := a64PastTheEnd(t, tc.site, tc.step)
		a64CheckRangeError(t, s, v, tc.want)
	}
	// The shape of elfpatch's worst case: an allocator placed 4 GiB away.
	loc := []byte{0x00, 0x00, 0x00, 0x94} // bl sym, as assembled
	err := AArch64Apply(elf.R_AARCH64_CALL26, loc, Values{S: 0x140000000, P: 0x40000000})
	const want = "value 0x100000000 out of range [-0x8000000, 0x7fffffc] of BL offset"
	if err == nil || err.Error() != want {
		t.Errorf("4 GiB forward: got %v, want %s", err, want)
	}
}

func TestAArch64PageRelativeOutOfRangeIsRangeError(t *testing.T) {
	for _, tc := range []struct {
		site string
		step int64
		want RangeError
	}{
		{"adrp_max_fwd", +0x1000, RangeError{0x100000000, -0x100000000, 0xfffff000, "ADRP page offset"}},
		{"adrp_max_back", -0x1000, RangeError{-0x100001000, -0x100000000, 0xfffff000, "ADRP page offset"}},
		{"adr_max_fwd", +1, RangeError{0x100000, -0x100000, 0xfffff, "ADR offset"}},
		{"adr_max_back", -1, RangeError{-0x100001, -0x100000, 0xfffff, "ADR offset"}},
	} {
		s, v := a64PastTheEnd(t, tc.site, tc.step)
		a64CheckRangeError(t, s, v, tc.want)
	}
	// Moving the symbol within its page changes nothing an ADRP holds.
	s, v := a64PastTheEnd(t, "adrp_max_fwd", 0xfff-0x123)
	if got := a64Relink(t, s, v); !bytes.Equal(got, s.linked) {
		t.Errorf("%v: the page's last byte gives % x, the linker wrote % x for its first", s, got, s.linked)
	}
}

func TestAArch64AdrpNCTakesAnyPage(t *testing.T) {
	s := a64SiteOf(t, "adrp_nc")
	v := s.values()
	v.S += 0x100000000 // 4 GiB further than ADRP reaches: the field wraps
	got := a64Relink(t, s, v)
	if field, _ := AArch64Field(s.typ, got); field != 0x11000-0x100000000 {
		t.Errorf("%v: wrote % x, field %#x; want the page offset wrapped to 21 bits, %#x", s, got, field, 0x11000-0x100000000)
	}
}

func TestAArch64MovwOutOfRangeIsRangeError(t *testing.T) {
	for _, tc := range []struct {
		site string
		step int64
		want RangeError
	}{
		{"movz_g0_max", +1, RangeError{0x10000, 0, 0xffff, "MOVZ/MOVK G0 address"}},
		{"movz_g1_max", +1, RangeError{0x100000000, 0, 0xffffffff, "MOVZ/MOVK G1 address"}},
		{"movz_g2_max", +1, RangeError{0x1000000000000, 0, 0xffffffffffff, "MOVZ/MOVK G2 address"}},
	} {
		s, v := a64PastTheEnd(t, tc.site, tc.step)
		a64CheckRangeError(t, s, v, tc.want)
	}
	// Unsigned: a negative S + A is beyond every group.
	s := a64SiteOf(t, "movz_g0_max")
	a64CheckRangeError(t, s, Values{S: 0, A: -1}, RangeError{-1, 0, 0xffff, "MOVZ/MOVK G0 address"})

	// The _NC groups and G3 take their bits of anything.
	for _, tc := range []struct {
		site string
		want uint32 // imm16
	}{
		{"movk_g0_nc", 0x3210}, {"movk_g1_nc", 0x7654}, {"movk_g2_nc", 0xba98}, {"movz_g3", 0xfedc},
	} {
		s := a64SiteOf(t, tc.site)
		got := a64Relink(t, s, Values{S: 0xfedcba9876543210})
		if imm := readA64Imm16(get32(got)); imm != tc.want {
			t.Errorf("%v: #%#x; want #%#x", s, imm, tc.want)
		}
	}
}

func TestAArch64Word32TakesEitherReading(t *testing.T) {
	// AAELF64 lets ABS32 and PREL32 hold anything in [-2^31, 2^32), so
	// that the word reads as signed or unsigned. GNU ld 2.40 is stricter
	// (ABS32 unsigned, PREL32 signed), ld.lld is not; these follow the ABI.
	abs := a64SiteOf(t, "word_abs32")
	prel := a64SiteOf(t, "word_prel32_max")
	for _, tc := range []struct {
		s    a64Site
		v    Values
		want uint32
	}{
		{abs, Values{S: 0, A: -0x80000000}, 0x80000000},
		{prel, Values{S: 0x80000000, P: 0}, 0x80000000},
		{prel, Values{S: 0xffffffff, P: 0}, 0xffffffff},
	} {
		if got := a64Relink(t, tc.s, tc.v); get32(got) != tc.want {
			t.Errorf("%v: %+v wrote %#x; want %#x", tc.s, tc.v, get32(got), tc.want)
		}
	}
	for _, tc := range []struct {
		s    a64Site
		v    Values
		want RangeError
	}{
		{abs, Values{S: 0xffffffff, A: 1}, RangeError{0x100000000, -0x80000000, 0xffffffff, "32-bit word"}},
		{abs, Values{S: 0, A: -0x80000001}, RangeError{-0x80000001, -0x80000000, 0xffffffff, "32-bit word"}},
		{prel, Values{S: 0x100000000, P: 0}, RangeError{0x100000000, -0x80000000, 0xffffffff, "32-bit PC-relative word"}},
		{prel, Values{S: 0, P: 0x80000001}, RangeError{-0x80000001, -0x80000000, 0xffffffff, "32-bit PC-relative word"}},
	} {
		a64CheckRangeError(t, tc.s, tc.v, tc.want)
	}
}

func TestAArch64MisalignedIsAlignError(t *testing.T) {
	for _, tc := range []struct {
		site string
		step int64
		want AlignError
	}{
		{"bl_fwd", +2, AlignError{0x802, 4, "BL offset"}},
		{"b_fwd", +1, AlignError{0x7c1, 4, "B offset"}},
		{"ldst16", +1, AlignError{0x100020fff, 2, "2-byte load/store address"}},
		{"ldst32", +2, AlignError{0x100020ffe, 4, "4-byte load/store address"}},
		{"ldst64", +4, AlignError{0x100020ffc, 8, "8-byte load/store address"}},
		{"ldst128", +8, AlignError{0x100020ff8, 16, "16-byte load/store address"}},
	} {
		s, v := a64PastTheEnd(t, tc.site, tc.step)
		loc := slices.Clone(s.object)
		err := AArch64Apply(s.typ, loc, v)
		var ae *AlignError
		if !errors.As(err, &ae) || *ae != tc.want {
			t.Errorf("%v: AArch64Apply(%+v) = %v; want %v", s, v, err, &tc.want)
		}
		if !bytes.Equal(loc, s.object) {
			t.Errorf("%v: a failed AArch64Apply wrote % x", s, loc)
		}
	}
	s, v := a64PastTheEnd(t, "ldst64", +4)
	err := AArch64Apply(s.typ, slices.Clone(s.object), v)
	if want := "value 0x100020ffc of 8-byte load/store address is not a multiple of 8"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	// A byte load takes any address.
	s, v = a64PastTheEnd(t, "ldst8", -1)
	if got := a64Relink(t, s, v); readA64Imm12(get32(got)) != 0xffe {
		t.Errorf("%v: wrote % x; want #0xffe", s, got)
	}
}

func TestAArch64CheckRejectsWrongInstruction(t *testing.T) {
	word := func(w uint32) []byte { return []byte{byte(w), byte(w >> 8), byte(w >> 16), byte(w >> 24)} }
	for _, tc := range []struct {
		typ  elf.R_AARCH64
		loc  []byte
		want string
	}{
		{elf.R_AARCH64_CALL26, word(0x14000000), "R_AARCH64_CALL26 applies to a BL, found 0x14000000 (a B)"},
		{elf.R_AARCH64_JUMP26, word(0x94000000), "R_AARCH64_JUMP26 applies to a B, found 0x94000000 (a BL)"},
		{elf.R_AARCH64_CALL26, word(0xd503201f),
			"R_AARCH64_CALL26 applies to a BL, found 0xd503201f (a NOP, which GNU ld writes in place of a branch to an undefined weak symbol)"},
		{elf.R_AARCH64_CALL26, word(0xd63f0200), "R_AARCH64_CALL26 applies to a BL, found 0xd63f0200 (not a BL)"}, // blr x16
		{elf.R_AARCH64_ADR_PREL_PG_HI21, word(0x10000000), "R_AARCH64_ADR_PREL_PG_HI21 applies to an ADRP, found 0x10000000 (an ADR)"},
		{elf.R_AARCH64_ADR_PREL_LO21, word(0x90000000), "R_AARCH64_ADR_PREL_LO21 applies to an ADR, found 0x90000000 (an ADRP)"},
		{elf.R_AARCH64_ADD_ABS_LO12_NC, word(0x91400000), "R_AARCH64_ADD_ABS_LO12_NC applies to an ADD (immediate), found 0x91400000 (an ADD with LSL #12)"},
		{elf.R_AARCH64_ADD_ABS_LO12_NC, word(0xf9400000), "R_AARCH64_ADD_ABS_LO12_NC applies to an ADD (immediate), found 0xf9400000 (ldr, a load or store)"},
		{elf.R_AARCH64_LDST64_ABS_LO12_NC, word(0xb9400000),
			"R_AARCH64_LDST64_ABS_LO12_NC applies to a load or store of 8 bytes (unsigned offset), found 0xb9400000 (ldr, which accesses 4 bytes)"},
		{elf.R_AARCH64_LDST128_ABS_LO12_NC, word(0xfd400000),
			"R_AARCH64_LDST128_ABS_LO12_NC applies to a load or store of 16 bytes (unsigned offset), found 0xfd400000 (ldr, which accesses 8 bytes)"},
		{elf.R_AARCH64_LDST32_ABS_LO12_NC, word(0x91000000),
			"R_AARCH64_LDST32_ABS_LO12_NC applies to a load or store of 4 bytes (unsigned offset), found 0x91000000 (an ADD)"},
		{elf.R_AARCH64_MOVW_UABS_G0, word(0xd2a00000), "R_AARCH64_MOVW_UABS_G0 applies to a MOVZ or MOVK, found 0xd2a00000 (a MOVZ with LSL #16)"},
		{elf.R_AARCH64_MOVW_UABS_G1_NC, word(0xf2c00000), "R_AARCH64_MOVW_UABS_G1_NC applies to a MOVZ or MOVK with LSL #16, found 0xf2c00000 (a MOVK with LSL #32)"},
		{elf.R_AARCH64_MOVW_UABS_G1, word(0x92a00000), "R_AARCH64_MOVW_UABS_G1 applies to a MOVZ or MOVK with LSL #16, found 0x92a00000 (a MOVN)"},
		{elf.R_AARCH64_MOVW_UABS_G2, word(0x52c00000), "R_AARCH64_MOVW_UABS_G2 applies to a MOVZ or MOVK with LSL #32, found 0x52c00000 (not a MOVZ or MOVK with LSL #32)"}, // W register, hw 2: unallocated
	} {
		name := AArch64TypeName(tc.typ)
		err := AArch64Check(tc.typ, tc.loc)
		var ie *InsnError
		if !errors.As(err, &ie) || err.Error() != tc.want {
			t.Errorf("%s: AArch64Check = %v; want %s", name, err, tc.want)
		}
		loc := slices.Clone(tc.loc)
		if err := AArch64Apply(tc.typ, loc, Values{S: 0x1000, P: 0}); !errors.As(err, &ie) || !bytes.Equal(loc, tc.loc) {
			t.Errorf("%s: AArch64Apply = %v and wrote % x; want an InsnError and no write", name, err, loc)
		}
		if _, err := AArch64Field(tc.typ, tc.loc); !errors.As(err, &ie) {
			t.Errorf("%s: AArch64Field = %v; want an InsnError", name, err)
		}
	}
}

func TestAArch64ApplyKeepsEverythingButTheField(t *testing.T) {
	// Registers, opcode, shift and size survive; only the field changes,
	// whatever the linker had left in it (ld.lld ORs into a field it
	// trusts to be zero, which a linked image is not).
	for _, tc := range []struct {
		site string
		mask uint32 // the field's bits
	}{
		{"bl_back", 0x03ffffff}, {"b_back", 0x03ffffff},
		{"adrp_back", 0x60ffffe0}, {"adr_back", 0x60ffffe0},
		{"add_lo12", 0x003ffc00}, {"ldst32_ldrsw", 0x003ffc00}, {"ldst128", 0x003ffc00},
		{"movk_w_g1_nc", 0x001fffe0}, {"movz_g3", 0x001fffe0},
	} {
		s := a64SiteOf(t, tc.site)
		for _, v := range []Values{{S: s.P, P: s.P}, {S: s.P + 0x1000, P: s.P}, {S: s.P - 0x10000, P: s.P}, {S: 0x123456789abcdef0, P: 0x123456789abcdef0}} {
			loc := slices.Clone(s.linked) // the linked field, not zero
			if err := AArch64Apply(s.typ, loc, v); err != nil {
				t.Fatalf("%v: %+v: %v", s, v, err)
			}
			fresh := a64Relink(t, s, v)
			if !bytes.Equal(loc, fresh) || get32(loc)&^tc.mask != get32(s.object)&^tc.mask {
				t.Errorf("%v: over the linked bytes wrote % x, over the object's % x", s, loc, fresh)
			}
		}
	}
}

// TestAArch64FieldsRoundTrip writes every value (or, for the wide fields, a
// stride through them and both ends) into real instructions and reads it
// back: AArch64Field(AArch64Apply(A = x, S = P = 0)) == x.
func TestAArch64FieldsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		site     string
		min, max int64
		align    int64
		stride   int64
	}{
		{"bl_fwd", -1 << 27, 1<<27 - 4, 4, 4 * 2011},
		{"b_fwd", -1 << 27, 1<<27 - 4, 4, 4 * 2011},
		{"adrp_fwd", -1 << 32, 1<<32 - 1<<12, 1 << 12, 1 << 12 * 61},
		{"adrp_nc", -1 << 32, 1<<32 - 1<<12, 1 << 12, 1 << 12 * 61},
		{"adr_fwd", -1 << 20, 1<<20 - 1, 1, 1},
		{"add_lo12", 0, 0xfff, 1, 1},
		{"ldst8", 0, 0xfff, 1, 1},
		{"ldst16", 0, 0xffe, 2, 2},
		{"ldst32", 0, 0xffc, 4, 4},
		{"ldst64", 0, 0xff8, 8, 8},
		{"ldst128", 0, 0xff0, 16, 16},
		{"movz_g0_max", 0, 0xffff, 1, 1},
		{"movz_g1_max", 0, 0xffff0000, 1 << 16, 1 << 16},
		{"movk_g2_nc", 0, 0xffff00000000, 1 << 32, 1 << 32},
		{"word_abs32", 0, 1<<32 - 1, 1, 1<<20 + 7},
		{"word_prel32_max", -1 << 31, 1<<31 - 1, 1, 1<<20 + 7},
		{"xword_abs64", -1 << 63, 1<<63 - 1, 1, 1<<56 + 12345},
		{"xword_prel64", -1 << 63, 1<<63 - 1, 1, 1<<56 + 12345},
	} {
		s := a64SiteOf(t, tc.site)
		try := func(x int64) {
			loc := slices.Clone(s.object)
			if err := AArch64Apply(s.typ, loc, Values{A: x}); err != nil {
				t.Fatalf("%v: AArch64Apply(A=%#x): %v", s, x, err)
			}
			if got, err := AArch64Field(s.typ, loc); got != x || err != nil {
				t.Fatalf("%v: wrote %#x as % x, read back %#x, %v", s, x, loc, got, err)
			}
		}
		for x := tc.min; ; x += tc.stride {
			try(x)
			if x > tc.max-tc.stride {
				break
			}
		}
		for _, x := range []int64{tc.min, max(tc.min, -tc.align), 0, tc.align, tc.max} {
			try(x)
		}
	}
	// G3 holds the top 16 bits, negative as an int64 from 0x8000 on.
	s := a64SiteOf(t, "movz_g3")
	for imm := range uint64(1 << 16) {
		x := int64(imm << 48)
		loc := slices.Clone(s.object)
		if err := AArch64Apply(s.typ, loc, Values{A: x}); err != nil {
			t.Fatal(err)
		}
		if got, _ := AArch64Field(s.typ, loc); got != x {
			t.Fatalf("G3 of %#x reads back %#x", uint64(x), uint64(got))
		}
	}
}

func TestAArch64ShortBuffersAreInsnErrors(t *testing.T) {
	seen := map[elf.R_AARCH64]bool{}
	for _, s := range loadA64Sites(t) {
		if seen[s.typ] {
			continue
		}
		seen[s.typ] = true
		for n := range len(s.object) {
			short := slices.Clone(s.object[:n])
			var ie *InsnError
			if err := AArch64Check(s.typ, short); !errors.As(err, &ie) {
				t.Errorf("%v: AArch64Check of %d bytes = %v; want an InsnError", s, n, err)
			}
			if _, err := AArch64Field(s.typ, short); !errors.As(err, &ie) {
				t.Errorf("%v: AArch64Field of %d bytes = %v; want an InsnError", s, n, err)
			}
			if err := AArch64Apply(s.typ, short, s.values()); !errors.As(err, &ie) {
				t.Errorf("%v: AArch64Apply of %d bytes = %v; want an InsnError", s, n, err)
			}
			_ = AArch64Disasm(s.typ, short, s.P)
		}
	}
	if len(seen) != len(a64Types) {
		t.Errorf("sites.txt has %d of the %d types", len(seen), len(a64Types))
	}
	err := AArch64Check(elf.R_AARCH64_ABS64, []byte{1, 2, 3, 4})
	if want := "R_AARCH64_ABS64 applies to a 64-bit doubleword, found 0x01 0x02 0x03 0x04 (need 8 bytes, have 4)"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	err = AArch64Check(elf.R_AARCH64_CALL26, nil)
	if want := "R_AARCH64_CALL26 applies to a BL, found nothing (need 4 bytes, have 0)"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestAArch64UnsupportedTypeIsUnsupportedError(t *testing.T) {
	typ := elf.R_AARCH64_CONDBR19
	loc := []byte{0x00, 0x00, 0x00, 0x54} // b.eq .
	const want = "unsupported relocation type R_AARCH64_CONDBR19"
	_, errField := AArch64Field(typ, loc)
	for _, err := range []error{AArch64Check(typ, loc), errField, AArch64Apply(typ, loc, Values{})} {
		var ue *UnsupportedError
		if !errors.As(err, &ue) || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
	}
}

func TestAArch64UndefinedImportIsZeroForGNUAndThePlaceForLLD(t *testing.T) {
	// With --unresolved-symbols=ignore-all, GNU ld gives the import the
	// value 0 everywhere. ld.lld does so for absolute types and ADRP, but
	// sends a branch to the next instruction and makes ADR and PREL32 the
	// place itself, as for an undefined weak symbol.
	for _, s := range loadA64Sites(t) {
		if !strings.HasPrefix(s.name, "undef_") {
			continue
		}
		if s.S != 0 {
			t.Errorf("%v: the import's value is %#x, not 0", s, s.S)
		}
		v := s.values()
		if s.producer == "llvm" {
			switch s.typ {
			case elf.R_AARCH64_CALL26, elf.R_AARCH64_JUMP26:
				v.S = s.P + 4
			case elf.R_AARCH64_ADR_PREL_LO21, elf.R_AARCH64_PREL32, elf.R_AARCH64_PREL64:
				v.S = s.P
			}
		}
		if got := a64Relink(t, s, v); !bytes.Equal(got, s.linked) {
			t.Errorf("%v: S = %#x gives % x, the linker wrote % x (%s)", s, v.S, got, s.linked, s.objdump)
		}
		if err := AArch64Check(s.typ, s.linked); err != nil {
			t.Errorf("%v: %v", s, err)
		}
	}
}

func TestAArch64ImageKeepsTheObjectsAddends(t *testing.T) {
	// gen.sh writes a # line where an image's addend differs from the
	// object's; none does, and the undefined import's are the source's.
	raw, err := os.ReadFile("testdata/aarch64/sites.txt")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("the image keeps")) {
		t.Error("sites.txt reports an addend the linker changed")
	}
	for _, tc := range []struct {
		site string
		A    int64
	}{
		{"undef_bl", 0}, {"undef_adrp", 0x1234}, {"undef_add", 0x1234}, {"undef_ldst64", 0x1238},
		{"undef_adr", 8}, {"undef_movk_g0_nc", 0x20}, {"undef_xword", 0x10}, {"bl_addend", 0x40},
	} {
		for _, s := range a64SitesNamed(t, tc.site) {
			if s.A != tc.A {
				t.Errorf("%v: addend %#x; want %#x", s, s.A, tc.A)
			}
		}
	}
}

func TestAArch64GNUAndLLVMAgree(t *testing.T) {
	// Except at the undefined import (see above), both toolchains write
	// the same bytes: the fixtures test the ABI, not one linker.
	bySite := map[string]map[string]a64Site{}
	for _, s := range loadA64Sites(t) {
		if bySite[s.name] == nil {
			bySite[s.name] = map[string]a64Site{}
		}
		bySite[s.name][s.producer] = s
	}
	for name, p := range bySite {
		gnu, ok1 := p["gnu"]
		llvm, ok2 := p["llvm"]
		if !ok1 || !ok2 || gnu.typ != llvm.typ || gnu.A != llvm.A {
			t.Errorf("%s: not the same relocation from both producers", name)
			continue
		}
		if !bytes.Equal(gnu.object, llvm.object) {
			t.Errorf("%s: GNU as wrote % x, clang % x", name, gnu.object, llvm.object)
		}
		if !strings.HasPrefix(name, "undef_") && !bytes.Equal(gnu.linked, llvm.linked) {
			t.Errorf("%s: GNU ld wrote % x, ld.lld % x", name, gnu.linked, llvm.linked)
		}
	}
}

func TestAArch64DisasmReadsLikeObjdump(t *testing.T) {
	for _, s := range loadA64Sites(t) {
		if got, want := AArch64Disasm(s.typ, s.linked, s.P), a64ObjdumpToDisasm(s.objdump, s.linked); got != want {
			t.Errorf("%v: AArch64Disasm(% x) = %q; objdump says %q, i.e. %q", s, s.linked, got, s.objdump, want)
		}
	}
	word := func(w uint32) []byte { return []byte{byte(w), byte(w >> 8), byte(w >> 16), byte(w >> 24)} }
	for _, tc := range []struct {
		typ  elf.R_AARCH64
		loc  []byte
		P    uint64
		want string
	}{
		{elf.R_AARCH64_CALL26, word(0xd503201f), 0, "nop"},
		{elf.R_AARCH64_CALL26, word(0x97ffffff), 0x1000, "bl 0xffc"},
		{elf.R_AARCH64_CALL26, word(0xd63f0200), 0, ".inst 0xd63f0200"},
		{elf.R_AARCH64_LDST64_ABS_LO12_NC, word(0xf9800000 | 0x1ff<<10), 0, "prfm pldl1keep, [x0, #0xff8]"},
		{elf.R_AARCH64_LDST64_ABS_LO12_NC, word(0xf98003f3), 0, "prfm pstl2strm, [sp]"},
		{elf.R_AARCH64_ADD_ABS_LO12_NC, word(0x110003ff), 0, "add wsp, wsp, #0x0"},
		{elf.R_AARCH64_MOVW_UABS_G0, word(0x5280001f), 0, "movz wzr, #0x0"},
		{elf.R_AARCH64_LDST8_ABS_LO12_NC, word(0x39c00000), 0, "ldrsb w0, [x0]"},
		{elf.R_AARCH64_LDST16_ABS_LO12_NC, word(0x79800000), 0, "ldrsh x0, [x0]"},
		{elf.R_AARCH64_LDST32_ABS_LO12_NC, word(0xbd000400), 0, "str s0, [x0, #0x4]"},
		{elf.R_AARCH64_CALL26, []byte{0x94}, 0, ".byte 0x94"},
		{elf.R_AARCH64_ABS64, []byte{1, 2, 3, 4}, 0, ".byte 0x01, 0x02, 0x03, 0x04"},
		{elf.R_AARCH64_ABS32, nil, 0, "(no bytes)"},
	} {
		if got := AArch64Disasm(tc.typ, tc.loc, tc.P); got != tc.want {
			t.Errorf("AArch64Disasm(% x) = %q; want %q", tc.loc, got, tc.want)
		}
	}
}

var (
	a64ObjdumpComment = regexp.MustCompile(` (<[^>]*>|// .*)$`)
	a64ObjdumpTarget  = regexp.MustCompile(`^(bl?|adrp? \w+,) ([0-9a-f]+)$`)
	a64ObjdumpDecimal = regexp.MustCompile(`#(\d+)\]$`)
	a64ObjdumpMov     = regexp.MustCompile(`^mov (\w+), #0x([0-9a-f]+)$`)
	a64ObjdumpWord    = regexp.MustCompile(`^\.word 0x([0-9a-f]+)$`)
	a64ObjdumpXword   = regexp.MustCompile(`^\.word 0x([0-9a-f]+); \.word 0x([0-9a-f]+)$`)
)

// a64ObjdumpToDisasm rewrites GNU objdump's notation into AArch64Disasm's:
// no symbols or comments, hexadecimal everywhere, MOVZ where objdump
// prefers its mov alias, and the two words of a doubleword as one .xword.
func a64ObjdumpToDisasm(s string, linked []byte) string {
	s = a64ObjdumpComment.ReplaceAllString(s, "")
	s = a64ObjdumpTarget.ReplaceAllString(s, "$1 0x$2")
	if m := a64ObjdumpDecimal.FindStringSubmatch(s); m != nil {
		n, _ := strconv.ParseUint(m[1], 10, 64)
		s = a64ObjdumpDecimal.ReplaceAllString(s, fmt.Sprintf("#%#x]", n))
	}
	if m := a64ObjdumpMov.FindStringSubmatch(s); m != nil {
		// mov is MOVZ's alias when the value is one 16-bit group in place:
		// the highest nonzero group is the one.
		v, _ := strconv.ParseUint(m[2], 16, 64)
		hw := max(bits.Len64(v)-1, 0) / 16
		s = fmt.Sprintf("movz %s, #%#x", m[1], v>>(16*hw))
		if hw > 0 {
			s += fmt.Sprintf(", lsl #%d", 16*hw)
		}
	}
	if m := a64ObjdumpXword.FindStringSubmatch(s); m != nil {
		lo, _ := strconv.ParseUint(m[1], 16, 32)
		hi, _ := strconv.ParseUint(m[2], 16, 32)
		s = fmt.Sprintf(".xword %#x", hi<<32|lo)
	}
	if m := a64ObjdumpWord.FindStringSubmatch(s); m != nil {
		n, _ := strconv.ParseUint(m[1], 16, 32)
		s = fmt.Sprintf(".word %#x", n)
	}
	return s
}

func FuzzAArch64NeverPanics(f *testing.F) {
	types := append(slices.Clone(a64Types), elf.R_AARCH64_CONDBR19)
	f.Add(uint8(0), []byte{0x00, 0x00, 0x00, 0x94}, uint64(0x400200), int64(0), uint64(0x400000))
	f.Add(uint8(6), []byte{0x00, 0x00, 0x00, 0x90}, uint64(1<<63), int64(-1<<62), uint64(0))
	f.Add(uint8(14), []byte{0x00, 0x00, 0x40, 0xf9}, uint64(0x1001), int64(7), uint64(0))
	f.Add(uint8(2), []byte{0x01, 0x02}, uint64(0), int64(0), uint64(0))
	f.Fuzz(func(t *testing.T, i uint8, loc []byte, S uint64, A int64, P uint64) {
		typ := types[int(i)%len(types)]
		_ = AArch64Check(typ, loc)
		_, _ = AArch64Field(typ, loc)
		_ = AArch64Disasm(typ, loc, P)
		before := slices.Clone(loc)
		if err := AArch64Apply(typ, loc, Values{S: S, A: A, P: P}); err != nil && !bytes.Equal(loc, before) {
			t.Errorf("a failed AArch64Apply wrote % x over % x: %v", loc, before, err)
		}
	})
}

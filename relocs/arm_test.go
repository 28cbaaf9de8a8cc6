package relocs

import (
	"bytes"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// A site is one line of testdata/arm/sites.txt: a relocation as a real
// assembler left it in an object and a real linker resolved it in an image.
// gen.sh in that directory says how they were made.
type site struct {
	producer, name string // producer: "gnu" or "llvm"
	typ            elf.R_ARM
	P, S           uint64
	T              bool
	object, linked []byte
	objdump        string // GNU objdump's reading of linked
}

func (s site) String() string { return s.producer + "/" + s.name }

func (s site) siteName() string { return s.name }

func (s site) values(A int64) Values { return Values{S: s.S, A: A, P: s.P, T: s.T} }

var armTypeByName = map[string]elf.R_ARM{
	"R_ARM_ABS32":           elf.R_ARM_ABS32,
	"R_ARM_REL32":           elf.R_ARM_REL32,
	"R_ARM_PREL31":          elf.R_ARM_PREL31,
	"R_ARM_THM_CALL":        elf.R_ARM_THM_PC22,
	"R_ARM_THM_JUMP24":      elf.R_ARM_THM_JUMP24,
	"R_ARM_THM_JUMP19":      elf.R_ARM_THM_JUMP19,
	"R_ARM_THM_JUMP11":      elf.R_ARM_THM_JUMP11,
	"R_ARM_THM_MOVW_ABS_NC": elf.R_ARM_THM_MOVW_ABS_NC,
	"R_ARM_THM_MOVT_ABS":    elf.R_ARM_THM_MOVT_ABS,
	"R_ARM_CALL":            elf.R_ARM_CALL,
	"R_ARM_JUMP24":          elf.R_ARM_JUMP24,
	"R_ARM_PC24":            elf.R_ARM_PC24,
	"R_ARM_MOVW_ABS_NC":     elf.R_ARM_MOVW_ABS_NC,
	"R_ARM_MOVT_ABS":        elf.R_ARM_MOVT_ABS,
	"R_ARM_TARGET1":         elf.R_ARM_TARGET1,
}

// isA32 reports whether relocations of type t apply to A32 code.
func isA32(t elf.R_ARM) bool {
	switch t {
	case elf.R_ARM_CALL, elf.R_ARM_JUMP24, elf.R_ARM_PC24, elf.R_ARM_MOVW_ABS_NC, elf.R_ARM_MOVT_ABS:
		return true
	}
	return false
}

// insnAt names the instruction at loc in the instruction set of type t.
func insnAt(t elf.R_ARM, loc []byte) string {
	if isA32(t) {
		return a32Insn(loc)
	}
	return thumbInsn(loc)
}

// branchTarget decodes the branch at loc in the instruction set of type t.
func branchTarget(t elf.R_ARM, loc []byte, P uint64) (uint64, bool, error) {
	if isA32(t) {
		return ARMBranchTargetA32(loc, P)
	}
	return ARMBranchTarget(loc, P)
}

func loadSites(t *testing.T) []site {
	t.Helper()
	var sites []site
	for _, r := range readSites(t, "testdata/arm/sites.txt", "veneer ") {
		sites = append(sites, site{producer: r.producer(), name: r.name(), typ: typeNamed(t, r, armTypeByName),
			P: r.P, S: r.S, T: r.f[5] == "1", object: r.bytes(t, 6), linked: r.bytes(t, 7), objdump: r.objdump()})
	}
	return sites
}

// sitesNamed returns the sites with these names from every producer that
// has them, and fails the test for a name no producer has.
func sitesNamed(t *testing.T, names ...string) []site {
	t.Helper()
	return pickSites(t, loadSites(t), names...)
}

// siteOf returns the first site with this name and type.
func siteOf(t *testing.T, name string, typ elf.R_ARM) site {
	t.Helper()
	return firstSite(t, sitesNamed(t, name), func(s site) bool { return s.typ == typ }, "no "+ARMTypeName(typ)+" site "+name)
}

// relink reads the addend out of the object's bytes and applies the
// relocation to them as the linker did, returning the bytes written.
func relink(t *testing.T, s site) []byte {
	t.Helper()
	A, err := ARMAddend(s.typ, s.object)
	if err != nil {
		t.Fatalf("%v: ARMAddend(% x): %v", s, s.object, err)
	}
	loc := slices.Clone(s.object)
	if err := ARMApply(s.linkedAs(), loc, s.values(A)); err != nil {
		t.Fatalf("%v: ARMApply(%+v): %v", s, s.values(A), err)
	}
	return loc
}

// linkedAs is the type the linker applied: R_ARM_TARGET1 is ABS32, except
// at the sites of target1-rel.s, which was linked with --target1-rel.
func (s site) linkedAs() elf.R_ARM {
	if s.typ == elf.R_ARM_TARGET1 && strings.HasSuffix(s.name, "_rel") {
		return elf.R_ARM_REL32
	}
	return s.typ
}

func TestEverySiteAppliesAsTheLinkerDid(t *testing.T) {
	for _, s := range loadSites(t) {
		if strings.HasPrefix(s.name, "weak_") {
			continue // the linkers' own invention; see TestThumbCallCheckSeesWhatLinkersLeaveForUndefinedWeak
		}
		t.Run(s.String(), func(t *testing.T) {
			if got := relink(t, s); !bytes.Equal(got, s.linked) {
				t.Errorf("%s: wrote % x, the linker wrote % x (%s)", ARMTypeName(s.typ), got, s.linked, s.objdump)
			}
		})
	}
}

func TestBranchTargetIsWhereTheLinkerSentIt(t *testing.T) {
	n := map[bool]int{}
	for _, s := range loadSites(t) {
		// A BLX switches state: Thumb to ARM (T clear), A32 to Thumb (T set).
		var wantBLX bool
		switch s.typ {
		case elf.R_ARM_THM_PC22, elf.R_ARM_THM_JUMP24, elf.R_ARM_THM_JUMP19, elf.R_ARM_THM_JUMP11:
			wantBLX = !s.T
		case elf.R_ARM_CALL, elf.R_ARM_JUMP24, elf.R_ARM_PC24:
			wantBLX = s.T
		default:
			continue
		}
		if strings.HasPrefix(s.name, "weak_") {
			continue
		}
		n[isA32(s.typ)]++
		target, blx, err := branchTarget(s.typ, s.linked, s.P)
		if err != nil || target != s.S || blx != wantBLX {
			t.Errorf("%v: branch target of % x at %#x = %#x, %v, %v; want %#x, %v", s, s.linked, s.P, target, blx, err, s.S, wantBLX)
		}
	}
	if n[false] == 0 || n[true] == 0 {
		t.Errorf("decoded %d Thumb and %d A32 branches; want some of each", n[false], n[true])
	}
}

func TestThumbBranchAddendInObjectIsMinus4(t *testing.T) {
	for _, s := range loadSites(t) {
		switch s.typ {
		case elf.R_ARM_THM_PC22, elf.R_ARM_THM_JUMP24, elf.R_ARM_THM_JUMP19, elf.R_ARM_THM_JUMP11:
			if A, err := ARMAddend(s.typ, s.object); A != -4 || err != nil {
				t.Errorf("%v: ARMAddend(%s, % x) = %d, %v; want -4", s, ARMTypeName(s.typ), s.object, A, err)
			}
		}
	}
}

func TestThumbCallWritesBLToThumbTarget(t *testing.T) {
	// blx_insn_to_thumb: the source said blx, the object holds a BLX, and
	// the linker made it a BL because the target is Thumb.
	for _, s := range sitesNamed(t, "bl_fwd", "bl_back", "bl_max_fwd", "bl_max_back", "blx_insn_to_thumb") {
		got := relink(t, s)
		if insn := thumbInsn(got); insn != "BL" || !bytes.Equal(got, s.linked) {
			t.Errorf("%v: wrote % x (%s), the linker wrote % x (%s)", s, got, insn, s.linked, s.objdump)
		}
	}
}

func TestThumbCallWritesBLXToARMTarget(t *testing.T) {
	// The _p2 and max sites sit at P % 4 == 2, where Align(P, 4) matters.
	for _, s := range sitesNamed(t, "blx_fwd", "blx_fwd_p2", "blx_back", "blx_max_fwd", "blx_max_back") {
		got := relink(t, s)
		if insn := thumbInsn(got); insn != "BLX" || !bytes.Equal(got, s.linked) {
			t.Errorf("%v: wrote % x (%s), the linker wrote % x (%s)", s, got, insn, s.linked, s.objdump)
		}
	}
}

// pastTheEnd returns the site at one end of a field's range, with the
// values that move its symbol one step further.
func pastTheEnd(t *testing.T, name string, typ elf.R_ARM, step int64) (site, Values) {
	t.Helper()
	s := siteOf(t, name, typ)
	A, err := ARMAddend(s.typ, s.object)
	if err != nil {
		t.Fatal(err)
	}
	v := s.values(A)
	v.S = uint64(int64(v.S) + step)
	return s, v
}

func TestThumbCallOutOfRangeIsRangeError(t *testing.T) {
	call := elf.R_ARM_THM_PC22
	for _, tc := range []struct {
		site string
		step int64
		want RangeError
	}{
		{"bl_max_fwd", +2, RangeError{0x1000000, -0x1000000, 0xfffffe, "Thumb BL offset"}},
		{"bl_max_back", -2, RangeError{-0x1000002, -0x1000000, 0xfffffe, "Thumb BL offset"}},
		{"blx_max_fwd", +4, RangeError{0x1000000, -0x1000000, 0xfffffc, "Thumb BLX offset"}},
		{"blx_max_back", -4, RangeError{-0x1000004, -0x1000000, 0xfffffc, "Thumb BLX offset"}},
	} {
		s, v := pastTheEnd(t, tc.site, call, tc.step)
		checkRangeError(t, s, v, tc.want)
	}

	loc := []byte{0xff, 0xf7, 0xfe, 0xff} // bl sym, as assembled
	err := ARMApply(call, loc, Values{S: 0x08000000, A: -4, P: 0x0a000000, T: true})
	const want = "value -0x2000004 out of range [-0x1000000, 0xfffffe] of Thumb BL offset"
	if err == nil || err.Error() != want {
		t.Errorf("32 MiB back: got %v, want %s", err, want)
	}
}

func TestThumbJumpOutOfRangeIsRangeError(t *testing.T) {
	for _, tc := range []struct {
		site string
		typ  elf.R_ARM
		step int64
		want RangeError
	}{
		{"bw_max_fwd", elf.R_ARM_THM_JUMP24, +2, RangeError{0x1000000, -0x1000000, 0xfffffe, "Thumb B.W offset"}},
		{"bw_max_back", elf.R_ARM_THM_JUMP24, -2, RangeError{-0x1000002, -0x1000000, 0xfffffe, "Thumb B.W offset"}},
		{"bcond_max_fwd", elf.R_ARM_THM_JUMP19, +2, RangeError{0x100000, -0x100000, 0xffffe, "Thumb B<cond>.W offset"}},
		{"bcond_max_back", elf.R_ARM_THM_JUMP19, -2, RangeError{-0x100002, -0x100000, 0xffffe, "Thumb B<cond>.W offset"}},
		{"bn_max_fwd", elf.R_ARM_THM_JUMP11, +2, RangeError{0x800, -0x800, 0x7fe, "Thumb B.N offset"}},
		{"bn_max_back", elf.R_ARM_THM_JUMP11, -2, RangeError{-0x802, -0x800, 0x7fe, "Thumb B.N offset"}},
	} {
		s, v := pastTheEnd(t, tc.site, tc.typ, tc.step)
		checkRangeError(t, s, v, tc.want)
	}
}

func checkRangeError(t *testing.T, s site, v Values, want RangeError) {
	t.Helper()
	loc := slices.Clone(s.object)
	err := ARMApply(s.typ, loc, v)
	var re *RangeError
	if !errors.As(err, &re) || *re != want {
		t.Errorf("%v: ARMApply(%s, %+v) = %v; want %v", s, ARMTypeName(s.typ), v, err, &want)
	}
	if !bytes.Equal(loc, s.object) {
		t.Errorf("%v: a failed ARMApply wrote % x", s, loc)
	}
}

func TestThumbCallMisalignedIsAlignError(t *testing.T) {
	call := elf.R_ARM_THM_PC22
	bl := []byte{0xff, 0xf7, 0xfe, 0xff}
	for _, tc := range []struct {
		name string
		v    Values
		want AlignError
	}{
		// S comes without the Thumb bit: an odd one is a caller's mistake.
		{"odd Thumb target", Values{S: 0x08800201, A: -4, P: 0x08800000, T: true}, AlignError{0x1fd, 2, "Thumb BL offset"}},
		{"odd place", Values{S: 0x08800200, A: -4, P: 0x08800001, T: true}, AlignError{0x1fb, 2, "Thumb BL offset"}},
		// BLX lands in ARM code, which is word-aligned.
		{"ARM target off a word", Values{S: 0x08a00202, A: -4, P: 0x08a00000}, AlignError{0x1fe, 4, "Thumb BLX offset"}},
	} {
		loc := slices.Clone(bl)
		err := ARMApply(call, loc, tc.v)
		var ae *AlignError
		if !errors.As(err, &ae) || *ae != tc.want {
			t.Errorf("%s: ARMApply(%+v) = %v; want %v", tc.name, tc.v, err, &tc.want)
		}
		if !bytes.Equal(loc, bl) {
			t.Errorf("%s: a failed ARMApply wrote % x", tc.name, loc)
		}
	}
	err := ARMApply(call, slices.Clone(bl), Values{S: 0x08a00202, A: -4, P: 0x08a00000})
	if want := "value 0x1fe of Thumb BLX offset is not a multiple of 4"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestThumbJumpMisalignedIsAlignError(t *testing.T) {
	for _, tc := range []struct {
		site string
		typ  elf.R_ARM
		want AlignError
	}{
		{"bw_fwd", elf.R_ARM_THM_JUMP24, AlignError{0x1bd, 2, "Thumb B.W offset"}},
		{"bcond_fwd", elf.R_ARM_THM_JUMP19, AlignError{0x17d, 2, "Thumb B<cond>.W offset"}},
		{"bn_fwd", elf.R_ARM_THM_JUMP11, AlignError{0x13d, 2, "Thumb B.N offset"}},
	} {
		s := siteOf(t, tc.site, tc.typ)
		v := s.values(-4)
		v.S++ // odd, although S comes without the Thumb bit
		loc := slices.Clone(s.object)
		err := ARMApply(s.typ, loc, v)
		var ae *AlignError
		if !errors.As(err, &ae) || *ae != tc.want {
			t.Errorf("%v: ARMApply(%+v) = %v; want %v", s, v, err, &tc.want)
		}
		if !bytes.Equal(loc, s.object) {
			t.Errorf("%v: a failed ARMApply wrote % x", s, loc)
		}
	}
}

func TestThumbCallCheckRejectsNonBranch(t *testing.T) {
	call := elf.R_ARM_THM_PC22
	for _, tc := range []struct {
		name string
		loc  []byte
		want string
	}{
		{"bx lr; nop", []byte{0x70, 0x47, 0xc0, 0x46},
			"R_ARM_THM_CALL applies to a BL or BLX, found 0x4770 0x46c0 (not a 32-bit branch-with-link)"},
		{"b.w", []byte{0xff, 0xf7, 0xfe, 0xbf},
			"R_ARM_THM_CALL applies to a BL or BLX, found 0xf7ff 0xbffe (a B.W)"},
		{"blx with H set", []byte{0xff, 0xf7, 0xff, 0xef},
			"R_ARM_THM_CALL applies to a BL or BLX, found 0xf7ff 0xefff (not a 32-bit branch-with-link)"},
		{"movw", []byte{0x40, 0xf2, 0x00, 0x00},
			"R_ARM_THM_CALL applies to a BL or BLX, found 0xf240 0x0000 (a MOVW)"},
	} {
		err := ARMCheck(call, tc.loc)
		var ie *InsnError
		if !errors.As(err, &ie) || err.Error() != tc.want {
			t.Errorf("%s: ARMCheck = %v; want %s", tc.name, err, tc.want)
		}
		loc := slices.Clone(tc.loc)
		if err := ARMApply(call, loc, Values{S: 0x100, P: 0, T: true}); !errors.As(err, &ie) || !bytes.Equal(loc, tc.loc) {
			t.Errorf("%s: ARMApply = %v and wrote % x; want an InsnError and no write", tc.name, err, loc)
		}
		if _, err := ARMAddend(call, tc.loc); !errors.As(err, &ie) {
			t.Errorf("%s: ARMAddend = %v; want an InsnError", tc.name, err)
		}
	}
}

func TestThumbCallCheckSeesWhatLinkersLeaveForUndefinedWeak(t *testing.T) {
	// GNU ld replaces a call to an undefined weak symbol with a NOP.W;
	// ld.lld branches to the next instruction. Either way the addend is gone.
	for _, s := range sitesNamed(t, "weak_bl", "weak_bw") {
		err := ARMCheck(s.typ, s.linked)
		switch s.producer {
		case "gnu":
			var ie *InsnError
			if !errors.As(err, &ie) || !strings.Contains(ie.Why, "NOP.W") {
				t.Errorf("%v: ARMCheck(% x) = %v; want an InsnError naming the NOP.W", s, s.linked, err)
			}
			if got := ARMDisasm(s.typ, s.linked, s.P); got != "nop.w" {
				t.Errorf("%v: ARMDisasm = %q; want nop.w", s, got)
			}
		case "llvm":
			target, _, _ := ARMBranchTarget(s.linked, s.P)
			if err != nil || target != s.P+4 {
				t.Errorf("%v: ARMCheck = %v, target %#x; want a branch to %#x", s, err, target, s.P+4)
			}
		}
	}
}

func TestThumbJumpToARMStateIsInterworkError(t *testing.T) {
	for _, tc := range []struct {
		site string
		typ  elf.R_ARM
		want string
	}{
		{"bw_fwd", elf.R_ARM_THM_JUMP24, "a B.W cannot switch to ARM state: the target needs a veneer, or its symbol lacks the Thumb bit"},
		{"bcond_fwd", elf.R_ARM_THM_JUMP19, "a B<cond>.W cannot switch to ARM state: the target needs a veneer, or its symbol lacks the Thumb bit"},
		{"bn_fwd", elf.R_ARM_THM_JUMP11, "a B.N cannot switch to ARM state: the target needs a veneer, or its symbol lacks the Thumb bit"},
	} {
		s := siteOf(t, tc.site, tc.typ)
		loc := slices.Clone(s.object)
		v := s.values(-4)
		v.T = false
		err := ARMApply(s.typ, loc, v)
		var ie *InterworkError
		if !errors.As(err, &ie) || err.Error() != tc.want {
			t.Errorf("%v: ARMApply(T=false) = %v; want %s", s, err, tc.want)
		}
		if !bytes.Equal(loc, s.object) {
			t.Errorf("%v: a failed ARMApply wrote % x", s, loc)
		}
	}
}

func TestThumbMovwMovtAddendIsSignExtended16BitField(t *testing.T) {
	// MOVT's REL addend is the whole addend, not its upper half.
	for _, tc := range []struct {
		site string
		want int64
	}{
		{"movw_fn", 0}, {"movt_fn", 0},
		{"movw_data", 0x20}, {"movt_data", 0x20},
		{"movw_neg", -0x8000}, {"movt_neg", -0x8000},
	} {
		for _, s := range sitesNamed(t, tc.site) {
			if A, err := ARMAddend(s.typ, s.object); A != tc.want || err != nil {
				t.Errorf("%v: ARMAddend(% x) = %#x, %v; want %#x", s, s.object, A, err, tc.want)
			}
		}
	}
}

func TestThumbMovwMovtWriteAddressHalves(t *testing.T) {
	for _, tc := range []struct {
		site, why string
		want      uint16
	}{
		{"movw_fn", "low half with the Thumb bit of 0x08b12345", 0x2345},
		{"movt_fn", "high half of 0x08b12345", 0x08b1},
		{"movw_data", "low half of 0x2000fff0 + 0x20", 0x0010},
		{"movt_data", "0x2000fff0 + 0x20 carries into the high half", 0x2001},
		{"movw_neg", "low half of 0x2000fff0 - 0x8000", 0x7ff0},
		{"movt_neg", "high half of 0x2000fff0 - 0x8000", 0x2000},
	} {
		for _, s := range sitesNamed(t, tc.site) {
			got := relink(t, s)
			if imm := readThumbMov16(got); imm != tc.want || !bytes.Equal(got, s.linked) {
				t.Errorf("%v: wrote % x (#%#x), the linker wrote % x; want #%#x, the %s", s, got, imm, s.linked, tc.want, tc.why)
			}
		}
	}
}

func TestThumbMovtOutOfRangeIsRangeError(t *testing.T) {
	s := siteOf(t, "movt_data", elf.R_ARM_THM_MOVT_ABS)
	for _, tc := range []struct {
		v    Values
		want RangeError
	}{
		{Values{S: 0xffffffff, A: 1}, RangeError{0x100000000, -0x80000000, 0xffffffff, "MOVT address"}},
		{Values{S: 0, A: -0x80000001}, RangeError{-0x80000001, -0x80000000, 0xffffffff, "MOVT address"}},
	} {
		checkRangeError(t, s, tc.v, tc.want)
	}
	// MOVW is _NC: it takes the low half of anything.
	loc := slices.Clone(siteOf(t, "movw_data", elf.R_ARM_THM_MOVW_ABS_NC).object)
	if err := ARMApply(elf.R_ARM_THM_MOVW_ABS_NC, loc, Values{S: 0x123456789}); err != nil || readThumbMov16(loc) != 0x6789 {
		t.Errorf("MOVW of 0x123456789: %v, #%#x; want #0x6789", err, readThumbMov16(loc))
	}
}

func TestThumbMovCheckTellsMovwFromMovt(t *testing.T) {
	movw := siteOf(t, "movw_fn", elf.R_ARM_THM_MOVW_ABS_NC).object
	err := ARMCheck(elf.R_ARM_THM_MOVT_ABS, movw)
	if want := "R_ARM_THM_MOVT_ABS applies to a MOVT, found 0xf240 0x0000 (a MOVW)"; err == nil || err.Error() != want {
		t.Errorf("ARMCheck(MOVT, movw) = %v; want %s", err, want)
	}
}

func TestABS32WritesAddressWithThumbBit(t *testing.T) {
	for _, tc := range []struct {
		site string
		want uint32
	}{
		{"word_abs32_fn", 0x08bf0001}, // t_data, a Thumb function at 0x08bf0000
		{"word_abs32_data", 0x20000108},
	} {
		for _, s := range sitesNamed(t, tc.site) {
			if got := relink(t, s); get32(got) != tc.want || !bytes.Equal(got, s.linked) {
				t.Errorf("%v: wrote % x, the linker wrote % x; want %#x", s, got, s.linked, tc.want)
			}
		}
	}
}

func TestREL32WritesOffsetWithThumbBit(t *testing.T) {
	for _, tc := range []struct {
		site string
		want uint32
	}{
		{"word_rel32_data", 0x20000100 - 0x08c00020},
		{"word_rel32_fn", 0x08bf0001 - 0x08c00030 + 1<<32}, // negative
	} {
		for _, s := range sitesNamed(t, tc.site) {
			if got := relink(t, s); get32(got) != tc.want || !bytes.Equal(got, s.linked) {
				t.Errorf("%v: wrote % x, the linker wrote % x; want %#x", s, got, s.linked, tc.want)
			}
		}
	}
}

func TestPREL31KeepsTopBit(t *testing.T) {
	for _, tc := range []struct {
		site  string
		wantA int64
		want  uint32
	}{
		{"word_prel31_fn", 0, 0x80000000 | (0x08bf0001-0x08c00040)&0x7fffffff}, // top bit set in the object
		{"word_prel31_data", -4, 0x20000100 - 4 - 0x08c00050},
	} {
		for _, s := range sitesNamed(t, tc.site) {
			A, _ := ARMAddend(s.typ, s.object)
			if got := relink(t, s); A != tc.wantA || get32(got) != tc.want || !bytes.Equal(got, s.linked) {
				t.Errorf("%v: addend %d, wrote % x, the linker wrote % x; want addend %d, %#x", s, A, got, s.linked, tc.wantA, tc.want)
			}
		}
	}
}

func TestDataRelocationsOutOfRangeAreRangeErrors(t *testing.T) {
	for _, tc := range []struct {
		site string
		typ  elf.R_ARM
		v    Values
		want RangeError
	}{
		{"word_abs32_data", elf.R_ARM_ABS32, Values{S: 0xfffffff8, A: 8}, RangeError{0x100000000, -0x80000000, 0xffffffff, "32-bit word"}},
		{"word_rel32_data", elf.R_ARM_REL32, Values{S: 0, P: 0x80000001}, RangeError{-0x80000001, -0x80000000, 0xffffffff, "32-bit word"}},
		{"word_prel31_data", elf.R_ARM_PREL31, Values{S: 0x40000000, P: 0}, RangeError{0x40000000, -0x40000000, 0x3fffffff, "PREL31 offset"}},
		{"word_prel31_data", elf.R_ARM_PREL31, Values{S: 0, A: -4, P: 0x3ffffffd}, RangeError{-0x40000001, -0x40000000, 0x3fffffff, "PREL31 offset"}},
	} {
		checkRangeError(t, siteOf(t, tc.site, tc.typ), tc.v, tc.want)
	}
}

func TestA32BranchAddendInObjectIsMinus8(t *testing.T) {
	// The A32 PC reads as P + 8. A `blx sym` assembles with H clear.
	n := 0
	for _, s := range loadSites(t) {
		switch s.typ {
		case elf.R_ARM_CALL, elf.R_ARM_JUMP24, elf.R_ARM_PC24:
			n++
			if A, err := ARMAddend(s.typ, s.object); A != -8 || err != nil {
				t.Errorf("%v: ARMAddend(%s, % x) = %d, %v; want -8", s, ARMTypeName(s.typ), s.object, A, err)
			}
		}
	}
	if n == 0 {
		t.Error("no A32 branch in sites.txt")
	}
}

func TestA32CallWritesBLToARMTarget(t *testing.T) {
	// call_blx_insn_to_arm: the source said blx, the object holds a BLX,
	// and the linker made it a BL because the target is A32.
	for _, s := range sitesNamed(t, "call_fwd", "call_back", "call_max_fwd", "call_max_back", "call_blx_insn_to_arm") {
		got := relink(t, s)
		if insn := a32Insn(got); insn != "BL" || !bytes.Equal(got, s.linked) {
			t.Errorf("%v: wrote % x (%s), the linker wrote % x (%s)", s, got, insn, s.linked, s.objdump)
		}
	}
}

func TestA32CallWritesBLXToThumbTarget(t *testing.T) {
	// H, bit 24, is bit 1 of the offset: set when the Thumb target sits 2
	// past a word from P + 8.
	for _, tc := range []struct {
		site string
		H    uint32
	}{
		{"call_blx_fwd", 0}, {"call_blx_h", 1}, {"call_blx_back", 1},
		{"call_blx_max_fwd", 1}, {"call_blx_max_back", 0},
	} {
		for _, s := range sitesNamed(t, tc.site) {
			got := relink(t, s)
			if insn := a32Insn(got); insn != "BLX" || get32(got)>>24&1 != tc.H || !bytes.Equal(got, s.linked) {
				t.Errorf("%v: wrote % x (%s), the linker wrote % x (%s); want H = %d", s, got, insn, s.linked, s.objdump, tc.H)
			}
		}
	}
}

func TestA32JumpKeepsConditionAndLinkBit(t *testing.T) {
	for _, s := range sitesNamed(t, "jump_fwd", "jump_back", "jump_max_fwd", "jump_max_back", "jump_cond", "jump_blcond", "pc24_b", "pc24_bl") {
		got := relink(t, s)
		if got[3] != s.object[3] || !bytes.Equal(got, s.linked) {
			t.Errorf("%v: wrote % x, the linker wrote % x (%s)", s, got, s.linked, s.objdump)
		}
	}
}

func TestA32BranchOutOfRangeIsRangeError(t *testing.T) {
	for _, tc := range []struct {
		site string
		typ  elf.R_ARM
		step int64
		want RangeError
	}{
		{"call_max_fwd", elf.R_ARM_CALL, +4, RangeError{0x2000000, -0x2000000, 0x1fffffc, "A32 BL offset"}},
		{"call_max_back", elf.R_ARM_CALL, -4, RangeError{-0x2000004, -0x2000000, 0x1fffffc, "A32 BL offset"}},
		{"call_blx_max_fwd", elf.R_ARM_CALL, +2, RangeError{0x2000000, -0x2000000, 0x1fffffe, "A32 BLX offset"}},
		{"call_blx_max_back", elf.R_ARM_CALL, -2, RangeError{-0x2000002, -0x2000000, 0x1fffffe, "A32 BLX offset"}},
		{"jump_max_fwd", elf.R_ARM_JUMP24, +4, RangeError{0x2000000, -0x2000000, 0x1fffffc, "A32 B offset"}},
		{"jump_max_back", elf.R_ARM_JUMP24, -4, RangeError{-0x2000004, -0x2000000, 0x1fffffc, "A32 B offset"}},
	} {
		s, v := pastTheEnd(t, tc.site, tc.typ, tc.step)
		checkRangeError(t, s, v, tc.want)
	}
	// The same fields as the fixtures, from the other end: R_ARM_PC24 and a
	// conditional branch.
	for _, tc := range []struct {
		site string
		typ  elf.R_ARM
		v    Values
		want RangeError
	}{
		{"pc24_bl", elf.R_ARM_PC24, Values{S: 0x06000008, A: -8, P: 0x04000000}, RangeError{0x2000000, -0x2000000, 0x1fffffc, "A32 BL offset"}},
		{"jump_cond", elf.R_ARM_JUMP24, Values{S: 0x02000004, A: -8, P: 0x04000000}, RangeError{-0x2000004, -0x2000000, 0x1fffffc, "A32 B<cond> offset"}},
	} {
		checkRangeError(t, siteOf(t, tc.site, tc.typ), tc.v, tc.want)
	}
}

func TestA32BranchMisalignedIsAlignError(t *testing.T) {
	for _, tc := range []struct {
		name, site string
		typ        elf.R_ARM
		v          func(Values) Values
		want       AlignError
	}{
		// A32 code is word-aligned; a B or BL cannot reach between words.
		{"BL to A32 target off a word", "call_fwd", elf.R_ARM_CALL, func(v Values) Values { v.S += 2; return v }, AlignError{0x3fa, 4, "A32 BL offset"}},
		{"B to A32 target off a word", "jump_fwd", elf.R_ARM_JUMP24, func(v Values) Values { v.S += 2; return v }, AlignError{0x2ba, 4, "A32 B offset"}},
		{"BL<cond> to A32 target off a word", "jump_blcond", elf.R_ARM_JUMP24, func(v Values) Values { v.S += 2; return v }, AlignError{0x21a, 4, "A32 BL<cond> offset"}},
		// BLX's H bit reaches a halfword, not a byte: S comes without the Thumb bit.
		{"BLX to odd Thumb target", "call_blx_fwd", elf.R_ARM_CALL, func(v Values) Values { v.S++; return v }, AlignError{0x479, 2, "A32 BLX offset"}},
		// An A32 instruction at a halfword would make H meaningless.
		{"BLX at a halfword", "call_blx_h", elf.R_ARM_CALL, func(v Values) Values { v.P += 2; return v }, AlignError{0x40000a2, 4, "A32 instruction address"}},
	} {
		s := siteOf(t, tc.site, tc.typ)
		v := tc.v(s.values(-8))
		loc := slices.Clone(s.object)
		err := ARMApply(s.typ, loc, v)
		var ae *AlignError
		if !errors.As(err, &ae) || *ae != tc.want {
			t.Errorf("%s: ARMApply(%+v) = %v; want %v", tc.name, v, err, &tc.want)
		}
		if !bytes.Equal(loc, s.object) {
			t.Errorf("%s: a failed ARMApply wrote % x", tc.name, loc)
		}
	}
	// A Thumb target at 2 past a word is no misalignment: that is H.
	s := siteOf(t, "call_blx_h", elf.R_ARM_CALL)
	if got := relink(t, s); a32Insn(got) != "BLX" || get32(got)&(1<<24) == 0 {
		t.Errorf("%v: wrote % x; want a BLX with H set", s, got)
	}
}

func TestA32CheckRejectsWrongInstruction(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  elf.R_ARM
		loc  []byte
		want string
	}{
		{"bx lr", elf.R_ARM_CALL, []byte{0x1e, 0xff, 0x2f, 0xe1},
			"R_ARM_CALL applies to an A32 BL or BLX, found 0xe12fff1e (not an A32 branch-with-link)"},
		{"b", elf.R_ARM_CALL, []byte{0xfe, 0xff, 0xff, 0xea},
			"R_ARM_CALL applies to an A32 BL or BLX, found 0xeafffffe (a B)"},
		{"bleq: a conditional call is R_ARM_JUMP24's", elf.R_ARM_CALL, []byte{0xfe, 0xff, 0xff, 0x0b},
			"R_ARM_CALL applies to an A32 BL or BLX, found 0x0bfffffe (a BL<cond>)"},
		{"Thumb bl", elf.R_ARM_CALL, []byte{0xff, 0xf7, 0xfe, 0xff},
			"R_ARM_CALL applies to an A32 BL or BLX, found 0xfffef7ff (not an A32 branch-with-link)"},
		{"bl", elf.R_ARM_JUMP24, []byte{0xfe, 0xff, 0xff, 0xeb},
			"R_ARM_JUMP24 applies to an A32 B, B<cond> or BL<cond>, found 0xebfffffe (a BL)"},
		{"blx", elf.R_ARM_JUMP24, []byte{0xfe, 0xff, 0xff, 0xfa},
			"R_ARM_JUMP24 applies to an A32 B, B<cond> or BL<cond>, found 0xfafffffe (a BLX)"},
		{"blx predates R_ARM_PC24", elf.R_ARM_PC24, []byte{0xfe, 0xff, 0xff, 0xfa},
			"R_ARM_PC24 applies to an A32 B or BL, found 0xfafffffe (a BLX)"},
		{"movt", elf.R_ARM_MOVW_ABS_NC, []byte{0x00, 0x00, 0x40, 0xe3},
			"R_ARM_MOVW_ABS_NC applies to an A32 MOVW, found 0xe3400000 (a MOVT)"},
		{"Thumb movt", elf.R_ARM_MOVT_ABS, []byte{0xc0, 0xf2, 0x00, 0x00},
			"R_ARM_MOVT_ABS applies to an A32 MOVT, found 0x0000f2c0 (not an A32 MOVT)"},
		{"mov r0, r0", elf.R_ARM_CALL, []byte{0x00, 0x00, 0xa0, 0xe1},
			"R_ARM_CALL applies to an A32 BL or BLX, found 0xe1a00000 (a NOP, which GNU ld writes in place of a branch to an undefined weak symbol)"},
	} {
		err := ARMCheck(tc.typ, tc.loc)
		var ie *InsnError
		if !errors.As(err, &ie) || err.Error() != tc.want {
			t.Errorf("%s: ARMCheck = %v; want %s", tc.name, err, tc.want)
		}
		loc := slices.Clone(tc.loc)
		if err := ARMApply(tc.typ, loc, Values{S: 0x100}); !errors.As(err, &ie) || !bytes.Equal(loc, tc.loc) {
			t.Errorf("%s: ARMApply = %v and wrote % x; want an InsnError and no write", tc.name, err, loc)
		}
		if _, err := ARMAddend(tc.typ, tc.loc); !errors.As(err, &ie) {
			t.Errorf("%s: ARMAddend = %v; want an InsnError", tc.name, err)
		}
	}
	_, _, err := ARMBranchTargetA32([]byte{0x1e, 0xff, 0x2f, 0xe1}, 0)
	if want := "want an A32 B, BL or BLX, found 0xe12fff1e (not a branch)"; err == nil || err.Error() != want {
		t.Errorf("ARMBranchTargetA32(bx lr) = %v; want %s", err, want)
	}
}

func TestA32CheckSeesWhatLinkersLeaveForUndefinedWeak(t *testing.T) {
	// GNU ld writes the A32 NOP hint; ld.lld branches to the next instruction.
	for _, s := range sitesNamed(t, "weak_call", "weak_jump") {
		err := ARMCheck(s.typ, s.linked)
		switch s.producer {
		case "gnu":
			var ie *InsnError
			if !errors.As(err, &ie) || !strings.HasPrefix(ie.Why, "a NOP, which GNU ld writes") {
				t.Errorf("%v: ARMCheck(% x) = %v; want an InsnError naming the NOP", s, s.linked, err)
			}
			if got := ARMDisasm(s.typ, s.linked, s.P); got != "nop" {
				t.Errorf("%v: ARMDisasm = %q; want nop", s, got)
			}
		case "llvm":
			target, _, _ := ARMBranchTargetA32(s.linked, s.P)
			if err != nil || target != s.P+4 {
				t.Errorf("%v: ARMCheck = %v, target %#x; want a branch to %#x", s, err, target, s.P+4)
			}
		}
	}
}

func TestA32JumpToThumbIsInterworkError(t *testing.T) {
	for _, tc := range []struct {
		site string
		typ  elf.R_ARM
		want string
	}{
		{"jump_fwd", elf.R_ARM_JUMP24, "an A32 B cannot switch to Thumb state: the target needs a veneer"},
		{"jump_cond", elf.R_ARM_JUMP24, "an A32 B<cond> cannot switch to Thumb state: the target needs a veneer"},
		{"jump_blcond", elf.R_ARM_JUMP24, "an A32 BL<cond> cannot switch to Thumb state: the target needs a veneer"},
		{"pc24_b", elf.R_ARM_PC24, "an A32 B cannot switch to Thumb state: the target needs a veneer"},
		// Neither linker makes a BLX of it; both go through a veneer.
		{"pc24_bl", elf.R_ARM_PC24, "an A32 BL with R_ARM_PC24 cannot switch to Thumb state: the target needs a veneer"},
	} {
		s := siteOf(t, tc.site, tc.typ)
		loc := slices.Clone(s.object)
		v := s.values(-8)
		v.T = true
		err := ARMApply(s.typ, loc, v)
		var ie *InterworkError
		if !errors.As(err, &ie) || !ie.ToThumb || err.Error() != tc.want {
			t.Errorf("%v: ARMApply(T=true) = %v; want %s", s, err, tc.want)
		}
		if !bytes.Equal(loc, s.object) {
			t.Errorf("%v: a failed ARMApply wrote % x", s, loc)
		}
	}
}

func TestA32MovwMovtAddendIsSignExtended16BitField(t *testing.T) {
	for _, tc := range []struct {
		site string
		want int64
	}{
		{"a32_movw_fn", 0}, {"a32_movt_fn", 0},
		{"a32_movw_data", 0x20}, {"a32_movt_data", 0x20},
		{"a32_movw_neg", -0x8000}, {"a32_movt_neg", -0x8000},
	} {
		for _, s := range sitesNamed(t, tc.site) {
			if A, err := ARMAddend(s.typ, s.object); A != tc.want || err != nil {
				t.Errorf("%v: ARMAddend(% x) = %#x, %v; want %#x", s, s.object, A, err, tc.want)
			}
		}
	}
}

func TestA32MovwMovtWriteAddressHalves(t *testing.T) {
	for _, tc := range []struct {
		site, why string
		want      uint16
	}{
		{"a32_movw_fn", "low half with the Thumb bit of 0x04123456", 0x3457},
		{"a32_movt_fn", "high half of 0x04123456", 0x0412},
		{"a32_movw_data", "low half of 0x2001fff0 + 0x20", 0x0010},
		{"a32_movt_data", "0x2001fff0 + 0x20 carries into the high half", 0x2002},
		{"a32_movw_neg", "low half of 0x2001fff0 - 0x8000", 0x7ff0},
		{"a32_movt_neg", "high half of 0x2001fff0 - 0x8000, condition NE kept", 0x2001},
	} {
		for _, s := range sitesNamed(t, tc.site) {
			got := relink(t, s)
			if imm := readA32Mov16(got); imm != tc.want || !bytes.Equal(got, s.linked) {
				t.Errorf("%v: wrote % x (#%#x), the linker wrote % x; want #%#x, the %s", s, got, imm, s.linked, tc.want, tc.why)
			}
		}
	}
	s := siteOf(t, "a32_movt_data", elf.R_ARM_MOVT_ABS)
	checkRangeError(t, s, Values{S: 0xffffffff, A: 1}, RangeError{0x100000000, -0x80000000, 0xffffffff, "MOVT address"})
	loc := slices.Clone(siteOf(t, "a32_movw_data", elf.R_ARM_MOVW_ABS_NC).object)
	if err := ARMApply(elf.R_ARM_MOVW_ABS_NC, loc, Values{S: 0x123456789}); err != nil || readA32Mov16(loc) != 0x6789 {
		t.Errorf("A32 MOVW of 0x123456789: %v, #%#x; want #0x6789", err, readA32Mov16(loc))
	}
}

func TestTARGET1IsABS32UnlessLinkedWithTarget1Rel(t *testing.T) {
	for _, tc := range []struct {
		site string
		as   elf.R_ARM
		want uint32
	}{
		{"word_target1_fn", elf.R_ARM_TARGET1, 0x04000501}, // t_r_fwd, a Thumb function
		{"word_target1_data", elf.R_ARM_TARGET1, 0x2001fff8},
		// Linked with --target1-rel: the caller applies REL32 in its place.
		{"word_target1_rel", elf.R_ARM_REL32, 0x03fff003 - 0x04000320 + 1<<32},
	} {
		for _, s := range sitesNamed(t, tc.site) {
			A, _ := ARMAddend(s.typ, s.object)
			loc := slices.Clone(s.object)
			if err := ARMApply(tc.as, loc, s.values(A)); err != nil || get32(loc) != tc.want || !bytes.Equal(loc, s.linked) {
				t.Errorf("%v: %s wrote % x, %v; the linker wrote % x; want %#x", s, ARMTypeName(tc.as), loc, err, s.linked, tc.want)
			}
		}
	}
	// Nothing in the image says --target1-rel: R_ARM_TARGET1 itself is ABS32.
	s := siteOf(t, "word_target1_rel", elf.R_ARM_TARGET1)
	loc := slices.Clone(s.object)
	if err := ARMApply(s.typ, loc, s.values(0)); err != nil || get32(loc) != 0x03fff003 {
		t.Errorf("%v: ARMApply(R_ARM_TARGET1) wrote % x, %v; want the address 0x3fff003", s, loc, err)
	}
}

// A veneer is a veneer line of testdata/arm/sites.txt: veneers.s and
// veneer-v6m.s as assembled and linked, the target resolved by the linker.
type veneer struct {
	producer, name string
	addr, S        uint64
	T              bool
	bytes          []byte
}

func loadVeneers(t *testing.T) []veneer {
	t.Helper()
	data, err := os.ReadFile("testdata/arm/sites.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []veneer
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "veneer" {
			continue
		}
		if len(f) != 7 {
			t.Fatalf("sites.txt: bad veneer line %q", line)
		}
		v := veneer{producer: f[1], name: f[2], T: f[5] == "1"}
		v.addr, err = strconv.ParseUint(f[3], 0, 64)
		if err == nil {
			v.S, err = strconv.ParseUint(f[4], 0, 64)
		}
		if err == nil {
			v.bytes, err = hex.DecodeString(f[6])
		}
		if err != nil {
			t.Fatalf("sites.txt: %q: %v", line, err)
		}
		out = append(out, v)
	}
	return out
}

func TestVeneersAreWhatTheAssemblerMakes(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range loadVeneers(t) {
		var got []byte
		var err error
		switch {
		case strings.HasPrefix(v.name, "veneer_a32_"):
			got = ARMVeneerA32(v.S, v.T)
		case strings.HasPrefix(v.name, "veneer_thumb_"):
			got, err = ARMVeneerThumb(v.S, v.T, false)
		case v.name == "veneer_v6m":
			got, err = ARMVeneerThumb(v.S, v.T, true)
		default:
			t.Fatalf("sites.txt: unknown veneer %s", v.name)
		}
		if err != nil || !bytes.Equal(got, v.bytes) {
			t.Errorf("%s/%s: built % x, %v; %s made % x", v.producer, v.name, got, err, v.producer, v.bytes)
		}
		if v.addr%4 != 0 {
			t.Errorf("%s/%s at %#x: a veneer's literal load needs a word-aligned address", v.producer, v.name, v.addr)
		}
		seen[v.name] = true
	}
	for _, name := range []string{"veneer_a32_to_thumb", "veneer_a32_to_arm", "veneer_thumb_to_thumb", "veneer_thumb_to_arm", "veneer_v6m"} {
		if !seen[name] {
			t.Errorf("no %s in sites.txt", name)
		}
	}
}

func TestVeneerTakesTheLow32BitsOfTheTarget(t *testing.T) {
	want := []byte{0x04, 0xf0, 0x1f, 0xe5, 0x01, 0x04, 0x00, 0x00}
	if got := ARMVeneerA32(0x1_0000_0400, true); !bytes.Equal(got, want) {
		t.Errorf("ARMVeneerA32(0x100000400, thumb) = % x; want % x", got, want)
	}
}

func TestV6MVeneerCannotEnterARMState(t *testing.T) {
	v, err := ARMVeneerThumb(0x04000600, false, true)
	if want := "no veneer to ARM code at 0x4000600: ARMv6-M has no ARM state"; v != nil || err == nil || err.Error() != want {
		t.Errorf("ARMVeneerThumb(ARM target, v6m) = % x, %v; want %s", v, err, want)
	}
}

func TestClangA32ObjectsApplyAsLdLldLinkedThem(t *testing.T) {
	// clang's integrated assembler, not GNU as, made these objects: the
	// fresh A32 encodings (addend -8 in a branch, 0 or the offset in a MOVW
	// or MOVT) must read and apply the same way.
	for _, tc := range []struct {
		site   string
		object string
		insn   string
	}{
		{"call_fwd", "feffffeb", "BL"},
		{"call_blx_h", "feffffeb", "BLX"},
		{"call_blx_insn_to_arm", "fefffffa", "BL"},
		{"jump_back", "feffffea", "B"},
		{"jump_cond", "feffff1a", "B<cond>"},
		{"jump_blcond", "feffffcb", "BL<cond>"},
		{"a32_movw_data", "201000e3", "MOVW"},
		{"a32_movt_neg", "00e04813", "MOVT"},
	} {
		var s site
		for _, c := range sitesNamed(t, tc.site) {
			if c.producer == "llvm" {
				s = c
			}
		}
		if s.producer == "" {
			t.Errorf("no llvm site %s", tc.site)
			continue
		}
		got := relink(t, s)
		if hex.EncodeToString(s.object) != tc.object || a32Insn(got) != tc.insn || !bytes.Equal(got, s.linked) {
			t.Errorf("%v: object % x, wrote % x (%s), ld.lld wrote % x (%s); want object %s and a %s",
				s, s.object, got, a32Insn(got), s.linked, s.objdump, tc.object, tc.insn)
		}
	}
}

// TestFieldsRoundTrip writes every value (or, for the wide fields, a stride
// through them and both ends) into real instructions and reads it back.
func TestFieldsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		site      string
		typ       elf.R_ARM
		T         bool
		min, max  int64
		align     int64
		stride    int64
		wantInsns string
	}{
		{"bl_fwd", elf.R_ARM_THM_PC22, true, -1 << 24, 1<<24 - 2, 2, 2 * 251, "BL"},
		{"blx_fwd", elf.R_ARM_THM_PC22, false, -1 << 24, 1<<24 - 4, 4, 4 * 251, "BLX"},
		{"bw_fwd", elf.R_ARM_THM_JUMP24, true, -1 << 24, 1<<24 - 2, 2, 2 * 251, "B.W"},
		{"bcond_max_fwd", elf.R_ARM_THM_JUMP19, true, -1 << 20, 1<<20 - 2, 2, 2, "B<cond>.W"},
		{"bn_fwd", elf.R_ARM_THM_JUMP11, true, -1 << 11, 1<<11 - 2, 2, 2, "B.N"},
		{"movw_data", elf.R_ARM_THM_MOVW_ABS_NC, false, -0x8000, 0x7fff, 1, 1, "MOVW"},
		{"call_fwd", elf.R_ARM_CALL, false, -1 << 25, 1<<25 - 4, 4, 4 * 251, "BL"},
		{"call_blx_fwd", elf.R_ARM_CALL, true, -1 << 25, 1<<25 - 2, 2, 2 * 251, "BLX"},
		{"jump_cond", elf.R_ARM_JUMP24, false, -1 << 25, 1<<25 - 4, 4, 4 * 251, "B<cond>"},
		{"jump_blcond", elf.R_ARM_JUMP24, false, -1 << 25, 1<<25 - 4, 4, 4 * 251, "BL<cond>"},
		{"pc24_bl", elf.R_ARM_PC24, false, -1 << 25, 1<<25 - 4, 4, 4 * 251, "BL"},
		{"a32_movw_neg", elf.R_ARM_MOVW_ABS_NC, false, -0x8000, 0x7fff, 1, 1, "MOVW"},
		{"word_prel31_fn", elf.R_ARM_PREL31, false, -1 << 30, 1<<30 - 1, 1, 4093, ""},
		{"word_abs32_data", elf.R_ARM_ABS32, false, -1 << 31, 1<<31 - 1, 1, 1<<20 + 7, ""},
		{"word_target1_data", elf.R_ARM_TARGET1, false, -1 << 31, 1<<31 - 1, 1, 1<<20 + 7, ""},
	} {
		s := siteOf(t, tc.site, tc.typ)
		try := func(x int64) {
			loc := slices.Clone(s.object)
			// S = P = 0 makes X = A | T: the field gets x itself.
			if err := ARMApply(tc.typ, loc, Values{A: x, T: tc.T}); err != nil {
				t.Fatalf("%v: ARMApply(A=%#x): %v", s, x, err)
			}
			got, err := ARMAddend(tc.typ, loc)
			if got != x || err != nil || tc.wantInsns != "" && insnAt(tc.typ, loc) != tc.wantInsns {
				t.Fatalf("%v: wrote %#x as % x (%s), read back %#x, %v", s, x, loc, insnAt(tc.typ, loc), got, err)
			}
			if !keepsCondition(tc.typ, s.object, loc) {
				t.Fatalf("%v: writing %#x changed the condition: % x", s, x, loc)
			}
		}
		for x := tc.min; x <= tc.max; x += tc.stride {
			try(x)
		}
		for _, x := range []int64{tc.min, -tc.align, 0, tc.align, tc.max} {
			try(x)
		}
	}

	// MOVT's field is bits 31:16 of S + A; every one reads back sign-extended.
	for _, s := range []site{siteOf(t, "movt_data", elf.R_ARM_THM_MOVT_ABS), siteOf(t, "a32_movt_neg", elf.R_ARM_MOVT_ABS)} {
		for hi := range uint64(1 << 16) {
			loc := slices.Clone(s.object)
			if err := ARMApply(s.typ, loc, Values{S: hi << 16}); err != nil {
				t.Fatal(err)
			}
			if got, _ := ARMAddend(s.typ, loc); got != int64(int16(hi)) || !keepsCondition(s.typ, s.object, loc) {
				t.Fatalf("%v: MOVT of %#x reads back %#x from % x", s, hi<<16, got, loc)
			}
		}
	}
}

// keepsCondition reports whether writing a field left the condition of a
// conditional instruction alone: B<cond>.W's, or any A32 one but BLX's.
func keepsCondition(t elf.R_ARM, before, after []byte) bool {
	switch {
	case t == elf.R_ARM_THM_JUMP19:
		return get16(before)&0x03c0 == get16(after)&0x03c0
	case isA32(t) && a32Insn(after) != "BLX":
		return before[3]&0xf0 == after[3]&0xf0
	}
	return true
}

func TestShortBuffersAreInsnErrors(t *testing.T) {
	seen := map[elf.R_ARM]bool{}
	for _, s := range loadSites(t) {
		if seen[s.typ] {
			continue
		}
		seen[s.typ] = true
		for n := range len(s.object) {
			short := slices.Clone(s.object[:n])
			var ie *InsnError
			if err := ARMCheck(s.typ, short); !errors.As(err, &ie) {
				t.Errorf("%v: ARMCheck of %d bytes = %v; want an InsnError", s, n, err)
			}
			if _, err := ARMAddend(s.typ, short); !errors.As(err, &ie) {
				t.Errorf("%v: ARMAddend of %d bytes = %v; want an InsnError", s, n, err)
			}
			if err := ARMApply(s.typ, short, s.values(0)); !errors.As(err, &ie) {
				t.Errorf("%v: ARMApply of %d bytes = %v; want an InsnError", s, n, err)
			}
			if _, _, err := ARMBranchTarget(short, s.P); !errors.As(err, &ie) {
				t.Errorf("%v: ARMBranchTarget of %d bytes = %v; want an InsnError", s, n, err)
			}
			if _, _, err := ARMBranchTargetA32(short, s.P); !errors.As(err, &ie) {
				t.Errorf("%v: ARMBranchTargetA32 of %d bytes = %v; want an InsnError", s, n, err)
			}
			_ = ARMDisasm(s.typ, short, s.P)
		}
	}
	err := ARMCheck(elf.R_ARM_ABS32, []byte{0x01, 0x02})
	if want := "R_ARM_ABS32 applies to a 32-bit word, found 0x01 0x02 (need 4 bytes, have 2)"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	err = ARMCheck(elf.R_ARM_THM_PC22, nil)
	if want := "R_ARM_THM_CALL applies to a BL or BLX, found nothing (need 4 bytes, have 0)"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	err = ARMCheck(elf.R_ARM_CALL, []byte{0xfe, 0xff, 0xff})
	if want := "R_ARM_CALL applies to an A32 BL or BLX, found 0xfe 0xff 0xff (need 4 bytes, have 3)"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	_, _, err = ARMBranchTargetA32([]byte{0xfe, 0xff}, 0)
	if want := "want an A32 B, BL or BLX, found 0xfe 0xff (need 4 bytes, have 2)"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestUnsupportedTypeIsUnsupportedError(t *testing.T) {
	typ := elf.R_ARM_THM_MOVW_PREL_NC
	loc := []byte{0x40, 0xf2, 0x00, 0x00}
	const want = "unsupported relocation type R_ARM_THM_MOVW_PREL_NC"
	_, errAddend := ARMAddend(typ, loc)
	for _, err := range []error{ARMCheck(typ, loc), errAddend, ARMApply(typ, loc, Values{})} {
		var ue *UnsupportedError
		if !errors.As(err, &ue) || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
	}
}

func TestDisasmReadsLikeObjdump(t *testing.T) {
	for _, s := range loadSites(t) {
		if got, want := ARMDisasm(s.typ, s.linked, s.P), objdumpToDisasm(s.objdump); got != want {
			t.Errorf("%v: ARMDisasm(% x) = %q; objdump says %q, i.e. %q", s, s.linked, got, s.objdump, want)
		}
	}
	for _, tc := range []struct {
		typ  elf.R_ARM
		loc  []byte
		want string
	}{
		{elf.R_ARM_THM_PC22, []byte{0x70, 0x47, 0xc0, 0x46}, ".inst.n 0x4770"},
		{elf.R_ARM_THM_PC22, []byte{0x4f, 0xf0, 0x00, 0x00}, ".inst.w 0xf04f0000"},
		{elf.R_ARM_THM_PC22, []byte{0xff}, ".byte 0xff"},
		{elf.R_ARM_ABS32, nil, "(no bytes)"},
		{elf.R_ARM_CALL, []byte{0x1e, 0xff, 0x2f, 0xe1}, ".inst 0xe12fff1e"},
		{elf.R_ARM_CALL, []byte{0x00, 0x00, 0xa0, 0xe1}, "nop"},     // mov r0, r0: GNU ld's NOP before ARMv6K
		{elf.R_ARM_CALL, []byte{0xfe, 0xff, 0xff, 0xfb}, "blx 0x2"}, // H set: -8 + 2
		{elf.R_ARM_JUMP24, []byte{0xfe, 0xff, 0xff}, ".byte 0xfe, 0xff, 0xff"},
		{elf.R_ARM_MOVW_ABS_NC, []byte{0x34, 0x52, 0x01, 0x03}, "movweq r5, #0x1234"},
		{elf.R_ARM_TARGET1, []byte{0x01, 0x05, 0x00, 0x04}, ".word 0x4000501"},
	} {
		if got := ARMDisasm(tc.typ, tc.loc, 0); got != tc.want {
			t.Errorf("ARMDisasm(% x) = %q; want %q", tc.loc, got, tc.want)
		}
	}
}

var (
	objdumpSymbol  = regexp.MustCompile(` <[^>]*>$`)
	objdumpBranch  = regexp.MustCompile(`^(b\S*) ([0-9a-f]+)$`)
	objdumpDecimal = regexp.MustCompile(`#(\d+)$`)
	objdumpWord    = regexp.MustCompile(`^\.word 0x([0-9a-f]+)$`)
)

// objdumpToDisasm rewrites GNU objdump's notation into ARMDisasm's: no
// symbol names, and hexadecimal everywhere with a 0x prefix.
func objdumpToDisasm(s string) string {
	s = objdumpSymbol.ReplaceAllString(s, "")
	s = strings.TrimSuffix(s, " {0}") // the A32 NOP hint, with its operand
	s = objdumpBranch.ReplaceAllString(s, "$1 0x$2")
	hexOf := func(re *regexp.Regexp, base int, format string) {
		if m := re.FindStringSubmatch(s); m != nil {
			n, _ := strconv.ParseUint(m[1], base, 64)
			s = re.ReplaceAllString(s, fmt.Sprintf(format, n))
		}
	}
	hexOf(objdumpDecimal, 10, "#%#x")
	hexOf(objdumpWord, 16, ".word %#x")
	return s
}

func TestGNUAndClangAgree(t *testing.T) {
	// Where they differ, it is by design: clang widens a B.N to an external
	// symbol into a B.W (R_ARM_THM_JUMP24); GNU ld reaches the farthest
	// Thumb target of a Thumb BL or B.W through a veneer (no row), and drops
	// a call to an undefined weak symbol. In A32 they agree to the last
	// bit, at both ends of every range.
	bySite := map[string]map[string]site{}
	for _, s := range loadSites(t) {
		if bySite[s.name] == nil {
			bySite[s.name] = map[string]site{}
		}
		bySite[s.name][s.producer] = s
	}
	compared := map[string]bool{}
	for name, p := range bySite {
		gnu, ok1 := p["gnu"]
		llvm, ok2 := p["llvm"]
		if !ok1 || !ok2 || gnu.typ != llvm.typ {
			continue
		}
		compared[ARMTypeName(gnu.typ)] = true
		if !bytes.Equal(gnu.object, llvm.object) {
			t.Errorf("%s: GNU as wrote % x, clang % x", name, gnu.object, llvm.object)
		}
		if !strings.HasPrefix(name, "weak_") && !bytes.Equal(gnu.linked, llvm.linked) {
			t.Errorf("%s: GNU ld wrote % x, ld.lld % x", name, gnu.linked, llvm.linked)
		}
	}
	for _, typ := range []string{"R_ARM_THM_CALL", "R_ARM_THM_JUMP24", "R_ARM_THM_MOVW_ABS_NC", "R_ARM_THM_MOVT_ABS",
		"R_ARM_CALL", "R_ARM_JUMP24", "R_ARM_PC24", "R_ARM_MOVW_ABS_NC", "R_ARM_MOVT_ABS", "R_ARM_TARGET1"} {
		if !compared[typ] {
			t.Errorf("no %s site from both producers", typ)
		}
	}
}

func FuzzARMNeverPanics(f *testing.F) {
	types := []elf.R_ARM{elf.R_ARM_ABS32, elf.R_ARM_REL32, elf.R_ARM_PREL31, elf.R_ARM_THM_PC22,
		elf.R_ARM_THM_JUMP24, elf.R_ARM_THM_JUMP19, elf.R_ARM_THM_JUMP11,
		elf.R_ARM_THM_MOVW_ABS_NC, elf.R_ARM_THM_MOVT_ABS, elf.R_ARM_THM_MOVW_PREL_NC,
		elf.R_ARM_CALL, elf.R_ARM_JUMP24, elf.R_ARM_PC24, elf.R_ARM_MOVW_ABS_NC, elf.R_ARM_MOVT_ABS, elf.R_ARM_TARGET1}
	f.Add(uint8(3), []byte{0xff, 0xf7, 0xfe, 0xff}, uint64(0x08000200), int64(-4), uint64(0x08000000), true)
	f.Add(uint8(3), []byte{0xff, 0xf7}, uint64(0), int64(0), uint64(0), false)
	f.Add(uint8(6), []byte{0xfe, 0xe7}, uint64(1), int64(-1<<62), uint64(1<<63), true)
	f.Add(uint8(10), []byte{0xfe, 0xff, 0xff, 0xeb}, uint64(0x04000500), int64(-8), uint64(0x04000000), true)
	f.Add(uint8(11), []byte{0xfe, 0xff, 0xff, 0x1a}, uint64(0x04000502), int64(-8), uint64(0x04000002), false)
	f.Fuzz(func(t *testing.T, i uint8, loc []byte, S uint64, A int64, P uint64, T bool) {
		typ := types[int(i)%len(types)]
		_ = ARMCheck(typ, loc)
		_, _ = ARMAddend(typ, loc)
		_ = ARMDisasm(typ, loc, P)
		_, _, _ = ARMBranchTarget(loc, P)
		_, _, _ = ARMBranchTargetA32(loc, P)
		before := slices.Clone(loc)
		if err := ARMApply(typ, loc, Values{S: S, A: A, P: P, T: T}); err != nil && !bytes.Equal(loc, before) {
			t.Errorf("a failed ARMApply wrote % x over % x: %v", loc, before, err)
		}
	})
}

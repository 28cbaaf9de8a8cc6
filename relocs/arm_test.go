package relocs

import (
	"bufio"
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
}

func loadSites(t *testing.T) []site {
	t.Helper()
	f, err := os.Open("testdata/arm/sites.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sites []site
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, " ", 9)
		if len(f) != 9 {
			t.Fatalf("sites.txt: short line %q", line)
		}
		s := site{producer: f[0], name: f[1], T: f[5] == "1", objdump: f[8]}
		var ok bool
		if s.typ, ok = armTypeByName[f[2]]; !ok {
			t.Fatalf("sites.txt: unknown type %s", f[2])
		}
		s.P, err = strconv.ParseUint(f[3], 0, 64)
		if err == nil {
			s.S, err = strconv.ParseUint(f[4], 0, 64)
		}
		if err == nil {
			s.object, err = hex.DecodeString(f[6])
		}
		if err == nil {
			s.linked, err = hex.DecodeString(f[7])
		}
		if err != nil {
			t.Fatalf("sites.txt: %q: %v", line, err)
		}
		sites = append(sites, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sites
}

// sitesNamed returns the sites with these names from every producer that
// has them, and fails the test for a name no producer has.
func sitesNamed(t *testing.T, names ...string) []site {
	t.Helper()
	all := loadSites(t)
	var out []site
	for _, name := range names {
		n := len(out)
		for _, s := range all {
			if s.name == name {
				out = append(out, s)
			}
		}
		if len(out) == n {
			t.Fatalf("no site %s in sites.txt", name)
		}
	}
	return out
}

// siteOf returns the first site with this name and type.
func siteOf(t *testing.T, name string, typ elf.R_ARM) site {
	t.Helper()
	for _, s := range sitesNamed(t, name) {
		if s.typ == typ {
			return s
		}
	}
	t.Fatalf("no %s site %s in sites.txt", ARMTypeName(typ), name)
	return site{}
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
	if err := ARMApply(s.typ, loc, s.values(A)); err != nil {
		t.Fatalf("%v: ARMApply(%+v): %v", s, s.values(A), err)
	}
	return loc
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
	for _, s := range loadSites(t) {
		switch s.typ {
		case elf.R_ARM_THM_PC22, elf.R_ARM_THM_JUMP24, elf.R_ARM_THM_JUMP19, elf.R_ARM_THM_JUMP11:
		default:
			continue
		}
		if strings.HasPrefix(s.name, "weak_") {
			continue
		}
		target, blx, err := ARMBranchTarget(s.linked, s.P)
		if err != nil || target != s.S || blx == s.T {
			t.Errorf("%v: ARMBranchTarget(% x, %#x) = %#x, %v, %v; want %#x, %v", s, s.linked, s.P, target, blx, err, s.S, !s.T)
		}
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
		{"word_prel31_fn", elf.R_ARM_PREL31, false, -1 << 30, 1<<30 - 1, 1, 4093, ""},
		{"word_abs32_data", elf.R_ARM_ABS32, false, -1 << 31, 1<<31 - 1, 1, 1<<20 + 7, ""},
	} {
		s := siteOf(t, tc.site, tc.typ)
		cond := get16(s.object) & 0x03c0
		try := func(x int64) {
			loc := slices.Clone(s.object)
			// S = P = 0 makes X = A | T: the field gets x itself.
			if err := ARMApply(tc.typ, loc, Values{A: x, T: tc.T}); err != nil {
				t.Fatalf("%v: ARMApply(A=%#x): %v", s, x, err)
			}
			got, err := ARMAddend(tc.typ, loc)
			if got != x || err != nil || tc.wantInsns != "" && thumbInsn(loc) != tc.wantInsns {
				t.Fatalf("%v: wrote %#x as % x (%s), read back %#x, %v", s, x, loc, thumbInsn(loc), got, err)
			}
			if tc.typ == elf.R_ARM_THM_JUMP19 && get16(loc)&0x03c0 != cond {
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
	s := siteOf(t, "movt_data", elf.R_ARM_THM_MOVT_ABS)
	for hi := range uint64(1 << 16) {
		loc := slices.Clone(s.object)
		if err := ARMApply(s.typ, loc, Values{S: hi << 16}); err != nil {
			t.Fatal(err)
		}
		if got, _ := ARMAddend(s.typ, loc); got != int64(int16(hi)) {
			t.Fatalf("MOVT of %#x reads back %#x", hi<<16, got)
		}
	}
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
	// Thumb target of a BL or B.W through a veneer (no row), and drops a call
	// to an undefined weak symbol.
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
	for _, typ := range []string{"R_ARM_THM_CALL", "R_ARM_THM_JUMP24", "R_ARM_THM_MOVW_ABS_NC", "R_ARM_THM_MOVT_ABS"} {
		if !compared[typ] {
			t.Errorf("no %s site from both producers", typ)
		}
	}
}

func FuzzARMNeverPanics(f *testing.F) {
	types := []elf.R_ARM{elf.R_ARM_ABS32, elf.R_ARM_REL32, elf.R_ARM_PREL31, elf.R_ARM_THM_PC22,
		elf.R_ARM_THM_JUMP24, elf.R_ARM_THM_JUMP19, elf.R_ARM_THM_JUMP11,
		elf.R_ARM_THM_MOVW_ABS_NC, elf.R_ARM_THM_MOVT_ABS, elf.R_ARM_THM_MOVW_PREL_NC}
	f.Add(uint8(3), []byte{0xff, 0xf7, 0xfe, 0xff}, uint64(0x08000200), int64(-4), uint64(0x08000000), true)
	f.Add(uint8(3), []byte{0xff, 0xf7}, uint64(0), int64(0), uint64(0), false)
	f.Add(uint8(6), []byte{0xfe, 0xe7}, uint64(1), int64(-1<<62), uint64(1<<63), true)
	f.Fuzz(func(t *testing.T, i uint8, loc []byte, S uint64, A int64, P uint64, T bool) {
		typ := types[int(i)%len(types)]
		_ = ARMCheck(typ, loc)
		_, _ = ARMAddend(typ, loc)
		_ = ARMDisasm(typ, loc, P)
		_, _, _ = ARMBranchTarget(loc, P)
		before := slices.Clone(loc)
		if err := ARMApply(typ, loc, Values{S: S, A: A, P: P, T: T}); err != nil && !bytes.Equal(loc, before) {
			t.Errorf("a failed ARMApply wrote % x over % x: %v", loc, before, err)
		}
	})
}

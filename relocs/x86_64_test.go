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
	"strings"
	"testing"
)

// An x64Site is one line of testdata/x86_64/sites.txt: a relocation as a
// real assembler left it in an object and a real linker resolved it in an
// image, the bytes split around the field. gen.sh in that directory says
// how they were made.
type x64Site struct {
	producer, name string // producer: "gnu" or "llvm"
	typ            elf.R_X86_64
	P, S           uint64
	A              int64
	object, linked x64Bytes
	objdump        string // GNU objdump's reading of linked, "-" for data
}

// x64Bytes are a site's bytes: the field and what comes before and after
// it in the site's section (one instruction, or one datum).
type x64Bytes struct{ before, field, after []byte }

func (s x64Site) String() string { return s.producer + "/" + s.name }

func (s x64Site) values() Values { return Values{S: s.S, A: s.A, P: s.P} }

func (s x64Site) siteName() string { return s.name }

// x64Types are the types x86_64.go applies, and the GOT types it refuses.
var (
	x64Types = []elf.R_X86_64{elf.R_X86_64_PLT32, elf.R_X86_64_PC32, elf.R_X86_64_64,
		elf.R_X86_64_32, elf.R_X86_64_32S, elf.R_X86_64_PC64}
	x64GOTTypes = []elf.R_X86_64{elf.R_X86_64_GOTPCREL, elf.R_X86_64_GOTPCRELX, elf.R_X86_64_REX_GOTPCRELX}
)

func x64IsGOT(t elf.R_X86_64) bool { return slices.Contains(x64GOTTypes, t) }

func loadX64Sites(t *testing.T) []x64Site {
	t.Helper()
	byName := map[string]elf.R_X86_64{}
	for _, typ := range append(slices.Clone(x64Types), x64GOTTypes...) {
		byName[X86_64TypeName(typ)] = typ
	}
	// object and linked are before|field|after.
	split := func(r siteRow, i int) x64Bytes {
		parts := strings.Split(r.f[i], "|")
		if len(parts) != 3 {
			r.fail(t, fmt.Errorf("%q is not before|field|after", r.f[i]))
		}
		var b [3][]byte
		for k, p := range parts {
			var err error
			if b[k], err = hex.DecodeString(p); err != nil {
				r.fail(t, err)
			}
		}
		return x64Bytes{b[0], b[1], b[2]}
	}
	var sites []x64Site
	for _, r := range readSites(t, "testdata/x86_64/sites.txt") {
		sites = append(sites, x64Site{producer: r.producer(), name: r.name(), typ: typeNamed(t, r, byName),
			P: r.P, S: r.S, A: r.addend(t), object: split(r, 6), linked: split(r, 7), objdump: r.objdump()})
	}
	return sites
}

// x64SitesNamed returns the sites with these names from every producer
// that has them, and fails the test for a name no producer has.
func x64SitesNamed(t *testing.T, names ...string) []x64Site {
	t.Helper()
	return pickSites(t, loadX64Sites(t), names...)
}

// x64SiteOf returns GNU's site of this name.
func x64SiteOf(t *testing.T, name string) x64Site {
	t.Helper()
	return firstSite(t, x64SitesNamed(t, name), func(s x64Site) bool { return s.producer == "gnu" }, "no gnu site "+name)
}

// x64Relink applies the relocation to the object's field with v, returning
// the field written.
func x64Relink(t *testing.T, s x64Site, v Values) []byte {
	t.Helper()
	loc := slices.Clone(s.object.field)
	if err := X86_64Apply(s.typ, loc, v); err != nil {
		t.Fatalf("%v: X86_64Apply(%s, %+v): %v", s, X86_64TypeName(s.typ), v, err)
	}
	return loc
}

func TestX86_64EverySiteAppliesAsTheLinkerDid(t *testing.T) {
	// The undefined import included: both linkers give it the value 0.
	// So are GNU ld's relaxed GOT loads, which it retypes as PC32 or 32S.
	for _, s := range loadX64Sites(t) {
		if x64IsGOT(s.typ) {
			continue // see TestX86_64GOTTypesAreRecognisedNotApplied
		}
		t.Run(s.String(), func(t *testing.T) {
			if got := x64Relink(t, s, s.values()); !bytes.Equal(got, s.linked.field) {
				t.Errorf("%s: wrote % x, the linker wrote % x (%s)", X86_64TypeName(s.typ), got, s.linked.field, s.objdump)
			}
			if err := X86_64Check(s.typ, s.linked.field, s.linked.before); err != nil {
				t.Errorf("X86_64Check(% x, insn % x): %v", s.linked.field, s.linked.before, err)
			}
		})
	}
}

func TestX86_64LinkersRewriteOnlyTheFieldUnlessRelaxing(t *testing.T) {
	// A GOT load becomes another instruction when the linker relaxes it:
	// always in relax.s (a defined function); at the undefined import only
	// with ld.lld, GNU ld keeping the load and making a GOT slot for it.
	for _, s := range loadX64Sites(t) {
		relaxed := strings.Contains(s.name, "got_") && !(s.producer == "gnu" && strings.HasPrefix(s.name, "undef_"))
		same := bytes.Equal(s.object.before, s.linked.before) && bytes.Equal(s.object.after, s.linked.after)
		if same == relaxed {
			t.Errorf("%v: % x|% x became % x|% x; relaxed: %v", s, s.object.before, s.object.after, s.linked.before, s.linked.after, relaxed)
		}
	}
}

func TestX86_64ObjectFieldsHoldZero(t *testing.T) {
	// RELA: the addend is in the entry, so the assembler leaves the field 0.
	for _, s := range loadX64Sites(t) {
		if !bytes.Equal(s.object.field, make([]byte, len(s.object.field))) {
			t.Errorf("%v: the object's field is % x", s, s.object.field)
		}
	}
}

func TestX86_64FieldReadsWhatTheLayoutPlaced(t *testing.T) {
	// The values are layout.ld's comments: computed by hand from the
	// addresses there, not by the code under test.
	for _, tc := range []struct {
		site string
		want int64
	}{
		{"call_fwd", 0x7fb}, {"call_back", -0x1015}, {"call_max_fwd", 0x7fffffff}, {"call_max_back", -0x80000000},
		{"jmp_fwd", 0x7bb}, {"jmp_back", -0x1055}, {"jmp_max_fwd", 0x7fffffff}, {"jmp_max_back", -0x80000000},
		{"jcc_fwd", 0x77a}, {"call_pc32", 0x76b},
		{"lea_rip", 0x1133e}, {"mov_rip_load", 0x11336}, {"mov_rip_store", 0x1131e}, {"movl_rip_imm", 0x1130b},
		{"mov32_max", 0xffffffff}, {"mov32_r8d", 0x1234}, {"mov32s_max", 0x7fffffff}, {"mov32s_min", -0x80000000},
		{"movabs", 0x123456789abcdef0},
		{"quad_abs64", 0x100000808}, {"quad_pc64", -0x4010}, {"long_pc32", 0xf325}, {"long_abs32", 0xffffffff},
		{"long_plt32", -0x2840},
	} {
		for _, s := range x64SitesNamed(t, tc.site) {
			if got, err := X86_64Field(s.typ, s.linked.field); got != tc.want || err != nil {
				t.Errorf("%v: X86_64Field(%s, % x) = %#x, %v; want %#x", s, X86_64TypeName(s.typ), s.linked.field, got, err, tc.want)
			}
		}
	}
}

func TestX86_64Rel32AddendCountsToTheEndOfTheInstruction(t *testing.T) {
	for _, s := range loadX64Sites(t) {
		want, ok := map[string]int64{"mov_rip_load": 4, "movl_rip_imm": -8, "undef_mov_rip": 4}[s.name]
		switch {
		case ok:
		case x64Branch(s.object.before) != "":
			want = -4 // a call, jmp or jcc: the field is the instruction's end
		default:
			continue
		}
		if s.A != want {
			t.Errorf("%v: addend %d; want %d", s, s.A, want)
		}
	}
}

// x64PastTheEnd returns GNU's site at one end of a field's range, with the
// values that move its symbol one step further.
func x64PastTheEnd(t *testing.T, name string, step int64) (x64Site, Values) {
	t.Helper()
	s := x64SiteOf(t, name)
	v := s.values()
	v.S = uint64(int64(v.S) + step)
	return s, v
}

func x64CheckRangeError(t *testing.T, s x64Site, v Values, want RangeError) {
	t.Helper()
	loc := slices.Clone(s.object.field)
	err := X86_64Apply(s.typ, loc, v)
	var re *RangeError
	if !errors.As(err, &re) || *re != want {
		t.Errorf("%v: X86_64Apply(%s, %+v) = %v; want %v", s, X86_64TypeName(s.typ), v, err, &want)
	}
	if !bytes.Equal(loc, s.object.field) {
		t.Errorf("%v: a failed X86_64Apply wrote % x", s, loc)
	}
}

func TestX86_64Rel32OutOfRangeIsRangeError(t *testing.T) {
	for _, tc := range []struct {
		site string
		step int64
		want RangeError
	}{
		{"call_max_fwd", +1, RangeError{0x80000000, -0x80000000, 0x7fffffff, "rel32 displacement"}},
		{"call_max_back", -1, RangeError{-0x80000001, -0x80000000, 0x7fffffff, "rel32 displacement"}},
		{"jmp_max_fwd", +1, RangeError{0x80000000, -0x80000000, 0x7fffffff, "rel32 displacement"}},
		{"jmp_max_back", -1, RangeError{-0x80000001, -0x80000000, 0x7fffffff, "rel32 displacement"}},
		{"lea_rip", +0x80000000 - 0x1133e, RangeError{0x80000000, -0x80000000, 0x7fffffff, "rel32 displacement"}},
	} {
		s, v := x64PastTheEnd(t, tc.site, tc.step)
		x64CheckRangeError(t, s, v, tc.want)
	}
	// The shape of elfpatch's worst case: an allocator placed 4 GiB away.
	err := X86_64Apply(elf.R_X86_64_PLT32, make([]byte, 4), Values{S: 0x100401000, A: -4, P: 0x401001})
	const want = "value 0xfffffffb out of range [-0x80000000, 0x7fffffff] of rel32 displacement"
	if err == nil || err.Error() != want {
		t.Errorf("4 GiB forward: got %v, want %s", err, want)
	}
}

func TestX86_64Imm32OutOfRangeIsRangeError(t *testing.T) {
	for _, tc := range []struct {
		site string
		step int64
		want RangeError
	}{
		{"mov32_max", +1, RangeError{0x100000000, 0, 0xffffffff, "zero-extended imm32"}},
		{"mov32s_max", +1, RangeError{0x80000000, -0x80000000, 0x7fffffff, "sign-extended imm32"}},
		{"mov32s_min", -1, RangeError{-0x80000001, -0x80000000, 0x7fffffff, "sign-extended imm32"}},
	} {
		s, v := x64PastTheEnd(t, tc.site, tc.step)
		x64CheckRangeError(t, s, v, tc.want)
	}
	// Zero-extended: nothing negative, though a 32-bit word could hold it.
	x64CheckRangeError(t, x64SiteOf(t, "mov32_r8d"), Values{S: 0, A: -1}, RangeError{-1, 0, 0xffffffff, "zero-extended imm32"})
	// Sign-extended: the top 2 GiB of the address space are in reach.
	s := x64SiteOf(t, "mov32s_min")
	if got := x64Relink(t, s, Values{S: 0xfffffffffffff000}); get32(got) != 0xfffff000 {
		t.Errorf("%v: wrote % x; want 00 f0 ff ff", s, got)
	}
}

func TestX86_64PLT32CheckWantsABranchInCode(t *testing.T) {
	plt := elf.R_X86_64_PLT32
	field := make([]byte, 4)
	for _, insn := range [][]byte{{0xe8}, {0xe9}, {0x0f, 0x85}, {0x67, 0xe8}, nil} {
		if err := X86_64Check(plt, field, insn); err != nil {
			t.Errorf("insn % x: %v", insn, err)
		}
	}
	err := X86_64Check(plt, field, []byte{0x48, 0x8d, 0x05})
	const want = "R_X86_64_PLT32 applies to the rel32 of a call, jmp or jcc, found 0x48 0x8d 0x05 | 0x00 0x00 0x00 0x00 (not after a call, jmp or jcc opcode; a PLT32 in data takes no insn)"
	var ie *InsnError
	if !errors.As(err, &ie) || err.Error() != want {
		t.Errorf("lea: got %v, want %s", err, want)
	}
	// PC32 sits in any instruction, and in data.
	if err := X86_64Check(elf.R_X86_64_PC32, field, []byte{0x48, 0x8d, 0x05}); err != nil {
		t.Errorf("PC32 at a lea: %v", err)
	}
}

func TestX86_64GOTTypesAreRecognisedNotApplied(t *testing.T) {
	// GNU ld keeps a GOT load at the undefined import (and retypes what it
	// relaxes: those rows are PC32 and 32S). ld.lld relaxes the load even
	// at the undefined import and keeps the GOT type; after a jmp, its
	// retained offset is one byte into the new field.
	const lldJmp = "jmp rel32 whose field starts a byte before the relocation (ld.lld: jmp; nop)"
	want := map[string]GOTError{
		"gnu/undef_got_call":  {"R_X86_64_GOTPCRELX", "call *disp(%rip)", false},
		"gnu/undef_got_jmp":   {"R_X86_64_GOTPCRELX", "jmp *disp(%rip)", false},
		"gnu/undef_got_mov":   {"R_X86_64_REX_GOTPCRELX", "mov disp(%rip),%reg", false},
		"llvm/undef_got_call": {"R_X86_64_GOTPCRELX", "addr32 call", true},
		"llvm/undef_got_jmp":  {"R_X86_64_GOTPCRELX", lldJmp, true},
		"llvm/undef_got_mov":  {"R_X86_64_REX_GOTPCRELX", "lea disp(%rip),%reg", true},
		"llvm/got_call":       {"R_X86_64_GOTPCRELX", "addr32 call", true},
		"llvm/got_jmp":        {"R_X86_64_GOTPCRELX", lldJmp, true},
		"llvm/got_mov":        {"R_X86_64_REX_GOTPCRELX", "lea disp(%rip),%reg", true},
	}
	seen := 0
	for _, s := range loadX64Sites(t) {
		if !x64IsGOT(s.typ) {
			continue
		}
		seen++
		w, ok := want[s.String()]
		if !ok {
			t.Errorf("%v: an unexpected %s row", s, X86_64TypeName(s.typ))
			continue
		}
		loc := append(slices.Clone(s.linked.field), s.linked.after...)
		var ge *GOTError
		if err := X86_64Check(s.typ, loc, s.linked.before); !errors.As(err, &ge) || *ge != w {
			t.Errorf("%v: X86_64Check(% x, insn % x) = %v; want %v", s, loc, s.linked.before, err, &w)
		}
		before := slices.Clone(loc)
		if err := X86_64Apply(s.typ, loc, s.values()); !errors.As(err, &ge) || !bytes.Equal(loc, before) {
			t.Errorf("%v: X86_64Apply = %v and wrote % x; want a GOTError and no write", s, err, loc)
		}
		if _, err := X86_64Field(s.typ, loc); !errors.As(err, &ge) {
			t.Errorf("%v: X86_64Field = %v; want a GOTError", s, err)
		}
	}
	if seen != len(want) {
		t.Errorf("%d GOT rows in sites.txt; want %d", seen, len(want))
	}

	for _, tc := range []struct {
		insn, loc []byte
		want      string
	}{
		{[]byte{0xff, 0x15}, []byte{0, 0, 0, 0},
			"R_X86_64_GOTPCRELX at call *disp(%rip) reads the target from a GOT slot: the slot, not this field, holds the address"},
		{[]byte{0x67, 0xe8}, []byte{0, 0, 0, 0},
			"R_X86_64_GOTPCRELX at addr32 call: the linker relaxed the GOT load and kept the GOT type, so the field no longer means what the type says"},
		{[]byte{0x48, 0xc7, 0xc7}, []byte{0, 0, 0, 0},
			"R_X86_64_GOTPCRELX at mov $imm32,%reg: the linker relaxed the GOT load and kept the GOT type, so the field no longer means what the type says"},
		{[]byte{0x48, 0x03, 0x05}, []byte{0, 0, 0, 0},
			"R_X86_64_GOTPCRELX at an arithmetic or test operand through the GOT reads the target from a GOT slot: the slot, not this field, holds the address"},
		{[]byte{0x48, 0x81, 0xc0}, []byte{0, 0, 0, 0},
			"R_X86_64_GOTPCRELX at an arithmetic or test immediate: the linker relaxed the GOT load and kept the GOT type, so the field no longer means what the type says"},
		{[]byte{0x90}, []byte{0, 0, 0, 0},
			"R_X86_64_GOTPCRELX at unrecognised bytes: neither a GOT load nor what a linker relaxes one into"},
		{nil, []byte{0, 0, 0, 0},
			"R_X86_64_GOTPCRELX goes through a GOT slot, or what the linker relaxed it into: it cannot be re-applied"},
	} {
		if err := X86_64Check(elf.R_X86_64_GOTPCRELX, tc.loc, tc.insn); err == nil || err.Error() != tc.want {
			t.Errorf("insn % x: got %v, want %s", tc.insn, err, tc.want)
		}
	}
}

// TestX86_64FieldsRoundTrip writes a stride through every field's range
// and both ends into real instructions and reads it back:
// X86_64Field(X86_64Apply(A = x, S = P = 0)) == x.
func TestX86_64FieldsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		site     string
		min, max int64
		stride   int64
	}{
		{"call_fwd", -1 << 31, 1<<31 - 1, 1<<16 + 1},
		{"lea_rip", -1 << 31, 1<<31 - 1, 1<<16 + 3},
		{"mov32_max", 0, 1<<32 - 1, 1<<16 + 5},
		{"mov32s_min", -1 << 31, 1<<31 - 1, 1<<16 + 7},
		{"movabs", -1 << 63, 1<<63 - 1, 1<<48 + 11},
		{"quad_pc64", -1 << 63, 1<<63 - 1, 1<<48 + 13},
	} {
		s := x64SiteOf(t, tc.site)
		try := func(x int64) {
			loc := slices.Clone(s.object.field)
			if err := X86_64Apply(s.typ, loc, Values{A: x}); err != nil {
				t.Fatalf("%v: X86_64Apply(A=%#x): %v", s, x, err)
			}
			if got, err := X86_64Field(s.typ, loc); got != x || err != nil {
				t.Fatalf("%v: wrote %#x as % x, read back %#x, %v", s, x, loc, got, err)
			}
		}
		for x := tc.min; ; x += tc.stride {
			try(x)
			if x > tc.max-tc.stride {
				break
			}
		}
		for _, x := range []int64{tc.min, max(tc.min, -1), 0, 1, tc.max} {
			try(x)
		}
	}
}

func TestX86_64ShortBuffersAreInsnErrors(t *testing.T) {
	for _, typ := range x64Types {
		size := 4
		if typ == elf.R_X86_64_64 || typ == elf.R_X86_64_PC64 {
			size = 8
		}
		for n := range size {
			short := bytes.Repeat([]byte{0xe8}, n)
			var ie *InsnError
			if err := X86_64Check(typ, short, []byte{0xe8}); !errors.As(err, &ie) {
				t.Errorf("%s: X86_64Check of %d bytes = %v; want an InsnError", X86_64TypeName(typ), n, err)
			}
			if _, err := X86_64Field(typ, short); !errors.As(err, &ie) {
				t.Errorf("%s: X86_64Field of %d bytes = %v; want an InsnError", X86_64TypeName(typ), n, err)
			}
			if err := X86_64Apply(typ, short, Values{}); !errors.As(err, &ie) {
				t.Errorf("%s: X86_64Apply of %d bytes = %v; want an InsnError", X86_64TypeName(typ), n, err)
			}
			_ = X86_64Disasm(typ, short, []byte{0xe8}, 0)
		}
	}
	err := X86_64Check(elf.R_X86_64_64, []byte{1, 2, 3, 4}, nil)
	if want := "R_X86_64_64 applies to a 64-bit field, found 0x01 0x02 0x03 0x04 (need 8 bytes, have 4)"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	err = X86_64Check(elf.R_X86_64_PLT32, nil, []byte{0xe8})
	if want := "R_X86_64_PLT32 applies to the rel32 of a call, jmp or jcc, found nothing (need 4 bytes, have 0)"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestX86_64UnsupportedTypeIsUnsupportedError(t *testing.T) {
	typ := elf.R_X86_64_TPOFF32
	loc := make([]byte, 4)
	const want = "unsupported relocation type R_X86_64_TPOFF32"
	_, errField := X86_64Field(typ, loc)
	for _, err := range []error{X86_64Check(typ, loc, nil), errField, X86_64Apply(typ, loc, Values{})} {
		var ue *UnsupportedError
		if !errors.As(err, &ue) || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
	}
}

func TestX86_64UndefinedImportIsZeroForBothLinkers(t *testing.T) {
	// Static, not PIE, --unresolved-symbols=ignore-all: GNU ld and ld.lld
	// both give the import the value 0, branches included, and keep the
	// source's addends.
	addends := map[string]int64{"undef_mov_rip": 4, "undef_mov32": 0, "undef_mov32s": 0x10,
		"undef_movabs": 0x18, "undef_quad": 0x10, "undef_quad_pc64": 0, "undef_long_pc32": 0}
	for _, s := range loadX64Sites(t) {
		if !strings.HasPrefix(s.name, "undef_") || x64IsGOT(s.typ) {
			continue
		}
		if s.S != 0 {
			t.Errorf("%v: the import's value is %#x, not 0", s, s.S)
		}
		if A, ok := addends[s.name]; ok && s.A != A {
			t.Errorf("%v: addend %#x; want %#x", s, s.A, A)
		}
		if b := x64Branch(s.linked.before); b != "" {
			if got, want := X86_64Disasm(s.typ, s.linked.field, s.linked.before, s.P), b+" 0x0"; got != want {
				t.Errorf("%v: %q; want %q", s, got, want)
			}
		}
	}
}

func TestX86_64ImageKeepsTheObjectsAddendsUnlessGNURelaxed(t *testing.T) {
	// gen.sh writes a # line where an image's relocation differs from the
	// object's. Only GNU ld's relaxed GOT loads do, and it says what to.
	raw, err := os.ReadFile("testdata/x86_64/sites.txt")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.Contains(line, "the image keeps") {
			got = append(got, line)
		}
	}
	want := []string{
		"# gnu got_call: the image keeps R_X86_64_PC32 -0x4, the object had R_X86_64_GOTPCRELX -0x4",
		"# gnu got_jmp: the image keeps R_X86_64_PC32 -0x4, the object had R_X86_64_GOTPCRELX -0x4",
		"# gnu got_mov: the image keeps R_X86_64_32S 0x0, the object had R_X86_64_REX_GOTPCRELX -0x4",
	}
	if !slices.Equal(got, want) {
		t.Errorf("changed relocations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// GNU ld's jmp field moved back a byte with the opcode: so did the offset.
	s := x64SiteOf(t, "got_jmp")
	if len(s.object.before) != 2 || len(s.linked.before) != 1 {
		t.Errorf("%v: field at %d in the object, %d in the image; want 2 and 1", s, len(s.object.before), len(s.linked.before))
	}
}

func TestX86_64GNUAndLLVMAgree(t *testing.T) {
	// Except for GOT loads (above), both toolchains write the same bytes.
	bySite := map[string]map[string]x64Site{}
	for _, s := range loadX64Sites(t) {
		if bySite[s.name] == nil {
			bySite[s.name] = map[string]x64Site{}
		}
		bySite[s.name][s.producer] = s
	}
	for name, p := range bySite {
		gnu, ok1 := p["gnu"]
		llvm, ok2 := p["llvm"]
		if !ok1 || !ok2 {
			t.Errorf("%s: not from both producers", name)
			continue
		}
		if strings.Contains(name, "got_") {
			continue
		}
		if gnu.typ != llvm.typ || gnu.A != llvm.A || gnu.P != llvm.P {
			t.Errorf("%s: GNU's relocation %s%+d at %#x, ld.lld's %s%+d at %#x", name,
				X86_64TypeName(gnu.typ), gnu.A, gnu.P, X86_64TypeName(llvm.typ), llvm.A, llvm.P)
		}
		if !slices.EqualFunc([]x64Bytes{gnu.object, gnu.linked}, []x64Bytes{llvm.object, llvm.linked}, x64BytesEqual) {
			t.Errorf("%s: GNU wrote %x, %x; LLVM %x, %x", name, gnu.object, gnu.linked, llvm.object, llvm.linked)
		}
	}
}

func x64BytesEqual(a, b x64Bytes) bool {
	return bytes.Equal(a.before, b.before) && bytes.Equal(a.field, b.field) && bytes.Equal(a.after, b.after)
}

func TestX86_64DisasmReadsLikeObjdump(t *testing.T) {
	// Where the instruction goes on after the field, its end is out of
	// view and X86_64Disasm shows the field; so it does where ld.lld's
	// retained offset is not the start of a field.
	unreadable := map[string]bool{"gnu/movl_rip_imm": true, "llvm/movl_rip_imm": true,
		"llvm/got_jmp": true, "llvm/undef_got_jmp": true}
	for _, s := range loadX64Sites(t) {
		if s.objdump == "-" {
			continue
		}
		loc := append(slices.Clone(s.linked.field), s.linked.after...)
		got := X86_64Disasm(s.typ, loc, s.linked.before, s.P)
		want := x64ObjdumpToDisasm(s.objdump)
		if unreadable[s.String()] {
			want = fmt.Sprintf(".long %#x", get32(s.linked.field))
		}
		if got != want {
			t.Errorf("%v: X86_64Disasm(% x, insn % x) = %q; objdump says %q, i.e. %q", s, loc, s.linked.before, got, s.objdump, want)
		}
	}
	for _, tc := range []struct {
		typ       elf.R_X86_64
		loc, insn []byte
		want      string
	}{
		{elf.R_X86_64_64, []byte{0x08, 0x08, 0, 0, 1, 0, 0, 0}, nil, ".quad 0x100000808"},
		{elf.R_X86_64_PC32, []byte{0x25, 0xf3, 0, 0}, nil, ".long 0xf325"},
		{elf.R_X86_64_PLT32, []byte{0xfb, 0xff, 0xff, 0xff}, []byte{0x0f, 0x8e}, "jle 0x1000"},
		{elf.R_X86_64_PC32, []byte{0xf0, 0xff, 0xff, 0xff}, []byte{0x44, 0x8b, 0x05}, "mov -0x10(%rip),%r8d"},
		{elf.R_X86_64_PC32, []byte{0x10, 0, 0, 0}, []byte{0x8d, 0x0d}, "lea 0x10(%rip),%ecx"},
		{elf.R_X86_64_32, []byte{0xff, 0xff, 0xff, 0xff}, []byte{0x48, 0xb8}, ".long 0xffffffff"}, // REX.W B8 is a movabs
		{elf.R_X86_64_64, []byte{1, 0, 0, 0, 0, 0, 0, 0}, []byte{0x49, 0xbf}, "movabs $0x1,%r15"},
		{elf.R_X86_64_PC32, []byte{1, 2}, []byte{0xe8}, ".byte 0x01, 0x02"},
	} {
		if got := X86_64Disasm(tc.typ, tc.loc, tc.insn, 0x1001); got != tc.want {
			t.Errorf("X86_64Disasm(% x, insn % x) = %q; want %q", tc.loc, tc.insn, got, tc.want)
		}
	}
}

var (
	x64ObjdumpComment = regexp.MustCompile(`( #.*| <[^>]*>)$`)
	x64ObjdumpTarget  = regexp.MustCompile(`^(call|jmp|j[a-z]+|addr32 call) ([0-9a-f]+)$`)
)

// x64ObjdumpToDisasm rewrites GNU objdump's reading of a site into
// X86_64Disasm's: the first instruction only, no symbols or comments, a
// 0x before a branch target.
func x64ObjdumpToDisasm(s string) string {
	s, _, _ = strings.Cut(s, "; ")
	s = x64ObjdumpComment.ReplaceAllString(s, "")
	return x64ObjdumpTarget.ReplaceAllString(s, "$1 0x$2")
}

func FuzzX86_64NeverPanics(f *testing.F) {
	types := append(append(slices.Clone(x64Types), x64GOTTypes...), elf.R_X86_64_TPOFF32)
	f.Add(uint8(0), []byte{0, 0, 0, 0}, []byte{0xe8}, uint64(0x401000), int64(-4), uint64(0x400001))
	f.Add(uint8(7), []byte{0, 0, 0, 0x90}, []byte{0xe9, 0x00}, uint64(0), int64(-4), uint64(0))
	f.Add(uint8(2), []byte{1, 2, 3}, []byte{0x48, 0xb8}, uint64(1<<63), int64(-1<<62), uint64(0))
	f.Fuzz(func(t *testing.T, i uint8, loc, insn []byte, S uint64, A int64, P uint64) {
		typ := types[int(i)%len(types)]
		_ = X86_64Check(typ, loc, insn)
		_, _ = X86_64Field(typ, loc)
		_ = X86_64Disasm(typ, loc, insn, P)
		before := slices.Clone(loc)
		if err := X86_64Apply(typ, loc, Values{S: S, A: A, P: P}); err != nil && !bytes.Equal(loc, before) {
			t.Errorf("a failed X86_64Apply wrote % x over % x: %v", loc, before, err)
		}
	})
}

package relocs

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
)

// The round-trip property of every encoder and decoder here, per
// architecture and per relocation type: for the values of the ABI formula
// that the field can hold, the decoder reads back exactly what the
// encoder was asked to write, and only the field's bits change; for every
// other value (out of range, misaligned, a state switch the instruction
// cannot make) the encoder returns an error and leaves the bytes as they
// were. Writing the same value again over a written field changes nothing.
//
// The expected values are written out from the ABI documents (AAELF32,
// AAELF64, the RISC-V and x86-64 psABIs) as the comments of each
// architecture's file state them, not computed with the helpers under
// test. Each fuzz target takes the value the field should hold (x) and
// derives the addend from it, so that the fuzzer's mutations of x move
// along the field's range, and its boundary values are seeds.

// rtCase is one relocation type as the round-trip fuzzers see it.
type rtCase struct {
	name string
	// tmpl is an instruction (or data) the type applies to; free marks the
	// bits the fuzzer may flip in it (registers, conditions): when the
	// result is no longer an instruction the type applies to, tmpl is used
	// as it is. keep marks the bits the encoder must not change.
	tmpl, free, keep []byte
	// pcrel: the formula subtracts P, so the fuzzer adds P to the addend.
	pcrel bool
	// want is the value the decoder must read after the encoder wrote v,
	// and whether v can be written at all.
	want   func(v Values) (int64, bool)
	apply  func(loc []byte, v Values) error
	decode func(loc []byte) (int64, error)
	check  func(loc []byte) error
	// after, when set, checks the written bytes further (the instruction
	// the encoder chose).
	after func(loc []byte, v Values) error
}

// word and half encode little-endian template bytes.
func word(w ...uint32) []byte {
	b := make([]byte, 4*len(w))
	for i, x := range w {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}

func half(h ...uint16) []byte {
	b := make([]byte, 2*len(h))
	for i, x := range h {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

// thumb32 is a 32-bit Thumb instruction, first halfword first.
func thumb32(hw1, hw2 uint16) []byte { return half(hw1, hw2) }

func ones(n int) []byte { return bytes.Repeat([]byte{0xff}, n) }

// inRange reports lo <= x <= hi and x a multiple of align.
func inRange(x, lo, hi, align int64) bool {
	return x >= lo && x <= hi && x%align == 0
}

func sext(v int64, bits uint) int64 { return v << (64 - bits) >> (64 - bits) }

// fits32 is what a 32-bit word holds: a value read either signed or
// unsigned (see checkWord).
func fits32(x int64) bool { return x >= -1<<31 && x <= 1<<32-1 }

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// runRoundTrip checks the property for one case and one set of values.
func runRoundTrip(t *testing.T, c rtCase, v Values, noise uint64) {
	t.Helper()
	loc := slices.Clone(c.tmpl)
	for j := range loc {
		loc[j] ^= byte(noise>>(8*(j%8))) & c.free[j]
	}
	if c.check(loc) != nil {
		copy(loc, c.tmpl)
		if err := c.check(loc); err != nil {
			t.Fatalf("%s: the template % x is refused: %v", c.name, loc, err)
		}
	}
	before := slices.Clone(loc)
	want, ok := c.want(v)
	err := c.apply(loc, v)
	if !ok {
		if err == nil {
			t.Fatalf("%s: S=%#x A=%#x P=%#x T=%v is outside the field, but was written: % x -> % x", c.name, v.S, v.A, v.P, v.T, before, loc)
		}
		if !bytes.Equal(loc, before) {
			t.Fatalf("%s: a refused value (%v) changed the bytes: % x -> % x", c.name, err, before, loc)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: S=%#x A=%#x P=%#x T=%v fits the field, but was refused: %v", c.name, v.S, v.A, v.P, v.T, err)
	}
	got, err := c.decode(loc)
	if err != nil || got != want {
		t.Fatalf("%s: S=%#x A=%#x P=%#x T=%v: wrote % x -> % x, which reads back as %#x (%v), want %#x", c.name, v.S, v.A, v.P, v.T, before, loc, got, err, want)
	}
	for j := range loc {
		if (loc[j]^before[j])&c.keep[j] != 0 {
			t.Fatalf("%s: S=%#x A=%#x P=%#x T=%v: bits outside the field changed: % x -> % x", c.name, v.S, v.A, v.P, v.T, before, loc)
		}
	}
	if c.after != nil {
		if err := c.after(loc, v); err != nil {
			t.Fatalf("%s: S=%#x A=%#x P=%#x T=%v: % x: %v", c.name, v.S, v.A, v.P, v.T, loc, err)
		}
	}
	again := slices.Clone(loc)
	if err := c.apply(again, v); err != nil || !bytes.Equal(again, loc) {
		t.Fatalf("%s: writing the same value again gives % x (%v), not % x", c.name, again, err, loc)
	}
}

// fuzzValues turns the fuzzer's inputs into the formula's operands: x is
// the value the formula should give, S and P are anywhere.
func fuzzValues(c rtCase, x int64, S, P uint64, T bool) Values {
	A := x - int64(S)
	if c.pcrel {
		A += int64(P)
	}
	return Values{S: S, A: A, P: P, T: T}
}

// addBoundarySeeds adds, for every case, the values at and just past the
// ends of [lo, hi], with a few places P.
func addBoundarySeeds(f *testing.F, n int, bounds func(i int) []int64) {
	for i := range n {
		for _, x := range bounds(i) {
			for _, P := range []uint64{0, 0x08000000, 0x80000002} {
				f.Add(uint8(i), x, uint64(0x1000), P, true, uint64(0))
				f.Add(uint8(i), x, uint64(0), P, true, uint64(0x5a5a5a5a5a5a5a5a))
				f.Add(uint8(i), x, uint64(0x2001), P, false, uint64(0xa5a5a5a5a5a5a5a5))
			}
		}
	}
}

func edges(lo, hi, align int64) []int64 {
	return []int64{0, lo, hi, lo - align, hi + align, lo + 1, hi - 1, align / 2, -align / 2, 1 << 62, -1 << 63}
}

// ---- ARM ----

// armOff is S + A - P, the branch offset a field holds.
func armOff(v Values) int64 { return int64(v.S) + v.A - int64(v.P) }

func armThumbBranch(name string, t elf.R_ARM, tmpl, free, keep []byte, bits uint) rtCase {
	return rtCase{
		name: name, tmpl: tmpl, free: free, keep: keep, pcrel: true,
		want: func(v Values) (int64, bool) {
			off := armOff(v)
			// No Thumb B can switch to ARM state.
			return off, v.T && inRange(off, -1<<(bits-1), 1<<(bits-1)-2, 2)
		},
		apply:  func(loc []byte, v Values) error { return ARMApply(t, loc, v) },
		decode: func(loc []byte) (int64, error) { return ARMAddend(t, loc) },
		check:  func(loc []byte) error { return ARMCheck(t, loc) },
		after: func(loc []byte, v Values) error {
			// The branch goes to S + A + 4 from P: the addend is relative
			// to the Thumb PC, P + 4.
			to, blx, err := ARMBranchTarget(loc, v.P)
			if want := uint64(uint32(int64(v.S) + v.A + 4)); err != nil || blx || to&^1 != want&^1 {
				return fmt.Errorf("branches to %#x (blx %v, %v), want %#x", to, blx, err, want&^1)
			}
			return nil
		},
	}
}

func armA32Branch(name string, t elf.R_ARM, tmpl uint32, free uint32) rtCase {
	return rtCase{
		name: name, tmpl: word(tmpl), free: word(free), keep: word(0xff000000), pcrel: true,
		want: func(v Values) (int64, bool) {
			off := armOff(v)
			return off, v.P%4 == 0 && !v.T && inRange(off, -1<<25, 1<<25-4, 4)
		},
		apply:  func(loc []byte, v Values) error { return ARMApply(t, loc, v) },
		decode: func(loc []byte) (int64, error) { return ARMAddend(t, loc) },
		check:  func(loc []byte) error { return ARMCheck(t, loc) },
	}
}

func armMov(name string, t elf.R_ARM, tmpl, free, keep []byte, high bool) rtCase {
	return rtCase{
		name: name, tmpl: tmpl, free: free, keep: keep,
		want: func(v Values) (int64, bool) {
			if high {
				X := int64(v.S) + v.A
				return int64(int16(uint32(X) >> 16)), fits32(X)
			}
			X := (int64(v.S) + v.A) | boolInt(v.T)
			return int64(int16(X)), true // _NC: the low half of anything
		},
		apply:  func(loc []byte, v Values) error { return ARMApply(t, loc, v) },
		decode: func(loc []byte) (int64, error) { return ARMAddend(t, loc) },
		check:  func(loc []byte) error { return ARMCheck(t, loc) },
	}
}

func armWord(name string, t elf.R_ARM, pcrel bool) rtCase {
	return rtCase{
		name: name, tmpl: word(0), free: ones(4), keep: word(0), pcrel: pcrel,
		want: func(v Values) (int64, bool) {
			X := (int64(v.S) + v.A) | boolInt(v.T)
			if pcrel {
				X -= int64(v.P)
			}
			return int64(int32(X)), fits32(X)
		},
		apply:  func(loc []byte, v Values) error { return ARMApply(t, loc, v) },
		decode: func(loc []byte) (int64, error) { return ARMAddend(t, loc) },
		check:  func(loc []byte) error { return ARMCheck(t, loc) },
	}
}

var armCases = []rtCase{
	armWord("R_ARM_ABS32", elf.R_ARM_ABS32, false),
	armWord("R_ARM_TARGET1", elf.R_ARM_TARGET1, false),
	armWord("R_ARM_REL32", elf.R_ARM_REL32, true),
	{
		name: "R_ARM_PREL31", tmpl: word(0), free: ones(4), keep: word(0x80000000), pcrel: true,
		want: func(v Values) (int64, bool) {
			X := ((int64(v.S) + v.A) | boolInt(v.T)) - int64(v.P)
			return X, X >= -1<<30 && X <= 1<<30-1
		},
		apply:  func(loc []byte, v Values) error { return ARMApply(elf.R_ARM_PREL31, loc, v) },
		decode: func(loc []byte) (int64, error) { return ARMAddend(elf.R_ARM_PREL31, loc) },
		check:  func(loc []byte) error { return ARMCheck(elf.R_ARM_PREL31, loc) },
	},
	{
		// BL when the target is Thumb, BLX (from Align(P, 4), to a
		// word) when it is not.
		name: "R_ARM_THM_CALL", tmpl: thumb32(0xf000, 0xf800), free: half(0, 0x1000), keep: half(0xf800, 0xc000), pcrel: true,
		want: func(v Values) (int64, bool) {
			if v.T {
				off := armOff(v)
				return off, inRange(off, -1<<24, 1<<24-2, 2)
			}
			off := int64(v.S) + v.A - int64(v.P&^3)
			return off, inRange(off, -1<<24, 1<<24-4, 4)
		},
		apply:  func(loc []byte, v Values) error { return ARMApply(armThmCall, loc, v) },
		decode: func(loc []byte) (int64, error) { return ARMAddend(armThmCall, loc) },
		check:  func(loc []byte) error { return ARMCheck(armThmCall, loc) },
		after: func(loc []byte, v Values) error {
			to, blx, err := ARMBranchTarget(loc, v.P)
			want := uint64(uint32(int64(v.S) + v.A + 4))
			if err != nil || blx == v.T || to&^1 != want&^1 {
				return fmt.Errorf("branches to %#x (blx %v, %v), want %#x (blx %v)", to, blx, err, want, !v.T)
			}
			return nil
		},
	},
	armThumbBranch("R_ARM_THM_JUMP24", elf.R_ARM_THM_JUMP24, thumb32(0xf000, 0xb800), half(0, 0), half(0xf800, 0xd000), 25),
	armThumbBranch("R_ARM_THM_JUMP19", elf.R_ARM_THM_JUMP19, thumb32(0xf000, 0x8000), half(0x03c0, 0), half(0xfbc0, 0xd000), 21),
	armThumbBranch("R_ARM_THM_JUMP11", elf.R_ARM_THM_JUMP11, half(0xe000), half(0), half(0xf800), 12),
	armMov("R_ARM_THM_MOVW_ABS_NC", elf.R_ARM_THM_MOVW_ABS_NC, thumb32(0xf240, 0x0000), half(0, 0x0f00), half(0xfbf0, 0x8f00), false),
	armMov("R_ARM_THM_MOVT_ABS", elf.R_ARM_THM_MOVT_ABS, thumb32(0xf2c0, 0x0000), half(0, 0x0f00), half(0xfbf0, 0x8f00), true),
	{
		// BL to ARM code, BLX (imm24:H, to a halfword) to Thumb code.
		name: "R_ARM_CALL", tmpl: word(0xebfffffe), free: word(0), keep: word(0), pcrel: true,
		want: func(v Values) (int64, bool) {
			off := armOff(v)
			if v.T {
				return off, v.P%4 == 0 && inRange(off, -1<<25, 1<<25-2, 2)
			}
			return off, v.P%4 == 0 && inRange(off, -1<<25, 1<<25-4, 4)
		},
		apply:  func(loc []byte, v Values) error { return ARMApply(elf.R_ARM_CALL, loc, v) },
		decode: func(loc []byte) (int64, error) { return ARMAddend(elf.R_ARM_CALL, loc) },
		check:  func(loc []byte) error { return ARMCheck(elf.R_ARM_CALL, loc) },
		after: func(loc []byte, v Values) error {
			to, blx, err := ARMBranchTargetA32(loc, v.P)
			if want := uint64(uint32(int64(v.S) + v.A + 8)); err != nil || blx != v.T || to != want {
				return fmt.Errorf("branches to %#x (blx %v, %v), want %#x (blx %v)", to, blx, err, want, v.T)
			}
			if w := binary.LittleEndian.Uint32(loc); !v.T && w>>24 != 0xeb {
				return fmt.Errorf("a BL to ARM code is %#08x, not an unconditional BL", w)
			}
			return nil
		},
	},
	armA32Branch("R_ARM_JUMP24", elf.R_ARM_JUMP24, 0xeafffffe, 0xf1000000),
	armA32Branch("R_ARM_PC24", elf.R_ARM_PC24, 0xebfffffe, 0xf1000000),
	armMov("R_ARM_MOVW_ABS_NC", elf.R_ARM_MOVW_ABS_NC, word(0xe3000000), word(0xf000f000), word(0xfff0f000), false),
	armMov("R_ARM_MOVT_ABS", elf.R_ARM_MOVT_ABS, word(0xe3400000), word(0xf000f000), word(0xfff0f000), true),
}

func armBounds(i int) []int64 {
	switch armCases[i].name {
	case "R_ARM_PREL31":
		return edges(-1<<30, 1<<30-1, 1)
	case "R_ARM_THM_CALL":
		return append(edges(-1<<24, 1<<24-2, 2), 1<<24-4, 1<<24-3)
	case "R_ARM_THM_JUMP24":
		return edges(-1<<24, 1<<24-2, 2)
	case "R_ARM_THM_JUMP19":
		return edges(-1<<20, 1<<20-2, 2)
	case "R_ARM_THM_JUMP11":
		return edges(-1<<11, 1<<11-2, 2)
	case "R_ARM_CALL", "R_ARM_JUMP24", "R_ARM_PC24":
		return append(edges(-1<<25, 1<<25-4, 4), 1<<25-2, 2)
	}
	return edges(-1<<31, 1<<32-1, 1)
}

// FuzzARMRoundTrip: every ARM encoder against its decoder, and the MOVW and
// MOVT of a pair together build (S + A) | T.
func FuzzARMRoundTrip(f *testing.F) {
	addBoundarySeeds(f, len(armCases), armBounds)
	f.Fuzz(func(t *testing.T, i uint8, x int64, S, P uint64, T bool, noise uint64) {
		c := armCases[int(i)%len(armCases)]
		v := fuzzValues(c, x, S, P, T)
		runRoundTrip(t, c, v, noise)
		// The pairs, with the same S + A.
		for _, pair := range [][2]elf.R_ARM{{elf.R_ARM_THM_MOVW_ABS_NC, elf.R_ARM_THM_MOVT_ABS}, {elf.R_ARM_MOVW_ABS_NC, elf.R_ARM_MOVT_ABS}} {
			lo, hi := thumb32(0xf240, 0), thumb32(0xf2c0, 0)
			if pair[0] == elf.R_ARM_MOVW_ABS_NC {
				lo, hi = word(0xe3000000), word(0xe3400000)
			}
			if ARMApply(pair[0], lo, v) != nil || ARMApply(pair[1], hi, v) != nil {
				continue
			}
			l, _ := ARMAddend(pair[0], lo)
			h, _ := ARMAddend(pair[1], hi)
			if got, want := uint32(h)<<16|uint32(uint16(l)), uint32(int64(v.S)+v.A)|uint32(boolInt(v.T)); got != want {
				t.Fatalf("%v+%v: the pair builds %#x, want %#x", pair[0], pair[1], got, want)
			}
		}
	})
}

// ---- RISC-V ----

func rvCase(name string, t elf.R_RISCV, tmpl, free, keep []byte, pcrel bool, want func(X int64) (int64, bool)) rtCase {
	return rtCase{
		name: name, tmpl: tmpl, free: free, keep: keep, pcrel: pcrel,
		want: func(v Values) (int64, bool) {
			X := int64(v.S) + v.A
			if pcrel {
				X -= int64(v.P)
			}
			return want(X)
		},
		apply:  func(loc []byte, v Values) error { return RISCVApply(t, loc, v) },
		decode: func(loc []byte) (int64, error) { return RISCVField(t, loc) },
		check:  func(loc []byte) error { return RISCVCheck(t, loc) },
	}
}

// The reach of an auipc pair: hi << 12 is a signed 32-bit value, lo a
// signed 12-bit one.
const rvPairLo, rvPairHi = -1<<31 - 0x800, 1<<31 - 1 - 0x800

func rvBranch(bits uint) func(X int64) (int64, bool) {
	return func(X int64) (int64, bool) { return X, inRange(X, -1<<(bits-1), 1<<(bits-1)-2, 2) }
}

// RISC-V templates: auipc ra, 0; jalr ra, 0(ra); lui a0, 0; addi a0, a0, 0;
// sw a0, 0(a1); jal ra, 0; beq a0, a1, 0; c.j 0; c.beqz a0, 0.
const (
	rvAUIPC = 0x00000097
	rvJALR  = 0x000080e7
	rvLUI   = 0x00000537
	rvADDI  = 0x00050513
	rvSW    = 0x00a5a023
	rvJAL   = 0x000000ef
	rvBEQ   = 0x00b50063
	rvCJ    = 0xa001
	rvCBEQZ = 0xc101
)

func rvPCRelLo(name string, t elf.R_RISCV, tmpl, free, keep uint32) rtCase {
	// Written from the value of the auipc's PCREL_HI20, here v.A.
	return rtCase{
		name: name, tmpl: word(tmpl), free: word(free), keep: word(keep),
		want:   func(v Values) (int64, bool) { return sext(v.A, 12), true },
		apply:  func(loc []byte, v Values) error { return RISCVApplyPCRelLo(t, loc, v.A) },
		decode: func(loc []byte) (int64, error) { return RISCVField(t, loc) },
		check:  func(loc []byte) error { return RISCVCheck(t, loc) },
	}
}

var rvCases = []rtCase{
	rvCase("R_RISCV_32", elf.R_RISCV_32, word(0), ones(4), word(0), false, func(X int64) (int64, bool) { return int64(int32(X)), fits32(X) }),
	rvCase("R_RISCV_64", elf.R_RISCV_64, word(0, 0), ones(8), word(0, 0), false, func(X int64) (int64, bool) { return X, true }),
	rvCase("R_RISCV_CALL", elf.R_RISCV_CALL, word(rvAUIPC, rvJALR), word(0, 0xf80), word(0xfff, 0xfffff), true,
		func(X int64) (int64, bool) { return X, inRange(X, rvPairLo, rvPairHi, 1) }),
	rvCase("R_RISCV_CALL_PLT", elf.R_RISCV_CALL_PLT, word(rvAUIPC, rvJALR), word(0, 0xf80), word(0xfff, 0xfffff), true,
		func(X int64) (int64, bool) { return X, inRange(X, rvPairLo, rvPairHi, 1) }),
	rvCase("R_RISCV_PCREL_HI20", elf.R_RISCV_PCREL_HI20, word(rvAUIPC), word(0xf80), word(0xfff), true,
		func(X int64) (int64, bool) { return (X + 0x800) &^ 0xfff, inRange(X, rvPairLo, rvPairHi, 1) }),
	rvCase("R_RISCV_HI20", elf.R_RISCV_HI20, word(rvLUI), word(0xf80), word(0xfff), false,
		func(X int64) (int64, bool) { return int64(int32(uint32(X+0x800) &^ 0xfff)), fits32(X) }),
	rvCase("R_RISCV_LO12_I", elf.R_RISCV_LO12_I, word(rvADDI), word(0xfff80), word(0xfffff), false,
		func(X int64) (int64, bool) { return sext(X, 12), true }),
	rvCase("R_RISCV_LO12_S", elf.R_RISCV_LO12_S, word(rvSW), word(0x01fff000), word(0x01fff07f), false,
		func(X int64) (int64, bool) { return sext(X, 12), true }),
	rvPCRelLo("R_RISCV_PCREL_LO12_I", elf.R_RISCV_PCREL_LO12_I, rvADDI, 0xfff80, 0xfffff),
	rvPCRelLo("R_RISCV_PCREL_LO12_S", elf.R_RISCV_PCREL_LO12_S, rvSW, 0x01fff000, 0x01fff07f),
	rvCase("R_RISCV_JAL", elf.R_RISCV_JAL, word(rvJAL), word(0xf80), word(0xfff), true, rvBranch(21)),
	rvCase("R_RISCV_BRANCH", elf.R_RISCV_BRANCH, word(rvBEQ), word(0x01fff000), word(0x01fff07f), true, rvBranch(13)),
	rvCase("R_RISCV_RVC_JUMP", elf.R_RISCV_RVC_JUMP, half(rvCJ), half(0x8000), half(0xe003), true, rvBranch(12)),
	rvCase("R_RISCV_RVC_BRANCH", elf.R_RISCV_RVC_BRANCH, half(rvCBEQZ), half(0x2380), half(0xe383), true, rvBranch(9)),
	// Markers have no field: they accept anything and write nothing.
	rvCase("R_RISCV_RELAX", elf.R_RISCV_RELAX, word(rvJAL), ones(4), ones(4), false, func(int64) (int64, bool) { return 0, true }),
	rvCase("R_RISCV_NONE", elf.R_RISCV_NONE, word(0), ones(4), ones(4), false, func(int64) (int64, bool) { return 0, true }),
}

func rvBounds(i int) []int64 {
	switch rvCases[i].name {
	case "R_RISCV_CALL", "R_RISCV_CALL_PLT", "R_RISCV_PCREL_HI20":
		return edges(rvPairLo, rvPairHi, 1)
	case "R_RISCV_JAL":
		return edges(-1<<20, 1<<20-2, 2)
	case "R_RISCV_BRANCH":
		return edges(-1<<12, 1<<12-2, 2)
	case "R_RISCV_RVC_JUMP":
		return edges(-1<<11, 1<<11-2, 2)
	case "R_RISCV_RVC_BRANCH":
		return edges(-1<<8, 1<<8-2, 2)
	case "R_RISCV_LO12_I", "R_RISCV_LO12_S", "R_RISCV_PCREL_LO12_I", "R_RISCV_PCREL_LO12_S":
		return edges(-0x800, 0x7ff, 1)
	}
	return edges(-1<<31, 1<<32-1, 1)
}

// FuzzRISCVRoundTrip: every RISC-V encoder against its decoder; a PCREL
// or absolute HI20 and its LO12 together give the whole value, and a
// PCREL_LO12 given to RISCVApply is refused untouched.
func FuzzRISCVRoundTrip(f *testing.F) {
	addBoundarySeeds(f, len(rvCases), rvBounds)
	f.Fuzz(func(t *testing.T, i uint8, x int64, S, P uint64, T bool, noise uint64) {
		c := rvCases[int(i)%len(rvCases)]
		v := fuzzValues(c, x, S, P, T)
		runRoundTrip(t, c, v, noise)

		for _, typ := range []elf.R_RISCV{elf.R_RISCV_PCREL_LO12_I, elf.R_RISCV_PCREL_LO12_S} {
			loc := word(rvADDI)
			if typ == elf.R_RISCV_PCREL_LO12_S {
				loc = word(rvSW)
			}
			before := slices.Clone(loc)
			if err := RISCVApply(typ, loc, v); err == nil || !bytes.Equal(loc, before) {
				t.Fatalf("%v through RISCVApply: %v, % x -> % x", typ, err, before, loc)
			}
		}
		// auipc + addi: hi + lo is S + A - P.
		hi, lo := word(rvAUIPC), word(rvADDI)
		if RISCVApply(elf.R_RISCV_PCREL_HI20, hi, v) == nil {
			X := int64(v.S) + v.A - int64(v.P)
			if err := RISCVApplyPCRelLo(elf.R_RISCV_PCREL_LO12_I, lo, X); err != nil {
				t.Fatal(err)
			}
			h, _ := RISCVField(elf.R_RISCV_PCREL_HI20, hi)
			l, _ := RISCVField(elf.R_RISCV_PCREL_LO12_I, lo)
			if h+l != X {
				t.Fatalf("auipc %#x + addi %#x = %#x, want %#x", h, l, h+l, X)
			}
		}
		// lui + addi: hi + lo is S + A, modulo 2^32 (RV32).
		hi, lo = word(rvLUI), word(rvADDI)
		if RISCVApply(elf.R_RISCV_HI20, hi, v) == nil {
			if err := RISCVApply(elf.R_RISCV_LO12_I, lo, v); err != nil {
				t.Fatal(err)
			}
			h, _ := RISCVField(elf.R_RISCV_HI20, hi)
			l, _ := RISCVField(elf.R_RISCV_LO12_I, lo)
			if X := int64(v.S) + v.A; uint32(h+l) != uint32(X) {
				t.Fatalf("lui %#x + addi %#x = %#x, want %#x", h, l, uint32(h+l), uint32(X))
			}
		}
	})
}

// ---- AArch64 ----

func a64Case(name string, t elf.R_AARCH64, tmpl, free, keep []byte, pcrel bool, want func(v Values) (int64, bool)) rtCase {
	return rtCase{
		name: name, tmpl: tmpl, free: free, keep: keep, pcrel: pcrel, want: want,
		apply:  func(loc []byte, v Values) error { return AArch64Apply(t, loc, v) },
		decode: func(loc []byte) (int64, error) { return AArch64Field(t, loc) },
		check:  func(loc []byte) error { return AArch64Check(t, loc) },
	}
}

func a64Abs(v Values) int64 { return int64(v.S) + v.A }
func a64Rel(v Values) int64 { return int64(v.S) + v.A - int64(v.P) }
func page(x int64) int64    { return x &^ 0xfff }

// a64Ldst is a load or store of n bytes: ldrb w0, [x0], ldrh, ldr w, ldr x,
// ldr q.
func a64Ldst(t elf.R_AARCH64, n int64, tmpl uint32) rtCase {
	return a64Case(AArch64TypeName(t), t, word(tmpl), word(0x3ff), word(^uint32(0xfff<<10)), false, func(v Values) (int64, bool) {
		X := a64Abs(v)
		return X & 0xfff, X%n == 0
	})
}

func a64Mov(t elf.R_AARCH64, g uint, checked bool, tmpl uint32) rtCase {
	return a64Case(AArch64TypeName(t), t, word(tmpl), word(0x1f), word(^uint32(0xffff<<5)), false, func(v Values) (int64, bool) {
		X := a64Abs(v)
		field := int64(uint64(X) >> (16 * g) & 0xffff << (16 * g))
		if !checked {
			return field, true
		}
		return field, X >= 0 && X <= 1<<(16*(g+1))-1
	})
}

var a64Cases = []rtCase{
	a64Case("R_AARCH64_ABS64", elf.R_AARCH64_ABS64, word(0, 0), ones(8), word(0, 0), false, func(v Values) (int64, bool) { return a64Abs(v), true }),
	a64Case("R_AARCH64_PREL64", elf.R_AARCH64_PREL64, word(0, 0), ones(8), word(0, 0), true, func(v Values) (int64, bool) { return a64Rel(v), true }),
	a64Case("R_AARCH64_ABS32", elf.R_AARCH64_ABS32, word(0), ones(4), word(0), false, func(v Values) (int64, bool) {
		return int64(uint32(a64Abs(v))), fits32(a64Abs(v))
	}),
	a64Case("R_AARCH64_PREL32", elf.R_AARCH64_PREL32, word(0), ones(4), word(0), true, func(v Values) (int64, bool) {
		return int64(int32(a64Rel(v))), fits32(a64Rel(v))
	}),
	a64Case("R_AARCH64_CALL26", elf.R_AARCH64_CALL26, word(0x94000000), word(0), word(0xfc000000), true, func(v Values) (int64, bool) {
		return a64Rel(v), inRange(a64Rel(v), -1<<27, 1<<27-4, 4)
	}),
	a64Case("R_AARCH64_JUMP26", elf.R_AARCH64_JUMP26, word(0x14000000), word(0), word(0xfc000000), true, func(v Values) (int64, bool) {
		return a64Rel(v), inRange(a64Rel(v), -1<<27, 1<<27-4, 4)
	}),
	a64Case("R_AARCH64_ADR_PREL_PG_HI21", elf.R_AARCH64_ADR_PREL_PG_HI21, word(0x90000000), word(0x1f), word(0x9f00001f), true, func(v Values) (int64, bool) {
		X := page(a64Abs(v)) - page(int64(v.P))
		return X, X >= -1<<32 && X <= 1<<32-1<<12
	}),
	a64Case("R_AARCH64_ADR_PREL_PG_HI21_NC", elf.R_AARCH64_ADR_PREL_PG_HI21_NC, word(0x90000000), word(0x1f), word(0x9f00001f), true, func(v Values) (int64, bool) {
		X := page(a64Abs(v)) - page(int64(v.P))
		return sext(X>>12, 21) << 12, true
	}),
	a64Case("R_AARCH64_ADR_PREL_LO21", elf.R_AARCH64_ADR_PREL_LO21, word(0x10000000), word(0x1f), word(0x9f00001f), true, func(v Values) (int64, bool) {
		return a64Rel(v), inRange(a64Rel(v), -1<<20, 1<<20-1, 1)
	}),
	a64Case("R_AARCH64_ADD_ABS_LO12_NC", elf.R_AARCH64_ADD_ABS_LO12_NC, word(0x91000000), word(0x800003ff), word(^uint32(0xfff<<10)), false, func(v Values) (int64, bool) {
		return a64Abs(v) & 0xfff, true
	}),
	a64Ldst(elf.R_AARCH64_LDST8_ABS_LO12_NC, 1, 0x39400000),
	a64Ldst(elf.R_AARCH64_LDST16_ABS_LO12_NC, 2, 0x79400000),
	a64Ldst(elf.R_AARCH64_LDST32_ABS_LO12_NC, 4, 0xb9400000),
	a64Ldst(elf.R_AARCH64_LDST64_ABS_LO12_NC, 8, 0xf9400000),
	a64Ldst(elf.R_AARCH64_LDST128_ABS_LO12_NC, 16, 0x3dc00000),
	a64Mov(elf.R_AARCH64_MOVW_UABS_G0, 0, true, 0xd2800000),
	a64Mov(elf.R_AARCH64_MOVW_UABS_G0_NC, 0, false, 0xf2800000),
	a64Mov(elf.R_AARCH64_MOVW_UABS_G1, 1, true, 0xd2a00000),
	a64Mov(elf.R_AARCH64_MOVW_UABS_G1_NC, 1, false, 0xf2a00000),
	a64Mov(elf.R_AARCH64_MOVW_UABS_G2, 2, true, 0xd2c00000),
	a64Mov(elf.R_AARCH64_MOVW_UABS_G2_NC, 2, false, 0xf2c00000),
	a64Mov(elf.R_AARCH64_MOVW_UABS_G3, 3, false, 0xf2e00000),
}

func a64Bounds(i int) []int64 {
	switch a64Cases[i].name {
	case "R_AARCH64_CALL26", "R_AARCH64_JUMP26":
		return edges(-1<<27, 1<<27-4, 4)
	case "R_AARCH64_ADR_PREL_PG_HI21", "R_AARCH64_ADR_PREL_PG_HI21_NC":
		return edges(-1<<32, 1<<32-1<<12, 1<<12)
	case "R_AARCH64_ADR_PREL_LO21":
		return edges(-1<<20, 1<<20-1, 1)
	case "R_AARCH64_MOVW_UABS_G0":
		return edges(0, 1<<16-1, 1)
	case "R_AARCH64_MOVW_UABS_G1":
		return edges(0, 1<<32-1, 1)
	case "R_AARCH64_MOVW_UABS_G2":
		return edges(0, 1<<48-1, 1)
	}
	return edges(-1<<31, 1<<32-1, 16)
}

// FuzzAArch64RoundTrip: every AArch64 encoder against its decoder; ADRP
// and ADD together give S + A, and a MOVZ/MOVK chain builds it 16 bits at
// a time.
func FuzzAArch64RoundTrip(f *testing.F) {
	addBoundarySeeds(f, len(a64Cases), a64Bounds)
	f.Fuzz(func(t *testing.T, i uint8, x int64, S, P uint64, T bool, noise uint64) {
		c := a64Cases[int(i)%len(a64Cases)]
		v := fuzzValues(c, x, S, P, T)
		runRoundTrip(t, c, v, noise)

		adrp, add := word(0x90000000), word(0x91000000)
		if AArch64Apply(elf.R_AARCH64_ADR_PREL_PG_HI21, adrp, v) == nil {
			if err := AArch64Apply(elf.R_AARCH64_ADD_ABS_LO12_NC, add, v); err != nil {
				t.Fatal(err)
			}
			h, _ := AArch64Field(elf.R_AARCH64_ADR_PREL_PG_HI21, adrp)
			l, _ := AArch64Field(elf.R_AARCH64_ADD_ABS_LO12_NC, add)
			if got, want := page(int64(v.P))+h+l, a64Abs(v); got != want {
				t.Fatalf("adrp %#x + add %#x from %#x = %#x, want %#x", h, l, v.P, got, want)
			}
		}
		var sum uint64
		for _, typ := range []elf.R_AARCH64{elf.R_AARCH64_MOVW_UABS_G0_NC, elf.R_AARCH64_MOVW_UABS_G1_NC, elf.R_AARCH64_MOVW_UABS_G2_NC, elf.R_AARCH64_MOVW_UABS_G3} {
			loc := word(0xf2800000 | uint32(a64MovGroup(typ))<<21)
			if err := AArch64Apply(typ, loc, v); err != nil {
				t.Fatalf("%v: %v", typ, err)
			}
			g, _ := AArch64Field(typ, loc)
			sum += uint64(g)
		}
		if sum != uint64(a64Abs(v)) {
			t.Fatalf("the MOVZ/MOVK chain builds %#x, want %#x", sum, uint64(a64Abs(v)))
		}
	})
}

// ---- x86-64 ----

func x64Case(t elf.R_X86_64, size int, pcrel bool, want func(X int64) (int64, bool)) rtCase {
	return rtCase{
		name: X86_64TypeName(t), tmpl: make([]byte, size), free: ones(size), keep: make([]byte, size), pcrel: pcrel,
		want: func(v Values) (int64, bool) {
			X := int64(v.S) + v.A
			if pcrel {
				X -= int64(v.P)
			}
			return want(X)
		},
		apply:  func(loc []byte, v Values) error { return X86_64Apply(t, loc, v) },
		decode: func(loc []byte) (int64, error) { return X86_64Field(t, loc) },
		check:  func(loc []byte) error { return X86_64Check(t, loc, nil) },
	}
}

func int32Range(X int64) (int64, bool) { return X, X >= -1<<31 && X <= 1<<31-1 }

var x64Cases = []rtCase{
	x64Case(elf.R_X86_64_64, 8, false, func(X int64) (int64, bool) { return X, true }),
	x64Case(elf.R_X86_64_PC64, 8, true, func(X int64) (int64, bool) { return X, true }),
	x64Case(elf.R_X86_64_PC32, 4, true, int32Range),
	x64Case(elf.R_X86_64_PLT32, 4, true, int32Range),
	x64Case(elf.R_X86_64_32, 4, false, func(X int64) (int64, bool) { return X, X >= 0 && X <= 1<<32-1 }),
	x64Case(elf.R_X86_64_32S, 4, false, int32Range),
}

func x64Bounds(i int) []int64 {
	if x64Cases[i].name == "R_X86_64_32" {
		return edges(0, 1<<32-1, 1)
	}
	return edges(-1<<31, 1<<31-1, 1)
}

// FuzzX86_64RoundTrip: every x86-64 encoder against its decoder.
func FuzzX86_64RoundTrip(f *testing.F) {
	addBoundarySeeds(f, len(x64Cases), x64Bounds)
	f.Fuzz(func(t *testing.T, i uint8, x int64, S, P uint64, T bool, noise uint64) {
		c := x64Cases[int(i)%len(x64Cases)]
		runRoundTrip(t, c, fuzzValues(c, x, S, P, T), noise)
	})
}

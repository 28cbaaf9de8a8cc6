// ARM relocations, as a post-link patcher meets them in Cortex-M firmware
// (all Thumb) and in Cortex-R firmware (mostly A32, some Thumb). What is
// peculiar about ARM:
//
// REL, not RELA. An ARM object keeps each addend in the bytes it relocates:
// in the word itself for data, scattered over the immediate field for an
// instruction. Reading an addend means decoding the instruction (ARMAddend).
// A freshly assembled `bl sym` holds -4: the Thumb PC reads as the
// instruction's address plus 4, and the formula subtracts only P. Once
// linked, the place holds the result and the addend is gone, --emit-relocs
// or not; what can still be read is where a branch goes (ARMBranchTarget).
//
// The Thumb bit. The symbol of a Thumb function has bit 0 set. Here S is the
// address without it and T says whether it was set, so that the formulas
// read as AAELF32 writes them, (S + A) | T. An address that is taken (ABS32,
// REL32, PREL31, MOVW) keeps the bit, so that a BX or BLX through it enters
// Thumb state. A branch does not encode it: BL implies Thumb, and its field
// holds the offset with bit 0 clear. MOVT takes the upper half, where T
// never shows.
//
// BL, BLX and interworking. R_ARM_THM_CALL leaves the choice of instruction
// to the linker: BL stays in Thumb state, BLX (immediate) switches to ARM
// state. ARM code is word-aligned, so BLX counts its offset from Align(P, 4)
// and can only reach a multiple of 4; the H bit, bit 0 of its second
// halfword, must be zero. An assembler writes whichever of the two the
// source says and the linker rewrites it, so both are read. ARMv6-M, ARMv7-M
// and ARMv8-M have no ARM state at all: BLX (immediate) is undefined there
// and faults. On Cortex-M every call target is Thumb code, and a function
// symbol without the Thumb bit has lost its .thumb_func or %function type;
// it is no reason to write a BLX.
//
// Why a B.W cannot switch state. The only immediate branch that changes
// instruction set is BLX, and it writes LR: in place of a B.W tail call it
// would overwrite the return address. A linker reaches ARM code from a B.W,
// B<cond>.W or B.N through a veneer, a few instructions that end in a BX. A
// patcher that only rewrites fields has nowhere to put one, so those cases
// are an *InterworkError.
//
// Ranges. BL, BLX and B.W hold a 25-bit signed offset S:I1:I2:imm10:imm11:0
// and reach from -16 MiB to +16 MiB - 2 around P + 4 (BLX: to +16 MiB - 4
// around Align(P, 4) + 4). I1 and I2 are stored as J1 = NOT(I1 XOR S) and
// J2 = NOT(I2 XOR S), so that the Thumb-1 encoding, where J1 = J2 = 1, still
// reads as the ±4 MiB branch it always was. B<cond>.W holds
// S:J2:J1:imm6:imm11:0, J1 and J2 stored as they are and in that order, for
// ±1 MiB; B.N holds 12 bits, ±2 KiB. PREL31 holds 31 bits, ±1 GiB; the top
// bit of its word belongs to the unwinder and is kept.
//
// MOVW and MOVT. Two instructions build a 32-bit address, each with a 16-bit
// immediate scattered as imm4:i:imm3:imm8. MOVW takes the low half of
// (S + A) | T and is not checked for overflow (_NC): MOVT, which takes the
// high half of S + A, carries the rest. In REL form MOVT's addend is not the
// high half of the addend but, as for MOVW, the whole addend: the 16-bit
// field read as a signed number (AAELF32). The linker needs all of S + A to
// carry from the low half into the high one, and addends are limited to
// [-0x8000, 0x7fff].
//
// A32 and Thumb. Cortex-R and Cortex-A cores run two instruction sets: A32
// ("ARM state"), 4-byte instructions at word-aligned addresses, and Thumb.
// Which one runs is a state of the core; a branch changes it only if it
// interworks: BX, BLX, or (ARMv5T and later) a load of the PC, where bit 0
// of the address selects Thumb. The relocation type says which set the
// place holds (R_ARM_THM_* is Thumb, R_ARM_CALL and the others here A32), so
// ARMBranchTarget reads Thumb and ARMBranchTargetA32 reads A32. The A32 PC
// reads as the instruction's address plus 8, so a freshly assembled
// `bl sym` holds -8. An A32 instruction starts with a 4-bit condition; 1111
// marks the unconditional ones, BLX (immediate) among them.
//
// BL and BLX from A32. R_ARM_CALL, like R_ARM_THM_CALL, leaves the choice
// to the linker: BL to A32 code, BLX (immediate, encoding A2) to Thumb code.
// Both hold a 24-bit word offset, imm24:00, and reach from -32 MiB to
// +32 MiB - 4 around P + 8. Thumb code is only halfword-aligned, so BLX
// needs one more bit: the H bit, bit 24, where a BL keeps its link bit,
// holds bit 1 of the offset, imm24:H:0, which reaches +32 MiB - 2. Both are
// read, with H for a BLX; a BL<cond> is R_ARM_JUMP24's, since BLX has no
// condition to keep.
//
// Why an A32 B cannot switch to Thumb. As in Thumb, the one immediate branch
// that changes state, BLX, writes LR; a B, B<cond> or BL<cond>
// (R_ARM_JUMP24) reaches Thumb code through a veneer. GNU ld's is
// "ldr pc, [pc, #-4]; .word target|1", the bytes ARMVeneerA32 builds; ld.lld
// loads ip with MOVW/MOVT and does BX ip. Here it is an *InterworkError.
// R_ARM_PC24, the pre-EABI type of both B and BL, is read by instruction
// and otherwise treated as R_ARM_JUMP24: to Thumb code neither linker turns
// it into a BLX (GNU ld goes through its ARM-to-Thumb glue, ld.lld through
// a thunk), so it is an *InterworkError even on a BL.
//
// Veneers. A linker puts a veneer beside a branch that cannot reach its
// target or cannot switch to its state, and points the branch at it. A
// patcher that finds room can do the same with ARMVeneerA32 and
// ARMVeneerThumb: a load of the PC from a literal word that holds the
// target with its Thumb bit, which interworks on ARMv5T and later. The
// literal sits right after the load: A32 reads it at [pc, #-4], the PC being
// P + 8; Thumb-2 at [pc, #0], the PC being Align(P, 4) + 4, which is P + 4
// only when P is word-aligned. ARMv6-M and ARMv8-M Baseline have no LDR.W,
// and a 16-bit LDR cannot load the PC, but POP can: the veneer pushes r0 and
// r1, loads the target into r0, stores it over r1's slot and pops r0 and
// the PC, keeping every register. Each is 8 or 12 bytes at a word-aligned
// address.
//
// A32 MOVW and MOVT hold their 16-bit immediate as imm4:imm12 and keep their
// condition; everything said above of the Thumb pair holds for them.
//
// R_ARM_TARGET1. GCC and clang write the entries of .init_array and
// .fini_array with it, and the ABI lets the platform decide whether it means
// ABS32 or REL32. GNU ld for bare-metal arm-none-eabi and ld.lld both take
// it as ABS32 unless linked with --target1-rel (GNU ld's default for Linux).
// The option is not recorded in the image, so here R_ARM_TARGET1 is ABS32;
// a caller that knows the image was linked with --target1-rel applies
// R_ARM_REL32 in its place.
//
// R_ARM_PREL31: left alone but understood. It fills the exception-index
// table (.ARM.exidx, a function's address and its unwind entry) and the
// personality routine words of .ARM.extab. A patcher that rebinds calls
// moves no function and has no reason to rewrite those tables, but a PREL31
// word is decoded and re-encoded here like any other, so that one can be
// read, shown and checked; the top bit, the unwinder's, is kept.

package relocs

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// armThmCall is R_ARM_THM_CALL; debug/elf still calls type 10 by its
// pre-Thumb-2 name, R_ARM_THM_PC22.
const armThmCall = elf.R_ARM_THM_PC22

// ARMTypeName returns the AAELF32 name of t, the one readelf and the linkers
// print: R_ARM_THM_CALL where debug/elf says R_ARM_THM_PC22.
func ARMTypeName(t elf.R_ARM) string {
	if t == armThmCall {
		return "R_ARM_THM_CALL"
	}
	return typeName(t.String(), uint32(t))
}

// InterworkError reports a branch to code of the other instruction set from
// an instruction that cannot switch state; a linker would have gone through
// a veneer.
type InterworkError struct {
	Insn    string // Thumb "B.W", "B<cond>.W" or "B.N"; A32 "B", "B<cond>", "BL<cond>" or "BL" (R_ARM_PC24)
	ToThumb bool   // the branch is A32 and the target Thumb, not the other way round
}

func (e *InterworkError) Error() string {
	if e.ToThumb {
		return fmt.Sprintf("an A32 %s cannot switch to Thumb state: the target needs a veneer", e.Insn)
	}
	return fmt.Sprintf("a %s cannot switch to ARM state: the target needs a veneer, or its symbol lacks the Thumb bit", e.Insn)
}

// ARMAddend reads the addend a REL relocation of type t keeps in loc, the
// little-endian bytes of the place (at least the instruction's size): the
// sign-extended offset of a branch, either BL or BLX for R_ARM_THM_CALL and
// R_ARM_CALL; the 16-bit immediate of a MOVW or MOVT, sign-extended; the
// word of ABS32, REL32 and TARGET1; the low 31 bits of PREL31,
// sign-extended.
func ARMAddend(t elf.R_ARM, loc []byte) (int64, error) {
	if err := ARMCheck(t, loc); err != nil {
		return 0, err
	}
	switch t {
	case elf.R_ARM_ABS32, elf.R_ARM_REL32, elf.R_ARM_TARGET1:
		return int64(int32(get32(loc))), nil
	case elf.R_ARM_PREL31:
		return signExtend(uint64(get32(loc)), 31), nil
	case armThmCall, elf.R_ARM_THM_JUMP24:
		return readThumbBranch24(loc), nil
	case elf.R_ARM_THM_JUMP19:
		return readThumbBranch20(loc), nil
	case elf.R_ARM_THM_JUMP11:
		return readThumbBranch11(loc), nil
	case elf.R_ARM_THM_MOVW_ABS_NC, elf.R_ARM_THM_MOVT_ABS:
		return int64(int16(readThumbMov16(loc))), nil
	case elf.R_ARM_CALL, elf.R_ARM_JUMP24, elf.R_ARM_PC24:
		return readA32Branch(loc), nil
	case elf.R_ARM_MOVW_ABS_NC, elf.R_ARM_MOVT_ABS:
		return int64(int16(readA32Mov16(loc))), nil
	}
	return 0, &UnsupportedError{Type: ARMTypeName(t)}
}

// ARMApply computes the AAELF32 formula for t from v and writes the result
// into the field at loc, checking its range and alignment first. Nothing is
// written when it returns an error.
//
// For R_ARM_THM_CALL it writes a BL when v.T is set and a BLX when it is
// not; on Cortex-M, which has no ARM state, v.T must be set. For R_ARM_CALL
// it writes a BLX when v.T is set and a BL when it is not. The branches that
// cannot switch state return an *InterworkError: Thumb ones when v.T is
// clear, A32 ones (R_ARM_JUMP24, R_ARM_PC24) when it is set. R_ARM_TARGET1
// is applied as R_ARM_ABS32; see the top of this file.
func ARMApply(t elf.R_ARM, loc []byte, v Values) error {
	if err := ARMCheck(t, loc); err != nil {
		return err
	}
	S, A, P := int64(v.S), v.A, int64(v.P)
	var T int64
	if v.T {
		T = 1
	}
	switch t {
	case elf.R_ARM_ABS32, elf.R_ARM_TARGET1:
		X := (S + A) | T
		if err := checkWord(X, "32-bit word"); err != nil {
			return err
		}
		put32(loc, uint32(X))

	case elf.R_ARM_REL32:
		X := ((S + A) | T) - P
		if err := checkWord(X, "32-bit word"); err != nil {
			return err
		}
		put32(loc, uint32(X))

	case elf.R_ARM_PREL31:
		X := ((S + A) | T) - P
		if err := checkRange(X, -1<<30, 1<<30-1, "PREL31 offset"); err != nil {
			return err
		}
		put32(loc, get32(loc)&0x80000000|uint32(X)&0x7fffffff)

	case armThmCall:
		if !v.T {
			X := (S + A) - (P &^ 3) // BLX: from Align(P, 4)
			if err := checkAlign(X, 4, "Thumb BLX offset"); err != nil {
				return err
			}
			if err := checkRange(X, -1<<24, 1<<24-4, "Thumb BLX offset"); err != nil {
				return err
			}
			writeThumbBranch24(loc, opBLX, X)
			return nil
		}
		X := ((S + A) | T) - P
		if err := checkThumbOffset(S+A-P, X, 25, "Thumb BL offset"); err != nil {
			return err
		}
		writeThumbBranch24(loc, opBL, X)

	case elf.R_ARM_THM_JUMP24:
		if !v.T {
			return &InterworkError{Insn: "B.W"}
		}
		X := ((S + A) | T) - P
		if err := checkThumbOffset(S+A-P, X, 25, "Thumb B.W offset"); err != nil {
			return err
		}
		writeThumbBranch24(loc, opBW, X)

	case elf.R_ARM_THM_JUMP19:
		if !v.T {
			return &InterworkError{Insn: "B<cond>.W"}
		}
		X := ((S + A) | T) - P
		if err := checkThumbOffset(S+A-P, X, 21, "Thumb B<cond>.W offset"); err != nil {
			return err
		}
		writeThumbBranch20(loc, X)

	case elf.R_ARM_THM_JUMP11:
		if !v.T {
			return &InterworkError{Insn: "B.N"}
		}
		X := ((S + A) | T) - P
		if err := checkThumbOffset(S+A-P, X, 12, "Thumb B.N offset"); err != nil {
			return err
		}
		writeThumbBranch11(loc, X)

	case elf.R_ARM_THM_MOVW_ABS_NC:
		X := (S + A) | T
		// No overflow check: the MOVT beside it carries the upper half.
		writeThumbMov16(loc, uint16(X))

	case elf.R_ARM_THM_MOVT_ABS:
		if err := checkWord(S+A, "MOVT address"); err != nil {
			return err
		}
		X := (S + A) >> 16
		writeThumbMov16(loc, uint16(X))

	case elf.R_ARM_CALL:
		if err := checkAlign(P, 4, "A32 instruction address"); err != nil {
			return err
		}
		X := ((S + A) | T) - P
		if v.T {
			// The field is imm24:H:0; bit 0 of X is T, which BLX implies.
			if err := checkAlign(S+A-P, 2, "A32 BLX offset"); err != nil {
				return err
			}
			if err := checkRange(X&^1, -1<<25, 1<<25-2, "A32 BLX offset"); err != nil {
				return err
			}
			put32(loc, a32BLX|uint32(X>>1&1)<<24|uint32(X>>2)&0xffffff)
			return nil
		}
		if err := checkA32Offset(X, "A32 BL offset"); err != nil {
			return err
		}
		put32(loc, a32CondAL|a32BL|uint32(X>>2)&0xffffff)

	case elf.R_ARM_JUMP24, elf.R_ARM_PC24:
		if err := checkAlign(P, 4, "A32 instruction address"); err != nil {
			return err
		}
		insn := a32Insn(loc)
		if v.T {
			if t == elf.R_ARM_PC24 && insn == "BL" {
				insn = "BL with R_ARM_PC24"
			}
			return &InterworkError{Insn: insn, ToThumb: true}
		}
		X := (S + A) - P
		if err := checkA32Offset(X, "A32 "+insn+" offset"); err != nil {
			return err
		}
		put32(loc, get32(loc)&0xff000000|uint32(X>>2)&0xffffff)

	case elf.R_ARM_MOVW_ABS_NC:
		X := (S + A) | T
		writeA32Mov16(loc, uint16(X))

	case elf.R_ARM_MOVT_ABS:
		if err := checkWord(S+A, "MOVT address"); err != nil {
			return err
		}
		X := (S + A) >> 16
		writeA32Mov16(loc, uint16(X))

	default:
		return &UnsupportedError{Type: ARMTypeName(t)}
	}
	return nil
}

// checkThumbOffset checks the field of a branch that stays in Thumb state, a
// signed offset of the given number of bits. Bit 0 of X is T, which the
// instruction implies rather than encodes, so the field holds X with bit 0
// clear. The offset without T, S + A - P, must be even: S comes without the
// Thumb bit, and an odd one would otherwise vanish into it.
func checkThumbOffset(offset, X int64, bits uint, field string) error {
	if err := checkAlign(offset, 2, field); err != nil {
		return err
	}
	return checkRange(X&^1, -1<<(bits-1), 1<<(bits-1)-2, field)
}

// checkA32Offset checks the field of an A32 branch that stays in A32 state:
// a word offset, imm24:00. The target is A32 code and P is word-aligned, so
// an offset that is not a multiple of 4 is a target off a word.
func checkA32Offset(X int64, field string) error {
	if err := checkAlign(X, 4, field); err != nil {
		return err
	}
	return checkRange(X, -1<<25, 1<<25-4, field)
}

// ARMCheck reports an *InsnError when loc does not hold the instruction t
// applies to, or is too short for it, and an *UnsupportedError for a type
// this file does not handle. A data relocation (ABS32, REL32, TARGET1,
// PREL31) can be anything, so only its length is checked.
func ARMCheck(t elf.R_ARM, loc []byte) error {
	size, want, not, a32 := 4, "", "", false
	var insns []string
	switch t {
	case elf.R_ARM_ABS32, elf.R_ARM_REL32, elf.R_ARM_TARGET1, elf.R_ARM_PREL31:
		want = "a 32-bit word"
	case armThmCall:
		want, not, insns = "a BL or BLX", "not a 32-bit branch-with-link", []string{"BL", "BLX"}
	case elf.R_ARM_THM_JUMP24:
		want, not, insns = "a B.W", "not a 32-bit branch", []string{"B.W"}
	case elf.R_ARM_THM_JUMP19:
		want, not, insns = "a B<cond>.W", "not a 32-bit conditional branch", []string{"B<cond>.W"}
	case elf.R_ARM_THM_JUMP11:
		size, want, not, insns = 2, "a B.N", "not a 16-bit branch", []string{"B.N"}
	case elf.R_ARM_THM_MOVW_ABS_NC:
		want, not, insns = "a MOVW", "not a MOVW with a 16-bit immediate", []string{"MOVW"}
	case elf.R_ARM_THM_MOVT_ABS:
		want, not, insns = "a MOVT", "not a MOVT", []string{"MOVT"}
	case elf.R_ARM_CALL:
		a32, want, not, insns = true, "an A32 BL or BLX", "not an A32 branch-with-link", []string{"BL", "BLX"}
	case elf.R_ARM_JUMP24:
		a32, want, not, insns = true, "an A32 B, B<cond> or BL<cond>", "not an A32 branch", []string{"B", "B<cond>", "BL<cond>"}
	case elf.R_ARM_PC24:
		a32, want, not, insns = true, "an A32 B or BL", "not an A32 branch", []string{"B", "B<cond>", "BL", "BL<cond>"}
	case elf.R_ARM_MOVW_ABS_NC:
		a32, want, not, insns = true, "an A32 MOVW", "not an A32 MOVW", []string{"MOVW"}
	case elf.R_ARM_MOVT_ABS:
		a32, want, not, insns = true, "an A32 MOVT", "not an A32 MOVT", []string{"MOVT"}
	default:
		return &UnsupportedError{Type: ARMTypeName(t)}
	}
	if len(loc) < size {
		return &InsnError{Type: ARMTypeName(t), Want: want, Found: hexBytes(loc),
			Why: fmt.Sprintf("need %d bytes, have %d", size, len(loc))}
	}
	if insns == nil {
		return nil
	}
	found, nop := thumbInsn(loc), "NOP.W"
	if a32 {
		found, nop = a32Insn(loc), "NOP"
	}
	if slices.Contains(insns, found) {
		return nil
	}
	switch found {
	case "":
	case nop:
		not = "a " + nop + ", which GNU ld writes in place of a branch to an undefined weak symbol"
	default:
		not = "a " + found
	}
	if a32 {
		return &InsnError{Type: ARMTypeName(t), Want: want, Found: a32Word(loc), Why: not}
	}
	return &InsnError{Type: ARMTypeName(t), Want: want, Found: halfwords(loc, size), Why: not}
}

// ARMBranchTarget decodes where the Thumb BL, BLX, B.W, B<cond>.W or B.N
// at address P goes, and whether it is a BLX, which switches to ARM state:
// a BLX goes to Align(P, 4) + 4 + imm, the others to P + 4 + imm. The
// target has no Thumb bit and wraps at 32 bits, as the PC does.
func ARMBranchTarget(loc []byte, P uint64) (target uint64, blx bool, err error) {
	base := P + 4 // the Thumb PC
	var off int64
	switch thumbInsn(loc) {
	case "BL", "B.W":
		off = readThumbBranch24(loc)
	case "BLX":
		off, base, blx = readThumbBranch24(loc), P&^3+4, true
	case "B<cond>.W":
		off = readThumbBranch20(loc)
	case "B.N":
		off = readThumbBranch11(loc)
	default:
		why := "not a branch"
		if need := thumbSize(loc); len(loc) < need {
			why = fmt.Sprintf("need %d bytes, have %d", need, len(loc))
		}
		return 0, false, &InsnError{Want: "a Thumb BL, BLX, B.W, B<cond>.W or B.N",
			Found: halfwords(loc, 4), Why: why}
	}
	return uint64(uint32(int64(base) + off)), blx, nil
}

// ARMBranchTargetA32 decodes where the A32 B, B<cond>, BL, BL<cond> or BLX
// at address P goes, and whether it is a BLX, which switches to Thumb state:
// each goes to P + 8 + imm. The target has no Thumb bit and wraps at 32
// bits, as the PC does.
func ARMBranchTargetA32(loc []byte, P uint64) (target uint64, blx bool, err error) {
	switch a32Insn(loc) {
	case "B", "B<cond>", "BL", "BL<cond>":
	case "BLX":
		blx = true
	default:
		why := "not a branch"
		if len(loc) < 4 {
			why = fmt.Sprintf("need 4 bytes, have %d", len(loc))
		}
		return 0, false, &InsnError{Want: "an A32 B, BL or BLX", Found: a32Word(loc), Why: why}
	}
	return uint64(uint32(int64(P) + 8 + readA32Branch(loc))), blx, nil
}

// ARMDisasm returns a one-line disassembly of the place at loc, address P,
// of a relocation of type t: "bl 0x8000120", "blx 0x8000120",
// "b.w 0x800013c", "beq.w 0x8000140", "b.n 0x8000104",
// "movw r0, #0x1235", "movt r0, #0x800", ".word 0x8000121"; and in A32,
// "bl 0x4000400", "blx 0x4000512", "bne 0x3ffff00", "blgt 0x4000400",
// "movtne lr, #0x2001".
//
// At a code relocation it shows whatever instruction of the type's
// instruction set is there, which need not be the one t applies to ("nop.w"
// or "nop" where GNU ld dropped a call to an undefined weak symbol); bytes
// it cannot read come out as .inst.w, .inst.n, .inst or .byte directives.
func ARMDisasm(t elf.R_ARM, loc []byte, P uint64) string {
	switch t {
	case elf.R_ARM_ABS32, elf.R_ARM_REL32, elf.R_ARM_TARGET1, elf.R_ARM_PREL31:
		if len(loc) >= 4 {
			return fmt.Sprintf(".word %#x", get32(loc))
		}
		return byteDirective(loc)
	case elf.R_ARM_CALL, elf.R_ARM_JUMP24, elf.R_ARM_PC24, elf.R_ARM_MOVW_ABS_NC, elf.R_ARM_MOVT_ABS:
		return a32Disasm(loc, P)
	}
	switch insn := thumbInsn(loc); insn {
	case "BL", "BLX", "B.W", "B<cond>.W", "B.N":
		target, _, _ := ARMBranchTarget(loc, P)
		mnemonic := strings.ToLower(insn)
		if insn == "B<cond>.W" {
			mnemonic = "b" + armConds[get16(loc)>>6&0xf] + ".w"
		}
		return fmt.Sprintf("%s %#x", mnemonic, target)
	case "MOVW", "MOVT":
		rd := get16(loc[2:]) >> 8 & 0xf
		return fmt.Sprintf("%s %s, #%#x", strings.ToLower(insn), armRegs[rd], readThumbMov16(loc))
	case "NOP.W":
		return "nop.w"
	}
	switch {
	case len(loc) >= 4 && isThumb32(get16(loc)):
		return fmt.Sprintf(".inst.w %#x", uint32(get16(loc))<<16|uint32(get16(loc[2:])))
	case len(loc) >= 2 && !isThumb32(get16(loc)):
		return fmt.Sprintf(".inst.n %#x", get16(loc))
	}
	return byteDirective(loc)
}

var (
	armConds = [16]string{"eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"}
	armRegs  = [16]string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "sp", "lr", "pc"}
)

func byteDirective(loc []byte) string {
	if len(loc) == 0 {
		return "(no bytes)"
	}
	return ".byte " + strings.ReplaceAll(hexBytes(loc), " ", ", ")
}

// Second-halfword opcodes (bits 15, 14 and 12) of the 32-bit branches
// sharing the 25-bit offset field.
const (
	opBW  = 0x9000 // B.W, encoding T4
	opBLX = 0xc000 // BLX (immediate), encoding T2
	opBL  = 0xd000 // BL, encoding T1
)

// isThumb32 reports whether a first halfword starts a 32-bit instruction.
func isThumb32(hw1 uint16) bool { return hw1>>11 >= 0x1d }

// thumbSize is the size of the instruction loc starts, as far as can be told.
func thumbSize(loc []byte) int {
	if len(loc) >= 2 && isThumb32(get16(loc)) {
		return 4
	}
	return 2
}

// thumbInsn names the instruction at loc among those the relocations here
// apply to, plus NOP.W, which GNU ld leaves in their place; "" for any other.
func thumbInsn(loc []byte) string {
	if len(loc) < 2 {
		return ""
	}
	hw1 := get16(loc)
	if hw1&0xf800 == 0xe000 {
		return "B.N"
	}
	if !isThumb32(hw1) || len(loc) < 4 {
		return ""
	}
	hw2 := get16(loc[2:])
	branch := hw1&0xf800 == 0xf000
	switch {
	case hw1 == 0xf3af && hw2 == 0x8000:
		return "NOP.W"
	case branch && hw2&0xd000 == opBL:
		return "BL"
	case branch && hw2&0xd001 == opBLX: // a BLX with H set is undefined
		return "BLX"
	case branch && hw2&0xd000 == opBW:
		return "B.W"
	case branch && hw2&0xd000 == 0x8000 && hw1>>6&0xe != 0xe: // cond 111x is not a branch
		return "B<cond>.W"
	case hw1&0xfbf0 == 0xf240 && hw2&0x8000 == 0:
		return "MOVW"
	case hw1&0xfbf0 == 0xf2c0 && hw2&0x8000 == 0:
		return "MOVT"
	}
	return ""
}

// halfwords formats up to size bytes of Thumb code for an InsnError, the
// way the architecture manual writes an instruction: "0x4770 0x46c0".
func halfwords(loc []byte, size int) string {
	size = min(max(size, thumbSize(loc)), len(loc))
	if size < 2 {
		return hexBytes(loc[:size])
	}
	s := fmt.Sprintf("0x%04x", get16(loc))
	if size >= 4 {
		s += fmt.Sprintf(" 0x%04x", get16(loc[2:]))
	}
	return s
}

// readThumbBranch24 reads encodings T1 (BL), T2 (BLX) and T4 (B.W):
// S:I1:I2:imm10:imm11:0 with I = NOT(J XOR S). BLX's imm11 is imm10L:H with
// H zero, so the same bits give its offset.
func readThumbBranch24(loc []byte) int64 {
	hw1, hw2 := uint64(get16(loc)), uint64(get16(loc[2:]))
	s := hw1 >> 10 & 1
	i1 := ^(hw2>>13 ^ s) & 1
	i2 := ^(hw2>>11 ^ s) & 1
	return signExtend(s<<24|i1<<23|i2<<22|(hw1&0x3ff)<<12|(hw2&0x7ff)<<1, 25)
}

func writeThumbBranch24(loc []byte, op uint16, off int64) {
	v := uint64(off)
	s := v >> 24 & 1
	j1 := ^(v>>23 ^ s) & 1
	j2 := ^(v>>22 ^ s) & 1
	put16(loc, uint16(0xf000|s<<10|v>>12&0x3ff))
	put16(loc[2:], op|uint16(j1<<13|j2<<11|v>>1&0x7ff))
}

// readThumbBranch20 reads encoding T3 of B<cond>.W: S:J2:J1:imm6:imm11:0.
func readThumbBranch20(loc []byte) int64 {
	hw1, hw2 := uint64(get16(loc)), uint64(get16(loc[2:]))
	s, j1, j2 := hw1>>10&1, hw2>>13&1, hw2>>11&1
	return signExtend(s<<20|j2<<19|j1<<18|(hw1&0x3f)<<12|(hw2&0x7ff)<<1, 21)
}

// writeThumbBranch20 keeps the condition, bits 9:6 of the first halfword.
func writeThumbBranch20(loc []byte, off int64) {
	v := uint64(off)
	put16(loc, get16(loc)&0xfbc0|uint16((v>>20&1)<<10|v>>12&0x3f))
	put16(loc[2:], get16(loc[2:])&0xd000|uint16((v>>18&1)<<13|(v>>19&1)<<11|v>>1&0x7ff))
}

// readThumbBranch11 reads encoding T2 of B.N: imm11:0.
func readThumbBranch11(loc []byte) int64 {
	return signExtend(uint64(get16(loc)&0x7ff)<<1, 12)
}

func writeThumbBranch11(loc []byte, off int64) {
	put16(loc, 0xe000|uint16(off>>1)&0x7ff)
}

// readThumbMov16 reads the immediate of MOVW (encoding T3) or MOVT (T1):
// imm4:i:imm3:imm8.
func readThumbMov16(loc []byte) uint16 {
	hw1, hw2 := get16(loc), get16(loc[2:])
	return (hw1&0xf)<<12 | (hw1>>10&1)<<11 | (hw2>>12&7)<<8 | hw2&0xff
}

// writeThumbMov16 keeps the opcode and the destination register.
func writeThumbMov16(loc []byte, imm uint16) {
	put16(loc, get16(loc)&0xfbf0|(imm>>11&1)<<10|imm>>12)
	put16(loc[2:], get16(loc[2:])&0x8f00|(imm>>8&7)<<12|imm&0xff)
}

// A32 branch opcodes, bits 27:24 (BLX: 31:25), and the condition "always"
// that R_ARM_CALL writes with a BL.
const (
	a32CondAL = 0xe0000000
	a32B      = 0x0a000000 // B, encoding A1
	a32BL     = 0x0b000000 // BL, encoding A1
	a32BLX    = 0xfa000000 // BLX (immediate), encoding A2: condition 1111, H in bit 24
)

// a32Insn names the A32 instruction at loc among those the relocations here
// apply to, plus the NOP that GNU ld leaves in their place (MOV r0, r0
// before ARMv6K); "" for any other.
func a32Insn(loc []byte) string {
	if len(loc) < 4 {
		return ""
	}
	w := get32(loc)
	always := w&0xf0000000 == a32CondAL
	switch {
	case w == 0xe320f000 || w == 0xe1a00000:
		return "NOP"
	case w&0xfe000000 == a32BLX:
		return "BLX"
	case w>>28 == 0xf: // the unconditional space holds nothing else here
		return ""
	case w&0x0f000000 == a32B && always:
		return "B"
	case w&0x0f000000 == a32B:
		return "B<cond>"
	case w&0x0f000000 == a32BL && always:
		return "BL"
	case w&0x0f000000 == a32BL:
		return "BL<cond>"
	case w&0x0ff00000 == 0x03000000:
		return "MOVW"
	case w&0x0ff00000 == 0x03400000:
		return "MOVT"
	}
	return ""
}

// a32Word formats A32 code for an InsnError, the way the architecture
// manual writes an instruction: "0xe12fff1e".
func a32Word(loc []byte) string {
	if len(loc) < 4 {
		return hexBytes(loc)
	}
	return fmt.Sprintf("0x%08x", get32(loc))
}

func a32Disasm(loc []byte, P uint64) string {
	if len(loc) < 4 {
		return byteDirective(loc)
	}
	w := get32(loc)
	cond := ""
	if w&0xf0000000 != a32CondAL {
		cond = armConds[w>>28]
	}
	switch insn := a32Insn(loc); insn {
	case "BLX":
		target, _, _ := ARMBranchTargetA32(loc, P)
		return fmt.Sprintf("blx %#x", target)
	case "B", "B<cond>", "BL", "BL<cond>":
		target, _, _ := ARMBranchTargetA32(loc, P)
		return fmt.Sprintf("%s%s %#x", strings.ToLower(strings.TrimSuffix(insn, "<cond>")), cond, target)
	case "MOVW", "MOVT":
		return fmt.Sprintf("%s%s %s, #%#x", strings.ToLower(insn), cond, armRegs[w>>12&0xf], readA32Mov16(loc))
	case "NOP":
		return "nop"
	}
	return fmt.Sprintf(".inst %#x", w)
}

// readA32Branch reads encoding A1 of B and BL, imm24:00, and encoding A2 of
// BLX, imm24:H:0.
func readA32Branch(loc []byte) int64 {
	w := get32(loc)
	off := uint64(w&0xffffff) << 2
	if w&0xfe000000 == a32BLX {
		off |= uint64(w>>24&1) << 1
	}
	return signExtend(off, 26)
}

// readA32Mov16 reads the immediate of MOVW or MOVT (encoding A2, A1):
// imm4:imm12.
func readA32Mov16(loc []byte) uint16 {
	w := get32(loc)
	return uint16(w>>16&0xf)<<12 | uint16(w&0xfff)
}

// writeA32Mov16 keeps the condition, the opcode and the destination register.
func writeA32Mov16(loc []byte, imm uint16) {
	put32(loc, get32(loc)&0xfff0f000|uint32(imm>>12)<<16|uint32(imm&0xfff))
}

// ARMVeneerA32 returns an A32 veneer that jumps to target, in Thumb state
// when thumb is set: "ldr pc, [pc, #-4]; .word target|T", 8 bytes, at a
// word-aligned address. The load interworks on ARMv5T and later. Like
// Values.S, target comes without the Thumb bit; its low 32 bits are kept.
func ARMVeneerA32(target uint64, thumb bool) []byte {
	v := make([]byte, 8)
	put32(v, 0xe51ff004) // ldr pc, [pc, #-4]: P + 8 - 4, the literal
	put32(v[4:], veneerLiteral(target, thumb))
	return v
}

// ARMVeneerThumb returns a Thumb veneer that jumps to target, in Thumb state
// when thumb is set and in ARM state when not, to be placed at a
// word-aligned address. For ARMv6T2 and later (ARMv7-M, ARMv7-R, ARMv8-M
// Mainline) it is 8 bytes:
//
//	ldr.w pc, [pc, #0]
//	.word target|T
//
// With v6m, for ARMv6-M and ARMv8-M Baseline, which have no LDR.W, it is
// 12 bytes:
//
//	push {r0, r1}
//	ldr r0, [pc, #4]
//	str r0, [sp, #4]
//	pop {r0, pc}
//	.word target|1
//
// Either keeps every register and the flags; the second writes 8 bytes
// below SP. ARMv6-M has no ARM state, so v6m without thumb is an error;
// nor have ARMv7-M and ARMv8-M, which the caller has to know. Like
// Values.S, target comes without the Thumb bit; its low 32 bits are kept.
func ARMVeneerThumb(target uint64, thumb bool, v6m bool) ([]byte, error) {
	if !v6m {
		v := make([]byte, 8)
		put16(v, 0xf8df) // ldr.w pc, [pc, #0]: Align(P + 4, 4), the literal
		put16(v[2:], 0xf000)
		put32(v[4:], veneerLiteral(target, thumb))
		return v, nil
	}
	if !thumb {
		return nil, fmt.Errorf("no veneer to ARM code at %#x: ARMv6-M has no ARM state", target)
	}
	v := make([]byte, 12)
	put16(v, 0xb403)     // push {r0, r1}
	put16(v[2:], 0x4801) // ldr r0, [pc, #4]: Align(P + 2 + 4, 4) + 4, the literal
	put16(v[4:], 0x9001) // str r0, [sp, #4]: over r1's slot
	put16(v[6:], 0xbd01) // pop {r0, pc}
	put32(v[8:], veneerLiteral(target, thumb))
	return v, nil
}

func veneerLiteral(target uint64, thumb bool) uint32 {
	if thumb {
		return uint32(target) | 1
	}
	return uint32(target)
}

func get16(b []byte) uint16    { return binary.LittleEndian.Uint16(b) }
func get32(b []byte) uint32    { return binary.LittleEndian.Uint32(b) }
func put16(b []byte, v uint16) { binary.LittleEndian.PutUint16(b, v) }
func put32(b []byte, v uint32) { binary.LittleEndian.PutUint32(b, v) }

// RISC-V relocations, as a post-link patcher meets them in RV32 firmware.
// What is peculiar about RISC-V:
//
// RELA, not REL. The addend is in the relocation entry, never taken from
// the bytes. clang leaves the field zero; GNU as leaves what it happened to
// compute (the low part of the addend in a LO12, `addi a2, a2, -16` for
// %lo(sym-0x10); the offset of a local branch it resolved; for `jal sym` to
// an undefined symbol an offset to the section's start), and the linker
// overwrites it all. A linked image keeps every entry --emit-relocs asked
// for, addend included, so applying a relocation again is writing S + A - P
// again over whatever is there; the value a field holds (RISCVField) is
// only something to check or to show.
//
// The call pair. `call sym` is `auipc ra, hi; jalr ra, lo(ra)` under one
// R_RISCV_CALL_PLT (GNU as) or R_RISCV_CALL (clang 14), which a static link
// treats alike: X = S + A - P spread over both instructions. jalr adds a
// sign-extended 12-bit lo, so hi is rounded, hi = (X + 0x800) >> 12 and
// lo = X - (hi << 12) in [-0x800, 0x7ff]: when bit 11 of X is set, lo is
// negative and hi one more. auipc adds hi << 12 sign-extended from 32 bits,
// so the pair reaches [-0x80000800, 0x7ffff7ff] around P. `tail sym` is the
// same pair through t1 with a jalr that writes zero. jalr clears bit 0 of
// its sum; the pair can hold an odd X, the linkers write one, and so does
// RISCVApply. On RV32 the pc wraps at 32 bits and neither linker checks the
// range: GNU ld at 0x80001020 calls address 0 with `auipc ra, 0x7ffff;
// jalr ra, -32(ra)`, 0x7fffefe0 forward. RISCVApply refuses such a call, the
// reading that is also right on RV64; RISCVField returns the offset the
// pair holds, which on RV32 equals S + A - P only modulo 2^32.
//
// Immediates are scattered so that the sign is always bit 31 and the
// register fields never move: U (lui, auipc) imm[31:12] in bits 31:12;
// I (addi, loads, jalr) imm[11:0] in 31:20; S (stores) imm[11:5] in 31:25
// and imm[4:0] in 11:7; B (branches) imm[12|10:5] in 31:25 and imm[4:1|11]
// in 11:7; J (jal) imm[20|10:1|11|19:12] in 31:12. Branch and jump offsets
// are even and bit 0 is not stored: an odd one is an *AlignError. The
// compressed jumps scatter further: CJ (c.j, c.jal) imm[11|4|9:8|10|6|7|3:1|5]
// in bits 12:2, CB (c.beqz, c.bnez) imm[8|4:3] in 12:10 and imm[7:6|2:1|5]
// in 6:2. Reaches: jal ±1 MiB, B-type ±4 KiB, c.j ±2 KiB, c.beqz ±256 B.
//
// Addresses in two instructions. lui+addi (or a load or store) builds an
// absolute address: R_RISCV_HI20 takes hi, rounded as above, R_RISCV_LO12_I
// or _S the lo of the same S + A; only the HI20 is checked, the LO12 takes
// the low bits of anything. On RV32 lui reaches every 32-bit address (a
// value in [0xfffff800, 0xffffffff] rounds hi to 0x100000, which wraps to
// 0); on RV64 lui sign-extends and HI20 stops at 0x7ffff7ff. This file
// takes the RV32 reading. auipc+addi (`lla`, and `la` outside PIC code)
// builds a pc-relative one: R_RISCV_PCREL_HI20 at the auipc, P its address,
// and R_RISCV_PCREL_LO12_I or _S at the addi, load or store, whose symbol is
// not the target but a label on the auipc: its value is the lo of the
// auipc's S + A - P. Finding that auipc's relocation is the caller's work
// (RISCVApply refuses the LO12 types with a *PCRelLoError; the caller
// computes the HI20's value and calls RISCVApplyPCRelLo). One auipc can
// serve several LO12s. GNU as names every such label `.L0 `, with a
// trailing space, clang `.Lpcrel_hiN`; both linkers copy the labels into an
// --emit-relocs image's .symtab at their linked addresses, the LO12 entries
// still name them (addend 0), and neither assembler reduces them to a
// section symbol and an addend. Look a label up by symbol index, not name.
//
// Relaxation. R_RISCV_RELAX beside a relocation says the linker may shorten
// the sequence: GNU ld turns a call into jal, or into c.jal or c.j with the
// C extension, folds lui+addi into one gp- or x0-relative instruction
// (R_RISCV_GPREL_I or _S), and deletes the bytes it saved; R_RISCV_ALIGN
// marks padding it must then redo. With --emit-relocs the image keeps the
// rewritten type at the same place, against the same symbol with the same
// addend (R_RISCV_CALL_PLT becomes R_RISCV_RVC_JUMP or R_RISCV_JAL), and
// each deletion as an R_RISCV_NONE whose addend is the number of bytes
// deleted (6 for a call turned c.jal, 4 for one turned jal or a lui
// dropped) at the address they were taken from, which now holds the next
// instruction, or data. RELAX, ALIGN and NONE carry no field: RISCVApply and
// RISCVCheck accept them and do nothing. GNU ld never relaxes a site whose
// symbol is undefined, even where address 0 is in reach of c.jal, so an
// import's sites keep the full sequence the assembler wrote, and an image
// can be patched again in place. ld.lld 14 does not relax at all, and
// refuses an object with R_RISCV_ALIGN ("requires unimplemented linker
// relaxation; recompile with -mno-relax").
//
// The undefined import. Linked with --unresolved-symbols=ignore-all, GNU ld
// resolves every type against S = 0: a call or lla holds A - P, wrapping as
// above once P passes 0x80000800, and a jal or branch to 0 from more than
// 1 MiB away does not link ("relocation truncated to fit"). ld.lld 14
// treats the import like an undefined weak symbol: a call, tail, jal or
// branch goes to P itself, its field holding A, while PCREL_HI20 and the
// absolute types take S = 0. No assembler emits a compressed branch to a
// symbol outside its section, and GNU as no B-type one either: it rewrites
// `beqz a0, sym` to `bnez a0, 1f; j sym` and `c.j sym` to `j sym`, where
// clang 14 keeps beqz (R_RISCV_BRANCH) and widens c.j to jal and c.beqz to
// beqz. So an import is reached by CALL or CALL_PLT, JAL, BRANCH from
// clang, the PCREL and absolute pairs, and data words.
//
// RVC and RV32E. A 16-bit instruction is one whose low two bits are not
// 11, and any instruction may sit at an address that is only even. c.jal
// exists only on RV32; on RV64 its encoding is c.addiw, and RISCVCheck
// reads it as c.jal. RV32E has 16 registers and the same encodings:
// nothing here writes a register field, so an RV32E image stays one.

package relocs

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"strings"
)

// RISCVTypeName returns the psABI name of t, the one readelf and the
// linkers print.
func RISCVTypeName(t elf.R_RISCV) string {
	return typeName(t.String(), uint32(t))
}

// PCRelLoError reports an R_RISCV_PCREL_LO12_I or _S given to RISCVApply,
// which cannot compute its value: that is the low part of the value of the
// R_RISCV_PCREL_HI20 at the auipc its symbol labels. RISCVApplyPCRelLo
// writes it.
type PCRelLoError struct {
	Type string
}

func (e *PCRelLoError) Error() string {
	return e.Type + " takes the low part of the R_RISCV_PCREL_HI20 at the auipc its symbol labels; apply it with that value"
}

// The reach of an auipc-based pair: a 32-bit signed high part with the
// rounding, and a 12-bit signed low part.
const (
	rvPairMin = -1<<31 - 0x800
	rvPairMax = 1<<31 - 1 - 0x800
)

// RISCVApply computes the psABI formula for t from v (v.T is ignored) and
// writes the result into the field at loc, checking its range and
// alignment first: S + A for HI20, LO12_I, LO12_S, 32 and 64, S + A - P for
// the others. For R_RISCV_CALL and R_RISCV_CALL_PLT loc holds the auipc and
// the jalr after it, and both are written. The markers R_RISCV_NONE,
// R_RISCV_RELAX and R_RISCV_ALIGN have no field and write nothing. The
// PC-relative LO12 types return a *PCRelLoError (see RISCVApplyPCRelLo).
// Nothing is written when it returns an error.
func RISCVApply(t elf.R_RISCV, loc []byte, v Values) error {
	if err := RISCVCheck(t, loc); err != nil {
		return err
	}
	S, A, P := int64(v.S), v.A, int64(v.P)
	switch t {
	case elf.R_RISCV_NONE, elf.R_RISCV_RELAX, elf.R_RISCV_ALIGN:
		// Markers: a relocation with no field (NONE, and what GNU ld leaves
		// of deleted bytes), a hint that the one beside it may be relaxed,
		// padding the linker sizes. A post-link patcher relaxes nothing.

	case elf.R_RISCV_32:
		X := S + A
		if err := checkWord(X, "32-bit word"); err != nil {
			return err
		}
		put32(loc, uint32(X))

	case elf.R_RISCV_64:
		X := S + A
		rvPut64(loc, uint64(X))

	case elf.R_RISCV_CALL, elf.R_RISCV_CALL_PLT:
		X := S + A - P
		if err := checkRange(X, rvPairMin, rvPairMax, "auipc+jalr offset"); err != nil {
			return err
		}
		rvWriteU(loc, rvHi20(X))
		rvWriteI(loc[4:], rvLo12(X))

	case elf.R_RISCV_PCREL_HI20:
		X := S + A - P
		if err := checkRange(X, rvPairMin, rvPairMax, "auipc offset"); err != nil {
			return err
		}
		rvWriteU(loc, rvHi20(X))

	case elf.R_RISCV_HI20:
		X := S + A
		// RV32: lui reaches any 32-bit address, read signed or unsigned.
		if err := checkWord(X, "lui address"); err != nil {
			return err
		}
		rvWriteU(loc, rvHi20(X))

	case elf.R_RISCV_LO12_I:
		X := S + A
		// No overflow check: the HI20 beside it carries the rest.
		rvWriteI(loc, rvLo12(X))

	case elf.R_RISCV_LO12_S:
		X := S + A
		rvWriteS(loc, rvLo12(X))

	case elf.R_RISCV_PCREL_LO12_I, elf.R_RISCV_PCREL_LO12_S:
		return &PCRelLoError{Type: RISCVTypeName(t)}

	case elf.R_RISCV_JAL:
		X := S + A - P
		if err := rvCheckBranch(X, 21, "jal offset"); err != nil {
			return err
		}
		rvWriteJ(loc, X)

	case elf.R_RISCV_BRANCH:
		X := S + A - P
		if err := rvCheckBranch(X, 13, "branch offset"); err != nil {
			return err
		}
		rvWriteB(loc, X)

	case elf.R_RISCV_RVC_JUMP:
		X := S + A - P
		if err := rvCheckBranch(X, 12, "c.j offset"); err != nil {
			return err
		}
		rvWriteCJ(loc, X)

	case elf.R_RISCV_RVC_BRANCH:
		X := S + A - P
		if err := rvCheckBranch(X, 9, "c.beqz offset"); err != nil {
			return err
		}
		rvWriteCB(loc, X)

	default:
		return &UnsupportedError{Type: RISCVTypeName(t)}
	}
	return nil
}

// RISCVApplyPCRelLo writes the low part of hiValue into the
// R_RISCV_PCREL_LO12_I or _S field at loc, where hiValue is S + A - P of
// the R_RISCV_PCREL_HI20 at the auipc the LO12's symbol labels (P the
// auipc's address), the value RISCVApply checked when it wrote that auipc.
// The low part of anything fits; no range is checked. Any other type is
// an *UnsupportedError.
func RISCVApplyPCRelLo(t elf.R_RISCV, loc []byte, hiValue int64) error {
	switch t {
	case elf.R_RISCV_PCREL_LO12_I, elf.R_RISCV_PCREL_LO12_S:
	default:
		return &UnsupportedError{Type: RISCVTypeName(t) + " (as the low part of a PC-relative pair)"}
	}
	if err := RISCVCheck(t, loc); err != nil {
		return err
	}
	if t == elf.R_RISCV_PCREL_LO12_I {
		rvWriteI(loc, rvLo12(hiValue))
	} else {
		rvWriteS(loc, rvLo12(hiValue))
	}
	return nil
}

// rvCheckBranch checks the field of a jump or branch, a signed offset of the
// given number of bits whose bit 0 is not stored.
func rvCheckBranch(X int64, bits uint, field string) error {
	if err := checkAlign(X, 2, field); err != nil {
		return err
	}
	return checkRange(X, -1<<(bits-1), 1<<(bits-1)-2, field)
}

// rvHi20 and rvLo12 split X for an auipc or lui and the instruction after it:
// lo is sign-extended when added, so hi is rounded to the nearest.
func rvHi20(X int64) uint32 { return uint32((X+0x800)>>12) & 0xfffff }
func rvLo12(X int64) int64  { return signExtend(uint64(X), 12) }

// RISCVCheck reports an *InsnError when loc does not hold the instruction
// t applies to, or is too short for it, and an *UnsupportedError for a type
// this file does not handle: an auipc for PCREL_HI20, followed by a jalr
// through the register it wrote for CALL and CALL_PLT; a lui for HI20; an
// I-type instruction with a 12-bit immediate (addi and the other OP-IMM
// instructions but shifts, addiw, a load, jalr) for LO12_I and
// PCREL_LO12_I; a store for LO12_S and PCREL_LO12_S; a jal for JAL; a
// B-type branch for BRANCH; c.j or c.jal for RVC_JUMP; c.beqz or c.bnez for
// RVC_BRANCH. A data word (32, 64) can be anything, so only its length is
// checked; a marker (NONE, RELAX, ALIGN) has no bytes to check.
func RISCVCheck(t elf.R_RISCV, loc []byte) error {
	var size int
	var want string
	var is func(insn string) bool
	switch t {
	case elf.R_RISCV_NONE, elf.R_RISCV_RELAX, elf.R_RISCV_ALIGN:
		return nil
	case elf.R_RISCV_32:
		size, want = 4, "a 32-bit word"
	case elf.R_RISCV_64:
		size, want = 8, "a 64-bit word"
	case elf.R_RISCV_CALL, elf.R_RISCV_CALL_PLT:
		size, want = 8, "an auipc and a jalr"
	case elf.R_RISCV_PCREL_HI20:
		size, want, is = 4, "an auipc", func(s string) bool { return s == "auipc" }
	case elf.R_RISCV_HI20:
		size, want, is = 4, "a lui", func(s string) bool { return s == "lui" }
	case elf.R_RISCV_LO12_I, elf.R_RISCV_PCREL_LO12_I:
		size, want, is = 4, "an I-type instruction (addi, a load, jalr)", rvIsIType
	case elf.R_RISCV_LO12_S, elf.R_RISCV_PCREL_LO12_S:
		size, want, is = 4, "a store", rvIsSType
	case elf.R_RISCV_JAL:
		size, want, is = 4, "a jal", func(s string) bool { return s == "jal" }
	case elf.R_RISCV_BRANCH:
		size, want, is = 4, "a branch (beq, bne, blt, bge, bltu, bgeu)", rvIsBType
	case elf.R_RISCV_RVC_JUMP:
		size, want, is = 2, "a c.j or c.jal", func(s string) bool { return s == "c.j" || s == "c.jal" }
	case elf.R_RISCV_RVC_BRANCH:
		size, want, is = 2, "a c.beqz or c.bnez", func(s string) bool { return s == "c.beqz" || s == "c.bnez" }
	default:
		return &UnsupportedError{Type: RISCVTypeName(t)}
	}
	name := RISCVTypeName(t)
	if len(loc) < size {
		return &InsnError{Type: name, Want: want, Found: hexBytes(loc),
			Why: fmt.Sprintf("need %d bytes, have %d", size, len(loc))}
	}
	switch t {
	case elf.R_RISCV_32, elf.R_RISCV_64:
		return nil
	case elf.R_RISCV_CALL, elf.R_RISCV_CALL_PLT:
		if why := rvCallPairWhy(loc); why != "" {
			return &InsnError{Type: name, Want: want, Found: rvInsnWords(loc, 8), Why: why}
		}
		return nil
	}
	if insn := rvInsn(loc); !is(insn) {
		return &InsnError{Type: name, Want: want, Found: rvInsnWords(loc, size), Why: rvNotWhy(loc, insn)}
	}
	return nil
}

// rvCallPairWhy says what keeps loc from being an auipc and a jalr through
// the register the auipc wrote, or "" when it is one.
func rvCallPairWhy(loc []byte) string {
	if insn := rvInsn(loc); insn != "auipc" {
		return rvNotWhy(loc, insn)
	}
	if insn := rvInsn(loc[4:]); insn != "jalr" {
		return "an auipc followed by " + strings.TrimPrefix(rvNotWhy(loc[4:], insn), "not ") + ", not by a jalr"
	}
	rd, rs1 := get32(loc)>>7&0x1f, get32(loc[4:])>>15&0x1f
	switch {
	case rs1 == rd:
		return ""
	case rs1 == 0:
		return "a jalr through zero, which GNU ld writes for a call to an undefined weak symbol"
	}
	return fmt.Sprintf("the jalr adds to %s, the auipc writes %s", rvRegs[rs1], rvRegs[rd])
}

// rvNotWhy describes the instruction rvInsn found at loc for an InsnError.
func rvNotWhy(loc []byte, insn string) string {
	switch {
	case insn != "":
		return rvArticle(insn) + " " + insn
	case len(loc) >= 2 && get16(loc)&3 != 3:
		return "a compressed instruction these relocations do not apply to"
	}
	return "not an instruction these relocations apply to"
}

func rvArticle(insn string) string {
	if strings.ContainsRune("aeiou", rune(insn[0])) {
		return "an"
	}
	return "a"
}

// rvInsnWords formats up to size bytes of code for an InsnError, one
// instruction at a time as the ISA manual writes them: "0x00000097 0x000080e7".
func rvInsnWords(loc []byte, size int) string {
	loc = loc[:min(size, len(loc))]
	var words []string
	for len(loc) >= 2 {
		n := rvInsnSize(loc)
		if len(loc) < n {
			break
		}
		if n == 2 {
			words = append(words, fmt.Sprintf("0x%04x", get16(loc)))
		} else {
			words = append(words, fmt.Sprintf("0x%08x", get32(loc)))
		}
		loc = loc[n:]
	}
	if len(loc) > 0 {
		words = append(words, hexBytes(loc))
	}
	return strings.Join(words, " ")
}

// rvInsnSize is the size of the instruction loc starts: 2 when its low two
// bits are not 11, else 4 (the longer encodings are reserved).
func rvInsnSize(loc []byte) int {
	if len(loc) >= 1 && loc[0]&3 != 3 {
		return 2
	}
	return 4
}

// RISCVField decodes the value the field of t at loc now holds: the
// offset of a call pair, hi << 12 sign-extended from 32 bits plus lo, in
// [-0x80000800, 0x7ffff7ff] (on RV32 compare it with S + A - P modulo
// 2^32); the offset of a jal, branch, c.j or c.beqz; hi << 12 of an auipc
// or lui, sign-extended from 32 bits; the sign-extended 12-bit immediate
// of an I-type or store; the word of R_RISCV_32 (sign-extended) or
// R_RISCV_64. A marker has no field and reads as 0. Whatever RISCVApply
// wrote reads back: field(apply(X)) is X, except that a lone HI20 or
// PCREL_HI20 holds X rounded to a multiple of 0x1000.
func RISCVField(t elf.R_RISCV, loc []byte) (int64, error) {
	if err := RISCVCheck(t, loc); err != nil {
		return 0, err
	}
	switch t {
	case elf.R_RISCV_NONE, elf.R_RISCV_RELAX, elf.R_RISCV_ALIGN:
		return 0, nil
	case elf.R_RISCV_32:
		return int64(int32(get32(loc))), nil
	case elf.R_RISCV_64:
		return int64(rvGet64(loc)), nil
	case elf.R_RISCV_CALL, elf.R_RISCV_CALL_PLT:
		return int64(int32(rvReadU(loc))) + rvReadI(loc[4:]), nil
	case elf.R_RISCV_PCREL_HI20, elf.R_RISCV_HI20:
		return int64(int32(rvReadU(loc))), nil
	case elf.R_RISCV_LO12_I, elf.R_RISCV_PCREL_LO12_I:
		return rvReadI(loc), nil
	case elf.R_RISCV_LO12_S, elf.R_RISCV_PCREL_LO12_S:
		return rvReadS(loc), nil
	case elf.R_RISCV_JAL:
		return rvReadJ(loc), nil
	case elf.R_RISCV_BRANCH:
		return rvReadB(loc), nil
	case elf.R_RISCV_RVC_JUMP:
		return rvReadCJ(loc), nil
	case elf.R_RISCV_RVC_BRANCH:
		return rvReadCB(loc), nil
	}
	return 0, &UnsupportedError{Type: RISCVTypeName(t)}
}

// RISCVDisasm returns a one-line disassembly of the place at loc, address
// P, of a relocation of type t, in GNU objdump's canonical forms (its
// -M no-aliases) with hexadecimal targets: "call 0x80000120" for an auipc
// and jalr through ra ("tail" through t1 with rd zero), "jal ra,
// 0x80000058", "beq a0, a1, 0x80800100", "c.j 0x80900100", "lui a5,
// 0x20000", "addi a5, a5, -16", "sw a4, 88(a3)", ".word 0x80201000",
// ".dword 0x17ffff7fe". A target past either end of a 32-bit space is
// shown modulo 2^32 when P is below 4 GiB, as an RV32 pc wraps.
//
// At a code relocation it shows whatever instruction is there, which need
// not be the one t applies to; bytes it cannot read come out as .insn or
// .byte directives.
func RISCVDisasm(t elf.R_RISCV, loc []byte, P uint64) string {
	switch t {
	case elf.R_RISCV_32:
		if len(loc) >= 4 {
			return fmt.Sprintf(".word %#x", get32(loc))
		}
		return byteDirective(loc)
	case elf.R_RISCV_64:
		if len(loc) >= 8 {
			return fmt.Sprintf(".dword %#x", rvGet64(loc))
		}
		return byteDirective(loc)
	case elf.R_RISCV_CALL, elf.R_RISCV_CALL_PLT:
		if len(loc) >= 8 && rvCallPairWhy(loc) == "" {
			return rvDisasmCallPair(loc, P)
		}
		if len(loc) >= 8 && rvInsn(loc) == "auipc" {
			return rvDisasmInsn(loc, P) + "; " + rvDisasmInsn(loc[4:], P+4)
		}
	}
	return rvDisasmInsn(loc, P)
}

// rvDisasmCallPair names an auipc+jalr pair as the assembler pseudo
// instruction that writes it.
func rvDisasmCallPair(loc []byte, P uint64) string {
	X, _ := RISCVField(elf.R_RISCV_CALL, loc)
	to := rvTarget(P, X)
	tmp, rd := get32(loc)>>7&0x1f, get32(loc[4:])>>7&0x1f
	switch {
	case rd == rvRegRA && tmp == rvRegRA:
		return fmt.Sprintf("call %#x", to)
	case rd == 0 && tmp == rvRegT1:
		return fmt.Sprintf("tail %#x", to)
	case rd == 0:
		return fmt.Sprintf("jump %#x, %s", to, rvRegs[tmp])
	case rd == tmp:
		return fmt.Sprintf("call %s, %#x", rvRegs[rd], to)
	}
	return rvDisasmInsn(loc, P) + "; " + rvDisasmInsn(loc[4:], P+4)
}

// rvTarget is P + off, modulo 2^32 when P is a 32-bit address.
func rvTarget(P uint64, off int64) uint64 {
	to := P + uint64(off)
	if P < 1<<32 {
		to = uint64(uint32(to))
	}
	return to
}

const (
	rvRegRA = 1
	rvRegT1 = 6
)

var (
	rvRegs = [32]string{"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2",
		"s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
		"a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7",
		"s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"}
	rvFRegs = [32]string{"ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7",
		"fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5",
		"fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7",
		"fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11"}
	rvLoads    = [8]string{"lb", "lh", "lw", "ld", "lbu", "lhu", "lwu", ""}
	rvStores   = [8]string{"sb", "sh", "sw", "sd", "", "", "", ""}
	rvFLoads   = [8]string{"", "flh", "flw", "fld", "flq", "", "", ""}
	rvFStores  = [8]string{"", "fsh", "fsw", "fsd", "fsq", "", "", ""}
	rvOpImm    = [8]string{"addi", "", "slti", "sltiu", "xori", "", "ori", "andi"} // no shifts: their immediate is a shift amount
	rvBranches = [8]string{"beq", "bne", "", "", "blt", "bge", "bltu", "bgeu"}
)

// RISC-V major opcodes, bits 6:0 of a 32-bit instruction.
const (
	rvOpLoad    = 0x03
	rvOpLoadFP  = 0x07
	rvOpOpImm   = 0x13
	rvOpAUIPC   = 0x17
	rvOpOpImm32 = 0x1b
	rvOpStore   = 0x23
	rvOpStoreFP = 0x27
	rvOpLUI     = 0x37
	rvOpBranch  = 0x63
	rvOpJALR    = 0x67
	rvOpJAL     = 0x6f
)

// rvInsn names the instruction at loc among those the relocations here
// apply to; "" for any other, or when loc is too short for it.
func rvInsn(loc []byte) string {
	if len(loc) < 2 {
		return ""
	}
	if rvInsnSize(loc) == 2 {
		hw := get16(loc)
		if hw&3 != 1 {
			return ""
		}
		switch hw >> 13 {
		case 1:
			return "c.jal"
		case 5:
			return "c.j"
		case 6:
			return "c.beqz"
		case 7:
			return "c.bnez"
		}
		return ""
	}
	if len(loc) < 4 {
		return ""
	}
	insn := get32(loc)
	funct3 := insn >> 12 & 7
	switch insn & 0x7f {
	case rvOpLUI:
		return "lui"
	case rvOpAUIPC:
		return "auipc"
	case rvOpJAL:
		return "jal"
	case rvOpJALR:
		if funct3 == 0 {
			return "jalr"
		}
	case rvOpLoad:
		return rvLoads[funct3]
	case rvOpLoadFP:
		return rvFLoads[funct3]
	case rvOpOpImm:
		return rvOpImm[funct3]
	case rvOpOpImm32:
		if funct3 == 0 {
			return "addiw"
		}
	case rvOpStore:
		return rvStores[funct3]
	case rvOpStoreFP:
		return rvFStores[funct3]
	case rvOpBranch:
		return rvBranches[funct3]
	}
	return ""
}

func rvIsIType(insn string) bool {
	switch insn {
	case "addi", "slti", "sltiu", "xori", "ori", "andi", "addiw", "jalr",
		"lb", "lh", "lw", "ld", "lbu", "lhu", "lwu", "flh", "flw", "fld", "flq":
		return true
	}
	return false
}

func rvIsSType(insn string) bool {
	switch insn {
	case "sb", "sh", "sw", "sd", "fsh", "fsw", "fsd", "fsq":
		return true
	}
	return false
}

func rvIsBType(insn string) bool {
	switch insn {
	case "beq", "bne", "blt", "bge", "bltu", "bgeu":
		return true
	}
	return false
}

// rvDisasmInsn disassembles the one instruction at loc, address P.
func rvDisasmInsn(loc []byte, P uint64) string {
	insn := rvInsn(loc)
	switch {
	case insn == "":
		switch {
		case len(loc) >= 2 && rvInsnSize(loc) == 2:
			return fmt.Sprintf(".insn 0x%04x", get16(loc))
		case len(loc) >= 4:
			return fmt.Sprintf(".insn 0x%08x", get32(loc))
		}
		return byteDirective(loc)
	case strings.HasPrefix(insn, "c."):
		hw := get16(loc)
		if insn == "c.j" || insn == "c.jal" {
			return fmt.Sprintf("%s %#x", insn, rvTarget(P, rvReadCJ(loc)))
		}
		return fmt.Sprintf("%s %s, %#x", insn, rvRegs[8+hw>>7&7], rvTarget(P, rvReadCB(loc)))
	}
	w := get32(loc)
	rd, rs1, rs2 := rvRegs[w>>7&0x1f], rvRegs[w>>15&0x1f], rvRegs[w>>20&0x1f]
	switch w & 0x7f {
	case rvOpLUI, rvOpAUIPC:
		return fmt.Sprintf("%s %s, %#x", insn, rd, w>>12)
	case rvOpJAL:
		return fmt.Sprintf("jal %s, %#x", rd, rvTarget(P, rvReadJ(loc)))
	case rvOpBranch:
		return fmt.Sprintf("%s %s, %s, %#x", insn, rs1, rs2, rvTarget(P, rvReadB(loc)))
	case rvOpJALR, rvOpLoad:
		return fmt.Sprintf("%s %s, %d(%s)", insn, rd, rvReadI(loc), rs1)
	case rvOpLoadFP:
		return fmt.Sprintf("%s %s, %d(%s)", insn, rvFRegs[w>>7&0x1f], rvReadI(loc), rs1)
	case rvOpStore:
		return fmt.Sprintf("%s %s, %d(%s)", insn, rs2, rvReadS(loc), rs1)
	case rvOpStoreFP:
		return fmt.Sprintf("%s %s, %d(%s)", insn, rvFRegs[w>>20&0x1f], rvReadS(loc), rs1)
	}
	return fmt.Sprintf("%s %s, %s, %d", insn, rd, rs1, rvReadI(loc)) // OP-IMM, addiw
}

// rvReadU reads the immediate of a U-type instruction (lui, auipc): bits
// 31:12, in place.
func rvReadU(loc []byte) uint32 { return get32(loc) &^ 0xfff }

// rvWriteU keeps the opcode and the destination register.
func rvWriteU(loc []byte, imm20 uint32) {
	put32(loc, get32(loc)&0xfff|imm20<<12)
}

// rvReadI reads the 12-bit immediate of an I-type instruction, bits 31:20.
func rvReadI(loc []byte) int64 { return signExtend(uint64(get32(loc)>>20), 12) }

func rvWriteI(loc []byte, imm int64) {
	put32(loc, get32(loc)&0x000fffff|uint32(imm)<<20)
}

// rvReadS reads the 12-bit immediate of a store: imm[11:5] in bits 31:25,
// imm[4:0] in bits 11:7.
func rvReadS(loc []byte) int64 {
	w := uint64(get32(loc))
	return signExtend(w>>25<<5|w>>7&0x1f, 12)
}

func rvWriteS(loc []byte, imm int64) {
	v := uint32(imm)
	put32(loc, get32(loc)&0x01fff07f|(v>>5&0x7f)<<25|(v&0x1f)<<7)
}

// rvReadB reads the offset of a B-type branch: imm[12|10:5] in bits 31:25,
// imm[4:1|11] in bits 11:7.
func rvReadB(loc []byte) int64 {
	w := uint64(get32(loc))
	return signExtend(w>>31<<12|(w>>7&1)<<11|(w>>25&0x3f)<<5|(w>>8&0xf)<<1, 13)
}

func rvWriteB(loc []byte, off int64) {
	v := uint32(off)
	put32(loc, get32(loc)&0x01fff07f|(v>>12&1)<<31|(v>>5&0x3f)<<25|(v>>1&0xf)<<8|(v>>11&1)<<7)
}

// rvReadJ reads the offset of a jal: imm[20|10:1|11|19:12] in bits 31:12.
func rvReadJ(loc []byte) int64 {
	w := uint64(get32(loc))
	return signExtend(w>>31<<20|(w>>12&0xff)<<12|(w>>20&1)<<11|(w>>21&0x3ff)<<1, 21)
}

func rvWriteJ(loc []byte, off int64) {
	v := uint32(off)
	put32(loc, get32(loc)&0xfff|(v>>20&1)<<31|(v>>1&0x3ff)<<21|(v>>11&1)<<20|(v>>12&0xff)<<12)
}

// rvReadCJ reads the offset of a c.j or c.jal: imm[11|4|9:8|10|6|7|3:1|5] in
// bits 12:2.
func rvReadCJ(loc []byte) int64 {
	h := uint64(get16(loc))
	return signExtend((h>>12&1)<<11|(h>>8&1)<<10|(h>>9&3)<<8|(h>>6&1)<<7|
		(h>>7&1)<<6|(h>>2&1)<<5|(h>>11&1)<<4|(h>>3&7)<<1, 12)
}

// rvWriteCJ keeps funct3 and the opcode, bits 15:13 and 1:0.
func rvWriteCJ(loc []byte, off int64) {
	v := uint16(off)
	put16(loc, get16(loc)&0xe003|(v>>11&1)<<12|(v>>4&1)<<11|(v>>8&3)<<9|(v>>10&1)<<8|
		(v>>6&1)<<7|(v>>7&1)<<6|(v>>1&7)<<3|(v>>5&1)<<2)
}

// rvReadCB reads the offset of a c.beqz or c.bnez: imm[8|4:3] in bits 12:10,
// imm[7:6|2:1|5] in bits 6:2.
func rvReadCB(loc []byte) int64 {
	h := uint64(get16(loc))
	return signExtend((h>>12&1)<<8|(h>>5&3)<<6|(h>>2&1)<<5|(h>>10&3)<<3|(h>>3&3)<<1, 9)
}

// rvWriteCB keeps funct3, the register and the opcode: bits 15:13, 9:7, 1:0.
func rvWriteCB(loc []byte, off int64) {
	v := uint16(off)
	put16(loc, get16(loc)&0xe383|(v>>8&1)<<12|(v>>3&3)<<10|(v>>6&3)<<5|(v>>1&3)<<3|(v>>5&1)<<2)
}

func rvGet64(b []byte) uint64    { return binary.LittleEndian.Uint64(b) }
func rvPut64(b []byte, v uint64) { binary.LittleEndian.PutUint64(b, v) }

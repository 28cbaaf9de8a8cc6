// AArch64 relocations, as a post-link patcher meets them in a static image.
// What is peculiar about AArch64:
//
// RELA, not REL. The addend lives in the relocation entry; the field in an
// object holds zero, and in a linked image the result. Nothing has to be
// decoded to learn an addend, and both GNU ld and ld.lld keep the original
// one in --emit-relocs output when the symbol is the import itself (one
// against a section symbol is rebased onto the output section). What the field
// holds is still worth reading (AArch64Field): to show what a site does
// now, and to prove that the linker put there what the formula gives.
//
// One instruction size. Every instruction is a little-endian 32-bit word at
// a 4-aligned address, and reads the PC as its own address: no +4 or +8 as
// on ARM, no Thumb bit. So a branch field counts words, and a BL or B to a
// target that is not 4-aligned is an *AlignError.
//
// BL and B reach ±128 MiB. Each holds a 26-bit signed word offset, so from
// -0x8000000 to +0x7fffffc around P. R_AARCH64_CALL26 is on a BL,
// R_AARCH64_JUMP26 on a B (a tail call). A linker that cannot reach a
// target inserts a veneer, a few instructions that build the address in x16
// or x17 and BR to it. It may: AAPCS64 names x16 and x17 IP0 and IP1, the
// intra-procedure-call scratch registers, which any call may clobber
// between the BL and the callee, so a veneer saves nothing. A patcher that
// only rewrites fields has nowhere to put a veneer, so out of range is a
// *RangeError; and an allocator reached through a BL must expect x16 and
// x17 to hold garbage, never an argument. With the import left undefined,
// GNU ld resolves it to 0 and refuses to link ("relocation truncated to
// fit") when 0 is out of reach of a BL, B or ADR; ld.lld makes such a
// branch go to the next instruction and an ADR to the place itself.
//
// ADRP and its pair. ADRP computes the 4 KiB page of an address from the
// page of P: its 21-bit field holds Page(S + A) - Page(P) >> 12, reaching
// ±4 GiB. The low 12 bits come from a second instruction: an ADD (imm) or a
// load or store with an unsigned offset, relocated by a *_LO12_NC type
// that writes (S + A) & 0xfff, not relative to anything. The two are one
// address: re-apply both, with the same S + A, or the register points into
// the wrong page. A load or store scales its 12-bit field by the size it
// accesses, so an 8-byte LDR reaches 0xff8 with a field of 0x1ff and cannot
// hold a low part that is not a multiple of 8 (*AlignError). ADR holds S +
// A - P itself, 21 bits, ±1 MiB.
//
// MOVZ/MOVK chains. An absolute address is built 16 bits at a time: MOVZ
// for one group and MOVK for the others, G0 being bits 15:0 and G3 bits
// 63:48. The assembler sets the shift (hw) from the group, so a MOVK with
// LSL #16 belongs to G1 and no other. The type without _NC checks that S +
// A, unsigned, fits in the groups up to its own (G0: 16 bits, G1: 32, G2:
// 48), which the top of a chain uses; the _NC ones, below it, take their
// bits of anything. G3 has nothing above it to check.
//
// Data. ABS64 and PREL64 take anything; ABS32 and PREL32 must lie in
// [-2^31, 2^32), so a 32-bit word can be read as either signed or unsigned
// (AAELF64, and ld.lld). GNU ld 2.40 is stricter: it checks ABS32 as
// unsigned and PREL32 as signed.
//
// Writing over a linked field. ld.lld 14 ORs the field of a BL, an ADD or
// a MOVZ/MOVK into the instruction, trusting the assembler to have left it
// zero (GNU ld replaces it); that holds in an object, not in an image.
// Every write here clears the field first and keeps every other bit of the
// instruction.

package relocs

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"strings"
)

// AArch64TypeName returns the AAELF64 name of t, the one readelf and the
// linkers print.
func AArch64TypeName(t elf.R_AARCH64) string {
	return typeName(t.String(), uint32(t))
}

// AArch64Apply computes the AAELF64 formula for t from v (v.T is ignored)
// and writes the result into the field at loc, the little-endian bytes of
// the place, checking range and alignment first. Nothing is written when
// it returns an error.
func AArch64Apply(t elf.R_AARCH64, loc []byte, v Values) error {
	if err := AArch64Check(t, loc); err != nil {
		return err
	}
	S, A, P := int64(v.S), v.A, int64(v.P)
	switch t {
	case elf.R_AARCH64_ABS64:
		binary.LittleEndian.PutUint64(loc, uint64(S+A))

	case elf.R_AARCH64_PREL64:
		binary.LittleEndian.PutUint64(loc, uint64(S+A-P))

	case elf.R_AARCH64_ABS32:
		X := S + A
		if err := checkWord(X, "32-bit word"); err != nil {
			return err
		}
		put32(loc, uint32(X))

	case elf.R_AARCH64_PREL32:
		X := S + A - P
		if err := checkWord(X, "32-bit PC-relative word"); err != nil {
			return err
		}
		put32(loc, uint32(X))

	case elf.R_AARCH64_CALL26, elf.R_AARCH64_JUMP26:
		field := "BL offset"
		if t == elf.R_AARCH64_JUMP26 {
			field = "B offset"
		}
		X := S + A - P
		if err := checkAlign(X, 4, field); err != nil {
			return err
		}
		if err := checkRange(X, -1<<27, 1<<27-4, field); err != nil {
			return err
		}
		writeA64Branch26(loc, X)

	case elf.R_AARCH64_ADR_PREL_PG_HI21:
		X := a64Page(S+A) - a64Page(P)
		if err := checkRange(X, -1<<32, 1<<32-1<<12, "ADRP page offset"); err != nil {
			return err
		}
		writeA64Adr21(loc, X>>12)

	case elf.R_AARCH64_ADR_PREL_PG_HI21_NC:
		X := a64Page(S+A) - a64Page(P)
		writeA64Adr21(loc, X>>12)

	case elf.R_AARCH64_ADR_PREL_LO21:
		X := S + A - P
		if err := checkRange(X, -1<<20, 1<<20-1, "ADR offset"); err != nil {
			return err
		}
		writeA64Adr21(loc, X)

	case elf.R_AARCH64_ADD_ABS_LO12_NC:
		X := S + A
		writeA64Imm12(loc, uint32(X&0xfff))

	case elf.R_AARCH64_LDST8_ABS_LO12_NC, elf.R_AARCH64_LDST16_ABS_LO12_NC,
		elf.R_AARCH64_LDST32_ABS_LO12_NC, elf.R_AARCH64_LDST64_ABS_LO12_NC,
		elf.R_AARCH64_LDST128_ABS_LO12_NC:
		X := S + A
		size := a64LdstSizes[t]
		if err := checkAlign(X, size, fmt.Sprintf("%d-byte load/store address", size)); err != nil {
			return err
		}
		writeA64Imm12(loc, uint32(X&0xfff)/uint32(size))

	case elf.R_AARCH64_MOVW_UABS_G0, elf.R_AARCH64_MOVW_UABS_G1, elf.R_AARCH64_MOVW_UABS_G2:
		X := S + A
		g := a64MovGroup(t)
		field := fmt.Sprintf("MOVZ/MOVK G%d address", g)
		// Unsigned: an X that is negative as an int64 is beyond 2^63.
		if err := checkRange(X, 0, 1<<(16*(g+1))-1, field); err != nil {
			return err
		}
		writeA64Imm16(loc, uint32(uint64(X)>>(16*g)))

	case elf.R_AARCH64_MOVW_UABS_G0_NC, elf.R_AARCH64_MOVW_UABS_G1_NC,
		elf.R_AARCH64_MOVW_UABS_G2_NC, elf.R_AARCH64_MOVW_UABS_G3:
		X := S + A
		writeA64Imm16(loc, uint32(uint64(X)>>(16*a64MovGroup(t))))

	default:
		return &UnsupportedError{Type: AArch64TypeName(t)}
	}
	return nil
}

// AArch64Field decodes the value the field of a relocation of type t holds
// at loc, in the units of the formula: the byte offset of a BL, B or ADR;
// Page(S + A) - Page(P) for an ADRP; the low 12 bits of S + A for an ADD or
// a load or store (unscaled); the group's bits in place for a MOVZ/MOVK
// (G1: imm16 << 16); the doubleword; the word, zero-extended for ABS32 and
// sign-extended for PREL32. So AArch64Field(t, loc) after AArch64Apply with
// S = P = 0 gives back A, wherever A is one the field can hold.
func AArch64Field(t elf.R_AARCH64, loc []byte) (int64, error) {
	if err := AArch64Check(t, loc); err != nil {
		return 0, err
	}
	switch t {
	case elf.R_AARCH64_ABS64, elf.R_AARCH64_PREL64:
		return int64(binary.LittleEndian.Uint64(loc)), nil
	case elf.R_AARCH64_ABS32:
		return int64(get32(loc)), nil
	case elf.R_AARCH64_PREL32:
		return int64(int32(get32(loc))), nil
	case elf.R_AARCH64_CALL26, elf.R_AARCH64_JUMP26:
		return readA64Branch26(get32(loc)), nil
	case elf.R_AARCH64_ADR_PREL_PG_HI21, elf.R_AARCH64_ADR_PREL_PG_HI21_NC:
		return readA64Adr21(get32(loc)) << 12, nil
	case elf.R_AARCH64_ADR_PREL_LO21:
		return readA64Adr21(get32(loc)), nil
	case elf.R_AARCH64_ADD_ABS_LO12_NC:
		return int64(readA64Imm12(get32(loc))), nil
	case elf.R_AARCH64_LDST8_ABS_LO12_NC, elf.R_AARCH64_LDST16_ABS_LO12_NC,
		elf.R_AARCH64_LDST32_ABS_LO12_NC, elf.R_AARCH64_LDST64_ABS_LO12_NC,
		elf.R_AARCH64_LDST128_ABS_LO12_NC:
		return int64(readA64Imm12(get32(loc))) * a64LdstSizes[t], nil
	}
	// Check has let only the MOVW types through to here.
	return int64(uint64(readA64Imm16(get32(loc))) << (16 * a64MovGroup(t))), nil
}

// AArch64Check reports an *InsnError when loc does not hold the instruction
// t applies to, or is too short for it, and an *UnsupportedError for a type
// this file does not handle. Beyond the opcode it checks what the field's
// meaning depends on: an ADD must not shift its immediate, a load or store
// must access the size the type scales by, a MOVZ/MOVK must shift by the
// type's group. A data relocation can be anything, so only its length is
// checked.
func AArch64Check(t elf.R_AARCH64, loc []byte) error {
	size, want, insn := 4, "", ""
	switch t {
	case elf.R_AARCH64_ABS64, elf.R_AARCH64_PREL64:
		size, want = 8, "a 64-bit doubleword"
	case elf.R_AARCH64_ABS32, elf.R_AARCH64_PREL32:
		want = "a 32-bit word"
	case elf.R_AARCH64_CALL26:
		want, insn = "a BL", "BL"
	case elf.R_AARCH64_JUMP26:
		want, insn = "a B", "B"
	case elf.R_AARCH64_ADR_PREL_PG_HI21, elf.R_AARCH64_ADR_PREL_PG_HI21_NC:
		want, insn = "an ADRP", "ADRP"
	case elf.R_AARCH64_ADR_PREL_LO21:
		want, insn = "an ADR", "ADR"
	case elf.R_AARCH64_ADD_ABS_LO12_NC:
		want, insn = "an ADD (immediate)", "ADD"
	case elf.R_AARCH64_LDST8_ABS_LO12_NC, elf.R_AARCH64_LDST16_ABS_LO12_NC,
		elf.R_AARCH64_LDST32_ABS_LO12_NC, elf.R_AARCH64_LDST64_ABS_LO12_NC,
		elf.R_AARCH64_LDST128_ABS_LO12_NC:
		want, insn = fmt.Sprintf("a load or store of %d bytes (unsigned offset)", a64LdstSizes[t]), "LDST"
	case elf.R_AARCH64_MOVW_UABS_G0, elf.R_AARCH64_MOVW_UABS_G0_NC,
		elf.R_AARCH64_MOVW_UABS_G1, elf.R_AARCH64_MOVW_UABS_G1_NC,
		elf.R_AARCH64_MOVW_UABS_G2, elf.R_AARCH64_MOVW_UABS_G2_NC,
		elf.R_AARCH64_MOVW_UABS_G3:
		want, insn = "a MOVZ or MOVK", "MOV"
		if g := a64MovGroup(t); g > 0 {
			want += fmt.Sprintf(" with LSL #%d", 16*g)
		}
	default:
		return &UnsupportedError{Type: AArch64TypeName(t)}
	}
	if len(loc) < size {
		return &InsnError{Type: AArch64TypeName(t), Want: want, Found: hexBytes(loc),
			Why: fmt.Sprintf("need %d bytes, have %d", size, len(loc))}
	}
	if insn == "" {
		return nil
	}
	w := get32(loc)
	found := a64Insn(w)
	why := ""
	switch {
	case found == "NOP":
		why = "a NOP, which GNU ld writes in place of a branch to an undefined weak symbol"
	case insn == "MOV" && (found == "MOVZ" || found == "MOVK"):
		if hw := int(w >> 21 & 3); hw != a64MovGroup(t) {
			why = fmt.Sprintf("a %s with LSL #%d", found, 16*hw)
		}
	case insn == "ADD" && found == "ADD":
		if w>>22&1 != 0 {
			why = "an ADD with LSL #12"
		}
	case insn == "LDST" && found == "LDST":
		if n := a64LdstSize(w); n != a64LdstSizes[t] {
			why = fmt.Sprintf("%s, which accesses %d bytes", a64LdstMnemonic(w), n)
		}
	case found == insn:
	case found == "LDST":
		why = a64LdstMnemonic(w) + ", a load or store"
	case found != "":
		why = "a " + found
		if found[0] == 'A' {
			why = "an " + found
		}
	default:
		why = "not " + want
	}
	if why == "" {
		return nil
	}
	return &InsnError{Type: AArch64TypeName(t), Want: want, Found: fmt.Sprintf("%#08x", w), Why: why}
}

// AArch64Disasm returns a one-line disassembly of the place at loc, address
// P, of a relocation of type t: "bl 0x400120", "b 0x400120",
// "adrp x0, 0x410000", "adr x2, 0x400128", "add x0, x0, #0x120",
// "ldr x1, [x1, #0x238]", "movz x0, #0x1234, lsl #16",
// "movk x0, #0x5678", ".xword 0x410120", ".word 0x120".
//
// At a code relocation it shows whatever instruction is there, which need
// not be the one t applies to ("nop" where GNU ld dropped a branch to an
// undefined weak symbol); a word it cannot read comes out as ".inst", too
// few bytes as ".byte". Unlike objdump it never prefers an alias: a MOVZ is
// a movz, not a mov.
func AArch64Disasm(t elf.R_AARCH64, loc []byte, P uint64) string {
	switch t {
	case elf.R_AARCH64_ABS64, elf.R_AARCH64_PREL64:
		if len(loc) >= 8 {
			return fmt.Sprintf(".xword %#x", binary.LittleEndian.Uint64(loc))
		}
		return byteDirective(loc)
	case elf.R_AARCH64_ABS32, elf.R_AARCH64_PREL32:
		if len(loc) >= 4 {
			return fmt.Sprintf(".word %#x", get32(loc))
		}
		return byteDirective(loc)
	}
	if len(loc) < 4 {
		return byteDirective(loc)
	}
	w := get32(loc)
	rd, rn := w&31, w>>5&31
	sf := w>>31 != 0
	switch a64Insn(w) {
	case "BL":
		return fmt.Sprintf("bl %#x", P+uint64(readA64Branch26(w)))
	case "B":
		return fmt.Sprintf("b %#x", P+uint64(readA64Branch26(w)))
	case "ADRP":
		return fmt.Sprintf("adrp %s, %#x", a64Reg(rd, true, false), uint64(a64Page(int64(P))+readA64Adr21(w)<<12))
	case "ADR":
		return fmt.Sprintf("adr %s, %#x", a64Reg(rd, true, false), P+uint64(readA64Adr21(w)))
	case "ADD":
		s := fmt.Sprintf("add %s, %s, #%#x", a64Reg(rd, sf, true), a64Reg(rn, sf, true), readA64Imm12(w))
		if w>>22&1 != 0 {
			s += ", lsl #12"
		}
		return s
	case "MOVZ", "MOVK":
		s := fmt.Sprintf("%s %s, #%#x", strings.ToLower(a64Insn(w)), a64Reg(rd, sf, false), readA64Imm16(w))
		if hw := w >> 21 & 3; hw != 0 {
			s += fmt.Sprintf(", lsl #%d", 16*hw)
		}
		return s
	case "LDST":
		mnemonic := a64LdstMnemonic(w)
		rt := a64LdstReg(w)
		if mnemonic == "prfm" {
			rt = a64Prfop(w & 31)
		}
		off := uint64(readA64Imm12(w)) * uint64(a64LdstSize(w))
		if off == 0 {
			return fmt.Sprintf("%s %s, [%s]", mnemonic, rt, a64Reg(rn, true, true))
		}
		return fmt.Sprintf("%s %s, [%s, #%#x]", mnemonic, rt, a64Reg(rn, true, true), off)
	case "NOP":
		return "nop"
	}
	return fmt.Sprintf(".inst %#08x", w)
}

// a64Insn names the instruction w among those the relocations here apply
// to, plus NOP, which GNU ld leaves in their place, and MOVN, the third
// move-wide; "" for any other. "LDST" is any load or store (register,
// unsigned immediate) that is allocated, PRFM included.
func a64Insn(w uint32) string {
	switch {
	case w == 0xd503201f:
		return "NOP"
	case w&0xfc000000 == 0x94000000:
		return "BL"
	case w&0xfc000000 == 0x14000000:
		return "B"
	case w&0x9f000000 == 0x90000000:
		return "ADRP"
	case w&0x9f000000 == 0x10000000:
		return "ADR"
	case w&0x7f800000 == 0x11000000:
		return "ADD"
	case w&0x80400000 == 0x00400000 && w&0x1f800000 == 0x12800000:
		return "" // a 32-bit move-wide shifted by 32 or 48 is unallocated
	case w&0x7f800000 == 0x52800000:
		return "MOVZ"
	case w&0x7f800000 == 0x72800000:
		return "MOVK"
	case w&0x7f800000 == 0x12800000:
		return "MOVN"
	case w&0x3b000000 == 0x39000000 && a64LdstMnemonic(w) != "":
		return "LDST"
	}
	return ""
}

// a64LdstSizes is the access size each load/store type scales its field by.
var a64LdstSizes = map[elf.R_AARCH64]int64{
	elf.R_AARCH64_LDST8_ABS_LO12_NC:   1,
	elf.R_AARCH64_LDST16_ABS_LO12_NC:  2,
	elf.R_AARCH64_LDST32_ABS_LO12_NC:  4,
	elf.R_AARCH64_LDST64_ABS_LO12_NC:  8,
	elf.R_AARCH64_LDST128_ABS_LO12_NC: 16,
}

// a64LdstSize is the number of bytes a load or store (unsigned immediate)
// accesses, which its 12-bit field is scaled by: 1 << size, or 16 for a Q
// register (V set, size 00, opc 1x).
func a64LdstSize(w uint32) int64 {
	size, v, opc := w>>30, w>>26&1, w>>22&3
	if v == 1 && size == 0 && opc >= 2 {
		return 16
	}
	return 1 << size
}

// a64LdstMnemonic names a load or store (unsigned immediate) by its size, V
// and opc fields, "" for the unallocated ones.
func a64LdstMnemonic(w uint32) string {
	size, v, opc := w>>30, w>>26&1, w>>22&3
	if v == 1 {
		switch {
		case opc < 2:
			return [2]string{"str", "ldr"}[opc]
		case size == 0:
			return [2]string{"str", "ldr"}[opc-2]
		}
		return ""
	}
	return [4][4]string{
		{"strb", "ldrb", "ldrsb", "ldrsb"},
		{"strh", "ldrh", "ldrsh", "ldrsh"},
		{"str", "ldr", "ldrsw", ""},
		{"str", "ldr", "prfm", ""},
	}[size][opc]
}

// a64LdstReg names the register a load or store transfers.
func a64LdstReg(w uint32) string {
	rt, size, v, opc := w&31, w>>30, w>>26&1, w>>22&3
	if v == 1 {
		if size == 0 && opc >= 2 {
			return fmt.Sprintf("q%d", rt)
		}
		return fmt.Sprintf("%c%d", "bhsd"[size], rt)
	}
	// A 64-bit register for a doubleword, and for a load that sign-extends
	// into one (opc 10); a 32-bit one otherwise.
	return a64Reg(rt, size == 3 || opc == 2, false)
}

// a64Prfop names a PRFM operation the way objdump does: pldl1keep, ...
func a64Prfop(rt uint32) string {
	typ, target, policy := rt>>3, rt>>1&3, rt&1
	if typ == 3 || target == 3 {
		return fmt.Sprintf("#%#x", rt)
	}
	return [3]string{"pld", "pli", "pst"}[typ] + [3]string{"l1", "l2", "l3"}[target] + [2]string{"keep", "strm"}[policy]
}

// a64Reg names general-purpose register r, 64-bit when x is set. Register
// 31 is the stack pointer where the instruction says so, else the zero
// register.
func a64Reg(r uint32, x, sp bool) string {
	switch {
	case r == 31 && sp && x:
		return "sp"
	case r == 31 && sp:
		return "wsp"
	case r == 31 && x:
		return "xzr"
	case r == 31:
		return "wzr"
	case x:
		return fmt.Sprintf("x%d", r)
	}
	return fmt.Sprintf("w%d", r)
}

// a64MovGroup is the G<n> of a MOVW_UABS type: which 16 bits it takes.
func a64MovGroup(t elf.R_AARCH64) int {
	switch t {
	case elf.R_AARCH64_MOVW_UABS_G1, elf.R_AARCH64_MOVW_UABS_G1_NC:
		return 1
	case elf.R_AARCH64_MOVW_UABS_G2, elf.R_AARCH64_MOVW_UABS_G2_NC:
		return 2
	case elf.R_AARCH64_MOVW_UABS_G3:
		return 3
	}
	return 0
}

// a64Page is the address of the 4 KiB page x lies in, ADRP's unit.
func a64Page(x int64) int64 { return x &^ 0xfff }

// readA64Branch26 reads the imm26 of a B or BL as a byte offset.
func readA64Branch26(w uint32) int64 {
	return signExtend(uint64(w&0x3ffffff), 26) << 2
}

func writeA64Branch26(loc []byte, off int64) {
	put32(loc, get32(loc)&^0x3ffffff|uint32(off>>2)&0x3ffffff)
}

// readA64Adr21 reads the immhi:immlo of an ADR or ADRP, sign-extended:
// immlo is bits 30:29, immhi bits 23:5.
func readA64Adr21(w uint32) int64 {
	return signExtend(uint64(w>>5&0x7ffff)<<2|uint64(w>>29&3), 21)
}

func writeA64Adr21(loc []byte, imm int64) {
	v := uint32(imm)
	put32(loc, get32(loc)&^(3<<29|0x7ffff<<5)|(v&3)<<29|(v>>2&0x7ffff)<<5)
}

// readA64Imm12 reads bits 21:10, the immediate of an ADD or of a load or
// store with an unsigned offset.
func readA64Imm12(w uint32) uint32 { return w >> 10 & 0xfff }

func writeA64Imm12(loc []byte, imm uint32) {
	put32(loc, get32(loc)&^(0xfff<<10)|(imm&0xfff)<<10)
}

// readA64Imm16 reads bits 20:5, the immediate of a MOVZ or MOVK.
func readA64Imm16(w uint32) uint32 { return w >> 5 & 0xffff }

func writeA64Imm16(loc []byte, imm uint32) {
	put32(loc, get32(loc)&^(0xffff<<5)|(imm&0xffff)<<5)
}

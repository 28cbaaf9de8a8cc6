// x86-64 relocations, as a post-link patcher meets them in a static host
// image (elfpatch's tests run there). What is peculiar about x86-64:
//
// RELA, not REL. The addend lives in the relocation entry and the field in
// an object holds zero. Both GNU ld and ld.lld keep the original addend in
// --emit-relocs output for a relocation against the import itself; GNU ld
// changes it where it relaxed a GOT load (below).
//
// Fields, not instructions. A relocation writes 4 or 8 bytes somewhere
// inside an instruction of 1 to 15 bytes, and x86 code cannot be decoded
// backwards: the bytes before a field say what it belongs to only as a
// likely reading. So the checks here are about the field; the up to three
// bytes before it (insn) serve to recognise the common shapes, and give a
// PLT32 in code the one check it can have: it is on a branch.
//
// rel32 counts from the end of the instruction. A call, jmp or jcc holds
// the target minus the address of the next instruction; with the field at
// the end, that is S - (P + 4), hence the addend -4 an assembler writes for
// `call f`. A RIP-relative operand followed by a 4-byte immediate gets -8.
// Signed 32 bits: a call or jmp reaches ±2 GiB around the end of the
// instruction, and R_X86_64_PC32 and PLT32 are checked as int32.
//
// PLT32 in a static link is PC32. An assembler writes R_X86_64_PLT32 for a
// branch to a global symbol, so that a dynamic linker may route it through
// the PLT; with no PLT the linker computes L = S and the formula is S + A -
// P, which this file applies for both. A PLT32 in data (`.long f@PLT - .`,
// a relative function pointer) is no branch; pass no insn for it.
//
// Absolute immediates are narrow. A mov to a 32-bit register zero-extends
// its imm32 (R_X86_64_32: S + A must fit in uint32); one to a 64-bit
// register sign-extends it (R_X86_64_32S: int32), so it reaches the lowest
// 2 GiB and the highest. Only movabs and data hold a full R_X86_64_64.
//
// GOT loads a linker relaxed. `call *f@GOTPCREL(%rip)` and
// `mov f@GOTPCREL(%rip), %reg` carry R_X86_64_GOTPCRELX and
// R_X86_64_REX_GOTPCRELX, which let the linker rewrite the instruction when
// f needs no GOT slot: the call becomes `addr32 call f`, a jmp `jmp f; nop`,
// the mov `lea f(%rip)` or `mov $f`. GNU ld then rewrites the retained
// relocation to fit (PC32 or 32S, the addend to 0 for an imm32, even the
// offset of a jmp, whose field moved a byte). ld.lld keeps the original
// type, addend and offset, so that after a relaxed jmp the entry points one
// byte into the new field; it relaxes even against the undefined import
// (S = 0), where GNU ld makes a GOT slot holding 0 that no retained
// relocation describes. Either way, re-applying a GOT type by its own
// formula, or the field as if it were PC32, writes the wrong bytes. So
// these types are recognised and refused, with a *GOTError that says which
// shape was found: elfpatch must not touch such a site, and refuses the
// image by name rather than leave a wrong call.
//
// With the import left undefined (--unresolved-symbols=ignore-all, static,
// not PIE) both linkers resolve it to 0 for every type above: a call goes
// to address 0, `lea sym+8(%rip)` gives 8, a .quad holds A.

package relocs

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// X86_64TypeName returns the psABI name of t, the one readelf and the
// linkers print.
func X86_64TypeName(t elf.R_X86_64) string {
	return typeName(t.String(), uint32(t))
}

// GOTError reports a GOT-relative relocation (R_X86_64_GOTPCREL,
// R_X86_64_GOTPCRELX, R_X86_64_REX_GOTPCRELX). Either the instruction still
// loads its target from a GOT slot, which the linker filled and no retained
// relocation describes, or the linker relaxed it into a direct reference
// and kept the GOT type. Neither can be re-applied by rewriting the field.
type GOTError struct {
	Type    string // e.g. "R_X86_64_GOTPCRELX"
	Form    string // what the bytes are, e.g. "call *disp(%rip)", "addr32 call"; "" when not known
	Relaxed bool   // the linker rewrote the instruction
}

func (e *GOTError) Error() string {
	switch {
	case e.Form == "":
		return e.Type + " goes through a GOT slot, or what the linker relaxed it into: it cannot be re-applied"
	case e.Relaxed:
		return fmt.Sprintf("%s at %s: the linker relaxed the GOT load and kept the GOT type, so the field no longer means what the type says", e.Type, e.Form)
	case e.Form == "unrecognised bytes":
		return e.Type + " at unrecognised bytes: neither a GOT load nor what a linker relaxes one into"
	}
	return fmt.Sprintf("%s at %s reads the target from a GOT slot: the slot, not this field, holds the address", e.Type, e.Form)
}

// X86_64Apply computes the psABI formula for t from v (v.T is ignored) and
// writes the result into the 4 or 8 bytes at loc, checking its range first.
// Nothing is written when it returns an error. The GOT types return a
// *GOTError.
func X86_64Apply(t elf.R_X86_64, loc []byte, v Values) error {
	if err := X86_64Check(t, loc, nil); err != nil {
		return err
	}
	S, A, P := int64(v.S), v.A, int64(v.P)
	switch t {
	case elf.R_X86_64_64:
		binary.LittleEndian.PutUint64(loc, uint64(S+A))

	case elf.R_X86_64_PC64:
		binary.LittleEndian.PutUint64(loc, uint64(S+A-P))

	case elf.R_X86_64_PC32, elf.R_X86_64_PLT32: // L = S: no PLT in a static image
		X := S + A - P
		if err := checkRange(X, -1<<31, 1<<31-1, "rel32 displacement"); err != nil {
			return err
		}
		put32(loc, uint32(X))

	case elf.R_X86_64_32:
		X := S + A
		if err := checkRange(X, 0, 1<<32-1, "zero-extended imm32"); err != nil {
			return err
		}
		put32(loc, uint32(X))

	case elf.R_X86_64_32S:
		X := S + A
		if err := checkRange(X, -1<<31, 1<<31-1, "sign-extended imm32"); err != nil {
			return err
		}
		put32(loc, uint32(X))

	default:
		return &UnsupportedError{Type: X86_64TypeName(t)}
	}
	return nil
}

// X86_64Field decodes the value the field of a relocation of type t holds
// at loc: sign-extended for PC32, PLT32 and 32S, zero-extended for 32, the
// quadword for 64 and PC64. So X86_64Field(t, loc) after X86_64Apply with
// S = P = 0 gives back A, wherever A is one the field can hold.
func X86_64Field(t elf.R_X86_64, loc []byte) (int64, error) {
	if err := X86_64Check(t, loc, nil); err != nil {
		return 0, err
	}
	switch t {
	case elf.R_X86_64_64, elf.R_X86_64_PC64:
		return int64(binary.LittleEndian.Uint64(loc)), nil
	case elf.R_X86_64_32:
		return int64(get32(loc)), nil
	}
	return int64(int32(get32(loc))), nil
}

// X86_64Check reports an *InsnError when loc, the field, is too short for
// t, and an *UnsupportedError for a type this file does not handle. insn is
// up to three bytes before the field, nil for a place in data. With it, a
// PLT32 must follow a call, jmp or jcc opcode, the only places an assembler
// writes one in code; the other types can sit in any instruction and are
// checked as data. A GOT type returns a *GOTError naming the form insn and
// loc show.
func X86_64Check(t elf.R_X86_64, loc []byte, insn []byte) error {
	size, want := 4, "a 32-bit field"
	switch t {
	case elf.R_X86_64_64, elf.R_X86_64_PC64:
		size, want = 8, "a 64-bit field"
	case elf.R_X86_64_PC32, elf.R_X86_64_32, elf.R_X86_64_32S:
	case elf.R_X86_64_PLT32:
		if len(insn) > 0 {
			want = "the rel32 of a call, jmp or jcc"
		}
	case elf.R_X86_64_GOTPCREL, elf.R_X86_64_GOTPCRELX, elf.R_X86_64_REX_GOTPCRELX:
		if len(insn) == 0 {
			return &GOTError{Type: X86_64TypeName(t)}
		}
		form, relaxed := x64GOTForm(insn, loc)
		return &GOTError{Type: X86_64TypeName(t), Form: form, Relaxed: relaxed}
	default:
		return &UnsupportedError{Type: X86_64TypeName(t)}
	}
	if len(loc) < size {
		return &InsnError{Type: X86_64TypeName(t), Want: want, Found: hexBytes(loc),
			Why: fmt.Sprintf("need %d bytes, have %d", size, len(loc))}
	}
	if t == elf.R_X86_64_PLT32 && len(insn) > 0 && x64Branch(insn) == "" {
		return &InsnError{Type: X86_64TypeName(t), Want: want, Found: hexBytes(insn) + " | " + hexBytes(loc[:size]),
			Why: "not after a call, jmp or jcc opcode; a PLT32 in data takes no insn"}
	}
	return nil
}

// X86_64Disasm returns a one-line reading of the place at loc, address P,
// of a relocation of type t, in GNU objdump's AT&T syntax without symbols:
// "call 0x401000", "jne 0x401000", "addr32 call 0x401000",
// "lea 0x1234(%rip),%rax", "mov %r9,-0x10(%rip)", "call *0xf92(%rip)",
// "mov $0xffffffff,%edx", "mov $0xffffffff80000000,%rdx",
// "movabs $0x123456789abcdef0,%rsi", ".long 0x1234", ".quad 0x401000".
//
// It reads insn, the up to three bytes before the field, as the likeliest
// instruction ending there, whatever t is; an instruction it does not know,
// or one that goes on after the field (its end is not in view), comes out
// as the field's .long or .quad, as does everything when insn is nil.
func X86_64Disasm(t elf.R_X86_64, loc []byte, insn []byte, P uint64) string {
	size := 4
	if t == elf.R_X86_64_64 || t == elf.R_X86_64_PC64 {
		size = 8
	}
	if len(loc) < size {
		return byteDirective(loc)
	}
	if s := x64Insn(insn, loc[:size], P); s != "" {
		return s
	}
	if size == 8 {
		return fmt.Sprintf(".quad %#x", binary.LittleEndian.Uint64(loc))
	}
	return fmt.Sprintf(".long %#x", get32(loc))
}

// x64Insn reads the instruction that ends with the field: the bytes before
// it (insn) and the field itself; "" for an unknown one.
func x64Insn(insn, field []byte, P uint64) string {
	n := len(insn)
	if n == 0 {
		return ""
	}
	if len(field) == 8 {
		// movabs $imm64, %reg: REX.W, B8+r.
		if n >= 2 && insn[n-1]&0xf8 == 0xb8 && x64IsREX(insn[n-2]) && insn[n-2]&8 != 0 {
			return fmt.Sprintf("movabs $%#x,%s", binary.LittleEndian.Uint64(field), x64Reg(x64RegB(insn[n-2], insn[n-1]&7), true))
		}
		return ""
	}
	disp := int32(get32(field))
	if b := x64Branch(insn); b != "" {
		return fmt.Sprintf("%s %#x", b, P+4+uint64(int64(disp)))
	}
	// An opcode with a RIP-relative ModRM (mod 00, r/m 101), REX optional.
	if n >= 2 && insn[n-1]&0xc7 == 0x05 {
		op, modrm := insn[n-2], insn[n-1]
		var rex byte
		if n >= 3 && x64IsREX(insn[n-3]) {
			rex = insn[n-3]
		}
		reg := x64Reg(int(modrm>>3&7)|int(rex>>2&1)<<3, rex&8 != 0)
		mem := x64Disp(disp) + "(%rip)"
		switch {
		case op == 0x8d:
			return "lea " + mem + "," + reg
		case op == 0x8b:
			return "mov " + mem + "," + reg
		case op == 0x89:
			return "mov " + reg + "," + mem
		case op == 0xff && modrm == 0x15:
			return "call *" + mem
		case op == 0xff && modrm == 0x25:
			return "jmp *" + mem
		}
		return ""
	}
	// mov $imm32, %r32: B8+r, REX.B optional, REX.W not set.
	if insn[n-1]&0xf8 == 0xb8 {
		var rex byte
		if n >= 2 && x64IsREX(insn[n-2]) {
			rex = insn[n-2]
		}
		if rex&8 == 0 {
			return fmt.Sprintf("mov $%#x,%s", uint32(disp), x64Reg(x64RegB(rex, insn[n-1]&7), false))
		}
		return ""
	}
	// mov $imm32, %r64 (sign-extended): REX.W, C7, ModRM 11 000 reg.
	if n >= 3 && x64IsREX(insn[n-3]) && insn[n-3]&8 != 0 && insn[n-2] == 0xc7 && insn[n-1]&0xf8 == 0xc0 {
		return fmt.Sprintf("mov $%#x,%s", uint64(int64(disp)), x64Reg(x64RegB(insn[n-3], insn[n-1]&7), true))
	}
	return ""
}

// x64Branch names the rel32 branch whose opcode ends insn: "call", "jmp",
// a jcc such as "jne", or "addr32 call" (a relaxed GOT call); "" for none.
func x64Branch(insn []byte) string {
	n := len(insn)
	if n == 0 {
		return ""
	}
	switch op := insn[n-1]; {
	case op == 0xe8 && n >= 2 && insn[n-2] == 0x67:
		return "addr32 call"
	case op == 0xe8:
		return "call"
	case op == 0xe9:
		return "jmp"
	case op&0xf0 == 0x80 && n >= 2 && insn[n-2] == 0x0f:
		return x64Conds[op&0xf]
	}
	return ""
}

var x64Conds = [16]string{"jo", "jno", "jb", "jae", "je", "jne", "jbe", "ja", "js", "jns", "jp", "jnp", "jl", "jge", "jle", "jg"}

// x64GOTForm names what a GOT-relative field sits in: a GOT load the
// linker left, or one of the shapes GNU ld and ld.lld relax it into.
func x64GOTForm(insn, loc []byte) (form string, relaxed bool) {
	n := len(insn)
	last := func(b ...byte) bool {
		if n < len(b) {
			return false
		}
		for i, c := range b {
			if insn[n-len(b)+i] != c {
				return false
			}
		}
		return true
	}
	var op, modrm byte
	if n >= 2 {
		op, modrm = insn[n-2], insn[n-1]
	}
	switch {
	case last(0xff, 0x15):
		return "call *disp(%rip)", false
	case last(0xff, 0x25):
		return "jmp *disp(%rip)", false
	case modrm&0xc7 == 0x05 && op == 0x8b:
		return "mov disp(%rip),%reg", false
	case last(0x67, 0xe8):
		return "addr32 call", true
	case n >= 1 && insn[n-1] == 0xe9:
		return "jmp rel32", true
	case n >= 2 && insn[n-2] == 0xe9 && len(loc) >= 4 && loc[3] == 0x90:
		// ld.lld wrote e9 at the old ModRM, the field a byte early, a nop last.
		return "jmp rel32 whose field starts a byte before the relocation (ld.lld: jmp; nop)", true
	case modrm&0xc7 == 0x05 && op == 0x8d:
		return "lea disp(%rip),%reg", true
	case op == 0xc7 && modrm&0xf8 == 0xc0:
		return "mov $imm32,%reg", true
	case modrm&0xc7 == 0x05 && (op&0xc7 == 0x03 && op < 0x40 || op == 0x85):
		return "an arithmetic or test operand through the GOT", false
	case op == 0x81 && modrm&0xc0 == 0xc0, op == 0xf7 && modrm&0xf8 == 0xc0:
		return "an arithmetic or test immediate", true
	}
	return "unrecognised bytes", false
}

func x64IsREX(b byte) bool { return b&0xf0 == 0x40 }

// x64RegB is the register an opcode's low three bits name, extended by
// REX.B.
func x64RegB(rex, low byte) int { return int(low) | int(rex&1)<<3 }

func x64Reg(r int, wide bool) string {
	if wide {
		return [16]string{"%rax", "%rcx", "%rdx", "%rbx", "%rsp", "%rbp", "%rsi", "%rdi",
			"%r8", "%r9", "%r10", "%r11", "%r12", "%r13", "%r14", "%r15"}[r]
	}
	return [16]string{"%eax", "%ecx", "%edx", "%ebx", "%esp", "%ebp", "%esi", "%edi",
		"%r8d", "%r9d", "%r10d", "%r11d", "%r12d", "%r13d", "%r14d", "%r15d"}[r]
}

// x64Disp writes a displacement the way objdump does: -0x10, 0x10.
func x64Disp(d int32) string {
	if d < 0 {
		return fmt.Sprintf("-%#x", -int64(d))
	}
	return fmt.Sprintf("%#x", d)
}

package patcher

import (
	"bytes"
	"debug/elf"
	"fmt"

	"github.com/pulseengine/elfpatch/relocs"
)

// An import site is a relocation the linker applied against a symbol it
// could not resolve. ARM uses REL: the addend lives in the relocated bytes,
// and after the link those bytes hold the linker's result instead, mixed
// with whatever value the linker gave the undefined symbol. elfpatch does
// not guess the addend from those bytes. It takes the addend a compiler
// gives a reference to a function (the PC bias, -4, for Thumb branches;
// zero for data and MOVW/MOVT), works out what the linker that made the
// image writes for that addend, and proceeds only when the bytes are
// exactly that. Anything else is refused with the site named.

// armCanonicalAddend is the addend compilers and assemblers give each
// relocation type when it refers to a function.
func armCanonicalAddend(t elf.R_ARM) (int64, bool) {
	switch t {
	case rThmCall, elf.R_ARM_THM_JUMP24, elf.R_ARM_THM_JUMP19, elf.R_ARM_THM_JUMP11:
		return -4, true
	case elf.R_ARM_ABS32, elf.R_ARM_REL32, elf.R_ARM_THM_MOVW_ABS_NC, elf.R_ARM_THM_MOVT_ABS:
		return 0, true
	}
	return 0, false
}

// armSiteSize is how many bytes a relocation type changes.
func armSiteSize(t elf.R_ARM) uint64 {
	if t == elf.R_ARM_THM_JUMP11 {
		return 2
	}
	return 4
}

// armUnresolvedField is the value a linker leaves in the field of a
// relocation of type t, with addend A at address P, whose symbol it could
// not resolve.
//
// GNU ld gives the symbol the value 0 and writes S + A - P truncated to the
// field without a range check. LLD resolves it as it resolves an undefined
// weak symbol: data to 0, a branch to the next instruction.
func armUnresolvedField(linker string, t elf.R_ARM, A int64, P uint64) (int64, error) {
	var v int64
	switch linker {
	case "GNU ld":
		switch t {
		case elf.R_ARM_ABS32, elf.R_ARM_THM_MOVW_ABS_NC, elf.R_ARM_THM_MOVT_ABS:
			v = A
		default:
			v = A - int64(P)
		}
	case "LLD":
		switch t {
		case elf.R_ARM_ABS32, elf.R_ARM_THM_MOVW_ABS_NC, elf.R_ARM_THM_MOVT_ABS, elf.R_ARM_REL32:
			v = A
		case elf.R_ARM_THM_JUMP11:
			v = 2 + A
		default:
			v = 4 + A
		}
	default:
		return 0, fmt.Errorf("the image was linked by %s; elfpatch knows what GNU ld and LLD write for an undefined symbol, not what it does", linker)
	}
	switch t {
	case rThmCall, elf.R_ARM_THM_JUMP24:
		return signExtend(v, 25) &^ 1, nil
	case elf.R_ARM_THM_JUMP19:
		return signExtend(v, 21) &^ 1, nil
	case elf.R_ARM_THM_JUMP11:
		return signExtend(v, 12) &^ 1, nil
	case elf.R_ARM_THM_MOVW_ABS_NC:
		return signExtend(v, 16), nil
	case elf.R_ARM_THM_MOVT_ABS:
		return signExtend(v>>16, 16), nil
	}
	return signExtend(v, 32), nil
}

// signExtend keeps the low bits of v and extends its sign.
func signExtend(v int64, bits uint) int64 {
	shift := 64 - bits
	return v << shift >> shift
}

// bindSite proves a site's addend and computes its bytes bound to tgt.
func (p *Plan) bindSite(r *Reloc, tgt *target, linker string) (Site, error) {
	img := p.img
	t := elf.R_ARM(r.Type)
	A, ok := armCanonicalAddend(t)
	if !ok {
		return Site{}, img.relocErr(r, "relocation type not supported at an import site")
	}
	size := armSiteSize(t)
	secOff, fileOff, err := img.place(r, size)
	if err != nil {
		return Site{}, err
	}
	loc := img.Data[fileOff : fileOff+size]
	if err := relocs.ARMCheck(t, loc); err != nil {
		return Site{}, img.relocErr(r, "%v", err)
	}
	sym := img.Syms[r.Sym]
	P := r.Offset
	if sym.Undefined() {
		want, err := armUnresolvedField(linker, t, A, P)
		if err != nil {
			return Site{}, img.relocErr(r, "cannot prove the addend: %v", err)
		}
		field, err := relocs.ARMAddend(t, loc)
		if err != nil {
			return Site{}, img.relocErr(r, "%v", err)
		}
		if field != want {
			return Site{}, img.relocErr(r, "cannot prove the addend: for addend %d to an undefined symbol %s leaves %#x in this field, but it holds %#x (%s)",
				A, linker, want, field, relocs.ARMDisasm(t, loc, P))
		}
	} else {
		S, T := sym.Value&^1, sym.Kind() == elf.STT_FUNC && sym.Value&1 != 0
		want := append([]byte(nil), loc...)
		err := relocs.ARMApply(t, want, relocs.Values{S: S, A: A, P: P, T: T})
		if err != nil || !bytes.Equal(want, loc) {
			return Site{}, img.relocErr(r, "cannot prove the addend: the bytes (%s) are not what addend %d to %s at %#x gives", relocs.ARMDisasm(t, loc, P), A, sym.Name, sym.Value)
		}
	}
	out := append([]byte(nil), loc...)
	if err := relocs.ARMApply(t, out, relocs.Values{S: tgt.addr, A: A, P: P, T: tgt.thumb}); err != nil {
		return Site{}, img.relocErr(r, "cannot reach %s at %#x: %v", tgt.name, tgt.addr, err)
	}
	site := Site{
		Section: r.Target.Label(), Offset: secOff, Address: P, Type: relocs.ARMTypeName(t), Symbol: sym.Name, Addend: A,
		Before: relocs.ARMDisasm(t, loc, P), After: relocs.ARMDisasm(t, out, P),
		fileOff: fileOff, bytes: out,
	}
	if !bytes.Equal(out, loc) {
		p.edit.patch(fileOff, out)
		p.Changes = append(p.Changes, Change{What: fmt.Sprintf("site %s+0x%x %s: %s -> %s", site.Section, secOff, site.Type, site.Before, site.After), FileOffset: fileOff, Size: size})
	}
	return site, nil
}

package patcher

import (
	"debug/elf"
	"fmt"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
	"github.com/pulseengine/elfpatch/relocs"
)

// ARM uses REL: the addend lives in the relocated bytes, and after the link
// those bytes hold the linker's result instead, mixed with whatever value
// the linker gave the undefined symbol. elfpatch does not guess the addend
// from those bytes. It takes the addend a compiler gives a reference to a
// function (the PC bias for branches: -4 in Thumb, -8 in A32; zero for
// data and MOVW/MOVT), works out what the linker that made the image writes
// for that addend, and proceeds only when the bytes are exactly that.
// Anything else is refused with the site named.
type armArch struct{}

func (armArch) defaultSlot() uint64      { return 256 }
func (armArch) family() string           { return "arm" }
func (armArch) name() string             { return "ARM" }
func (armArch) rela() bool               { return false }
func (armArch) isaBit() bool             { return true }
func (armArch) pointerBits() uint        { return 32 }
func (armArch) slotAlign() uint64        { return 8 }
func (armArch) mappingSymbol() string    { return "$t" }
func (armArch) typeName(t uint32) string { return relocs.ARMTypeName(elf.R_ARM(t)) }
func (armArch) marker(t uint32) bool {
	return elf.R_ARM(t) == elf.R_ARM_NONE || elf.R_ARM(t) == elf.R_ARM_V4BX
}
func (armArch) fill(n uint64) []byte { return repeat(thumbUDF, n) }
func (armArch) check(t uint32, loc, _ []byte) error {
	return relocs.ARMCheck(elf.R_ARM(t), loc)
}
func (armArch) apply(t uint32, loc []byte, v relocs.Values) error {
	return relocs.ARMApply(elf.R_ARM(t), loc, v)
}
func (armArch) disasm(t uint32, loc, _ []byte, P uint64) string {
	return relocs.ARMDisasm(elf.R_ARM(t), loc, P)
}
func (armArch) implicitAddend(t uint32, loc []byte) (int64, error) {
	return relocs.ARMAddend(elf.R_ARM(t), loc)
}

// thumbUDF is the Thumb permanently undefined instruction, udf #0: it
// fills the slot beyond the allocator, and valid on every Thumb core.
var thumbUDF = []byte{0x00, 0xde}

// repeat is n bytes of pattern, repeated.
func repeat(pattern []byte, n uint64) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = pattern[i%len(pattern)]
	}
	return b
}

func (armArch) siteSize(t uint32) uint64 {
	if elf.R_ARM(t) == elf.R_ARM_THM_JUMP11 {
		return 2
	}
	return 4
}

func (armArch) canonicalAddend(t uint32) (int64, bool) {
	switch elf.R_ARM(t) {
	case rThmCall, elf.R_ARM_THM_JUMP24, elf.R_ARM_THM_JUMP19, elf.R_ARM_THM_JUMP11:
		return -4, true
	case elf.R_ARM_CALL, elf.R_ARM_JUMP24:
		return -8, true
	case elf.R_ARM_ABS32, elf.R_ARM_REL32, elf.R_ARM_TARGET1,
		elf.R_ARM_THM_MOVW_ABS_NC, elf.R_ARM_THM_MOVT_ABS, elf.R_ARM_MOVW_ABS_NC, elf.R_ARM_MOVT_ABS:
		return 0, true
	}
	return 0, false
}

// unresolvedField is the value a linker leaves in the field of a site of
// type t, with addend A at address P, whose symbol it could not resolve.
//
// GNU ld gives the symbol the value 0. It writes S + A - P truncated to
// the field of a Thumb branch, without a range check, and as a BLX where
// the core has one (counting from Align(P, 4)); an A32 branch it leaves as
// assembled, holding the addend, when 0 is out of its reach. LLD resolves
// the symbol as it resolves an undefined weak one: data to 0, a branch to
// the next instruction.
func (armArch) unresolvedField(linker string, t uint32, A int64, P uint64, loc []byte) (int64, error) {
	typ := elf.R_ARM(t)
	absolute := typ == elf.R_ARM_ABS32 || typ == elf.R_ARM_TARGET1 || typ == elf.R_ARM_THM_MOVW_ABS_NC ||
		typ == elf.R_ARM_THM_MOVT_ABS || typ == elf.R_ARM_MOVW_ABS_NC || typ == elf.R_ARM_MOVT_ABS
	var v int64
	switch linker {
	case "GNU ld":
		v = A - int64(P)
		if absolute {
			v = A
		}
	case "LLD":
		switch {
		case absolute || typ == elf.R_ARM_REL32:
			v = A
		case typ == elf.R_ARM_THM_JUMP11:
			v = 2 + A
		default:
			v = 4 + A
		}
	default:
		return 0, fmt.Errorf("the image was linked by %s; elfpatch knows what GNU ld and LLD write for an undefined symbol, not what it does", linker)
	}
	switch typ {
	case rThmCall:
		if linker == "GNU ld" && isThumbBLX(loc) {
			return signExtend(A-int64(P&^3), 25) &^ 3, nil
		}
		return signExtend(v, 25) &^ 1, nil
	case elf.R_ARM_THM_JUMP24:
		return signExtend(v, 25) &^ 1, nil
	case elf.R_ARM_CALL, elf.R_ARM_JUMP24, elf.R_ARM_PC24:
		if linker == "GNU ld" && (v < -1<<25 || v > 1<<25-4) {
			return A, nil
		}
		return signExtend(v, 26) &^ 3, nil
	case elf.R_ARM_THM_JUMP19:
		return signExtend(v, 21) &^ 1, nil
	case elf.R_ARM_THM_JUMP11:
		return signExtend(v, 12) &^ 1, nil
	case elf.R_ARM_THM_MOVW_ABS_NC, elf.R_ARM_MOVW_ABS_NC:
		return signExtend(v, 16), nil
	case elf.R_ARM_THM_MOVT_ABS, elf.R_ARM_MOVT_ABS:
		return signExtend(v>>16, 16), nil
	}
	return signExtend(v, 32), nil
}

// signExtend keeps the low bits of v and extends its sign.
func signExtend(v int64, bits uint) int64 {
	shift := 64 - bits
	return v << shift >> shift
}

// armTrapThumb replaces a Thumb call to an undefined weak symbol in
// allocator code: two "udf #0", valid on every Thumb core. A linker would
// turn such a call into a no-op; in an allocator the call is its trap hook,
// and falling through a trap is never right.
var armTrapThumb = []byte{0x00, 0xde, 0x00, 0xde}

// armTrapA32 is the A32 permanently undefined instruction, udf #0.
var armTrapA32 = []byte{0xf0, 0x00, 0xf0, 0xe7}

func (armArch) trapCall(t uint32) (int, []byte, bool) {
	switch elf.R_ARM(t) {
	case rThmCall:
		return 0, armTrapThumb, true
	case elf.R_ARM_CALL:
		return 0, armTrapA32, true
	}
	return 0, nil, false
}

// variant picks the allocator an image can run from its ARM build
// attributes: a Thumb-1-only core must never receive Thumb-2 code. A- and
// R-profile cores run the Thumb-2 allocator too; A32 callers reach it by
// BLX, or through a veneer where a B cannot switch state.
func (armArch) variant(img *Image, forced string) (arenablob.Variant, error) {
	if forced != "" {
		return chooseForced(img, forced)
	}
	a := readARMAttributes(img)
	if !a.present {
		// No attributes (synth writes none): the Thumb-2 allocator only
		// where the image's own code already uses instructions only Thumb-2
		// has, which its relocations show; else Thumb-1, which runs on
		// every core with Thumb.
		for _, r := range img.Relocs {
			switch elf.R_ARM(r.Type) {
			case elf.R_ARM_THM_JUMP24, elf.R_ARM_THM_JUMP19, elf.R_ARM_THM_MOVW_ABS_NC, elf.R_ARM_THM_MOVT_ABS:
				return variantNamed("thumb2")
			}
		}
		return variantNamed("thumb1")
	}
	switch {
	case a.cpuArch == cpuArchV6M, a.cpuArch == cpuArchV6SM, a.cpuArch == cpuArchV8MBase:
		return variantNamed("thumb1")
	case a.cpuArch == cpuArchV7 && a.profile == 'M', a.cpuArch == cpuArchV7EM, a.cpuArch == cpuArchV8MMain, a.cpuArch == cpuArchV81MMain:
		return variantNamed("thumb2")
	case a.cpuArch >= cpuArchV7 && (a.thumbISA == 2 || a.thumbISA == 3):
		// ARMv7 and later, A- or R-profile, Thumb-2 permitted.
		return variantNamed("thumb2")
	}
	return arenablob.Variant{}, errorf(img.Name, "the image targets ARM architecture Tag_CPU_arch %d (profile %q, Tag_THUMB_ISA_use %d); elfpatch's allocators need Thumb-2 or ARMv6-M", a.cpuArch, rune(a.profile), a.thumbISA)
}

// veneer: an A32 branch reaches Thumb code, or a branch reaches farther
// than its field, through "ldr pc" from a literal: it interworks on every
// core that has both states, and a Thumb-1 core gets a sequence of 16-bit
// instructions that keeps every register.
func (armArch) veneer(p *Plan, t uint32, target uint64, thumb bool) (veneerSpec, bool) {
	switch elf.R_ARM(t) {
	case elf.R_ARM_CALL, elf.R_ARM_JUMP24, elf.R_ARM_PC24:
		code := relocs.ARMVeneerA32(target, thumb)
		return veneerSpec{kind: "a32", size: uint64(len(code)), align: 4,
			build: func(uint64) ([]byte, error) { return code, nil }}, true
	case rThmCall, elf.R_ARM_THM_JUMP24, elf.R_ARM_THM_JUMP19, elf.R_ARM_THM_JUMP11:
		v6m := armV6M(p.img)
		code, err := relocs.ARMVeneerThumb(target, thumb, v6m)
		if err != nil {
			return veneerSpec{}, false
		}
		kind := "thumb2"
		if v6m {
			kind = "thumb1"
		}
		return veneerSpec{kind: kind, size: uint64(len(code)), align: 4, enterThumb: true,
			build: func(uint64) ([]byte, error) { return code, nil }}, true
	}
	return veneerSpec{}, false
}

// armV6M reports an image for a core without Thumb-2 (ARMv6-M, ARMv8-M
// Baseline).
func armV6M(img *Image) bool {
	a := readARMAttributes(img)
	return a.cpuArch == cpuArchV6M || a.cpuArch == cpuArchV6SM || a.cpuArch == cpuArchV8MBase
}

// isThumbBLX reports whether loc holds a Thumb BLX (immediate): a 32-bit
// branch with link whose second halfword has bit 12 clear.
func isThumbBLX(loc []byte) bool {
	if len(loc) < 4 {
		return false
	}
	hw1 := uint16(loc[0]) | uint16(loc[1])<<8
	hw2 := uint16(loc[2]) | uint16(loc[3])<<8
	return hw1&0xf800 == 0xf000 && hw2&0xd000 == 0xc000
}

// Package relocs computes and encodes relocations: pure functions over the
// bytes of one place and the addresses involved, one file per architecture.
//
// Nothing here reads files or knows about sections; the caller finds the
// place, the symbol and the relocation type, and adds them (file, section,
// offset, symbol) to any error returned from here.
package relocs

import (
	"fmt"
	"strconv"
	"strings"
)

// Values are the operands of a relocation formula, named as the ELF ABIs name them.
type Values struct {
	S uint64 // address of the symbol (for ARM: without the Thumb bit)
	A int64  // addend
	P uint64 // address of the place being relocated
	T bool   // the target is Thumb code (ARM only): ORs 1 into function addresses, selects BL over BLX
}

// RangeError reports a computed value that does not fit the instruction field.
type RangeError struct {
	Value    int64
	Min, Max int64
	Field    string // e.g. "Thumb BL offset"
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("value %#x out of range [%#x, %#x] of %s", e.Value, e.Min, e.Max, e.Field)
}

// AlignError reports a value the field cannot hold because it is not a
// multiple of Align (an odd branch target, a BLX target not 4-aligned).
type AlignError struct {
	Value int64
	Align int64
	Field string // e.g. "Thumb BLX target"
}

func (e *AlignError) Error() string {
	return fmt.Sprintf("value %#x of %s is not a multiple of %d", e.Value, e.Field, e.Align)
}

// InsnError reports that the bytes at the place are not what the relocation
// type applies to, or too few of them.
type InsnError struct {
	Type  string // relocation type, e.g. "R_ARM_THM_CALL"; empty when none was given
	Want  string // what the type applies to, e.g. "a BL or BLX"
	Found string // the bytes found, as the architecture groups them, e.g. "0x4770 0x46c0"
	Why   string // e.g. "not a 32-bit branch-with-link", "need 4 bytes, have 2"
}

func (e *InsnError) Error() string {
	if e.Type == "" {
		return fmt.Sprintf("want %s, found %s (%s)", e.Want, e.Found, e.Why)
	}
	return fmt.Sprintf("%s applies to %s, found %s (%s)", e.Type, e.Want, e.Found, e.Why)
}

// UnsupportedError reports a relocation type this package does not handle.
type UnsupportedError struct {
	Type string
}

func (e *UnsupportedError) Error() string {
	return "unsupported relocation type " + e.Type
}

func checkRange(v, min, max int64, field string) error {
	if v < min || v > max {
		return &RangeError{Value: v, Min: min, Max: max, Field: field}
	}
	return nil
}

func checkAlign(v, align int64, field string) error {
	if v&(align-1) != 0 {
		return &AlignError{Value: v, Align: align, Field: field}
	}
	return nil
}

// checkWord accepts anything a 32-bit field can hold, read either as signed
// or as unsigned: in a 32-bit address space -4 and 0xfffffffc are the same
// place, so only a value that needs a 33rd bit is out of range.
func checkWord(v int64, field string) error {
	return checkRange(v, -1<<31, 1<<32-1, field)
}

func signExtend(v uint64, bits uint) int64 {
	shift := 64 - bits
	return int64(v<<shift) >> shift
}

// hexBytes formats a short buffer for an InsnError.
func hexBytes(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	s := make([]string, len(b))
	for i, c := range b {
		s[i] = fmt.Sprintf("0x%02x", c)
	}
	return strings.Join(s, " ")
}

// typeName is name, debug/elf's spelling of relocation type t, unless
// debug/elf does not know t: it then names the nearest type below it
// ("R_ARM_IRELATIVE+40"), a type the file does not have.
func typeName(name string, t uint32) string {
	if strings.Contains(name, "+") || name == strconv.FormatUint(uint64(t), 10) {
		return fmt.Sprintf("unknown relocation type %d", t)
	}
	return name
}

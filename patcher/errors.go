package patcher

import (
	"fmt"
	"strings"
)

// Error is what elfpatch reports about a file: where (file, section and
// offset), which relocation and symbol were involved, and what is wrong, in
// the form linkers use:
//
//	app.elf: .text+0x1c: R_ARM_THM_CALL to cabi-arena-realloc: out of range
type Error struct {
	File string
	// Section names the section the offset is in; empty with HasOffset set
	// means Offset is a file offset.
	Section   string
	Offset    uint64
	HasOffset bool
	// Reloc is the relocation type's name, e.g. "R_ARM_THM_CALL".
	Reloc string
	// Symbol is the symbol involved, if any.
	Symbol string
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	switch {
	case e.Section != "" && e.HasOffset:
		fmt.Fprintf(&b, "%s+0x%x: ", e.Section, e.Offset)
	case e.Section != "":
		fmt.Fprintf(&b, "%s: ", e.Section)
	case e.HasOffset:
		fmt.Fprintf(&b, "offset 0x%x: ", e.Offset)
	}
	switch {
	case e.Reloc != "" && e.Symbol != "":
		fmt.Fprintf(&b, "%s to %s: ", e.Reloc, e.Symbol)
	case e.Reloc != "":
		fmt.Fprintf(&b, "%s: ", e.Reloc)
	case e.Symbol != "":
		fmt.Fprintf(&b, "%s: ", e.Symbol)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is several independent problems found in one pass, reported
// together so a user fixes them all at once. Each prints on its own line.
type Errors []*Error

func (l Errors) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// errorf makes an Error about the whole file.
func errorf(file, format string, args ...any) *Error {
	return &Error{File: file, Msg: fmt.Sprintf(format, args...)}
}

// atOffset makes an Error about a file offset.
func atOffset(file string, off uint64, format string, args ...any) *Error {
	return &Error{File: file, Offset: off, HasOffset: true, Msg: fmt.Sprintf(format, args...)}
}

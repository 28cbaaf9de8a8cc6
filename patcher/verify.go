package patcher

import (
	"bytes"
	"debug/elf"
	"fmt"

	"github.com/pulseengine/elfpatch/relocs"
)

// VerifyReport is what verify found: whether every import site reaches the
// allocator, and what does not.
type VerifyReport struct {
	File      string         `json:"file"`
	OK        bool           `json:"ok"`
	Allocator *Allocator     `json:"allocator,omitempty"`
	Sites     []VerifiedSite `json:"sites"`
	Problems  []string       `json:"problems"`
}

// VerifiedSite is one former import site and where it now goes.
type VerifiedSite struct {
	Section     string `json:"section"`
	Offset      uint64 `json:"offset"`
	Type        string `json:"type"`
	Symbol      string `json:"symbol"`
	Instruction string `json:"instruction"`
	Reaches     bool   `json:"reaches_allocator"`
}

// Verify proves that a patched image binds every import site to the
// allocator, and that an allocator elfpatch injected is exactly the one it
// builds for the image's arena. An unpatched image fails.
func Verify(img *Image, opts Options) (*VerifyReport, error) {
	if err := checkSupported(img); err != nil {
		return nil, err
	}
	rep := &VerifyReport{File: img.Name}
	problem := func(e *Error) { rep.Problems = append(rep.Problems, e.Error()) }

	names, _, _ := findImports(img, opts)
	alloc := img.SymbolNamed(allocSym)
	bound := alloc != nil && !alloc.Undefined() && alloc.Kind() == elf.STT_FUNC
	if !bound {
		problem(&Error{File: img.Name, Symbol: allocSym, Msg: "is not defined: the image is not patched"})
	}
	for _, s := range img.Syms {
		if s.Index == 0 || !names[s.Name] || s.Kind() == elf.STT_SECTION {
			continue
		}
		if bound && (s.Undefined() || s.Value != alloc.Value) {
			problem(&Error{File: img.Name, Symbol: s.Name, Msg: fmt.Sprintf("is not bound to the allocator at %#x", alloc.Value&^1)})
		}
	}
	for _, r := range img.Relocs {
		if r.Sym == 0 || !names[img.Syms[r.Sym].Name] || !r.Target.Alloc() {
			continue
		}
		t := elf.R_ARM(r.Type)
		size := armSiteSize(t)
		secOff, fileOff, err := img.place(r, size)
		if err != nil {
			rep.Problems = append(rep.Problems, err.Error())
			continue
		}
		loc := img.Data[fileOff : fileOff+size]
		vs := VerifiedSite{Section: r.Target.Label(), Offset: secOff, Type: relocs.ARMTypeName(t), Symbol: img.Syms[r.Sym].Name, Instruction: relocs.ARMDisasm(t, loc, r.Offset)}
		A, known := armCanonicalAddend(t)
		if bound && known {
			want := append([]byte(nil), loc...)
			err := relocs.ARMApply(t, want, relocs.Values{S: alloc.Value &^ 1, A: A, P: r.Offset, T: alloc.Value&1 != 0})
			vs.Reaches = err == nil && bytes.Equal(want, loc) && relocs.ARMCheck(t, loc) == nil
		}
		if !vs.Reaches {
			problem(img.relocErr(r, "does not reach the allocator: %s", vs.Instruction))
		}
		rep.Sites = append(rep.Sites, vs)
	}
	if bound {
		// Planning the same patch again must change nothing: that proves
		// the slot holds the allocator built for this arena and state.
		p, err := NewPlan(img, Options{Imports: opts.Imports, Variant: opts.Variant, AllowUndefined: true})
		switch {
		case err != nil:
			rep.Problems = append(rep.Problems, err.Error())
		case p.Action != "unchanged":
			for _, c := range p.Changes {
				problem(atOffset(img.Name, c.FileOffset, "differs from what elfpatch writes: %s", c.What))
			}
		default:
			rep.Allocator = p.Allocator
		}
	}
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}

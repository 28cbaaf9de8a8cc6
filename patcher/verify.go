package patcher

import (
	"bytes"
	"debug/elf"
	"fmt"
	"strings"

	"github.com/pulseengine/elfpatch/relocs"
)

// VerifyReport is what verify found: whether every import site reaches the
// allocator, and what does not.
type VerifyReport struct {
	// Schema names this report's JSON form (docs/json.md).
	Schema    string         `json:"schema"`
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
	a, err := checkSupported(img)
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{Schema: "elfpatch/verify/1", File: img.Name}
	problem := func(e *Error) { rep.Problems = append(rep.Problems, e.Error()) }
	// The provenance note says what the image was given; planned again,
	// the note must be the one the image has, whichever elfpatch wrote it.
	pv, err := ReadProvenance(img)
	if err != nil {
		problem(err.(*Error))
	}
	if pv != nil {
		opts.Version = pv.Version
	}
	if img.Type == elf.ET_REL {
		verifyObject(img, opts, rep)
		rep.OK = len(rep.Problems) == 0
		return rep, nil
	}
	if pv != nil && opts.Variant == "" && opts.ArenaObject == nil {
		if pv.ArenaObject {
			problem(&Error{File: img.Name, Section: provenanceSection, Msg: fmt.Sprintf("patched with the allocator object %s (sha256 %s); give it with --arena-object to verify it", pv.Variant, pv.SHA256)})
			rep.OK = false
			return rep, nil
		}
		if name, _, _ := strings.Cut(pv.Variant, "+"); name != "linked" {
			opts.Variant = name
		}
		if opts.PointerBase == "" {
			opts.PointerBase = pv.PointerBase
		}
	}

	names, _, sites := findImports(img, opts)
	alloc := img.SymbolNamed(allocSym)
	bound := alloc != nil && !alloc.Undefined() && alloc.Kind() == elf.STT_FUNC
	if !bound {
		problem(&Error{File: img.Name, Symbol: allocSym, Msg: "is not defined: the image is not patched"})
	}
	var S uint64
	var T bool
	if bound {
		S, T = symbolAddress(a, alloc)
	}
	for _, s := range img.Syms {
		if s.Index == 0 || !names[s.Name] || s.Kind() == elf.STT_SECTION || s.Kind() == elf.STT_FILE {
			continue
		}
		if bound && (s.Undefined() || s.Value != alloc.Value) {
			problem(&Error{File: img.Name, Symbol: s.Name, Msg: fmt.Sprintf("is not bound to the allocator at %#x", S)})
		}
	}
	slot, _ := (&Plan{img: img, arch: a}).findSlot()
	for _, r := range linkerResolved(img, slot, sites) {
		if a.marker(r.Type) {
			continue
		}
		pl, err := img.placeOf(a, r)
		if err != nil {
			rep.Problems = append(rep.Problems, err.Error())
			continue
		}
		vs := VerifiedSite{Section: r.Target.Label(), Offset: pl.secOff, Type: a.typeName(r.Type), Symbol: img.Syms[r.Sym].Name,
			Instruction: a.disasm(r.Type, pl.loc, pl.before, pl.P)}
		A, known := r.Addend, true
		if !a.rela() {
			A, known = a.canonicalAddend(r.Type)
		}
		if bound && known && a.check(r.Type, pl.loc, pl.before) == nil {
			want := append([]byte(nil), pl.loc...)
			err := a.apply(r.Type, want, relocs.Values{S: S, A: A, P: pl.P, T: T})
			if d, ok := a.(differences); ok {
				if width, isAdd := d.addWidth(r.Type); isAdd {
					want, err = (&Plan{img: img, arch: a}).difference(r, S, width)
				}
			}
			vs.Reaches = err == nil && bytes.Equal(want, pl.loc) || viaVeneer(img, a, r, pl, S, T, A)
		}
		if !vs.Reaches {
			problem(img.relocErr(r, "does not reach the allocator: %s", vs.Instruction))
		}
		rep.Sites = append(rep.Sites, vs)
	}
	if bound {
		// Planning the same patch again must change nothing: that proves
		// the slot holds the allocator built for this arena and state.
		p, err := NewPlan(img, Options{Imports: opts.Imports, Variant: opts.Variant, ArenaObject: opts.ArenaObject, Version: opts.Version,
			PointerBase: opts.PointerBase, PointerLimit: opts.PointerLimit, trustRecordedBase: true, AllowUndefined: true})
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

// viaVeneer is Plan.viaVeneer for verify, which has no plan of its own.
func viaVeneer(img *Image, a arch, r *Reloc, s site, S uint64, T bool, A int64) bool {
	p := &Plan{img: img, arch: a}
	slot, err := p.findSlot()
	if err != nil {
		return false
	}
	p.Slot = slot
	return p.viaVeneer(r, s, S, T, A)
}

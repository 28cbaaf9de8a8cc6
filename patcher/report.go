package patcher

import (
	"debug/elf"
)

// Report is what inspect shows: the imports and their sites as the image
// has them, and the plan of a patch, or the problems that would refuse one.
type Report struct {
	// Schema names this report's JSON form (docs/json.md).
	Schema  string   `json:"schema"`
	File    string   `json:"file"`
	Machine string   `json:"machine"`
	Imports []Import `json:"imports"`
	Sites   []Site   `json:"sites"`
	// Provenance is the note of an image elfpatch patched before.
	Provenance *Provenance `json:"provenance,omitempty"`
	Plan       *Plan       `json:"plan,omitempty"`
	Problems   []string    `json:"problems,omitempty"`
}

// Inspect reports on img without changing anything.
func Inspect(img *Image, opts Options) *Report {
	r := &Report{Schema: "elfpatch/inspect/1", File: img.Name, Machine: machineName(img.Machine), Imports: []Import{}, Sites: []Site{}}
	if pv, err := ReadProvenance(img); err != nil {
		r.Problems = append(r.Problems, err.Error())
	} else {
		r.Provenance = pv
	}
	_, imports, sites := findImports(img, opts)
	for _, s := range imports {
		r.Imports = append(r.Imports, importOf(s, sites))
	}
	a, aerr := archOf(img)
	for _, rel := range sites {
		site := Site{Section: rel.Target.Label(), Address: rel.Offset, Type: relocTypeName(img.Machine, rel.Type), Symbol: img.Syms[rel.Sym].Name}
		if aerr == nil {
			if pl, err := img.placeOf(a, rel); err == nil {
				site.Offset = pl.secOff
				site.Before = a.disasm(rel.Type, pl.loc, pl.before, pl.P)
			}
		}
		r.Sites = append(r.Sites, site)
	}
	p, err := NewPlan(img, opts)
	if err != nil {
		r.Problems = append(r.Problems, splitLines(err)...)
		return r
	}
	r.Plan = p
	return r
}

func splitLines(err error) []string {
	if l, ok := err.(Errors); ok {
		var out []string
		for _, e := range l {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

// findImports finds the import spellings opts asks for, their symbols, and
// the relocations in loaded sections that use them.
func findImports(img *Image, opts Options) (names map[string]bool, imports []*Symbol, sites []*Reloc) {
	names = map[string]bool{}
	for _, n := range append(append([]string{}, DefaultImports...), opts.Imports...) {
		names[n] = true
	}
	for _, s := range img.Syms {
		if s.Index == 0 || !names[s.Name] || s.Kind() == elf.STT_SECTION || s.Kind() == elf.STT_FILE {
			continue
		}
		imports = append(imports, s)
	}
	for _, r := range img.Relocs {
		// A relocation against a section or file symbol that happens to
		// carry an import's name is not a use of the import.
		if s := img.Syms[r.Sym]; r.Sym == 0 || !names[s.Name] || s.Kind() == elf.STT_SECTION || s.Kind() == elf.STT_FILE || !r.Target.Alloc() {
			continue
		}
		sites = append(sites, r)
	}
	return names, imports, sites
}

func importOf(s *Symbol, sites []*Reloc) Import {
	imp := Import{Name: s.Name, Symbol: s.Index, Defined: !s.Undefined()}
	for _, r := range sites {
		if int(r.Sym) == s.Index {
			imp.Sites++
		}
	}
	if imp.Defined {
		imp.Value = s.Value
	}
	return imp
}

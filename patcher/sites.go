package patcher

import (
	"bytes"
	"debug/elf"
	"fmt"

	"github.com/pulseengine/elfpatch/relocs"
)

// An import site is a relocation a linker applied against a symbol it could
// not resolve. On a RELA architecture the entry still carries its addend,
// and elfpatch only has to compute the field again with the allocator as
// the symbol. On a REL architecture (ARM) the addend was in the bytes the
// linker overwrote: the arch proves it, or the site is refused.

// halfPairs is implemented by REL architectures whose high-half
// relocations (ARM MOVT) keep too little of their value to prove an addend
// alone: the low half of the pair (MOVW) proves it.
type halfPairs interface {
	lowHalfOf(high uint32) (low uint32, ok bool)
}

// dependentSites is implemented by architectures where a relocation takes
// its value from another place (RISC-V PCREL_LO12 names the auipc whose
// PCREL_HI20 it completes): when the import site moves, they move with it.
type dependentSites interface {
	dependents(img *Image, hi *Reloc) []*Reloc
	applyDependent(t uint32, loc []byte, hiValue int64) error
	// hiValue is the pc-relative value a high part at P encodes for S+A.
	hiValue(S uint64, A int64, P uint64) int64
}

// differences is implemented by architectures that write a difference of
// two symbols as an ADD relocation against one and a SUB against the other
// at the same place (RISC-V).
type differences interface {
	addWidth(t uint32) (uint64, bool)
	subOf(add uint32) uint32
}

// difference computes the field of an ADD site whose symbol is at S: S +
// A minus the S + A of the SUB relocation at the same place, if any.
func (p *Plan) difference(r *Reloc, S uint64, width uint64) ([]byte, error) {
	img, d := p.img, p.arch.(differences)
	v := S + uint64(r.Addend)
	sub := d.subOf(r.Type)
	if img.relocsAt == nil {
		img.relocsAt = map[relocPlace][]*Reloc{}
		for _, o := range img.Relocs {
			k := relocPlace{o.Sec, o.Offset}
			img.relocsAt[k] = append(img.relocsAt[k], o)
		}
	}
	for _, o := range img.relocsAt[relocPlace{r.Sec, r.Offset}] {
		if o.Type == sub {
			v -= img.Syms[o.Sym].Value + uint64(o.Addend)
		}
	}
	out := make([]byte, 8)
	img.Order.PutUint64(out, v)
	return out[:width], nil
}

// addendOf proves a site's addend: from the entry on a RELA architecture;
// on a REL one from the bytes, which must be exactly what the linker
// writes for the canonical addend, either for an undefined symbol (by the
// linker's own rule) or for the symbol's current definition.
func (p *Plan) addendOf(r *Reloc, s site, linker string) (int64, error) {
	img, a := p.img, p.arch
	if a.rela() {
		return r.Addend, nil
	}
	A, ok := a.canonicalAddend(r.Type)
	if !ok {
		return 0, img.relocErr(r, "relocation type not supported at an import site")
	}
	sym := img.Syms[r.Sym]
	if sym.Undefined() {
		want, err := a.unresolvedField(linker, r.Type, A, s.P, s.loc)
		if err != nil {
			return 0, img.relocErr(r, "cannot prove the addend: %v", err)
		}
		field, err := a.implicitAddend(r.Type, s.loc)
		if err != nil {
			return 0, img.relocErr(r, "%v", err)
		}
		if field != want {
			return 0, img.relocErr(r, "cannot prove the addend: for addend %d to an undefined symbol %s leaves %#x in this field, but it holds %#x (%s)",
				A, linker, want, field, a.disasm(r.Type, s.loc, s.before, s.P))
		}
		return A, nil
	}
	S, T := symbolAddress(a, sym)
	want := append([]byte(nil), s.loc...)
	if err := a.apply(r.Type, want, relocs.Values{S: S, A: A, P: s.P, T: T}); (err != nil || !bytes.Equal(want, s.loc)) && !p.viaVeneer(r, s, S, T, A) {
		return 0, img.relocErr(r, "cannot prove the addend: the bytes (%s) are not what addend %d to %s at %#x gives",
			a.disasm(r.Type, s.loc, s.before, s.P), A, sym.Name, sym.Value)
	}
	return A, nil
}

// symbolAddress splits a symbol's value into the address and, where the
// architecture has one, the instruction-set bit of a function.
func symbolAddress(a arch, s *Symbol) (uint64, bool) {
	if a.isaBit() && s.Kind() == elf.STT_FUNC {
		return s.Value &^ 1, s.Value&1 != 0
	}
	return s.Value, false
}

// bindSite proves a site's addend and plans its bytes bound to tgt.
func (p *Plan) bindSite(r *Reloc, tgt *target, linker string) (Site, error) {
	img, a := p.img, p.arch
	s, err := img.placeOf(a, r)
	if err != nil {
		return Site{}, err
	}
	if err := a.check(r.Type, s.loc, s.before); err != nil {
		return Site{}, img.relocErr(r, "%v", err)
	}
	A, err := p.addendOf(r, s, linker)
	if err != nil {
		return Site{}, err
	}
	out := append([]byte(nil), s.loc...)
	if d, ok := a.(differences); ok {
		if width, isAdd := d.addWidth(r.Type); isAdd {
			out, err = p.difference(r, tgt.addr, width)
			if err != nil {
				return Site{}, img.relocErr(r, "%v", err)
			}
			return p.recordSite(r, s, out, A), nil
		}
	}
	if err := a.apply(r.Type, out, relocs.Values{S: tgt.addr, A: A, P: s.P, T: tgt.thumb}); err != nil {
		if !needsVeneer(err) {
			return Site{}, img.relocErr(r, "cannot reach %s at %#x: %v", tgt.name, tgt.addr, err)
		}
		at, thumb, verr := p.veneerFor(r.Type, tgt)
		if verr == nil {
			verr = a.apply(r.Type, out, relocs.Values{S: at, A: A, P: s.P, T: thumb})
		}
		if verr != nil {
			return Site{}, img.relocErr(r, "cannot reach %s at %#x (%#x bytes away): %v; nor a veneer in the slot: %v; place the slot (%s) within reach of this code",
				tgt.name, tgt.addr, distance(tgt.addr, s.P), err, verr, slotSym)
		}
	}
	site := p.recordSite(r, s, out, A)
	if ds, ok := a.(dependentSites); ok {
		hi := ds.hiValue(tgt.addr, A, s.P)
		for _, d := range ds.dependents(img, r) {
			dsite, err := img.placeOf(a, d)
			if err != nil {
				return Site{}, err
			}
			if err := a.check(d.Type, dsite.loc, dsite.before); err != nil {
				return Site{}, img.relocErr(d, "%v", err)
			}
			dout := append([]byte(nil), dsite.loc...)
			if err := ds.applyDependent(d.Type, dout, hi); err != nil {
				return Site{}, img.relocErr(d, "%v", err)
			}
			p.Sites = append(p.Sites, p.recordSite(d, dsite, dout, 0))
		}
	}
	return site, nil
}

// recordSite describes a site and plans the write of its new bytes.
func (p *Plan) recordSite(r *Reloc, s site, out []byte, A int64) Site {
	img, a := p.img, p.arch
	site := Site{
		Section: r.Target.Label(), Offset: s.secOff, Address: s.P, Type: a.typeName(r.Type),
		Symbol: img.Syms[r.Sym].Name, Addend: A,
		Before: a.disasm(r.Type, s.loc, s.before, s.P), After: a.disasm(r.Type, out, s.before, s.P),
		fileOff: s.fileOff, bytes: out,
	}
	if !bytes.Equal(out, s.loc) {
		p.edit.patch(s.fileOff, out)
		p.Changes = append(p.Changes, Change{What: fmt.Sprintf("site %s+0x%x %s: %s -> %s", site.Section, s.secOff, site.Type, site.Before, site.After), FileOffset: s.fileOff, Size: uint64(len(out))})
	}
	return site
}

// distance is how far apart two addresses are.
func distance(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

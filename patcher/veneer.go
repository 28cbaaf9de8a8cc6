package patcher

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/pulseengine/elfpatch/relocs"
)

// A veneer is what a linker places where a branch cannot reach its target
// or cannot switch to its instruction set: a few instructions, within
// reach, that jump to the target by its full address. elfpatch places them
// in the slot, after the allocator, and binds the site to the veneer. A
// site that cannot reach the slot either is refused with the distances.

// veneerer is implemented by architectures whose branches may need one.
type veneerer interface {
	// veneer describes the veneer a site of type t needs to reach target
	// (thumb: the target is Thumb code): its size and alignment, whether
	// the site enters it in Thumb state, and how to build it at an
	// address. ok is false when no veneer can help this type.
	veneer(p *Plan, t uint32, target uint64, thumb bool) (v veneerSpec, ok bool)
}

type veneerSpec struct {
	kind       string // names the code, for reuse and messages
	size       uint64
	align      uint64
	enterThumb bool
	build      func(at uint64) ([]byte, error)
}

// placedVeneer is a veneer the plan puts in the slot.
type placedVeneer struct {
	kind   string
	target uint64
	addr   uint64
	code   []byte
	thumb  bool
}

// needsVeneer reports whether applying failed for a reason a veneer
// removes: the target out of the field's reach, or in the other
// instruction set.
func needsVeneer(err error) bool {
	var re *relocs.RangeError
	var ie *relocs.InterworkError
	return errors.As(err, &re) || errors.As(err, &ie)
}

// veneerFor returns the address of a veneer that reaches tgt for a site of
// type t, placing one in the slot unless an equal one is there already.
func (p *Plan) veneerFor(t uint32, tgt *target) (uint64, bool, error) {
	vz, ok := p.arch.(veneerer)
	if !ok || p.Slot == nil {
		return 0, false, errors.New("no veneer can help")
	}
	spec, ok := vz.veneer(p, t, tgt.addr, tgt.thumb)
	if !ok {
		return 0, false, errors.New("no veneer can help")
	}
	for _, v := range p.veneers {
		if v.kind == spec.kind && v.target == tgt.addr {
			return v.addr, v.thumb, nil
		}
	}
	at := p.Slot.Address + p.slotUsed()
	at = (at + spec.align - 1) &^ (spec.align - 1)
	code, err := spec.build(at)
	if err != nil {
		return 0, false, err
	}
	p.veneers = append(p.veneers, placedVeneer{kind: spec.kind, target: tgt.addr, addr: at, code: code, thumb: spec.enterThumb})
	return at, spec.enterThumb, nil
}

// slotUsed is how many bytes of the slot the allocator and the veneers
// take so far.
func (p *Plan) slotUsed() uint64 {
	used := uint64(len(p.slotCode))
	for _, v := range p.veneers {
		if end := v.addr - p.Slot.Address + uint64(len(v.code)); end > used {
			used = end
		}
	}
	return used
}

// finishSlot writes the slot: the allocator, the veneers, and the fill
// after them, so that a re-patch leaves no stale code behind. A slot that
// receives neither is left as it is.
func (p *Plan) finishSlot() error {
	s := p.Slot
	if s == nil || (p.slotCode == nil && len(p.veneers) == 0) {
		return nil
	}
	used := p.slotUsed()
	if used > s.Size {
		return &Error{File: p.img.Name, Section: s.Section, Offset: s.Address - p.img.Sections[s.secIndex].Addr, HasOffset: true, Symbol: slotSym,
			Msg: fmt.Sprintf("the slot holds %d bytes, but the allocator (%d bytes) and %d veneer(s) need %d: link with a larger slot (ELFPATCH_SLOT_SIZE=%d)",
				s.Size, len(p.slotCode), len(p.veneers), used, (used+63)&^63)}
	}
	s.Used = used
	fill := p.arch.fill(s.Size)
	copy(fill, p.slotCode)
	for _, v := range p.veneers {
		copy(fill[v.addr-s.Address:], v.code)
	}
	p.edit.patch(s.fileOff, fill)
	what := fmt.Sprintf("the slot at %s+0x%x", s.Section, s.Address-p.img.Sections[s.secIndex].Addr)
	if p.slotCode != nil {
		what = fmt.Sprintf("allocator %s (%d bytes) into %s", p.Allocator.Variant, len(p.slotCode), what)
	}
	if len(p.veneers) > 0 {
		what += fmt.Sprintf(", with %d veneer(s)", len(p.veneers))
	}
	p.Changes = append([]Change{{What: what, FileOffset: s.fileOff, Size: s.Size}}, p.Changes...)
	return nil
}

// viaVeneer reports whether the site's bytes send it to a veneer in the
// slot that reaches the symbol at S: the site, bound with addend A to some
// place X of the slot, gives exactly its bytes, and X holds the veneer the
// architecture builds at X for S. A patched image's sites that needed a
// veneer are proven, and verified, this way.
func (p *Plan) viaVeneer(r *Reloc, s site, S uint64, T bool, A int64) bool {
	vz, ok := p.arch.(veneerer)
	if !ok || p.Slot == nil {
		return false
	}
	spec, ok := vz.veneer(p, r.Type, S, T)
	if !ok {
		return false
	}
	img, slot := p.img, p.Slot
	for off := uint64(0); off+spec.size <= slot.Size; off += spec.align {
		X := slot.Address + off
		if X%spec.align != 0 {
			continue
		}
		got := append([]byte(nil), s.loc...)
		if p.arch.apply(r.Type, got, relocs.Values{S: X, A: A, P: s.P, T: spec.enterThumb}) != nil || !bytes.Equal(got, s.loc) {
			continue
		}
		code, err := spec.build(X)
		return err == nil && bytes.Equal(img.Data[slot.fileOff+off:slot.fileOff+off+uint64(len(code))], code)
	}
	return false
}

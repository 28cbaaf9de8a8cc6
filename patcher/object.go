package patcher

import (
	"debug/elf"
	"fmt"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
)

// A relocatable object (synth --relocatable, ld -r) is patched before its
// final link, which elfpatch does not control: the result must link with
// no special flags and no script change. So nothing is bound in place.
// elfpatch adds the allocator's sections to the object, with their
// relocations, adds its state and its arena as .bss sections the user's
// *(.bss*) takes (the startup clears them, so every reset empties the
// arena), and turns the import symbols into definitions of the allocator.
// The object's own sections keep their contents and indices; only the
// symbol table gains entries (new local symbols go before the globals, so
// every relocation's symbol index is renumbered to match).
const (
	objStateSection = ".bss.elfpatch.state"
	objArenaSection = ".bss.elfpatch.arena"
	// objDefaultArena is the arena an object gets without --arena-size.
	objDefaultArena = 16 * 1024
)

// addedSection is a section a patch appends to an object.
type addedSection struct {
	name    string
	typ     elf.SectionType
	flags   elf.SectionFlag
	align   uint64
	link    uint32
	info    uint32
	entsize uint64
	data    []byte // nil for NOBITS
	size    uint64
}

// objPlan builds the output object's symbol table and new sections.
type objPlan struct {
	p           *Plan
	img         *Image
	firstGlobal int
	locals      []*Symbol // new local symbols
	globals     []*Symbol // new global symbols
	modified    map[int]*Symbol
	added       []addedSection
	pending     []pendingRelocs
}

// pendingRelocs are an added relocation section's entries, to be encoded
// once every symbol's output index is known.
type pendingRelocs struct {
	section int
	entries []*Reloc
	symMap  map[int]symRef
}

// index of a new local or global symbol in the output symbol table.
func (o *objPlan) localIndex(i int) uint32 { return uint32(o.firstGlobal + i) }
func (o *objPlan) globalIndex(i int) uint32 {
	return uint32(len(o.img.Syms) + len(o.locals) + i)
}

// outIndex maps an existing symbol's index to its place in the output.
func (o *objPlan) outIndex(old uint32) uint32 {
	if int(old) >= o.firstGlobal {
		return old + uint32(len(o.locals))
	}
	return old
}

// symRef names an output symbol before the final indices are known.
type symRef struct {
	kind int // 0 existing, 1 new local, 2 new global
	i    int
}

func (o *objPlan) resolve(r symRef) uint32 {
	switch r.kind {
	case 1:
		return o.localIndex(r.i)
	case 2:
		return o.globalIndex(r.i)
	}
	return o.outIndex(uint32(r.i))
}

// define makes the existing symbol idx a definition.
func (o *objPlan) define(idx int, value, size uint64, shndx uint16, kind elf.SymType) {
	s := *o.img.Syms[idx]
	if c, ok := o.modified[idx]; ok {
		s = *c
	}
	s.Value, s.Size, s.Shndx = value, size, shndx
	s.Info = elf.ST_INFO(elf.ST_BIND(s.Info), kind)
	o.modified[idx] = &s
}

// global adds a new global symbol, or defines the existing one of that
// name; it returns a reference to it.
func (o *objPlan) global(name string, bind elf.SymBind, kind elf.SymType, value, size uint64, shndx uint16, other uint8) symRef {
	if s := o.img.SymbolNamed(name); s != nil && s.Bind() != elf.STB_LOCAL {
		// The object's own definition stands; an undefined reference
		// becomes the definition.
		if s.Undefined() && shndx != uint16(elf.SHN_UNDEF) {
			o.define(s.Index, value, size, shndx, kind)
			o.modified[s.Index].Info = elf.ST_INFO(bind, kind)
		}
		return symRef{0, s.Index}
	}
	for i, g := range o.globals {
		if g.Name == name {
			if shndx != uint16(elf.SHN_UNDEF) {
				g.Info, g.Other, g.Value, g.Size, g.Shndx = elf.ST_INFO(bind, kind), other, value, size, shndx
			}
			return symRef{2, i}
		}
	}
	o.globals = append(o.globals, &Symbol{Name: name, Info: elf.ST_INFO(bind, kind), Other: other, Value: value, Size: size, Shndx: shndx})
	return symRef{2, len(o.globals) - 1}
}

// stvHidden keeps elfpatch's own symbols out of any dynamic symbol table.
const stvHidden = 2

// planRelocatable plans the patch of a relocatable object.
func (p *Plan) planRelocatable(opts Options, imports []*Symbol) error {
	img := p.img
	// An object elfpatch patched before carries its note: patching it
	// again can only re-size its arena.
	if pv, err := ReadProvenance(img); err != nil {
		return err
	} else if pv != nil && img.SymbolNamed(allocSym) != nil && !img.SymbolNamed(allocSym).Undefined() {
		p.recorded = pv
		return p.resizeObject(opts, imports)
	}
	if opts.PointerBase != "" {
		return errorf(img.Name, "--pointer-base needs a linked image: only there is the arena's address known, to prove it lies inside linear memory")
	}
	o := &objPlan{p: p, img: img, firstGlobal: int(img.Symtab.Info), modified: map[int]*Symbol{}}
	if o.firstGlobal < 1 || o.firstGlobal > len(img.Syms) {
		return &Error{File: img.Name, Section: img.Symtab.Label(), Msg: fmt.Sprintf("sh_info %d is not the index of the first global symbol", o.firstGlobal)}
	}

	// The allocator: the object's own, or one elfpatch adds.
	var alloc symRef
	var fn Symbol
	own := img.SymbolNamed(allocSym)
	if own != nil && !own.Undefined() {
		if own.Kind() != elf.STT_FUNC {
			return &Error{File: img.Name, Symbol: allocSym, Msg: fmt.Sprintf("defined but not as a function (%v)", own.Kind())}
		}
		alloc, fn = symRef{0, own.Index}, *own
		addr, thumb := symbolAddress(p.arch, own)
		p.Allocator = &Allocator{Variant: "linked", Address: addr, Size: own.Size, Thumb: thumb, Linked: true}
	} else {
		v, err := p.allocatorObject(opts)
		if err != nil {
			return err
		}
		if alloc, fn, err = o.merge(v); err != nil {
			return err
		}
		addr, thumb := symbolAddress(p.arch, &fn)
		p.Allocator = &Allocator{Variant: v.Name, SHA256: v.SHA256, Address: addr, Size: fn.Size, Thumb: thumb}
	}
	if err := importsDefinedElsewhere(img, imports, &fn); err != nil {
		return err
	}
	if err := o.provideRegion(opts); err != nil {
		return err
	}
	for _, s := range imports {
		if s.Undefined() {
			o.define(s.Index, fn.Value, fn.Size, fn.Shndx, elf.STT_FUNC)
		}
	}
	_ = alloc
	return o.finish(opts)
}

// allocatorObject is the allocator to add: the user's (--arena-object) or
// the built-in variant the object can run.
func (p *Plan) allocatorObject(opts Options) (arenablob.Variant, error) {
	if opts.ArenaObject != nil {
		return *opts.ArenaObject, nil
	}
	return p.arch.variant(p.img, opts.Variant)
}

// merge adds an allocator object's allocated sections, their relocations
// and its symbols to the output, and returns the allocator function.
func (o *objPlan) merge(v arenablob.Variant) (symRef, Symbol, error) {
	img := o.img
	_, builtin := arenablob.ByName(v.Name)
	builtin = builtin && o.p.opts.ArenaObject == nil
	objName := "allocator " + v.Name
	obj, err := Read(objName, v.Object)
	if err != nil {
		return symRef{}, Symbol{}, err
	}
	if obj.Type != elf.ET_REL || obj.Machine != img.Machine || obj.Class != img.Class {
		return symRef{}, Symbol{}, errorf(objName, "is not a relocatable object for %s (%v)", machineName(img.Machine), img.Class)
	}
	secMap := map[int]uint16{}
	secSym := map[int]symRef{}
	for _, s := range obj.Sections {
		if !s.Alloc() || s.Size == 0 {
			continue
		}
		if err := padAlign(objName, s.Label(), s.Addralign); err != nil {
			return symRef{}, Symbol{}, err
		}
		idx := uint16(len(img.Sections) + len(o.added))
		as := addedSection{name: s.Name, typ: s.Type, flags: s.Flags, align: s.Addralign, size: s.Size}
		if s.Type != elf.SHT_NOBITS {
			as.data = append([]byte(nil), obj.contents(s)...)
		}
		o.added = append(o.added, as)
		secMap[s.Index] = idx
		o.locals = append(o.locals, &Symbol{Info: elf.ST_INFO(elf.STB_LOCAL, elf.STT_SECTION), Shndx: idx})
		secSym[s.Index] = symRef{1, len(o.locals) - 1}
	}
	symMap := map[int]symRef{}
	var fn *Symbol
	for _, s := range obj.Syms {
		if s.Index == 0 || s.Kind() == elf.STT_FILE {
			continue
		}
		shndx, placed := secMap[int(s.Shndx)]
		switch {
		case s.Kind() == elf.STT_SECTION:
			if ref, ok := secSym[int(s.Shndx)]; ok {
				symMap[s.Index] = ref
			}
		case !s.Undefined() && !placed && s.Bind() == elf.STB_LOCAL:
			// A local of a section not carried over (a mapping symbol in
			// .comment, say): dropped; a relocation that needs it is
			// refused below.
		case !s.Undefined() && !placed:
			return symRef{}, Symbol{}, &Error{File: objName, Symbol: s.Name, Msg: "is absolute, common or in a section that is not loaded; allocator objects define symbols in their own sections"}
		case !s.Undefined() && s.Bind() == elf.STB_LOCAL:
			c := *s
			c.Shndx = shndx
			o.locals = append(o.locals, &c)
			symMap[s.Index] = symRef{1, len(o.locals) - 1}
		case !s.Undefined():
			if d := img.SymbolNamed(s.Name); d != nil && !d.Undefined() && d.Bind() != elf.STB_LOCAL {
				return symRef{}, Symbol{}, &Error{File: img.Name, Symbol: s.Name, Msg: "is defined both here and in the allocator object"}
			}
			ref := o.global(s.Name, s.Bind(), s.Kind(), s.Value, s.Size, shndx, s.Other)
			symMap[s.Index] = ref
			if s.Name == allocSym {
				c := *s
				c.Shndx = shndx
				fn = &c
			}
		case s.Name == trapHook && s.Bind() == elf.STB_WEAK && builtin:
			// The trap hook, when nothing defines it, must be the trap
			// itself. Left undefined weak, the final link would make the
			// call a no-op or, on RISC-V with lld, a branch to itself: so
			// the hook gets a weak definition at the permanently undefined
			// instruction that follows the call, which a strong definition
			// anywhere in the image overrides.
			trap, err := trapAfterCall(o.p.arch, obj, s, secMap)
			if err != nil {
				return symRef{}, Symbol{}, err
			}
			symMap[s.Index] = o.global(s.Name, elf.STB_WEAK, elf.STT_FUNC, trap.Value, 0, trap.Shndx, s.Other)
		default:
			// Undefined: elfpatch's region symbols are provided below;
			// anything else is left for the final link, weak or not.
			symMap[s.Index] = o.global(s.Name, s.Bind(), s.Kind(), 0, 0, uint16(elf.SHN_UNDEF), s.Other)
		}
	}
	if fn == nil || fn.Kind() != elf.STT_FUNC {
		return symRef{}, Symbol{}, errorf(objName, "does not define %s as a function", allocSym)
	}
	// Relocations of the added sections, their symbols renumbered.
	for _, s := range obj.Sections {
		if s.Type != elf.SHT_REL && s.Type != elf.SHT_RELA {
			continue
		}
		target, ok := secMap[int(s.Info)]
		if !ok {
			continue
		}
		var entries []*Reloc
		for _, r := range obj.Relocs {
			if r.Sec == s {
				if _, ok := symMap[int(r.Sym)]; !ok && r.Sym != 0 {
					return symRef{}, Symbol{}, obj.relocErr(r, "refers to a symbol the patch does not carry over")
				}
				entries = append(entries, r)
			}
		}
		rs := addedSection{name: s.Name, typ: s.Type, flags: s.Flags & elf.SHF_INFO_LINK, align: img.relocAlign(), entsize: img.relocEntSize(s.Type == elf.SHT_RELA),
			link: uint32(img.Symtab.Index), info: uint32(target)}
		// The entries are encoded once the symbol indices are final.
		o.added = append(o.added, rs)
		k := len(o.added) - 1
		o.pending = append(o.pending, pendingRelocs{section: k, entries: entries, symMap: symMap})
	}
	return symMap[fn.Index], *fn, nil
}

// provideRegion adds the storage behind elfpatch's region symbols when the
// allocator refers to them: the state word and the arena, both .bss
// sections a plain link places in the user's .bss.
func (o *objPlan) provideRegion(opts Options) error {
	img := o.img
	wants := func(name string) bool {
		if s := img.SymbolNamed(name); s != nil && s.Undefined() {
			return true
		}
		for _, g := range o.globals {
			if g.Name == name && g.Shndx == uint16(elf.SHN_UNDEF) {
				return true
			}
		}
		return false
	}
	needState := wants(stateSym)
	needArena := wants(arenaStart) || wants(arenaEnd)
	// The arena is one section: a bound the object defines itself would
	// lie elsewhere.
	for _, n := range []string{arenaStart, arenaEnd} {
		if s := img.SymbolNamed(n); needArena && s != nil && !s.Undefined() {
			return &Error{File: img.Name, Symbol: n, Msg: "is defined by the object itself, so the arena elfpatch adds would have its other bound elsewhere"}
		}
	}
	if opts.SetSize && !needArena {
		return &Error{File: img.Name, Symbol: allocSym, Msg: "the object's own allocator does not use __elfpatch_arena_start/__elfpatch_arena_end; --arena-size cannot size its arena"}
	}
	if needState {
		idx := uint16(len(img.Sections) + len(o.added))
		o.added = append(o.added, addedSection{name: objStateSection, typ: elf.SHT_NOBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, align: 4, size: 4})
		o.global(stateSym, elf.STB_GLOBAL, elf.STT_OBJECT, 0, 4, idx, stvHidden)
	}
	if needArena {
		size := uint64(objDefaultArena)
		if opts.SetSize {
			size = opts.ArenaSize
		}
		if size > 1<<o.p.arch.pointerBits()-1 {
			return errorf(img.Name, "an arena of %d bytes does not fit the allocator's %d-bit pointers", size, o.p.arch.pointerBits())
		}
		idx := uint16(len(img.Sections) + len(o.added))
		o.added = append(o.added, addedSection{name: objArenaSection, typ: elf.SHT_NOBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, align: 8, size: size})
		o.global(arenaStart, elf.STB_GLOBAL, elf.STT_NOTYPE, 0, 0, idx, stvHidden)
		o.global(arenaEnd, elf.STB_GLOBAL, elf.STT_NOTYPE, size, 0, idx, stvHidden)
		o.p.Arena = &Arena{Size: size, NewSize: size, Max: size}
	}
	return nil
}

// finish encodes the output's symbol and string tables, the added
// sections' relocations and the renumbered existing ones, and plans them.
func (o *objPlan) finish(opts Options) error {
	img, p := o.img, o.p
	ent := img.symEntSize()
	strtab := append([]byte(nil), img.contents(img.Strtab)...)
	name := func(s *Symbol) uint32 {
		if s.Name == "" {
			return 0
		}
		off := uint32(len(strtab))
		strtab = append(append(strtab, s.Name...), 0)
		return off
	}
	old := img.contents(img.Symtab)
	var symtab []byte
	put := func(s *Symbol) {
		b := make([]byte, ent)
		putSymbol(img, b, s)
		symtab = append(symtab, b...)
	}
	for i, s := range img.Syms {
		if i == o.firstGlobal {
			for _, l := range o.locals {
				c := *l
				c.NameOff = name(l)
				put(&c)
			}
		}
		if m, ok := o.modified[i]; ok {
			put(m)
			continue
		}
		symtab = append(symtab, old[uint64(i)*ent:uint64(i+1)*ent]...)
		_ = s
	}
	if o.firstGlobal == len(img.Syms) {
		for _, l := range o.locals {
			c := *l
			c.NameOff = name(l)
			put(&c)
		}
	}
	for _, g := range o.globals {
		c := *g
		c.NameOff = name(g)
		put(&c)
	}
	p.objContents = map[int][]byte{img.Symtab.Index: symtab}
	if len(strtab) != len(img.contents(img.Strtab)) {
		p.objContents[img.Strtab.Index] = strtab
	}
	if len(o.locals) > 0 {
		p.edit.setShdr(img.Symtab.Index, shInfo, uint64(o.firstGlobal+len(o.locals)))
		if err := o.renumber(); err != nil {
			return err
		}
	}
	for _, pr := range o.pending {
		var data []byte
		for _, r := range pr.entries {
			sym := uint32(0)
			if r.Sym != 0 {
				sym = o.resolve(pr.symMap[int(r.Sym)])
			}
			data = append(data, img.encodeReloc(r.Offset, sym, r.Type, r.Addend, r.Rela)...)
		}
		o.added[pr.section].data = data
		o.added[pr.section].size = uint64(len(data))
	}
	p.objAdded = o.added
	for _, a := range o.added {
		p.Changes = append(p.Changes, Change{What: fmt.Sprintf("add section %s (%v, %d bytes)", a.name, a.typ, a.size)})
	}
	for i, m := range o.modified {
		p.Changes = append(p.Changes, Change{What: fmt.Sprintf("define %s at %s+%#x", m.Name, p.sectionLabel(m.Shndx), m.Value), FileOffset: img.Symtab.Offset + uint64(i)*ent, Size: ent})
	}
	for _, g := range o.globals {
		what := fmt.Sprintf("add symbol %s", g.Name)
		if g.Shndx != uint16(elf.SHN_UNDEF) {
			what += fmt.Sprintf(" at %s+%#x", p.sectionLabel(g.Shndx), g.Value)
		}
		p.Changes = append(p.Changes, Change{What: what})
	}
	return nil
}

// sectionLabel names an input or added section by index.
func (p *Plan) sectionLabel(idx uint16) string {
	if int(idx) < len(p.img.Sections) {
		return p.img.Sections[idx].Label()
	}
	if i := int(idx) - len(p.img.Sections); i < len(p.objAdded) {
		return p.objAdded[i].name
	}
	return fmt.Sprintf("[%d]", idx)
}

// renumber rewrites what names a global symbol by index, now that new
// locals come before the globals: relocation entries, group signatures,
// and LLVM's address-significance tables.
func (o *objPlan) renumber() error {
	img, p := o.img, o.p
	bySection := map[*Section][]*Reloc{}
	for _, r := range img.Relocs {
		bySection[r.Sec] = append(bySection[r.Sec], r)
	}
	for _, s := range img.Sections {
		switch {
		case (s.Type == elf.SHT_REL || s.Type == elf.SHT_RELA) && int(s.Link) == img.Symtab.Index:
			var data []byte
			for _, r := range bySection[s] {
				data = append(data, img.encodeReloc(r.Offset, o.outIndex(r.Sym), r.Type, r.Addend, r.Rela)...)
			}
			p.objContents[s.Index] = data
		case s.Type == elf.SHT_GROUP && int(s.Link) == img.Symtab.Index:
			if n := o.outIndex(s.Info); n != s.Info {
				p.edit.setShdr(s.Index, shInfo, uint64(n))
			}
		case s.Type == shtLLVMAddrsig && int(s.Link) == img.Symtab.Index:
			var data []byte
			for b := img.contents(s); len(b) > 0; {
				v, n := uleb(b)
				if n == 0 {
					return &Error{File: img.Name, Section: s.Label(), Msg: "malformed address-significance table"}
				}
				b = b[n:]
				data = appendULEB(data, uint64(o.outIndex(uint32(v))))
			}
			p.objContents[s.Index] = data
		}
	}
	return nil
}

// shtLLVMAddrsig is SHT_LLVM_ADDRSIG: a list of symbol indices.
const shtLLVMAddrsig elf.SectionType = 0x6fff4c03

func appendULEB(b []byte, v uint64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// resizeObject re-sizes the arena of an object elfpatch patched before.
func (p *Plan) resizeObject(opts Options, imports []*Symbol) error {
	img := p.img
	start, end := img.SymbolNamed(arenaStart), img.SymbolNamed(arenaEnd)
	fn := img.SymbolNamed(allocSym)
	if fn.Kind() != elf.STT_FUNC {
		return &Error{File: img.Name, Symbol: allocSym, Msg: fmt.Sprintf("defined but not as a function (%v)", fn.Kind())}
	}
	if err := importsDefinedElsewhere(img, imports, fn); err != nil {
		return err
	}
	addr, thumb := symbolAddress(p.arch, fn)
	p.Allocator = &Allocator{Variant: "added before", Address: addr, Size: fn.Size, Thumb: thumb}
	if pv := p.recorded; pv != nil {
		p.Allocator.Variant, p.Allocator.SHA256 = pv.Variant, pv.SHA256
	}
	for _, s := range imports {
		if s.Undefined() {
			p.defineSymbol(s, fn.Value, fn.Size, fn.Shndx, elf.STT_FUNC)
		}
	}
	if start == nil || end == nil || start.Undefined() || end.Undefined() || start.Shndx != end.Shndx {
		if opts.SetSize {
			return errorf(img.Name, "the object has no arena elfpatch added; --arena-size cannot size it")
		}
		return nil
	}
	sec := img.SectionOf(start)
	if sec == nil || sec.Type != elf.SHT_NOBITS {
		return &Error{File: img.Name, Symbol: arenaStart, Msg: "is not in a .bss section"}
	}
	p.Arena = &Arena{Size: sec.Size, NewSize: sec.Size, Max: 1<<p.arch.pointerBits() - 1}
	if !opts.SetSize || opts.ArenaSize == sec.Size {
		return nil
	}
	if opts.ArenaSize > p.Arena.Max {
		return errorf(img.Name, "an arena of %d bytes does not fit the allocator's %d-bit pointers", opts.ArenaSize, p.arch.pointerBits())
	}
	p.Arena.NewSize = opts.ArenaSize
	p.edit.setShdr(sec.Index, shSize, opts.ArenaSize)
	p.defineSymbol(end, opts.ArenaSize, 0, end.Shndx, elf.STT_NOTYPE)
	p.Changes = append(p.Changes, Change{What: fmt.Sprintf("%s size 0x%x -> 0x%x", sec.Label(), sec.Size, opts.ArenaSize), FileOffset: img.shdrOff(sec.Index), Size: uint64(img.Shentsize)})
	return nil
}

// importsDefinedElsewhere refuses an import spelling the object defines as
// something other than the allocator fn: the patch would leave it naming
// another function, which verify rejects.
func importsDefinedElsewhere(img *Image, imports []*Symbol, fn *Symbol) error {
	for _, s := range imports {
		if !s.Undefined() && (s.Shndx != fn.Shndx || s.Value != fn.Value) {
			return &Error{File: img.Name, Symbol: s.Name, Msg: fmt.Sprintf("is defined by the object, but not as %s", allocSym)}
		}
	}
	return nil
}

// listSites describes an object's import sites. Nothing is written there:
// once the import symbols are definitions, the final link binds them.
func (p *Plan) listSites(rs []*Reloc) []Site {
	img, a := p.img, p.arch
	var sites []Site
	for _, r := range rs {
		if a.marker(r.Type) {
			continue
		}
		s := Site{Section: r.Target.Label(), Offset: r.Offset, Address: r.Offset, Type: a.typeName(r.Type), Symbol: img.Syms[r.Sym].Name, Addend: r.Addend, After: "(bound by the final link)"}
		if pl, err := img.placeOf(a, r); err == nil {
			s.Before = a.disasm(r.Type, pl.loc, pl.before, pl.P)
			if !a.rela() {
				if A, err := a.implicitAddend(r.Type, pl.loc); err == nil {
					s.Addend = A
				}
			}
		}
		sites = append(sites, s)
	}
	return sites
}

// verifyObject checks a patched relocatable object: every import spelling
// is a definition of the allocator, and planning the same patch again
// changes nothing.
func verifyObject(img *Image, opts Options, rep *VerifyReport) {
	_, imports, sites := findImports(img, opts)
	alloc := img.SymbolNamed(allocSym)
	if alloc == nil || alloc.Undefined() || alloc.Kind() != elf.STT_FUNC {
		rep.Problems = append(rep.Problems, (&Error{File: img.Name, Symbol: allocSym, Msg: "is not defined: the object is not patched"}).Error())
		return
	}
	bound := map[int]bool{}
	for _, s := range imports {
		if s.Undefined() || s.Value != alloc.Value || s.Shndx != alloc.Shndx {
			rep.Problems = append(rep.Problems, (&Error{File: img.Name, Symbol: s.Name, Msg: "is not a definition of the allocator"}).Error())
			continue
		}
		bound[s.Index] = true
	}
	for _, r := range sites {
		rep.Sites = append(rep.Sites, VerifiedSite{Section: r.Target.Label(), Offset: r.Offset, Type: relocTypeName(img.Machine, r.Type),
			Symbol: img.Syms[r.Sym].Name, Instruction: "(bound by the final link)", Reaches: bound[int(r.Sym)]})
	}
	p, err := NewPlan(img, Options{Imports: opts.Imports, Variant: opts.Variant, ArenaObject: opts.ArenaObject, Version: opts.Version})
	switch {
	case err != nil:
		rep.Problems = append(rep.Problems, err.Error())
	case p.Action != "unchanged":
		for _, c := range p.Changes {
			rep.Problems = append(rep.Problems, errorf(img.Name, "differs from what elfpatch writes: %s", c.What).Error())
		}
	default:
		rep.Allocator = p.Allocator
	}
}

// trapAfterCall finds, in a built-in allocator, the instruction after the
// call of the trap hook: the built-in allocators follow it with a
// permanently undefined instruction.
func trapAfterCall(a arch, obj *Image, hook *Symbol, secMap map[int]uint16) (Symbol, error) {
	for _, r := range obj.Relocs {
		if int(r.Sym) != hook.Index {
			continue
		}
		shndx, ok := secMap[r.Target.Index]
		if !ok {
			break
		}
		value := r.Offset + a.siteSize(r.Type)
		if a.isaBit() {
			value |= 1 // the allocators are Thumb code
		}
		return Symbol{Value: value, Shndx: shndx}, nil
	}
	return Symbol{}, errorf("allocator", "refers to %s but never calls it", trapHook)
}

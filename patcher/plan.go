package patcher

import (
	"debug/elf"
	"fmt"
	"sort"
	"strings"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
)

// DefaultImports are the spellings bound without being asked for: the core
// module's field name and its kebab-case component extern name.
var DefaultImports = []string{"__cabi_arena_realloc", "cabi-arena-realloc"}

// Symbols elfpatch defines, reads or documents.
const (
	allocSym   = "__cabi_arena_realloc"
	trapHook   = "__cabi_arena_exhausted"
	slotSym    = "__elfpatch_slot"
	stateSym   = "__elfpatch_state"
	arenaStart = "__elfpatch_arena_start"
	arenaEnd   = "__elfpatch_arena_end"
	arenaLimit = "__elfpatch_arena_limit"
	// The pointer-base shim's symbols: the linear memory's base, and the
	// allocator it calls.
	pointerBaseSym = "__elfpatch_pointer_base"
	reallocAbsSym  = "__elfpatch_realloc_abs"
	arenaName      = ".arena"
)

// Options is what the user asked of a patch.
type Options struct {
	// ArenaSize is the arena's new size in bytes, when SetSize.
	ArenaSize uint64
	SetSize   bool
	// Imports are spellings to bind besides DefaultImports.
	Imports []string
	// AllowUndefined lets other undefined symbols stay undefined.
	AllowUndefined bool
	// Variant forces an allocator variant instead of choosing one from the
	// image's build attributes.
	Variant string
	// ArenaObject, when set, is the user's allocator object to inject
	// instead of a built-in one.
	ArenaObject *arenablob.Variant
	// PointerBase, when set, names the linear memory's base (a symbol or
	// an address): the allocator then takes and returns pointers as
	// offsets from it. PointerLimit is the linear memory's size, when the
	// base symbol's own size does not say.
	PointerBase  string
	PointerLimit uint64
	// Version is the elfpatch version the provenance note records.
	Version string
	// trustRecordedBase lets verify re-plan a patched image with the base
	// it recorded.
	trustRecordedBase bool
}

// Plan is everything a patch will do, decided before a byte is written. It
// is data: inspect and --dry-run print it, Apply carries it out.
type Plan struct {
	File    string `json:"file"`
	Machine string `json:"machine"`
	// Linker is who linked the image, as far as the addends of unresolved
	// sites depend on it.
	Linker string `json:"linker,omitempty"`
	// Action summarises the patch: "bind", "resize", "unchanged" or
	// "nothing to bind".
	Action string `json:"action"`
	// Relocatable is true for an object patched before its final link.
	Relocatable bool       `json:"relocatable,omitempty"`
	Imports     []Import   `json:"imports"`
	Sites       []Site     `json:"sites"`
	Slot        *Slot      `json:"slot,omitempty"`
	Arena       *Arena     `json:"arena,omitempty"`
	State       *State     `json:"state,omitempty"`
	Allocator   *Allocator `json:"allocator,omitempty"`
	Changes     []Change   `json:"changes"`

	img  *Image
	arch arch
	opts Options
	edit *edit
	// slotCode is the linked allocator, veneers what follows it in the
	// slot; finishSlot writes them.
	slotCode []byte
	veneers  []placedVeneer
	// A relocatable object's patch: contents that replace existing
	// sections, and sections appended.
	objContents map[int][]byte
	// ropes are new contents made mostly of the input's own bytes (a
	// debug section with a unit appended), kept as ranges, not copies.
	ropes map[int]rope
	// rendered is the output decideAction described, for Render.
	rendered  *Output
	renderErr error
	objAdded  []addedSection
	// recorded is the provenance note of an object patched before.
	recorded *Provenance
	// debug is where the allocator's compile unit went.
	debug *DebugOffsets
}

// Import is one symbol spelling elfpatch binds.
type Import struct {
	Name    string `json:"name"`
	Symbol  int    `json:"symbol_index"`
	Defined bool   `json:"defined"`
	Value   uint64 `json:"value,omitempty"`
	Sites   int    `json:"sites"`
}

// Site is one relocation that reaches an import.
type Site struct {
	Section string `json:"section"`
	Offset  uint64 `json:"offset"`
	Address uint64 `json:"address"`
	Type    string `json:"type"`
	Symbol  string `json:"symbol"`
	Addend  int64  `json:"addend"`
	Before  string `json:"before"`
	After   string `json:"after"`

	fileOff uint64
	bytes   []byte
}

// Slot is the code region reserved for the allocator.
type Slot struct {
	Address  uint64 `json:"address"`
	Size     uint64 `json:"size"`
	Section  string `json:"section"`
	Used     uint64 `json:"used"`
	fileOff  uint64
	secIndex int
}

// Arena is the heap region.
type Arena struct {
	Address uint64 `json:"address"`
	Size    uint64 `json:"size"`
	NewSize uint64 `json:"new_size"`
	// Max is the largest size the arena can take without relinking: the
	// region reserved at link time.
	Max uint64 `json:"max"`
}

// State is the allocator's zero-initialised word.
type State struct {
	Address uint64 `json:"address"`
	Section string `json:"section"`
}

// Allocator is the code elfpatch binds the imports to.
type Allocator struct {
	Variant string `json:"variant"`
	SHA256  string `json:"sha256,omitempty"`
	Address uint64 `json:"address"`
	Size    uint64 `json:"size"`
	Thumb   bool   `json:"thumb,omitempty"`
	// Linked is true when the image brought its own allocator.
	Linked bool `json:"linked,omitempty"`
	// PointerBase is what --pointer-base named, Base its address.
	PointerBase string `json:"pointer_base,omitempty"`
	Base        uint64 `json:"base,omitempty"`
}

// Change is one thing the patch writes.
type Change struct {
	What       string `json:"what"`
	FileOffset uint64 `json:"file_offset"`
	Size       uint64 `json:"size"`
}

// target is what import sites are bound to.
type target struct {
	name  string
	addr  uint64 // without the Thumb bit
	size  uint64
	thumb bool
	shndx uint16
}

// NewPlan decides how to patch img.
func NewPlan(img *Image, opts Options) (*Plan, error) {
	a, err := checkSupported(img)
	if err != nil {
		return nil, err
	}
	p := &Plan{File: img.Name, Machine: machineName(img.Machine), img: img, arch: a, opts: opts, edit: newEdit()}
	for _, name := range opts.Imports {
		if reservedName(name) {
			return nil, &Error{File: img.Name, Symbol: name, Msg: "cannot be an import: elfpatch reads or defines this symbol"}
		}
	}

	names, imports, order := findImports(img, opts)
	for _, s := range imports {
		p.Imports = append(p.Imports, importOf(s, order))
	}
	if len(imports) == 0 {
		p.Action = "nothing to bind"
		return p, nil
	}

	if img.Type == elf.ET_REL {
		p.Relocatable = true
		p.Sites = p.listSites(order)
		if err := p.planRelocatable(opts, imports); err != nil {
			return nil, err
		}
		p.recordProvenance(opts)
		p.decideAction()
		return p, nil
	}

	var errs Errors
	tgt, err := p.chooseTarget(imports, opts)
	if err != nil {
		return nil, err
	}
	if !opts.AllowUndefined {
		errs = append(errs, p.otherUndefined(names)...)
	}
	order = linkerResolved(img, p.Slot, order)

	linkerHint := detectLinker(img)
	needLinker := false
	for _, r := range order {
		if img.Syms[r.Sym].Undefined() {
			needLinker = true
		}
	}
	if needLinker {
		p.Linker = linkerHint
	}
	// High halves are proven after the low halves they pair with.
	proven := map[string]bool{}
	key := func(r *Reloc, t uint32) string {
		return fmt.Sprintf("%s\x00%s\x00%d", r.Target.Label(), img.Syms[r.Sym].Name, t)
	}
	var highs []*Reloc
	for _, r := range order {
		if a.marker(r.Type) {
			continue
		}
		if hp, ok := a.(halfPairs); ok {
			if _, high := hp.lowHalfOf(r.Type); high {
				highs = append(highs, r)
				continue
			}
		}
		site, err := p.bindSite(r, tgt, linkerHint)
		if err != nil {
			errs = appendErr(errs, err)
			continue
		}
		proven[key(r, r.Type)] = true
		p.Sites = append(p.Sites, site)
	}
	for _, r := range highs {
		// A linked MOVT keeps only the high half of S + A: a zero field
		// allows any addend in [0, 0x7fff]. The compiler gives the MOVW of
		// the pair the same addend, so the pair's MOVW proves it zero.
		low, _ := a.(halfPairs).lowHalfOf(r.Type)
		if !proven[key(r, low)] {
			errs = append(errs, img.relocErr(r, "cannot prove the addend: a %s keeps only the high half of its value, and no %s against the same symbol in %s proves the low half", a.typeName(r.Type), a.typeName(low), r.Target.Label()))
			continue
		}
		site, err := p.bindSite(r, tgt, linkerHint)
		if err != nil {
			errs = appendErr(errs, err)
			continue
		}
		p.Sites = append(p.Sites, site)
	}
	sort.Slice(p.Sites, func(i, j int) bool { return p.Sites[i].fileOff < p.Sites[j].fileOff })
	errs = append(errs, p.overlapping()...)
	if len(errs) > 0 {
		return nil, errs
	}
	if err := p.finishSlot(); err != nil {
		return nil, err
	}
	p.recordProvenance(opts)

	p.defineImports(imports, tgt)
	p.decideAction()
	return p, nil
}

// reservedName reports a symbol the plan reads or defines besides the
// imports: elfpatch's own, the trap hook, and the bounds of .bss. Bound to
// the allocator, it would change what the plan checked.
func reservedName(name string) bool {
	if strings.HasPrefix(name, "__elfpatch_") || name == trapHook {
		return true
	}
	for _, pair := range bssBounds {
		if name == pair[0] || name == pair[1] {
			return true
		}
	}
	return false
}

// overlapping refuses sites whose bytes overlap another site's (unless
// both write the same bytes) or the slot the plan fills: one write would
// undo the other.
func (p *Plan) overlapping() Errors {
	var errs Errors
	at := func(s Site, format string, args ...any) *Error {
		return &Error{File: p.img.Name, Section: s.Section, Offset: s.Offset, HasOffset: true, Reloc: s.Type, Symbol: s.Symbol, Msg: fmt.Sprintf(format, args...)}
	}
	for i := 1; i < len(p.Sites); i++ {
		a, b := p.Sites[i-1], p.Sites[i]
		same := a.fileOff == b.fileOff && string(a.bytes) == string(b.bytes)
		if a.fileOff+uint64(len(a.bytes)) > b.fileOff && !same {
			errs = append(errs, at(b, "overlaps the %s at %s+0x%x", a.Type, a.Section, a.Offset))
		}
	}
	if s := p.Slot; s != nil && (p.slotCode != nil || len(p.veneers) > 0) {
		for _, site := range p.Sites {
			if site.fileOff < s.fileOff+s.Size && s.fileOff < site.fileOff+uint64(len(site.bytes)) {
				errs = append(errs, at(site, "lies inside the allocator slot (%s)", slotSym))
			}
		}
	}
	return errs
}

func machineName(m elf.Machine) string {
	return strings.TrimPrefix(m.String(), "EM_")
}

// checkSupported refuses what elfpatch cannot patch, before anything else,
// and returns the image's architecture.
func checkSupported(img *Image) (arch, error) {
	if img.Order.String() != "LittleEndian" {
		return nil, errorf(img.Name, "big-endian images are not supported")
	}
	switch img.Type {
	case elf.ET_EXEC:
	case elf.ET_REL:
	case elf.ET_DYN:
		return nil, errorf(img.Name, "shared objects and position-independent executables (ET_DYN) are not supported")
	default:
		return nil, errorf(img.Name, "unsupported ELF file type %v", img.Type)
	}
	a, err := archOf(img)
	if err != nil {
		return nil, err
	}
	for _, s := range img.Sections {
		if s.Type == elf.SHT_DYNAMIC || s.Type == elf.SHT_DYNSYM {
			return nil, &Error{File: img.Name, Section: s.Label(), Msg: "dynamically linked images are not supported"}
		}
		if s.Type == elf.SHT_SYMTAB_SHNDX {
			return nil, &Error{File: img.Name, Section: s.Label(), Msg: "extended section indices (SHT_SYMTAB_SHNDX) are not supported"}
		}
	}
	if img.Symtab == nil {
		return nil, errorf(img.Name, "no symbol table: the image was stripped; patch it before stripping")
	}
	// Sections are found, and added, by name.
	if img.Shstrndx == 0 {
		return nil, errorf(img.Name, "no section name table (e_shstrndx is 0)")
	}
	if s := img.SectionNamed(provenanceSection); s != nil && (s.Type != elf.SHT_NOTE || s.Alloc()) {
		return nil, &Error{File: img.Name, Section: s.Label(), Msg: "is not the note elfpatch writes (SHT_NOTE, not loaded)"}
	}
	return a, nil
}

// detectLinker says which linker wrote an executable, for the addends of
// sites whose symbol it left undefined. LLD records itself in .comment;
// GNU ld records nothing.
func detectLinker(img *Image) string {
	if c := img.SectionNamed(".comment"); c != nil && c.Type == elf.SHT_PROGBITS {
		for _, s := range strings.Split(string(img.contents(c)), "\x00") {
			switch {
			case strings.HasPrefix(s, "Linker: ") && strings.Contains(s, "LLD"):
				return "LLD"
			case strings.HasPrefix(s, "mold "):
				return "mold"
			}
		}
	}
	return "GNU ld"
}

// chooseTarget decides what the sites are bound to: the image's own
// allocator when it links one, otherwise the built-in one, placed in the
// slot.
func (p *Plan) chooseTarget(imports []*Symbol, opts Options) (*target, error) {
	img := p.img
	slot, _ := p.findSlot()
	if own := img.SymbolNamed(allocSym); own != nil && !own.Undefined() {
		addr, _ := symbolAddress(p.arch, own)
		inSlot := slot != nil && addr >= slot.Address && addr < slot.Address+slot.Size
		if !inSlot {
			p.Slot = slot // veneers may go there
			if own.Kind() != elf.STT_FUNC {
				return nil, &Error{File: img.Name, Symbol: allocSym, Msg: fmt.Sprintf("defined at 0x%x but not as a function (%v)", own.Value, own.Kind())}
			}
			if opts.SetSize {
				if err := p.resizeOwnArena(opts); err != nil {
					return nil, err
				}
			}
			addr, thumb := symbolAddress(p.arch, own)
			p.Allocator = &Allocator{Variant: "linked", Address: addr, Size: own.Size, Thumb: thumb, Linked: true}
			return &target{name: allocSym, addr: addr, size: own.Size, thumb: thumb, shndx: own.Shndx}, nil
		}
	}
	return p.injectAllocator(slot, opts)
}

// findSlot locates the code region the reserve object put in the image.
func (p *Plan) findSlot() (*Slot, error) {
	img := p.img
	s := img.SymbolNamed(slotSym)
	if s == nil || s.Undefined() {
		return nil, errorf(img.Name, "no allocator slot: %s is not defined; link with elfpatch-ld, or with linkerscripts/arena.ld and the reserve object (see the README)", slotSym)
	}
	sec := img.SectionOf(s)
	if sec == nil || sec.Type != elf.SHT_PROGBITS || sec.Flags&(elf.SHF_ALLOC|elf.SHF_EXECINSTR) != elf.SHF_ALLOC|elf.SHF_EXECINSTR {
		return nil, &Error{File: img.Name, Symbol: slotSym, Msg: "is not in an executable section with contents"}
	}
	if s.Value < sec.Addr || s.Size == 0 || s.Size > sec.Size || s.Value-sec.Addr > sec.Size-s.Size {
		return nil, &Error{File: img.Name, Section: sec.Label(), Symbol: slotSym, Msg: fmt.Sprintf("0x%x+0x%x does not lie inside the section (0x%x+0x%x)", s.Value, s.Size, sec.Addr, sec.Size)}
	}
	if s.Value%4 != 0 {
		return nil, &Error{File: img.Name, Section: sec.Label(), Offset: s.Value - sec.Addr, HasOffset: true, Symbol: slotSym, Msg: "is not 4-byte aligned"}
	}
	slot := &Slot{Address: s.Value, Size: s.Size, Section: sec.Label(), fileOff: sec.Offset + (s.Value - sec.Addr), secIndex: sec.Index}
	if !p.loaded(slot.fileOff, slot.Size) {
		return nil, &Error{File: img.Name, Section: sec.Label(), Symbol: slotSym, Msg: "is not inside a loadable segment"}
	}
	return slot, nil
}

// loaded reports whether the file bytes [off, off+n) are loaded by a
// PT_LOAD segment.
func (p *Plan) loaded(off, n uint64) bool {
	for _, pr := range p.img.Progs {
		if pr.Type == elf.PT_LOAD && off >= pr.Off && off-pr.Off <= pr.Filesz && n <= pr.Filesz-(off-pr.Off) {
			return true
		}
	}
	return false
}

// injectAllocator plans the built-in allocator: its variant, the slot it
// goes into, the arena and the state it uses, and the bytes it becomes.
func (p *Plan) injectAllocator(slot *Slot, opts Options) (*target, error) {
	img := p.img
	variant, err := p.allocatorObject(opts)
	if err != nil {
		return nil, err
	}
	if slot == nil {
		if slot, err = p.findSlot(); err != nil {
			return nil, err
		}
	}
	arena, err := p.planArena(opts)
	if err != nil {
		return nil, err
	}
	state, err := p.findState()
	if err != nil {
		return nil, err
	}
	syms := map[string]symValue{
		stateSym:   {addr: state.Address},
		arenaStart: {addr: arena.Address},
		arenaEnd:   {addr: arena.Address + arena.NewSize},
	}
	base, based, err := p.pointerBase(opts, arena)
	if err != nil {
		return nil, err
	}
	if !based {
		code, entry, err := linkAllocator(img, p.arch, variant, slot.Address, syms)
		if err != nil {
			return nil, err
		}
		p.Slot, p.Arena, p.State, p.slotCode = slot, arena, state, code
		p.Allocator = &Allocator{Variant: variant.Name, SHA256: variant.SHA256, Address: slot.Address + entry.offset, Size: entry.size, Thumb: entry.thumb}
		if err := p.describeAllocator(unitOf(variant, allocSym, slot.Address, code, entry)); err != nil {
			return nil, err
		}
		return &target{name: allocSym, addr: p.Allocator.Address, size: entry.size, thumb: entry.thumb, shndx: uint16(slot.secIndex)}, nil
	}

	// With a pointer base, the shim comes first in the slot and the
	// allocator after it, at an alignment every allocator accepts.
	shim, ok := arenablob.ShimFor(p.arch.family())
	if !ok {
		return nil, errorf(img.Name, "no pointer-base shim for %s", p.arch.name())
	}
	shimObj := arenablob.Variant{Name: shim.Name, Object: shim.Object, SHA256: shim.SHA256}
	shimCode, _, err := linkAllocator(img, p.arch, shimObj, slot.Address, map[string]symValue{
		pointerBaseSym: {addr: base}, reallocAbsSym: {addr: slot.Address, thumb: true}})
	if err != nil {
		return nil, err
	}
	allocAt := (uint64(len(shimCode)) + 15) &^ 15
	code, entry, err := linkAllocator(img, p.arch, variant, slot.Address+allocAt, syms)
	if err != nil {
		return nil, err
	}
	abs := symValue{addr: slot.Address + allocAt + entry.offset, thumb: entry.thumb}
	shimCode, shimEntry, err := linkAllocator(img, p.arch, shimObj, slot.Address, map[string]symValue{pointerBaseSym: {addr: base}, reallocAbsSym: abs})
	if err != nil {
		return nil, err
	}
	all := append(append(shimCode, p.arch.fill(allocAt-uint64(len(shimCode)))...), code...)
	p.Slot, p.Arena, p.State, p.slotCode = slot, arena, state, all
	p.Allocator = &Allocator{Variant: variant.Name + "+" + shim.Name, SHA256: variant.SHA256, Address: slot.Address + shimEntry.offset,
		Size: shimEntry.size, Thumb: shimEntry.thumb, PointerBase: opts.PointerBase, Base: base}
	// Recorded, so that a later patch or verify knows the image speaks
	// offsets.
	p.setSymbol(pointerBaseSym, base, 0, uint16(elf.SHN_ABS), elf.STT_NOTYPE)
	p.setSymbol(reallocAbsSym, abs.addr|boolBit(abs.thumb), entry.size, uint16(slot.secIndex), elf.STT_FUNC)
	shimVariant := arenablob.Variant{Name: shim.Name, Source: shim.Source, Lines: shim.Lines}
	if err := p.describeAllocator(unitOf(shimVariant, allocSym, slot.Address, shimCode, shimEntry),
		unitOf(variant, reallocAbsSym, slot.Address+allocAt, code, entry)); err != nil {
		return nil, err
	}
	return &target{name: allocSym, addr: p.Allocator.Address, size: shimEntry.size, thumb: shimEntry.thumb, shndx: uint16(slot.secIndex)}, nil
}

func boolBit(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// pointerBase resolves --pointer-base and proves that the arena, as far as
// it can ever grow, lies inside the linear memory it names. A patched
// image records its base in __elfpatch_pointer_base: patching it again
// without --pointer-base would change its ABI, and is refused.
func (p *Plan) pointerBase(opts Options, arena *Arena) (uint64, bool, error) {
	img := p.img
	recorded := img.SymbolNamed(pointerBaseSym)
	if opts.trustRecordedBase && recorded != nil {
		return recorded.Value, true, nil
	}
	if opts.PointerBase == "" {
		switch {
		case recorded == nil:
			return 0, false, nil
		case opts.trustRecordedBase:
			return recorded.Value, true, nil
		}
		return 0, false, &Error{File: img.Name, Symbol: pointerBaseSym, Msg: fmt.Sprintf("the image was patched to take pointers as offsets from %#x; give --pointer-base again", recorded.Value)}
	}
	var base, limit uint64
	if v, err := parseAddress(opts.PointerBase); err == nil {
		base = v
	} else {
		s := img.SymbolNamed(opts.PointerBase)
		if s == nil || s.Undefined() {
			return 0, false, &Error{File: img.Name, Symbol: opts.PointerBase, Msg: "is not defined: --pointer-base names the linear memory's base symbol or address"}
		}
		base, limit = s.Value, s.Size
	}
	if opts.PointerLimit != 0 {
		limit = opts.PointerLimit
	}
	// The allocator aligns addresses; an offset is aligned as its address
	// only when the base is aligned at least as much. The canonical ABI
	// asks for alignments up to 8.
	if base%maxCanonicalAlign != 0 {
		return 0, false, &Error{File: img.Name, Symbol: opts.PointerBase, Msg: fmt.Sprintf("the linear memory's base 0x%x is not %d-aligned: offsets from it would not be aligned as the canonical ABI asks", base, maxCanonicalAlign)}
	}
	if limit == 0 {
		return 0, false, &Error{File: img.Name, Symbol: opts.PointerBase, Msg: "has no size, so the arena cannot be proven to lie inside linear memory; give --pointer-limit SIZE"}
	}
	end := arena.Address + arena.Max
	if arena.Address < base || end > base+limit || end-base > 1<<p.arch.pointerBits() {
		return 0, false, &Error{File: img.Name, Section: arenaName, Msg: fmt.Sprintf("the arena (0x%x-0x%x, as far as it can grow) does not lie inside the linear memory at %s (0x%x-0x%x)", arena.Address, end, opts.PointerBase, base, base+limit)}
	}
	return base, true, nil
}

// maxCanonicalAlign is the largest alignment the canonical ABI asks for.
const maxCanonicalAlign = 8

// parseAddress reads a number in C syntax (0x hex or decimal).
func parseAddress(s string) (uint64, error) {
	var v uint64
	_, err := fmt.Sscan(s, &v)
	if err == nil && (strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") || strings.Trim(s, "0123456789") == "") {
		return v, nil
	}
	return 0, fmt.Errorf("not a number: %q", s)
}

// planArena sizes the arena and proves the new size fits the region
// reserved at link time.
func (p *Plan) planArena(opts Options) (*Arena, error) {
	img := p.img
	sec := img.SectionNamed(arenaName)
	if sec == nil {
		return nil, errorf(img.Name, "no %s section: link with elfpatch-ld, or with linkerscripts/arena.ld and the reserve object (see the README)", arenaName)
	}
	if sec.Type != elf.SHT_NOBITS || sec.Flags&(elf.SHF_ALLOC|elf.SHF_WRITE) != elf.SHF_ALLOC|elf.SHF_WRITE {
		return nil, &Error{File: img.Name, Section: sec.Label(), Msg: "is not a writable NOBITS section (place it with (NOLOAD) in RAM)"}
	}
	a := &Arena{Address: sec.Addr, Size: sec.Size, NewSize: sec.Size}
	limit := sec.Addr + sec.Size
	if s := img.SymbolNamed(arenaLimit); s != nil && !s.Undefined() {
		if s.Value < limit {
			return nil, &Error{File: img.Name, Section: sec.Label(), Symbol: arenaLimit, Msg: fmt.Sprintf("0x%x lies inside the arena (0x%x+0x%x)", s.Value, sec.Addr, sec.Size)}
		}
		limit = s.Value
	}
	for _, o := range img.Sections {
		if o == sec || !o.Alloc() || o.Size == 0 {
			continue
		}
		if o.Addr < limit && sec.Addr < o.Addr+o.Size {
			return nil, &Error{File: img.Name, Section: sec.Label(), Msg: fmt.Sprintf("the region reserved for the arena (0x%x-0x%x) overlaps %s (0x%x-0x%x)", sec.Addr, limit, o.Label(), o.Addr, o.Addr+o.Size)}
		}
	}
	a.Max = limit - sec.Addr
	if opts.SetSize {
		a.NewSize = opts.ArenaSize
	}
	if bits := p.arch.pointerBits(); bits < 64 && limit > 1<<bits {
		return nil, &Error{File: img.Name, Section: sec.Label(), Msg: fmt.Sprintf("the arena (0x%x-0x%x) lies above the allocator's %d-bit pointers; place it below 0x%x", sec.Addr, limit, bits, uint64(1)<<bits)}
	}
	if a.NewSize > a.Max {
		return nil, &Error{File: img.Name, Section: sec.Label(), Msg: fmt.Sprintf("an arena of %d bytes does not fit: the region reserved at link time holds at most %d bytes (0x%x-0x%x); link with a larger reservation (ELFPATCH_ARENA_SIZE) to grow it", a.NewSize, a.Max, sec.Addr, limit)}
	}
	if a.NewSize != a.Size {
		if err := p.resizeArena(sec, a); err != nil {
			return nil, err
		}
	}
	// The end symbol follows the arena; the limit symbol keeps the
	// reservation, so the arena can grow back after it shrank.
	p.setSymbol(arenaStart, sec.Addr, 0, uint16(sec.Index), elf.STT_NOTYPE)
	p.setSymbol(arenaEnd, sec.Addr+a.NewSize, 0, uint16(sec.Index), elf.STT_NOTYPE)
	p.setSymbol(arenaLimit, limit, 0, uint16(sec.Index), elf.STT_NOTYPE)
	return a, nil
}

// resizeArena changes .arena's size and the memory size of a segment that
// ends with it.
func (p *Plan) resizeArena(sec *Section, a *Arena) error {
	img := p.img
	oldEnd, newEnd := sec.Addr+a.Size, sec.Addr+a.NewSize
	p.edit.setShdr(sec.Index, shSize, a.NewSize)
	p.Changes = append(p.Changes, Change{What: fmt.Sprintf("%s size 0x%x -> 0x%x", sec.Label(), a.Size, a.NewSize), FileOffset: img.shdrOff(sec.Index), Size: uint64(img.Shentsize)})
	for _, pr := range img.Progs {
		// Only a segment that holds the arena's first byte (or, for an
		// empty arena, ends where it starts) can end with it.
		end := pr.Vaddr + pr.Memsz
		holds := pr.Vaddr <= sec.Addr && (sec.Addr < end || a.Size == 0 && end == sec.Addr)
		if pr.Type != elf.PT_LOAD || !holds {
			continue
		}
		switch {
		case end == oldEnd:
			if newEnd-pr.Vaddr < pr.Filesz {
				return &Error{File: img.Name, Section: sec.Label(), Msg: fmt.Sprintf("segment %d would end before its file contents", pr.Index)}
			}
			p.edit.setPhdr(pr.Index, phMemsz, newEnd-pr.Vaddr)
			p.Changes = append(p.Changes, Change{What: fmt.Sprintf("segment %d memory size 0x%x -> 0x%x", pr.Index, pr.Memsz, newEnd-pr.Vaddr), FileOffset: img.phdrOff(pr.Index), Size: uint64(img.Phentsize)})
		case end < newEnd:
			return &Error{File: img.Name, Section: sec.Label(), Msg: fmt.Sprintf("segment %d ends at 0x%x, inside the resized arena (0x%x-0x%x)", pr.Index, end, sec.Addr, newEnd)}
		}
	}
	return nil
}

// bssBounds are the symbol pairs startup code commonly clears between.
var bssBounds = [][2]string{
	{"__bss_start__", "__bss_end__"},
	{"_sbss", "_ebss"},
	{"__bss_start", "__bss_end"},
}

// findState locates the allocator's state word and proves the image's
// startup clears it.
func (p *Plan) findState() (*State, error) {
	img := p.img
	s := img.SymbolNamed(stateSym)
	if s == nil || s.Undefined() {
		return nil, errorf(img.Name, "no allocator state: %s is not defined; link with elfpatch-ld, or with the reserve object (see the README)", stateSym)
	}
	sec := img.SectionOf(s)
	if sec == nil || sec.Type != elf.SHT_NOBITS || sec.Flags&(elf.SHF_ALLOC|elf.SHF_WRITE) != elf.SHF_ALLOC|elf.SHF_WRITE {
		return nil, &Error{File: img.Name, Symbol: stateSym, Msg: "is not in a zero-initialised (.bss) section, so a reset would not empty the arena"}
	}
	if s.Size < 4 || s.Value%4 != 0 {
		return nil, &Error{File: img.Name, Section: sec.Label(), Symbol: stateSym, Msg: "is not an aligned word"}
	}
	for _, pair := range bssBounds {
		lo, hi := img.SymbolNamed(pair[0]), img.SymbolNamed(pair[1])
		if lo == nil || hi == nil || lo.Undefined() || hi.Undefined() {
			continue
		}
		if s.Value < lo.Value || s.Value+4 > hi.Value {
			return nil, &Error{File: img.Name, Section: sec.Label(), Offset: s.Value - sec.Addr, HasOffset: true, Symbol: stateSym,
				Msg: fmt.Sprintf("lies outside the range the startup clears, [%s, %s) = [0x%x, 0x%x), so a reset would not empty the arena; put *(.bss*) in the .bss output section", pair[0], pair[1], lo.Value, hi.Value)}
		}
	}
	return &State{Address: s.Value, Section: sec.Label()}, nil
}

// otherUndefined lists undefined symbols the patch would leave behind
// that something uses, each with its first use.
func (p *Plan) otherUndefined(imports map[string]bool) Errors {
	img := p.img
	// Each symbol's first use, in one pass over the relocations.
	firstUse := map[uint32]*Reloc{}
	for _, r := range img.Relocs {
		if _, seen := firstUse[r.Sym]; !seen && r.Target.Alloc() {
			firstUse[r.Sym] = r
		}
	}
	var errs Errors
	for _, s := range img.Syms {
		if s.Index == 0 || !s.Undefined() || s.Bind() != elf.STB_GLOBAL || imports[s.Name] || s.Name == "" {
			continue
		}
		use := firstUse[uint32(s.Index)]
		// Like a linker, complain only about symbols something uses:
		// compilers declare some they never call (gcc's __aeabi_idivmod).
		if use != nil {
			errs = append(errs, img.relocErr(use, "undefined symbol (use --allow-undefined to leave it)"))
		}
	}
	return errs
}

// defineImports turns every import spelling into a definition of the
// allocator, and defines __cabi_arena_realloc when the image lacks it.
func (p *Plan) defineImports(imports []*Symbol, tgt *target) {
	value := tgt.addr
	if tgt.thumb {
		value |= 1
	}
	for _, s := range imports {
		p.defineSymbol(s, value, tgt.size, tgt.shndx, elf.STT_FUNC)
	}
	p.setSymbol(allocSym, value, tgt.size, tgt.shndx, elf.STT_FUNC)
}

// decideAction names what the patch does, from the changes it makes.
func (p *Plan) decideAction() {
	img := p.img
	out, err := p.render()
	// NewPlan is done with the plan: Render hands this output out.
	p.rendered, p.renderErr = out, err
	switch {
	case err == nil && out.check(img.Name) == nil && out.unchanged():
		p.Action = "unchanged"
	case p.Arena != nil && p.Arena.NewSize != p.Arena.Size && p.allBound():
		p.Action = "resize"
	default:
		p.Action = "bind"
	}
}

func (p *Plan) allBound() bool {
	for _, i := range p.Imports {
		if !i.Defined {
			return false
		}
	}
	return true
}

// appendErr adds err to a list, keeping its location when it has one.
func appendErr(l Errors, err error) Errors {
	if e, ok := err.(*Error); ok {
		return append(l, e)
	}
	return append(l, &Error{Msg: err.Error()})
}

// linkerResolved drops the sites the linker resolved itself: those against
// __cabi_arena_realloc where the image links its own (outside the slot).
// They reach it already, perhaps through a stub the linker placed, and are
// no business of elfpatch's; the other spellings are.
func linkerResolved(img *Image, slot *Slot, sites []*Reloc) []*Reloc {
	own := img.SymbolNamed(allocSym)
	if own == nil || own.Undefined() {
		return sites
	}
	if slot != nil && own.Value&^1 >= slot.Address && own.Value&^1 < slot.Address+slot.Size {
		return sites
	}
	var keep []*Reloc
	for _, r := range sites {
		if img.Syms[r.Sym].Name != allocSym {
			keep = append(keep, r)
		}
	}
	return keep
}

// resizeOwnArena sizes the arena of an image whose own allocator uses
// elfpatch's documented region: the places that hold the arena's end (its
// literal pool, its MOVW/MOVT) are bound again to the new end, as import
// sites are. An allocator that does not use the region cannot be resized.
func (p *Plan) resizeOwnArena(opts Options) error {
	img := p.img
	var uses []*Reloc
	for _, r := range img.Relocs {
		if r.Sym != 0 && img.Syms[r.Sym].Name == arenaEnd && r.Target.Alloc() && !p.arch.marker(r.Type) {
			uses = append(uses, r)
		}
	}
	if len(uses) == 0 {
		own := img.SymbolNamed(allocSym)
		return &Error{File: img.Name, Symbol: allocSym, Msg: fmt.Sprintf("the image links its own allocator at 0x%x, which does not use %s; --arena-size cannot resize it", own.Value&^1, arenaEnd)}
	}
	arena, err := p.planArena(opts)
	if err != nil {
		return err
	}
	p.Arena = arena
	end := &target{name: arenaEnd, addr: arena.Address + arena.NewSize}
	var errs Errors
	for _, r := range uses {
		site, err := p.bindSite(r, end, detectLinker(img))
		if err != nil {
			errs = appendErr(errs, err)
			continue
		}
		p.Sites = append(p.Sites, site)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// Package model is the executable specification of the allocator elfpatch
// writes into an image: a bump allocator over one region, behind the
// canonical-ABI realloc signature
//
//	ptr __cabi_arena_realloc(old_ptr, old_len, align, new_len)
//
// It describes exactly what every built-in variant does (arena_blob/*.S:
// thumb2, thumb1, rv32/rv32c, aarch64, x86_64), including the choices
// SPEC.md leaves open, so that tests can run the model and a real
// allocator side by side and compare everything observable.
//
// Pointers are 32-bit values, the canonical ABI's i32, on every target:
// the 64-bit variants take w0-w3 (edi, esi, edx, ecx) and zero-extend the
// result, and elfpatch keeps their arena below 4 GiB. All address
// arithmetic is therefore modulo 2^32, wrapping exactly as uint32 does in
// Go; where a wrap matters the allocator checks for it, and so does the
// model.
//
// The state is three words: the region [Start, End) and the cursor, the
// one word of RAM the allocator owns (__elfpatch_state), which counts the
// bytes taken from Start. The image's startup zeroes it with .bss, so
// every reset starts with an empty arena.
//
// A call goes through these steps, in this order (Arena.Realloc has one
// commented block per step):
//
//  1. align must be a power of two, on every call (0 is not one); else
//     the call traps (TrapAlign).
//  2. new_len == 0 returns align itself, a dangling, aligned, non-null
//     pointer, and changes nothing.
//  3. The block that ends at the top (Start + Cursor) is the most recent
//     one: old_ptr is that block exactly when top - old_len == old_ptr
//     (modulo 2^32), old_ptr >= Start, and old_ptr is aligned to align.
//     It is resized where it is: the result is old_ptr (InPlace).
//  4. Any other call gets a fresh block at the top rounded up to align
//     (Fresh). top + align - 1 must not pass 2^32 (else TrapWrap).
//  5. The block must start at or before End (else TrapBeyondEnd) and its
//     new_len bytes must fit before End (new_len > End - p: TrapExhausted).
//  6. The cursor moves to the block's end: Cursor = p + new_len - Start.
//     A shrink of the most recent block gives bytes back; nothing else is
//     ever reclaimed.
//  7. A block that moved (p != old_ptr) receives the first
//     min(old_len, new_len) bytes at old_ptr, copied backwards (Copy).
//
// A trap changes nothing: no state, no memory. On the target it is a call
// of the image's __cabi_arena_exhausted (which must not return), or the
// architecture's permanently undefined instruction.
//
// With --pointer-base, elfpatch puts a shim in front of the same allocator
// (arena_blob/shim_*.S): Arena.ReallocBased.
package model

import "fmt"

// Arena is an allocator's whole state.
type Arena struct {
	// Start and End bound the region: [__elfpatch_arena_start,
	// __elfpatch_arena_end). Start <= End; neither changes.
	Start, End uint32
	// Cursor is __elfpatch_state: how many bytes from Start are taken.
	// Zero after a reset. Start + Cursor is the top.
	Cursor uint32
}

// New returns an empty arena over [start, end), as after a reset.
func New(start, end uint32) *Arena {
	return &Arena{Start: start, End: end}
}

// Top is the first free byte: where the most recent block ends.
func (a *Arena) Top() uint32 { return a.Start + a.Cursor }

// Reset empties the arena, as the startup code's clearing of .bss does.
func (a *Arena) Reset() { a.Cursor = 0 }

// Call is one call's four arguments, in the order the ABI passes them.
type Call struct {
	OldPtr, OldLen, Align, NewLen uint32
}

func (c Call) String() string {
	return fmt.Sprintf("realloc(%#x, %d, %#x, %d)", c.OldPtr, c.OldLen, c.Align, c.NewLen)
}

// Trap says whether and why a call traps. Each cause is its own outcome,
// although on the target they all look alike (a call of the hook).
type Trap int

const (
	// NoTrap: the call returned.
	NoTrap Trap = iota
	// TrapAlign: align is not a power of two (0 included).
	TrapAlign
	// TrapWrap: rounding the top up to align would pass 2^32
	// (top + align - 1 wraps).
	TrapWrap
	// TrapBeyondEnd: the block would start beyond End.
	TrapBeyondEnd
	// TrapExhausted: new_len bytes do not fit between the block's start
	// and End.
	TrapExhausted
)

var trapNames = [...]string{"none", "bad align", "wrap", "beyond end", "exhausted"}

func (t Trap) String() string {
	if t >= 0 && int(t) < len(trapNames) {
		return trapNames[t]
	}
	return fmt.Sprintf("Trap(%d)", int(t))
}

// Placement says where a returned pointer comes from.
type Placement int

const (
	// Dangling: new_len == 0, the result is align and nothing is taken.
	Dangling Placement = iota
	// InPlace: the most recent block, resized where it is.
	InPlace
	// Fresh: a new block at the top, rounded up to align.
	Fresh
)

var placementNames = [...]string{"dangling", "in place", "fresh"}

func (p Placement) String() string {
	if p >= 0 && int(p) < len(placementNames) {
		return placementNames[p]
	}
	return fmt.Sprintf("Placement(%d)", int(p))
}

// Copy is the memory a call moves: Len bytes from From to To, highest
// address first (for i from Len-1 down to 0: mem[To+i] = mem[From+i]).
// The allocators move words where both blocks are word-aligned and bytes
// elsewhere, always downwards; the result is the same as this byte copy,
// also when the ranges overlap. When To > From that is memmove; a caller
// that passes a wrong old_len can make To < From overlap, and then later
// bytes of the source are overwritten before they are read.
type Copy struct {
	From, To, Len uint32
}

// Apply performs the copy on mem, which holds the bytes at addresses
// [at, at+len(mem)); the copy must lie inside it.
func (c Copy) Apply(mem []byte, at uint32) {
	for i := c.Len; i > 0; i-- {
		mem[c.To+i-1-at] = mem[c.From+i-1-at]
	}
}

// Outcome is everything a call does.
type Outcome struct {
	// Trap is NoTrap if the call returned; otherwise nothing else is set
	// and nothing changed.
	Trap Trap
	// Result is the pointer returned.
	Result uint32
	// Placement says how Result was chosen.
	Placement Placement
	// Copy is the memory moved; the zero Copy when nothing is.
	Copy Copy
}

func (o Outcome) String() string {
	switch {
	case o.Trap != NoTrap:
		return "trap (" + o.Trap.String() + ")"
	case o.Copy.Len != 0:
		return fmt.Sprintf("%#x (%s, copy %d bytes from %#x)", o.Result, o.Placement, o.Copy.Len, o.Copy.From)
	default:
		return fmt.Sprintf("%#x (%s)", o.Result, o.Placement)
	}
}

func trap(t Trap) Outcome { return Outcome{Trap: t} }

// Realloc performs one call on the arena, exactly as the allocators in
// arena_blob do, and returns what it did. A trap leaves a unchanged.
func (a *Arena) Realloc(c Call) Outcome {
	// Step 1. align must be a power of two, on every call and before any
	// other check. mask is align - 1: the bits an aligned pointer has
	// clear.
	if c.Align == 0 || c.Align&(c.Align-1) != 0 {
		return trap(TrapAlign)
	}
	mask := c.Align - 1

	// Step 2. A zero-length request returns align, a dangling pointer that
	// is aligned and not null, whatever old_ptr and old_len are, and
	// changes nothing: the old block is not given back.
	if c.NewLen == 0 {
		return Outcome{Result: c.Align, Placement: Dangling}
	}

	// Step 3. The most recent block ends at the top. old_ptr is that block
	// if it ends there by the caller's own old_len (modulo 2^32), lies in
	// the arena (an old_len that reaches below Start does not count) and
	// already has the alignment asked for. It keeps its place: growing or
	// shrinking it copies nothing and wastes nothing.
	top := a.Top()
	var p uint32
	placement := Fresh
	if top-c.OldLen == c.OldPtr && c.OldPtr >= a.Start && c.OldPtr&mask == 0 {
		p = c.OldPtr
		placement = InPlace
	} else {
		// Step 4. Anything else is a fresh block at the top rounded up
		// to align. Rounding must not wrap past 2^32.
		if top+mask < top {
			return trap(TrapWrap)
		}
		p = (top + mask) &^ mask
	}

	// Step 5. The block starts at or before End and its new_len bytes fit
	// before End. (End - p cannot wrap once p <= End, and new_len <=
	// End - p means p + new_len does not wrap either.)
	if p > a.End {
		return trap(TrapBeyondEnd)
	}
	if c.NewLen > a.End-p {
		return trap(TrapExhausted)
	}

	// Step 6. Commit: the cursor moves to the end of the block. This is
	// the only state a call changes.
	a.Cursor = p + c.NewLen - a.Start

	// Step 7. A block that moved starts with the first min(old_len,
	// new_len) bytes at old_ptr. When p == old_ptr (in place, or a fresh
	// block that happens to start at old_ptr) nothing is copied, which is
	// the same as copying the bytes onto themselves.
	out := Outcome{Result: p, Placement: placement}
	if n := min(c.OldLen, c.NewLen); p != c.OldPtr && n != 0 {
		out.Copy = Copy{From: c.OldPtr, To: p, Len: n}
	}
	return out
}

// ReallocBased is a call through the pointer-base shim elfpatch places in
// front of the allocator with --pointer-base: pointers are offsets from
// base. A zero-length request goes to the allocator unchanged (its result,
// align, is not translated); any other call adds base to old_ptr and
// subtracts it from the result, both modulo 2^32 as wasm address
// arithmetic wraps. The allocator itself, its checks and its traps, work
// on addresses: Start, End and the Copy are addresses, and alignment is
// the address's (an offset is aligned as well only if base is).
func (a *Arena) ReallocBased(base uint32, c Call) Outcome {
	if c.NewLen == 0 {
		return a.Realloc(c)
	}
	c.OldPtr += base
	out := a.Realloc(c)
	if out.Trap == NoTrap {
		out.Result -= base
	}
	return out
}

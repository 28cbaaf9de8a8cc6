package model

import (
	"math/rand/v2"
	"testing"
)

// The arena most cases use: 4 KiB at an address with only 8-byte alignment
// guaranteed, as the linker scripts give .arena.
const (
	start = 0x20000108
	end   = start + 4096
)

// call is one row of a table: the arena's cursor before, the call, and
// what must come out (the cursor after a trap is the cursor before).
type call struct {
	name   string
	cursor uint32
	c      Call
	want   Outcome
	after  uint32 // the cursor after the call
}

func runTable(t *testing.T, rows []call) {
	t.Helper()
	for _, r := range rows {
		a := &Arena{Start: start, End: end, Cursor: r.cursor}
		got := a.Realloc(r.c)
		if got != r.want {
			t.Errorf("%s: %v with cursor %d = %v, want %v", r.name, r.c, r.cursor, got, r.want)
		}
		if r.want.Trap != NoTrap && a.Cursor != r.cursor {
			t.Errorf("%s: a trap moved the cursor from %d to %d", r.name, r.cursor, a.Cursor)
		}
		if r.want.Trap == NoTrap && a.Cursor != r.after {
			t.Errorf("%s: cursor %d after the call, want %d", r.name, a.Cursor, r.after)
		}
		if a.Start != start || a.End != end {
			t.Errorf("%s: the region changed to [%#x, %#x)", r.name, a.Start, a.End)
		}
	}
}

// negate is -n modulo 2^32: an old_len that reaches n bytes above the top.
func negate(n uint32) uint32 { return -n }

func fresh(p uint32) Outcome { return Outcome{Result: p, Placement: Fresh} }
func inPlace(p uint32) Outcome {
	return Outcome{Result: p, Placement: InPlace}
}
func moved(p, from, n uint32) Outcome {
	return Outcome{Result: p, Placement: Fresh, Copy: Copy{From: from, To: p, Len: n}}
}

// Step 1: align must be a power of two, on every call, before anything
// else: also for new_len == 0, also when the arena could not serve it.
func TestRuleAlignMustBeAPowerOfTwo(t *testing.T) {
	var rows []call
	for _, align := range []uint32{0, 3, 5, 6, 7, 12, 24, 0x80000001, 0xc0000000, 0xffffffff} {
		rows = append(rows,
			call{"fresh", 0, Call{0, 0, align, 8}, trap(TrapAlign), 0},
			call{"zero length", 16, Call{0, 0, align, 0}, trap(TrapAlign), 0},
			call{"zero length of a block", 16, Call{start, 16, align, 0}, trap(TrapAlign), 0},
			call{"most recent block", 16, Call{start, 16, align, 32}, trap(TrapAlign), 0},
			call{"too large as well", 16, Call{0, 0, align, 0xffffffff}, trap(TrapAlign), 0},
		)
	}
	for bit := range 32 {
		align := uint32(1) << bit
		rows = append(rows, call{"power of two, zero length", 0, Call{0, 0, align, 0}, Outcome{Result: align, Placement: Dangling}, 0})
	}
	runTable(t, rows)
}

// Step 2: new_len == 0 returns align and changes nothing, whatever old_ptr
// and old_len say.
func TestRuleZeroLengthReturnsAlign(t *testing.T) {
	dangling := func(a uint32) Outcome { return Outcome{Result: a, Placement: Dangling} }
	runTable(t, []call{
		{"(0, 0, align, 0)", 0, Call{0, 0, 8, 0}, dangling(8), 0},
		{"free of the most recent block", 64, Call{start + 32, 32, 4, 0}, dangling(4), 64},
		{"free of an older block", 64, Call{start, 32, 16, 0}, dangling(16), 64},
		{"full arena", 4096, Call{0, 0, 1, 0}, dangling(1), 4096},
		{"huge align", 4096, Call{0, 0, 0x80000000, 0}, dangling(0x80000000), 4096},
		{"bogus pointer", 12, Call{0xfffffff0, 0xffffffff, 2, 0}, dangling(2), 12},
	})
}

// Step 3: the most recent block -- top - old_len == old_ptr, old_ptr >=
// Start, old_ptr aligned -- is resized where it is.
func TestRuleMostRecentBlockResizesInPlace(t *testing.T) {
	runTable(t, []call{
		{"grow", 24, Call{start + 8, 16, 8, 100}, inPlace(start + 8), 108},
		{"shrink gives the bytes back", 24, Call{start + 8, 16, 8, 1}, inPlace(start + 8), 9},
		{"same size", 24, Call{start + 8, 16, 8, 16}, inPlace(start + 8), 24},
		{"grow to the last byte", 24, Call{start + 8, 16, 1, 4088}, inPlace(start + 8), 4096},
		{"the only block", 10, Call{start, 10, 1, 20}, inPlace(start), 20},
		{"a smaller alignment than it had", 24, Call{start + 8, 16, 2, 40}, inPlace(start + 8), 48},
		// old_len that covers several blocks: "the most recent block" is
		// whatever ends at the top by the caller's own old_len.
		{"old_len reaching back over later blocks", 100, Call{start + 4, 96, 4, 8}, inPlace(start + 4), 12},
		// An empty block at the top: old_len 0 and old_ptr == top.
		{"empty block at the top", 32, Call{start + 32, 0, 8, 5}, inPlace(start + 32), 37},
		// A huge old_len is a negative one modulo 2^32: old_ptr above the
		// top still "ends at the top" and keeps its place.
		{"old_ptr above the top by a wrapping old_len", 32, Call{start + 48, 0xfffffff0, 8, 4}, inPlace(start + 48), 52},
		// Too large: it traps in place rather than moving (see step 5).
		{"grow past the end", 24, Call{start + 8, 16, 8, 4089}, trap(TrapExhausted), 0},
	})
}

// Step 3, the other side: a call that fails any of the three conditions
// gets a fresh block (step 4), even if it names the most recent block.
func TestRuleOnlyTheMostRecentAlignedBlockInTheArenaStays(t *testing.T) {
	runTable(t, []call{
		{"wrong old_len, too small", 24, Call{start + 8, 15, 8, 30}, moved(start+24, start+8, 15), 54},
		{"wrong old_len, too large", 24, Call{start + 8, 17, 8, 30}, moved(start+24, start+8, 17), 54},
		{"misaligned for the new align", 24, Call{start + 8, 16, 32, 30}, moved(start+24, start+8, 16), 54},
		// top - old_len == old_ptr, but below the arena: never in place,
		// the cursor must not move below Start.
		{"below the arena", 24, Call{start - 8, 32, 8, 30}, moved(start+24, start-8, 30), 54},
		{"an older block", 48, Call{start, 16, 8, 8}, moved(start+48, start, 8), 56},
		{"no old block", 48, Call{0, 0, 8, 8}, fresh(start + 48), 56},
	})
}

// Step 4: a fresh block starts at the top rounded up to align; the gap is
// not reused.
func TestRuleFreshBlockAtTheTopRoundedUp(t *testing.T) {
	runTable(t, []call{
		{"first block", 0, Call{0, 0, 1, 1}, fresh(start), 1},
		{"already aligned", 16, Call{0, 0, 8, 1}, fresh(start + 16), 17},
		{"round up to 4", 17, Call{0, 0, 4, 1}, fresh(start + 20), 21},
		{"round up to 16", 1, Call{0, 0, 16, 4}, fresh(start + 8), 12}, // start is 8 mod 16
		{"round up to 4096", 1, Call{0, 0, 4096, 1}, fresh(0x20001000), 0x20001000 + 1 - start},
		{"round up to 8192: beyond the end", 1, Call{0, 0, 8192, 1}, trap(TrapBeyondEnd), 0},
		{"old_len 0 with a pointer elsewhere", 8, Call{start, 0, 8, 8}, fresh(start + 8), 16},
	})
}

// Step 4: rounding the top up must not wrap past 2^32.
func TestRuleRoundingThatWrapsTraps(t *testing.T) {
	high := &Arena{Start: 0xfffff000, End: 0xffffffff}
	for _, c := range []struct {
		cursor uint32
		c      Call
		want   Trap
	}{
		{0, Call{0, 0, 0x80000000, 1}, TrapWrap},
		{0, Call{0, 0, 0x2000, 1}, TrapWrap},
		{0x10, Call{0, 0, 0x1000, 1}, TrapWrap},
		{0, Call{0, 0, 0x1000, 1}, NoTrap}, // 0xfffff000 is aligned: no wrap
		{0xfff, Call{0, 0, 2, 1}, TrapWrap},
		{0xfff, Call{0, 0, 1, 1}, TrapExhausted},
	} {
		high.Cursor = c.cursor
		if got := high.Realloc(c.c); got.Trap != c.want {
			t.Errorf("top %#x: %v = %v, want trap %v", high.Top(), c.c, got, c.want)
		}
	}
	// The same align at a low address does not wrap: it lands beyond End.
	low := New(start, end)
	if got := low.Realloc(Call{0, 0, 0x80000000, 1}); got.Trap != TrapBeyondEnd {
		t.Errorf("low arena, align 2^31: %v, want beyond end", got)
	}
}

// Step 5: a block may not start beyond End, and must fit before it.
func TestRuleBeyondTheEndAndExhaustionTrap(t *testing.T) {
	runTable(t, []call{
		{"exactly the rest", 96, Call{0, 0, 1, 4000}, fresh(start + 96), 4096},
		{"one byte more than the rest", 96, Call{0, 0, 1, 4001}, trap(TrapExhausted), 0},
		{"full arena, one byte", 4096, Call{0, 0, 1, 1}, trap(TrapExhausted), 0},
		{"full arena, block starts at End", 4096, Call{0, 0, 8, 1}, trap(TrapExhausted), 0},
		{"rounded to just past End", 4095, Call{0, 0, 16, 1}, trap(TrapBeyondEnd), 0},
		{"huge new_len", 0, Call{0, 0, 1, 0xffffffff}, trap(TrapExhausted), 0},
		{"p + new_len would wrap", 8, Call{0, 0, 8, 0xfffffff8}, trap(TrapExhausted), 0},
		// A huge old_len puts "the most recent block" above the top.
		{"in place at a pointer beyond End", 0, Call{end + 8, negate(4096 + 8), 8, 1}, trap(TrapBeyondEnd), 0},
		{"in place at End", 0, Call{end, negate(4096), 8, 1}, trap(TrapExhausted), 0},
		{"in place, grows past End", 16, Call{start, 16, 8, 4097}, trap(TrapExhausted), 0},
	})
}

// Step 6: the cursor is the end of the last block returned, and only a
// returning call with new_len != 0 moves it.
func TestRuleTheCursorFollowsTheLastBlock(t *testing.T) {
	a := New(start, end)
	steps := []struct {
		c     Call
		after uint32
	}{
		{Call{0, 0, 4, 10}, 10},
		{Call{0, 0, 4, 0}, 10},                   // dangling: nothing taken
		{Call{0, 0, 3, 10}, 10},                  // trap: nothing taken
		{Call{0, 0, 8, 1}, 17},                   // padding: 10 rounds up to 16
		{Call{start + 16, 1, 8, 100}, 116},       // grown in place
		{Call{start + 16, 100, 8, 2}, 18},        // shrunk in place: bytes given back
		{Call{start, 10, 4, 5}, 25},              // an older block moves: fresh at 20
		{Call{start + 20, 5, 1, 0xffffffff}, 25}, // exhausted: nothing taken
		// Misaligned for 2048: fresh, at the top (start + 25 =
		// 0x20000121) rounded up to 0x20000800, 0x6f8 bytes in.
		{Call{start + 20, 5, 0x800, 5}, 0x6f8 + 5},
	}
	for i, s := range steps {
		a.Realloc(s.c)
		if a.Cursor != s.after {
			t.Fatalf("step %d %v: cursor %d, want %d", i, s.c, a.Cursor, s.after)
		}
	}
	a.Reset()
	if a.Cursor != 0 || a.Top() != start {
		t.Fatalf("reset: cursor %d", a.Cursor)
	}
}

// Step 7: a moved block receives min(old_len, new_len) bytes, copied
// backwards; in place nothing is copied.
func TestRuleAMovedBlockStartsWithTheOldPrefix(t *testing.T) {
	runTable(t, []call{
		{"grow an older block", 64, Call{start, 16, 8, 32}, moved(start+64, start, 16), 96},
		{"shrink an older block", 64, Call{start, 16, 8, 4}, moved(start+64, start, 4), 68},
		{"moved for alignment", 24, Call{start + 8, 16, 32, 16}, moved(start+24, start+8, 16), 40},
		{"bogus old_len is copied as given", 64, Call{start, 1000, 1, 5}, moved(start+64, start, 5), 69},
		{"in place copies nothing", 24, Call{start + 8, 16, 8, 4}, inPlace(start + 8), 12},
		// A fresh block that starts at old_ptr itself: nothing moves.
		{"fresh at old_ptr", 24, Call{start + 24, 3, 8, 4}, fresh(start + 24), 28},
	})

	// The copy's semantics on memory: backwards, byte by byte.
	mem := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	Copy{From: 100, To: 102, Len: 4}.Apply(mem, 100) // To > From, overlapping: a memmove
	if want := []byte{1, 2, 1, 2, 3, 4, 7, 8}; string(mem) != string(want) {
		t.Errorf("overlapping copy upwards: %v, want %v", mem, want)
	}
	mem = []byte{1, 2, 3, 4, 5, 6, 7, 8}
	Copy{From: 102, To: 100, Len: 4}.Apply(mem, 100) // To < From, overlapping: backwards overwrites
	if want := []byte{5, 6, 5, 6, 5, 6, 7, 8}; string(mem) != string(want) {
		t.Errorf("overlapping copy downwards: %v, want %v", mem, want)
	}
}

// A trap changes nothing, whichever check fails.
func TestRuleATrapChangesNothing(t *testing.T) {
	for _, c := range []Call{{0, 0, 3, 8}, {0, 0, 8, 5000}, {0, 0, 0x80000000, 1}, {start, 64, 8, 4097}} {
		a := &Arena{Start: start, End: end, Cursor: 64}
		before := *a
		if out := a.Realloc(c); out.Trap == NoTrap {
			t.Fatalf("%v did not trap: %v", c, out)
		} else if out != (Outcome{Trap: out.Trap}) {
			t.Errorf("%v: a trap with a result: %+v", c, out)
		}
		if *a != before {
			t.Errorf("%v: state %+v after a trap, was %+v", c, *a, before)
		}
	}
}

// The pointer-base shim: offsets in and out, zero length untranslated.
func TestRulePointerBaseTranslates(t *testing.T) {
	const base = 0x20000000
	a := New(start, end)
	if got := a.ReallocBased(base, Call{0, 0, 8, 0}); got.Result != 8 || got.Placement != Dangling {
		t.Errorf("zero length: %v, want 8 untranslated", got)
	}
	first := a.ReallocBased(base, Call{0, 0, 8, 16})
	if first.Result != start-base || first.Placement != Fresh {
		t.Fatalf("first block: %v, want offset %#x", first, start-base)
	}
	if got := a.ReallocBased(base, Call{first.Result, 16, 8, 32}); got.Result != first.Result || got.Placement != InPlace {
		t.Errorf("grow the offset in place: %v", got)
	}
	// old_ptr + base wraps: an offset that is not in the arena as an
	// address is not the most recent block, whatever it is as an offset.
	if got := a.ReallocBased(base, Call{0xfffffff0, 0, 8, 1}); got.Placement != Fresh || got.Copy.Len != 0 {
		t.Errorf("wrapping offset: %v", got)
	}
	if got := a.ReallocBased(base, Call{0, 0, 3, 1}); got.Trap != TrapAlign {
		t.Errorf("bad align through the shim: %v", got)
	}

	// Alignment is the address's: with a base aligned to 8 only, an
	// offset asked to be aligned to 16 is aligned to 8.
	b := New(0x20000100, 0x20001100)
	got := b.ReallocBased(0x20000008, Call{0, 0, 16, 1})
	if got.Result != 0xf8 || (got.Result+0x20000008)%16 != 0 {
		t.Errorf("unaligned base: offset %#x, want 0xf8 (the address 0x20000100)", got.Result)
	}
}

// The contract, for callers that keep it (true old_len, blocks they own):
// every block is aligned, inside the arena, disjoint from every other live
// block, and starts with the old prefix. Checked on many random calls.
func TestTheModelKeepsTheContract(t *testing.T) {
	type block struct{ p, n uint32 }
	rng := rand.New(rand.NewPCG(1, 2))
	for seq := 0; seq < 2000; seq++ {
		a := New(start, end)
		var live []block
		for range 30 {
			align := uint32(1) << rng.IntN(13)
			n := uint32(rng.IntN(700))
			var c Call
			idx := -1
			if len(live) > 0 && rng.IntN(2) == 0 {
				idx = rng.IntN(len(live))
				c = Call{live[idx].p, live[idx].n, align, n}
			} else {
				c = Call{0, 0, align, n}
			}
			out := a.Realloc(c)
			if out.Trap != NoTrap {
				if out.Trap != TrapExhausted && out.Trap != TrapBeyondEnd {
					t.Fatalf("%v: unexpected trap %v", c, out.Trap)
				}
				continue
			}
			if out.Result&(align-1) != 0 || out.Result == 0 {
				t.Fatalf("%v: %#x misaligned or null", c, out.Result)
			}
			if n == 0 {
				continue
			}
			if out.Result < start || out.Result+n > end {
				t.Fatalf("%v: [%#x, +%d) outside the arena", c, out.Result, n)
			}
			if idx >= 0 {
				if out.Placement == Fresh && out.Copy != (Copy{c.OldPtr, out.Result, min(c.OldLen, n)}) {
					t.Fatalf("%v: copy %+v", c, out.Copy)
				}
				live = append(live[:idx], live[idx+1:]...)
			}
			for _, b := range live {
				if out.Result < b.p+b.n && b.p < out.Result+n {
					t.Fatalf("%v: %#x overlaps live [%#x, +%d)", c, out.Result, b.p, b.n)
				}
			}
			live = append(live, block{out.Result, n})
		}
	}
}

package seq

import (
	"reflect"
	"testing"

	"github.com/pulseengine/elfpatch/model"
)

// env4K is a 4 KiB arena at an address aligned to 8 only, as a linker
// script gives .arena; envBased the same seen through a pointer base.
var (
	env4K    = Env{Start: 0x20000108, End: 0x20001108}
	envBased = Env{Start: 0x20000108, End: 0x20001108, Based: true, Base: 0x20000000}
	// envHigh lies at the top of the address space, where rounding up wraps.
	envHigh = Env{Start: 0xfffff000, End: 0xfffffff8}
)

func TestSequencesAreDeterministicAndIndependent(t *testing.T) {
	g := Generator{Env: env4K, Seed: 7}
	a := g.Sequences(0, 50)
	b := g.Sequences(0, 50)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed made different sequences")
	}
	// Sequence 30 is the same whether made alone or after others.
	if one := g.Sequence(30); !reflect.DeepEqual(one, a[30]) {
		t.Fatal("sequence 30 depends on the sequences made before it")
	}
	if c := (Generator{Env: env4K, Seed: 8}).Sequences(0, 50); reflect.DeepEqual(a, c) {
		t.Fatal("another seed made the same sequences")
	}
	for i := 1; i < len(a); i++ {
		if reflect.DeepEqual(a[i].Ops, a[i-1].Ops) {
			t.Fatalf("sequences %d and %d are the same", i-1, i)
		}
	}
}

// What the generator must produce, counted over the model's run of many
// sequences: every kind of call, size, alignment and outcome the brief
// names, each many times.
func TestTheGeneratorCoversEveryCase(t *testing.T) {
	for _, env := range []Env{env4K, envBased, envHigh} {
		seen := map[string]int{}
		ops := 0
		g := Generator{Env: env, Seed: 1}
		for id := range uint32(3000) {
			s := g.Sequence(id)
			if len(s.Ops) == 0 || len(s.Ops) > MaxOps {
				t.Fatalf("sequence %d has %d operations", id, len(s.Ops))
			}
			steps, err := env.Run(s.Ops)
			if err != nil {
				t.Fatalf("sequence %d may not run: %v\n%s", id, err, env.Format(s))
			}
			ops += len(s.Ops)
			live := map[uint32]uint32{} // op index -> length, blocks held
			for k, st := range steps {
				op, c, o := s.Ops[k], st.Call, st.Out
				count := func(what string, cond bool) {
					if cond {
						seen[what]++
					}
				}
				count("trap: "+o.Trap.String(), o.Trap != model.NoTrap)
				count("placement: "+o.Placement.String(), o.Trap == model.NoTrap)
				count("copy", o.Copy.Len != 0)
				count("copy of more than 64 bytes", o.Copy.Len > 64)
				count("new_len 0", c.NewLen == 0)
				count("new_len 1..3", c.NewLen >= 1 && c.NewLen <= 3)
				count("new_len a word multiple", c.NewLen != 0 && c.NewLen%4 == 0 && c.NewLen <= 256)
				count("new_len large", c.NewLen >= 1024 && c.NewLen < env.Size()-64)
				count("new_len near the arena size", c.NewLen >= env.Size()-64 && c.NewLen <= env.Size()+1)
				count("new_len huge", c.NewLen >= 0x7ffffff8)
				count("align 1..8", c.Align >= 1 && c.Align <= 8 && c.Align&(c.Align-1) == 0)
				count("align 16..4096", c.Align >= 16 && c.Align <= 4096 && c.Align&(c.Align-1) == 0)
				count("align beyond 4096", c.Align > 4096 && c.Align&(c.Align-1) == 0)
				count("align 0x80000000", c.Align == 0x80000000)
				count("align 0", c.Align == 0)
				count("align not a power of two", c.Align != 0 && c.Align&(c.Align-1) != 0)
				count("old_len wraps", c.OldLen >= 0x80000000)
				count("old_ptr near 2^32", c.OldPtr >= 0xfffff000)
				count("in arena", op.Ref == InArena)
				count("old_ptr below the arena, old_len to the top", c.OldPtr < env.PtrStart() && st.Out.Placement == model.Fresh && c.OldPtr+c.OldLen == env.PtrStart()+cursorBefore(steps, k))
				n, held := live[op.Val]
				count("grow of a held block", op.Ref == Result && held && c.OldLen == n && c.NewLen > n && o.Trap == model.NoTrap)
				count("shrink of a held block", op.Ref == Result && held && c.OldLen == n && c.NewLen < n && c.NewLen != 0 && o.Trap == model.NoTrap)
				count("the most recent block in place", op.Ref == Result && held && c.OldLen == n && o.Placement == model.InPlace && o.Trap == model.NoTrap)
				count("an older block moved", op.Ref == Result && held && c.OldLen == n && o.Placement == model.Fresh && o.Trap == model.NoTrap)
				count("a held block with a wrong old_len", op.Ref == Result && held && c.OldLen != n)
				count("a wrong old_len in place (later blocks given up)", op.Ref == Result && held && c.OldLen > n && o.Placement == model.InPlace)
				count("a dangling pointer as old_ptr", op.Ref == Result && s.Ops[op.Val].NewLen == 0 && c.NewLen != 0)
				if o.Trap == model.NoTrap && c.NewLen != 0 {
					if op.Ref == Result {
						delete(live, op.Val)
					}
					live[uint32(k)] = c.NewLen
				}
			}
		}
		t.Logf("%+v: 3000 sequences, %d operations", env, ops)
		for _, what := range []string{
			"trap: bad align", "trap: exhausted",
			"placement: dangling", "placement: in place", "placement: fresh", "copy", "copy of more than 64 bytes",
			"new_len 0", "new_len 1..3", "new_len a word multiple", "new_len large", "new_len near the arena size", "new_len huge",
			"align 1..8", "align 16..4096", "align beyond 4096", "align 0x80000000", "align 0", "align not a power of two",
			"old_len wraps", "old_ptr near 2^32", "in arena", "old_ptr below the arena, old_len to the top",
			"grow of a held block", "shrink of a held block", "the most recent block in place", "an older block moved",
			"a held block with a wrong old_len", "a wrong old_len in place (later blocks given up)", "a dangling pointer as old_ptr",
		} {
			if seen[what] < 20 {
				t.Errorf("%+v: %q only %d times", env, what, seen[what])
			}
		}
		// Wrapping needs an arena near 2^32; at a low one the huge
		// alignments land beyond the end instead (and at the high one
		// nothing aligned lies beyond its end but below 2^32).
		wantTraps := []string{"trap: beyond end"}
		if env == envHigh {
			wantTraps = []string{"trap: wrap"}
		}
		for _, what := range wantTraps {
			if seen[what] < 20 {
				t.Errorf("%+v: %q only %d times", env, what, seen[what])
			}
		}
		t.Logf("%v", seen)
	}
}

// mutant is the model with one bug, for the shrinker to find.
type mutant int

const (
	bugNone         mutant = iota
	bugOffByOne            // exhausted when new_len >= room, not > room
	bugIgnoresAlign        // the most recent block stays even if misaligned
	bugZeroLenNull         // new_len == 0 returns 0
	bugShortCopy           // copies one byte less
	bugBelowStart          // forgets old_ptr >= start
)

func (m mutant) realloc(a *model.Arena, c model.Call) model.Outcome {
	before := *a
	out := a.Realloc(c)
	switch m {
	case bugOffByOne:
		if out.Trap == model.NoTrap && c.NewLen != 0 && c.NewLen == a.End-out.Result {
			*a = before
			return model.Outcome{Trap: model.TrapExhausted}
		}
	case bugIgnoresAlign, bugBelowStart:
		top := before.Top()
		mask := c.Align - 1
		inPlace := top-c.OldLen == c.OldPtr && c.NewLen != 0 && c.Align&mask == 0 && c.Align != 0
		if m == bugIgnoresAlign {
			inPlace = inPlace && c.OldPtr >= a.Start && c.OldPtr&mask != 0
		} else {
			inPlace = inPlace && c.OldPtr < a.Start && c.OldPtr&mask == 0
		}
		if inPlace && c.OldPtr <= a.End && c.NewLen <= a.End-c.OldPtr {
			*a = before
			a.Cursor = c.OldPtr + c.NewLen - a.Start
			return model.Outcome{Result: c.OldPtr, Placement: model.InPlace}
		}
	case bugZeroLenNull:
		if out.Placement == model.Dangling && out.Trap == model.NoTrap {
			out.Result = 0
		}
	case bugShortCopy:
		if out.Copy.Len != 0 {
			out.Copy.Len--
		}
	}
	return out
}

// disagrees runs s on the model and on the mutant and compares every
// result, trap and copy.
func (m mutant) disagrees(env Env, s Sequence) bool {
	steps, err := env.Run(s.Ops)
	if err != nil {
		return false
	}
	a := model.New(env.Start, env.End)
	for _, st := range steps {
		if got := m.realloc(a, st.Call); got != st.Out {
			return true
		}
	}
	return false
}

func (m mutant) oracle(env Env) Oracle {
	return func(cands []Sequence) (int, error) {
		for i, c := range cands {
			if m.disagrees(env, c) {
				return i, nil
			}
		}
		return -1, nil
	}
}

// The shrinker reduces the first generated sequence that catches each
// bug to a few operations that still catch it.
func TestTheShrinkerFindsShortSequences(t *testing.T) {
	for _, c := range []struct {
		name   string
		bug    mutant
		maxOps int
	}{
		{"off by one at the end", bugOffByOne, 2},
		{"in place although misaligned", bugIgnoresAlign, 3},
		{"zero length returns null", bugZeroLenNull, 1},
		{"short copy", bugShortCopy, 2},
		{"in place below the start", bugBelowStart, 2},
	} {
		g := Generator{Env: env4K, Seed: 3}
		var found *Sequence
		for id := range uint32(5000) {
			if s := g.Sequence(id); c.bug.disagrees(env4K, s) {
				found = &s
				break
			}
		}
		if found == nil {
			t.Errorf("%s: no generated sequence catches the bug", c.name)
			continue
		}
		short, stats, err := Shrink(env4K, *found, c.bug.oracle(env4K))
		if err != nil {
			t.Fatal(err)
		}
		if !c.bug.disagrees(env4K, short) {
			t.Errorf("%s: the shrunk sequence no longer catches the bug:\n%s", c.name, env4K.Format(short))
		}
		if len(short.Ops) > c.maxOps {
			t.Errorf("%s: shrunk from %d to %d operations, want at most %d:\n%s", c.name, len(found.Ops), len(short.Ops), c.maxOps, env4K.Format(short))
		}
		t.Logf("%s: %d -> %d operations (%d oracle calls, %d candidates)\n%s", c.name, len(found.Ops), len(short.Ops), stats.Calls, stats.Candidates, env4K.Format(short))
	}
}

// Removing an operation that a later one refers to keeps the later call's
// arguments: the reference becomes the pointer itself.
func TestRemovingAReferencedOperationKeepsThePointer(t *testing.T) {
	ops := []Op{
		{Ref: Abs, Align: 8, NewLen: 16},
		{Ref: Abs, Align: 8, NewLen: 8},
		{Ref: Result, Val: 1, OldLen: 8, Align: 8, NewLen: 32},
		{Ref: Result, Val: 2, OldLen: 32, Align: 8, NewLen: 4},
	}
	sh := &shrinker{env: env4K}
	got := sh.without(ops, func(k int) bool { return k == 1 })
	want := []Op{
		{Ref: Abs, Align: 8, NewLen: 16},
		{Ref: InArena, Val: 16, OldLen: 8, Align: 8, NewLen: 32},
		{Ref: Result, Val: 1, OldLen: 32, Align: 8, NewLen: 4},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

// An operation that would copy from outside the arena may not run; the
// generator never makes one.
func TestCopiesFromOutsideTheArenaAreRefused(t *testing.T) {
	for _, ops := range [][]Op{
		{{Ref: Abs, Val: 0, OldLen: 4, Align: 1, NewLen: 4}},                            // from address 0
		{{Ref: InArena, Val: 4090, OldLen: 16, Align: 1, NewLen: 16}},                   // past the end
		{{Ref: Result, Val: 0, Align: 1, NewLen: 1}},                                    // a later operation
		{{Ref: Abs, Val: 0xfffffff0, OldLen: 0x20, Align: 1, NewLen: 0x20}},             // wraps
		{{Ref: InArena, Val: 0, OldLen: 1, Align: 1, NewLen: 0}, {Ref: Result, Val: 1}}, // itself
		{{Ref: InArena, Val: negate(ReadMargin + 1), OldLen: 1, Align: 1, NewLen: 1}},   // below the margin
		{{Ref: InArena, Val: 4096, OldLen: 1, Align: 1, NewLen: 1}},                     // above the arena
		{{Ref: InArena, Val: 4090, OldLen: 7, Align: 1, NewLen: 8}},                     // across its end
	} {
		if env4K.Valid(ops) {
			t.Errorf("%v may run", ops)
		}
	}
	for _, ops := range [][]Op{
		{{Ref: Abs, Val: 0, OldLen: 4, Align: 3, NewLen: 4}},                        // traps before copying
		{{Ref: InArena, Val: negate(ReadMargin), OldLen: 80, Align: 1, NewLen: 80}}, // from the margin below into the arena
		{{Ref: InArena, Val: 4090, OldLen: 6, Align: 1, NewLen: 100}},               // up to its end
	} {
		if !env4K.Valid(ops) {
			t.Errorf("%v was refused", ops)
		}
	}
}

// negate is -v modulo 2^32: an offset v bytes below the arena.
func negate(v uint32) uint32 { return -v }

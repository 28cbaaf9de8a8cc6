package seq

import (
	"slices"

	"github.com/pulseengine/elfpatch/model"
)

// Oracle runs candidate sequences, in order, and returns the index of the
// first one that still fails (on which the allocator and the model still
// disagree), or -1 if none does. It may stop at the first failure. A run
// on a target is costly, so the shrinker asks about many candidates at
// once.
type Oracle func(cands []Sequence) (int, error)

// ShrinkStats says how much work a shrink took.
type ShrinkStats struct {
	Calls      int // oracle calls
	Candidates int // candidate sequences asked about
	Steps      int // candidates accepted
}

// MaxShrinkCalls bounds the oracle calls of one Shrink.
const MaxShrinkCalls = 400

// Shrink reduces s, which fails, to a shorter and simpler sequence that
// still fails, by delta debugging: first over operations (removing chunks
// of them, halving the chunk size until single operations; ddmin), then
// runs of operations collapsed into one allocation of the same extent,
// then over values (one argument of one operation made simpler: old_ptr to 0,
// lengths to 0, 1, half or one less, alignments to 1 or half), again and
// again until no candidate fails. Every candidate is strictly smaller than
// the sequence it comes from (fewer operations; else fewer references;
// else smaller values), so the shrink ends; it also stops after
// MaxShrinkCalls oracle calls. Candidates that may not run (Env.Run) are
// never asked about.
//
// Removing an operation that a later one names by Result turns that
// reference into the pointer value the removed operation returned (as an
// offset into the arena, or as a plain value), so the later call keeps
// its arguments.
func Shrink(env Env, s Sequence, fails Oracle) (Sequence, ShrinkStats, error) {
	sh := &shrinker{env: env, id: s.ID, fails: fails}
	ops := slices.Clone(s.Ops)
	for {
		var progress, p bool
		var err error
		ops, p, err = sh.removeOps(ops)
		progress = progress || p
		if err != nil {
			return Sequence{ID: s.ID, Ops: ops}, sh.stats, err
		}
		ops, p, err = sh.collapse(ops)
		progress = progress || p
		if err != nil {
			return Sequence{ID: s.ID, Ops: ops}, sh.stats, err
		}
		for {
			ops, p, err = sh.simplify(ops)
			if err != nil {
				return Sequence{ID: s.ID, Ops: ops}, sh.stats, err
			}
			if !p {
				break
			}
			progress = true
		}
		if !progress || sh.stats.Calls >= MaxShrinkCalls {
			return Sequence{ID: s.ID, Ops: ops}, sh.stats, nil
		}
	}
}

type shrinker struct {
	env   Env
	id    uint32
	fails Oracle
	stats ShrinkStats
}

// try asks about the candidates that may run and are smaller than cur, in
// order, and returns the first that fails.
func (sh *shrinker) try(cur []Op, cands [][]Op) ([]Op, bool, error) {
	if sh.stats.Calls >= MaxShrinkCalls {
		return cur, false, nil
	}
	c0 := costOf(cur)
	var asked []Sequence
	seen := map[string]bool{}
	for _, c := range cands {
		key := opsKey(c)
		if c == nil || seen[key] || !costOf(c).less(c0) || !sh.env.Valid(c) {
			continue
		}
		seen[key] = true
		asked = append(asked, Sequence{ID: sh.id, Ops: c})
	}
	if len(asked) == 0 {
		return cur, false, nil
	}
	sh.stats.Calls++
	sh.stats.Candidates += len(asked)
	i, err := sh.fails(asked)
	if err != nil || i < 0 {
		return cur, false, err
	}
	sh.stats.Steps++
	return asked[i].Ops, true, nil
}

// removeOps is ddmin over the operations: remove each of n chunks (and,
// for n > 2, keep each chunk alone); on success continue with the rest,
// else split finer, down to single operations.
func (sh *shrinker) removeOps(ops []Op) ([]Op, bool, error) {
	progress := false
	n := 2
	for len(ops) > 1 {
		n = min(n, len(ops))
		chunk := (len(ops) + n - 1) / n
		var cands [][]Op
		for i := 0; i < len(ops); i += chunk {
			cands = append(cands, sh.without(ops, func(k int) bool { return k >= i && k < i+chunk }))
		}
		if n > 2 {
			for i := 0; i < len(ops); i += chunk {
				cands = append(cands, sh.without(ops, func(k int) bool { return k < i || k >= i+chunk }))
			}
		}
		next, ok, err := sh.try(ops, cands)
		if err != nil {
			return ops, progress, err
		}
		if ok {
			ops, progress = next, true
			n = max(n-1, 2)
			continue
		}
		if n == len(ops) {
			break
		}
		n = min(2*n, len(ops))
	}
	return ops, progress, nil
}

// without returns ops minus those drop selects, references renumbered; a
// reference to a dropped operation becomes the pointer it returned.
func (sh *shrinker) without(ops []Op, drop func(int) bool) []Op {
	return sh.replace(ops, drop, nil)
}

// replace returns ops with those drop selects removed and repl inserted
// where the first of them was; references are renumbered, and a reference
// to a removed operation becomes the pointer it returned.
func (sh *shrinker) replace(ops []Op, drop func(int) bool, repl []Op) []Op {
	steps, err := sh.env.Run(ops)
	if err != nil {
		return nil
	}
	index := make([]int, len(ops))
	var out []Op
	inserted := false
	for k, op := range ops {
		if drop(k) {
			index[k] = -1
			if !inserted {
				out = append(out, repl...)
				inserted = true
			}
			continue
		}
		index[k] = len(out)
		if op.Ref == Result {
			if j := int(op.Val); index[j] >= 0 {
				op.Val = uint32(index[j])
			} else {
				op = sh.pointer(op, steps[j])
			}
		}
		out = append(out, op)
	}
	return out
}

// maxCollapse bounds the candidates of one collapse.
const maxCollapse = 256

// collapse replaces a run of two or more operations by one allocation that
// leaves the cursor where the run left it, realloc(0, 0, 1, n), or by
// nothing if the run leaves it where it was: a later call whose arguments
// depend on the top (an old_len that reaches it) keeps working, which
// removing the run would break. Longest runs first.
func (sh *shrinker) collapse(ops []Op) ([]Op, bool, error) {
	steps, err := sh.env.Run(ops)
	if err != nil {
		return ops, false, nil
	}
	var cands [][]Op
	for n := len(ops); n >= 2 && len(cands) < maxCollapse; n-- {
		for i := 0; i+n <= len(ops) && len(cands) < maxCollapse; i++ {
			before := cursorBefore(steps, i)
			after := steps[i+n-1].Cursor
			if after < before {
				continue // the run gave bytes back: no one allocation does that
			}
			var repl []Op
			if after > before {
				repl = []Op{{Ref: Abs, Align: 1, NewLen: after - before}}
			}
			cands = append(cands, sh.replace(ops, func(k int) bool { return k >= i && k < i+n }, repl))
		}
	}
	return sh.try(ops, cands)
}

// cursorBefore is the cursor before step k.
func cursorBefore(steps []Step, k int) uint32 {
	if k == 0 {
		return 0
	}
	return steps[k-1].Cursor
}

// pointer names the pointer step returned as a value: an offset into the
// arena if it lies there, else the value itself (0 for a trap).
func (sh *shrinker) pointer(op Op, st Step) Op {
	v := uint32(0)
	if st.Out.Trap == model.NoTrap {
		v = st.Out.Result
	}
	if off := v - sh.env.PtrStart(); off <= sh.env.Size() {
		op.Ref, op.Val = InArena, off
	} else {
		op.Ref, op.Val = Abs, v
	}
	return op
}

// simplify tries every one-argument simplification of every operation,
// the boldest first, and takes the first that still fails.
func (sh *shrinker) simplify(ops []Op) ([]Op, bool, error) {
	var levels [4][][]Op
	for i, op := range ops {
		for _, c := range simpler(op) {
			cand := slices.Clone(ops)
			cand[i] = c.op
			levels[c.level] = append(levels[c.level], cand)
		}
	}
	var cands [][]Op
	for _, l := range levels {
		cands = append(cands, l...)
	}
	return sh.try(ops, cands)
}

type simplerOp struct {
	level int // 0 boldest .. 3 smallest step
	op    Op
}

// simpler lists op with one argument made simpler.
func simpler(op Op) []simplerOp {
	var out []simplerOp
	add := func(level int, f func(*Op)) {
		c := op
		f(&c)
		if c != op {
			out = append(out, simplerOp{level, c})
		}
	}
	isPow2 := op.Align != 0 && op.Align&(op.Align-1) == 0
	// level 0: drop an argument altogether
	add(0, func(c *Op) { c.Ref, c.Val = Abs, 0 })
	add(0, func(c *Op) { c.OldLen = 0 })
	add(0, func(c *Op) { c.NewLen = 0 })
	// level 1: the smallest value of its kind
	add(1, func(c *Op) { c.NewLen = min(c.NewLen, 1) })
	add(1, func(c *Op) { c.OldLen = min(c.OldLen, c.NewLen) })
	add(1, func(c *Op) { c.NewLen = min(c.NewLen, c.OldLen) })
	if isPow2 {
		add(1, func(c *Op) { c.Align = 1 })
	} else {
		add(1, func(c *Op) { c.Align = 0 })
	}
	if op.Ref == InArena {
		add(1, func(c *Op) { c.Val = 0 })
	}
	// level 2: halve
	add(2, func(c *Op) { c.NewLen /= 2 })
	add(2, func(c *Op) { c.OldLen /= 2 })
	add(2, func(c *Op) { c.Val /= 2 })
	if isPow2 {
		add(2, func(c *Op) { c.Align = max(c.Align/2, 1) })
	} else if op.Align > 3 {
		add(2, func(c *Op) { c.Align = 3 })
	}
	// level 3: one less
	add(3, func(c *Op) { c.NewLen -= min(c.NewLen, 1) })
	add(3, func(c *Op) { c.OldLen -= min(c.OldLen, 1) })
	add(3, func(c *Op) { c.Val -= min(c.Val, 1) })
	return out
}

// cost orders sequences for the shrinker: fewer operations, then fewer
// references (a Result costs 2, an InArena 1), then smaller values.
type cost struct {
	ops, refs int
	values    uint64
}

func (a cost) less(b cost) bool {
	if a.ops != b.ops {
		return a.ops < b.ops
	}
	if a.refs != b.refs {
		return a.refs < b.refs
	}
	return a.values < b.values
}

func costOf(ops []Op) cost {
	c := cost{ops: len(ops)}
	for _, op := range ops {
		switch op.Ref {
		case InArena:
			c.refs++
		case Result:
			c.refs += 2
		}
		c.values += uint64(op.Val) + uint64(op.OldLen) + uint64(op.Align) + uint64(op.NewLen)
	}
	return c
}

func opsKey(ops []Op) string {
	b := make([]byte, 0, len(ops)*17)
	for _, op := range ops {
		b = append(b, byte(op.Ref))
		for _, v := range [...]uint32{op.Val, op.OldLen, op.Align, op.NewLen} {
			b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
		}
	}
	return string(b)
}

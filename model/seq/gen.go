package seq

import (
	"math/rand/v2"

	"github.com/pulseengine/elfpatch/model"
)

// Generator makes random sequences for one arena. The same Env, Seed and
// id always give the same sequence: sequence id depends on nothing else
// (not on the sequences made before it).
type Generator struct {
	Env  Env
	Seed uint64
	// MaxOps bounds a sequence's length (1..MaxOps operations, uniformly);
	// 0 means 36.
	MaxOps int
}

// BadAligns are the alignments that are not powers of two the generator
// uses: 0, small composites and values with the top bit set.
var BadAligns = []uint32{0, 3, 5, 6, 7, 12, 24, 48, 0x30000000, 0x80000001, 0xc0000000, 0xffffffff}

// HugeLens are lengths whose arithmetic wraps or comes close to it.
var HugeLens = []uint32{0xffffffff, 0xfffffffe, 0xfffffffc, 0xfffffff8, 0xfffffff0, 0xffffff00, 0xfffff000,
	0x80000001, 0x80000000, 0x7fffffff, 0x7ffffff8}

// gen is the state of one sequence being made: the model runs alongside,
// so that sizes can be chosen relative to what is left and grows can name
// blocks with their true lengths.
type gen struct {
	rng  *rand.Rand
	env  Env
	run  *Runner
	ops  []Op
	live []block // blocks the caller holds, oldest first
}

// block is a block the generator's caller holds: the operation that
// returned it, its length and the alignment it was asked for.
type block struct {
	op         int
	len, align uint32
}

// Sequence makes sequence id.
func (g Generator) Sequence(id uint32) Sequence {
	maxOps := g.MaxOps
	if maxOps <= 0 {
		maxOps = 36
	}
	maxOps = min(maxOps, MaxOps)
	s := &gen{rng: rand.New(rand.NewPCG(g.Seed, uint64(id)^0x5eed0000_00000000)), env: g.Env, run: NewRunner(g.Env)}
	n := 1 + s.rng.IntN(maxOps)
	for len(s.ops) < n {
		s.add(s.op())
	}
	return Sequence{ID: id, Ops: s.ops}
}

// Sequences makes sequences first, first+1, ... first+n-1.
func (g Generator) Sequences(first uint32, n int) []Sequence {
	out := make([]Sequence, n)
	for i := range out {
		out[i] = g.Sequence(first + uint32(i))
	}
	return out
}

// add appends op, first making it valid if it is not: an operation that
// would copy from outside the arena gets old_len 0 (nothing to copy).
func (s *gen) add(op Op) {
	st, err := s.run.Step(op) // on an error the runner is unchanged
	if err != nil {
		op.OldLen = 0
		if st, err = s.run.Step(op); err != nil {
			panic("seq: an operation with old_len 0 is invalid: " + err.Error())
		}
	}
	k := len(s.ops)
	s.ops = append(s.ops, op)
	if st.Out.Trap != model.NoTrap || op.NewLen == 0 {
		return
	}
	if op.Ref == Result {
		for i, b := range s.live {
			if b.op == int(op.Val) {
				s.live = append(s.live[:i], s.live[i+1:]...)
				break
			}
		}
	}
	s.live = append(s.live, block{op: k, len: op.NewLen, align: op.Align})
}

// chance is true with probability num/den.
func (s *gen) chance(num, den int) bool { return s.rng.IntN(den) < num }

// pick chooses an index with the given weights.
func (s *gen) pick(weights ...int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := s.rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

func (s *gen) oneOf(vs []uint32) uint32 { return vs[s.rng.IntN(len(vs))] }

// top is the first free byte, as a caller's pointer.
func (s *gen) top() uint32 { return s.env.PtrStart() + s.run.Arena.Cursor }

// room is what a fresh block aligned to align could have: the bytes from
// the top rounded up to the end (0 if that is beyond the end).
func (s *gen) room(align uint32) uint32 {
	if align == 0 || align&(align-1) != 0 {
		align = 1
	}
	top := s.run.Arena.Top() // an address: alignment is the address's
	p := (top + align - 1) &^ (align - 1)
	if p < top || p > s.env.End {
		return 0
	}
	return s.env.End - p
}

// align chooses an alignment: mostly small powers of two, sometimes large
// ones up to 2^31, rarely one that is not a power of two.
func (s *gen) align() uint32 {
	switch s.pick(25, 10, 22, 22, 14, 4, 3) {
	case 0:
		return 1
	case 1:
		return 2
	case 2:
		return 4
	case 3:
		return 8
	case 4:
		return 1 << (4 + s.rng.IntN(9)) // 16 .. 4096
	case 5:
		return 1 << (13 + s.rng.IntN(19)) // 8192 .. 2^31
	}
	return s.oneOf(BadAligns)
}

// size chooses a non-zero length for a block aligned to align.
func (s *gen) size(align uint32) uint32 {
	arena := s.env.Size()
	switch s.pick(12, 20, 14, 14, 10, 6, 10, 6, 2) {
	case 0:
		return 1 + uint32(s.rng.IntN(3)) // 1, 2, 3
	case 1:
		return 4 + uint32(s.rng.IntN(61)) // small
	case 2:
		return 4 * (1 + uint32(s.rng.IntN(64))) // word multiples
	case 3:
		return 65 + uint32(s.rng.IntN(448)) // medium
	case 4:
		return 512 + uint32(s.rng.IntN(int(max(arena/2, 1)))) // large
	case 5:
		return arena + 1 - uint32(s.rng.IntN(66)) // near the arena's size
	case 6:
		return s.room(align) + uint32(s.rng.IntN(3)) - 1 // what is left, -1 .. +1
	case 7:
		return 1 + uint32(s.rng.IntN(int(max(arena, 1)))) // anything that could fit
	}
	return s.oneOf(HugeLens)
}

// resize chooses a new length for a block of n bytes: grown, shrunk or
// the same.
func (s *gen) resize(n, align uint32) uint32 {
	switch s.pick(4, 4, 3, 3, 2, 2, 4) {
	case 0:
		return n + 1 + uint32(s.rng.IntN(32)) // grow a little
	case 1:
		return max(n-min(n, 1+uint32(s.rng.IntN(32))), 1) // shrink a little
	case 2:
		return n * 2
	case 3:
		return max(n/2, 1)
	case 4:
		return n
	case 5:
		return 1
	}
	return s.size(align)
}

// oldBlock chooses a live block: the most recent one, or any.
func (s *gen) oldBlock(recent bool) (block, bool) {
	if len(s.live) == 0 {
		return block{}, false
	}
	if recent {
		return s.live[len(s.live)-1], true
	}
	return s.live[s.rng.IntN(len(s.live))], true
}

// blockAlign is the alignment to resize a block with: mostly its own.
func (s *gen) blockAlign(b block) uint32 {
	if s.chance(3, 4) {
		return b.align
	}
	return s.align()
}

// op chooses the next operation.
func (s *gen) op() Op {
	fresh := func() Op {
		a := s.align()
		return Op{Ref: Abs, Align: a, NewLen: s.size(a)}
	}
	// A full arena traps on almost anything: mostly give bytes back
	// instead, by shrinking the most recent block in place.
	if s.room(1) < 64 && s.chance(3, 4) {
		if b, ok := s.oldBlock(true); ok && b.len > 1 {
			return Op{Ref: Result, Val: uint32(b.op), OldLen: b.len, Align: b.align, NewLen: 1 + uint32(s.rng.IntN(int(b.len/2)))}
		}
	}
	switch s.pick(28, 15, 10, 7, 8, 7, 6, 4, 6, 3) {
	case 0: // a fresh allocation, realloc(0, 0, align, n)
		return fresh()

	case 1, 2: // grow or shrink the most recent block, or an older one
		b, ok := s.oldBlock(s.rng.IntN(2) == 0)
		if !ok {
			return fresh()
		}
		a := s.blockAlign(b)
		return Op{Ref: Result, Val: uint32(b.op), OldLen: b.len, Align: a, NewLen: s.resize(b.len, a)}

	case 3: // a block with the wrong old_len
		b, ok := s.oldBlock(s.chance(1, 2))
		if !ok {
			return fresh()
		}
		ptr := s.run.Results[b.op]
		wrong := []uint32{b.len + 1, b.len - 1, 0, b.len + 4, b.len * 2, s.top() - ptr, s.top() - ptr + 1,
			uint32(s.rng.IntN(int(s.env.Size()) + 1)), 0xffffffff, 0x80000000, -(ptr - s.env.PtrStart())}
		a := s.blockAlign(b)
		return Op{Ref: Result, Val: uint32(b.op), OldLen: s.oneOf(wrong), Align: a, NewLen: s.resize(b.len, a)}

	case 4: // a zero-length request: of nothing, of a block, of anything
		op := Op{Ref: Abs, Align: s.align()}
		switch s.pick(3, 3, 1, 1) {
		case 1:
			if b, ok := s.oldBlock(s.chance(1, 2)); ok {
				op.Ref, op.Val, op.OldLen = Result, uint32(b.op), b.len
			}
		case 2:
			op.Ref, op.Val, op.OldLen = InArena, uint32(s.rng.IntN(int(s.env.Size())+1)), uint32(s.rng.IntN(64))
		case 3:
			op.Val, op.OldLen = s.rng.Uint32(), s.rng.Uint32()
		}
		return op

	case 5: // exhaust the arena: what is left, one more, all of it
		a := s.align()
		n := s.oneOf([]uint32{s.room(a), s.room(a) + 1, s.room(a) - 1, s.env.Size(), s.env.Size() + 1, s.env.Size() - 1})
		if b, ok := s.oldBlock(true); ok && s.chance(1, 3) {
			// grow the most recent block to the end, or one byte past it
			ptr := s.run.Results[b.op]
			end := s.env.PtrEnd() - ptr
			return Op{Ref: Result, Val: uint32(b.op), OldLen: b.len, Align: b.align, NewLen: end + uint32(s.rng.IntN(2))}
		}
		return Op{Ref: Abs, Align: a, NewLen: max(n, 1)}

	case 6: // arithmetic that wraps: huge lengths, huge alignments, huge pointers
		switch s.pick(3, 3, 2, 2) {
		case 0:
			return Op{Ref: Abs, Align: s.align(), NewLen: s.oneOf(HugeLens)}
		case 1:
			return Op{Ref: Abs, Align: s.oneOf([]uint32{0x80000000, 0x40000000, 0x20000000, 1 << 24}), NewLen: s.size(1)}
		case 2:
			if b, ok := s.oldBlock(true); ok {
				return Op{Ref: Result, Val: uint32(b.op), OldLen: b.len, Align: b.align, NewLen: s.oneOf(HugeLens)}
			}
			return fresh()
		}
		// an old_ptr near 2^32 (an offset that wraps through the base)
		return Op{Ref: Abs, Val: s.oneOf([]uint32{0xffffffff, 0xfffffff0, 0xfffff000, 0x80000000}),
			OldLen: s.oneOf(HugeLens), Align: s.align(), NewLen: s.size(4)}

	case 7: // an alignment that is not a power of two, on any kind of call
		op := fresh()
		if b, ok := s.oldBlock(s.chance(1, 2)); ok && s.chance(1, 2) {
			op = Op{Ref: Result, Val: uint32(b.op), OldLen: b.len, NewLen: s.resize(b.len, 1)}
		}
		if s.chance(1, 4) {
			op.NewLen = 0
		}
		op.Align = s.oneOf(BadAligns)
		return op

	case 8: // a pointer into the arena the caller does not hold as a block
		a := s.align()
		top := s.top() - s.env.PtrStart()
		switch s.pick(3, 3, 2, 2, 2) {
		case 0: // an empty block at the top (or just off it)
			return Op{Ref: InArena, Val: top + uint32(s.rng.IntN(3)) - 1, Align: a, NewLen: s.size(a)}
		case 1: // anywhere, with a length that may reach the top
			off := uint32(s.rng.IntN(int(s.env.Size()) + 1))
			return Op{Ref: InArena, Val: off, OldLen: s.oneOf([]uint32{0, top - off, uint32(s.rng.IntN(128))}), Align: a, NewLen: s.size(a)}
		case 2: // a dangling pointer from a zero-length request
			for i := len(s.ops) - 1; i >= 0; i-- {
				if s.ops[i].NewLen == 0 {
					return Op{Ref: Result, Val: uint32(i), Align: a, NewLen: s.size(a)}
				}
			}
			return Op{Ref: Abs, Val: a, Align: a, NewLen: s.size(a)}
		case 3: // just below the arena, with an old_len that reaches the top
			below := s.oneOf([]uint32{1, 4, 8, 16, ReadMargin})
			return Op{Ref: InArena, Val: -below, OldLen: top + below, Align: s.oneOf([]uint32{1, 4, 8}), NewLen: s.size(1)}
		}
		// the arena's start and end themselves
		return Op{Ref: InArena, Val: s.oneOf([]uint32{0, s.env.Size()}), OldLen: uint32(s.rng.IntN(2)) * top, Align: a, NewLen: s.size(a)}
	}

	// any earlier result named again with the length it asked for: a
	// block given up or moved since, a dangling pointer, a trap's 0
	if len(s.ops) == 0 {
		return fresh()
	}
	j := s.rng.IntN(len(s.ops))
	a := s.align()
	return Op{Ref: Result, Val: uint32(j), OldLen: s.ops[j].NewLen, Align: a, NewLen: s.size(a)}
}

// Package seq makes sequences of allocator calls for differential tests of
// elfpatch's allocators against the model (package model): a seeded
// generator, a runner that plays a sequence on the model, and a shrinker
// that reduces a sequence on which the model and an allocator disagree to
// a short one that still disagrees.
//
// A sequence is independent of where the arena lies: an operation names
// its old_ptr as a plain value, as an offset into the arena, or as the
// result of an earlier operation of the same sequence; old_len, align and
// new_len are plain values. A sequence starts with an empty arena.
package seq

import (
	"fmt"
	"strings"

	"github.com/pulseengine/elfpatch/model"
)

// MaxOps is the most operations a sequence may have (the driver keeps one
// result and at most one live block per operation).
const MaxOps = 64

// RefKind says how an operation's old_ptr is found.
type RefKind uint8

const (
	// Abs: old_ptr is Val itself.
	Abs RefKind = iota
	// InArena: old_ptr is the arena's start, as the caller's pointers see
	// it, plus Val.
	InArena
	// Result: old_ptr is what operation Val (earlier in the sequence)
	// returned; 0 if it trapped.
	Result
)

// Op is one call: old_ptr by reference, the other arguments as values.
type Op struct {
	Ref    RefKind
	Val    uint32
	OldLen uint32
	Align  uint32
	NewLen uint32
}

// OldPtr describes the old_ptr argument: "0x0", "arena+0x10", "#3".
func (o Op) OldPtr() string {
	switch o.Ref {
	case InArena:
		return "arena" + offset(o.Val)
	case Result:
		return fmt.Sprintf("#%d", o.Val)
	}
	return fmt.Sprintf("%#x", o.Val)
}

func (o Op) String() string {
	return fmt.Sprintf("realloc(%s, %s, %s, %s)", o.OldPtr(), num(o.OldLen), num(o.Align), num(o.NewLen))
}

// offset writes an offset into the arena: "+0x10", or "-0x10" for one
// that reaches below it (a wrapping offset).
func offset(v uint32) string {
	if v >= 0x80000000 {
		return fmt.Sprintf("-%#x", -v)
	}
	return fmt.Sprintf("+%#x", v)
}

// num writes small numbers in decimal, large ones in hex.
func num(v uint32) string {
	if v < 0x10000 {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%#x", v)
}

// Sequence is a numbered list of operations. ID only seeds the patterns a
// driver fills blocks with.
type Sequence struct {
	ID  uint32
	Ops []Op
}

// Env is the arena as one image has it.
type Env struct {
	// Start and End are the arena's addresses (__elfpatch_arena_start,
	// __elfpatch_arena_end).
	Start, End uint32
	// Based: the image was patched with --pointer-base, whose base
	// address is Base: the caller's pointers are offsets from it.
	Based bool
	Base  uint32
}

// PtrStart and PtrEnd are the arena's bounds as the caller's pointers see
// them: addresses, or offsets from the base.
func (e Env) PtrStart() uint32 { return e.Start - e.base() }
func (e Env) PtrEnd() uint32   { return e.End - e.base() }

func (e Env) base() uint32 {
	if e.Based {
		return e.Base
	}
	return 0
}

// Size is the arena's size in bytes.
func (e Env) Size() uint32 { return e.End - e.Start }

// Step is one operation as it ran on the model.
type Step struct {
	// Call holds the arguments as the caller passes them (old_ptr
	// resolved, an offset in a based Env).
	Call model.Call
	// Out is what the model did; Result is a caller's pointer, Copy is in
	// addresses.
	Out model.Outcome
	// Cursor is the model's cursor after the call.
	Cursor uint32
}

// Runner plays operations on the model, one at a time.
type Runner struct {
	Env     Env
	Arena   model.Arena
	Results []uint32 // each operation's result, 0 if it trapped
}

// NewRunner returns a runner with an empty arena.
func NewRunner(env Env) *Runner {
	return &Runner{Env: env, Arena: model.Arena{Start: env.Start, End: env.End}}
}

// Resolve returns the old_ptr op passes as the next operation.
func (r *Runner) Resolve(op Op) (uint32, error) {
	switch op.Ref {
	case Abs:
		return op.Val, nil
	case InArena:
		return r.Env.PtrStart() + op.Val, nil
	case Result:
		if int64(op.Val) >= int64(len(r.Results)) {
			return 0, fmt.Errorf("#%d refers to a later operation", op.Val)
		}
		return r.Results[op.Val], nil
	}
	return 0, fmt.Errorf("unknown reference kind %d", op.Ref)
}

// Call is op's four arguments as the next operation.
func (r *Runner) Call(op Op) (model.Call, error) {
	p, err := r.Resolve(op)
	return model.Call{OldPtr: p, OldLen: op.OldLen, Align: op.Align, NewLen: op.NewLen}, err
}

// ReadMargin is how far below the arena a copy may read: a copy's source
// must lie inside [Start - ReadMargin, End]. Below the arena the linker
// scripts put .data, which a driver does not write; above it lies .bss,
// with the allocator's state and a driver's own variables, which change
// during a call (a copy from there would copy what a test cannot know).
const ReadMargin = 64

// Step runs op as the next operation. It refuses (with an error, and
// changing nothing) an operation no test may run: one that refers to a
// later operation, or that would copy memory from outside the arena and
// the margin below it (ReadMargin).
func (r *Runner) Step(op Op) (Step, error) {
	c, err := r.Call(op)
	if err != nil {
		return Step{}, err
	}
	before := r.Arena
	var out model.Outcome
	if r.Env.Based {
		out = r.Arena.ReallocBased(r.Env.Base, c)
	} else {
		out = r.Arena.Realloc(c)
	}
	if cp := out.Copy; cp.Len != 0 && !r.Env.readable(cp.From, cp.Len) {
		r.Arena = before
		return Step{}, fmt.Errorf("%v copies %d bytes from %#x, outside the arena", c, cp.Len, cp.From)
	}
	res := out.Result
	if out.Trap != model.NoTrap {
		res = 0
	}
	r.Results = append(r.Results, res)
	return Step{Call: c, Out: out, Cursor: r.Arena.Cursor}, nil
}

// readable reports whether a copy may read n bytes from address from.
func (e Env) readable(from, n uint32) bool {
	f, t := int64(from), int64(from)+int64(n)
	return f >= int64(e.Start)-ReadMargin && t <= int64(e.End)
}

// Run plays ops on an empty arena and returns every step; an error says
// which operation no test may run (see Runner.Step).
func (e Env) Run(ops []Op) ([]Step, error) {
	if len(ops) > MaxOps {
		return nil, fmt.Errorf("%d operations, more than %d", len(ops), MaxOps)
	}
	r := NewRunner(e)
	steps := make([]Step, 0, len(ops))
	for i, op := range ops {
		s, err := r.Step(op)
		if err != nil {
			return nil, fmt.Errorf("op #%d: %w", i, err)
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// Valid reports whether ops may run (see Runner.Step).
func (e Env) Valid(ops []Op) bool {
	_, err := e.Run(ops)
	return err == nil
}

// Format prints s readably, one operation a line with what the model
// does, in the caller's pointers.
func (e Env) Format(s Sequence) string {
	var b strings.Builder
	what := "addresses"
	if e.Based {
		what = fmt.Sprintf("offsets from %#x", e.Base)
	}
	fmt.Fprintf(&b, "sequence %d: %d ops, arena [%#x, %#x) (%d bytes; pointers are %s)\n",
		s.ID, len(s.Ops), e.PtrStart(), e.PtrEnd(), e.Size(), what)
	r := NewRunner(e)
	for i, op := range s.Ops {
		st, err := r.Step(op)
		if err != nil {
			fmt.Fprintf(&b, "  #%-2d %-40s  invalid: %v\n", i, op, err)
			return b.String()
		}
		fmt.Fprintf(&b, "  #%-2d %-40s  %s\n", i, op, e.Describe(st))
	}
	return b.String()
}

// Describe says what the model did in one step, with the result as an
// offset into the arena where it is in the arena.
func (e Env) Describe(st Step) string {
	o := st.Out
	switch {
	case o.Trap != model.NoTrap:
		return "trap (" + o.Trap.String() + ")"
	case o.Placement == model.Dangling:
		return fmt.Sprintf("returns align %s", num(o.Result))
	}
	s := fmt.Sprintf("arena%s (%s", offset(o.Result-e.PtrStart()), o.Placement)
	if o.Copy.Len != 0 {
		s += fmt.Sprintf(", copies %d bytes from arena%s", o.Copy.Len, offset(o.Copy.From-e.Start))
	}
	return s + fmt.Sprintf("), cursor %d", st.Cursor)
}

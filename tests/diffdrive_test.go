package tests

// The differential driver (common/diffdrive.c) from the Go side: how it is
// built and linked, the input it reads, the output it prints, and what the
// model (model/, model/seq) says it must print. differential_test.go uses
// these to run thousands of sequences on every target.

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pulseengine/elfpatch/model"
	"github.com/pulseengine/elfpatch/model/seq"
)

// diffArenaSize is the arena the driver is patched with: small, so that
// exhaustion is common.
const diffArenaSize = 4096

// diffDriver is the driver, patched, for one target.
type diffDriver struct {
	tg  *target
	elf string  // the patched image
	env seq.Env // its arena, from its symbols
}

// diffOptions selects a variant of the driver's image.
type diffOptions struct {
	// Based builds the pointer-base driver (linmem.S first,
	// -DDIFF_POINTER_BASE) and patches it with --pointer-base
	// __linear_memory_base.
	Based bool
	// ArenaObject, if set, is an allocator object elfpatch binds instead
	// of its own (--arena-object): the self-test's way of running an
	// allocator that is not the model's.
	ArenaObject string
}

// buildDiffDriver compiles the driver for tg with its first compiler
// (once per test binary), links it with tg's first link shape and script
// through elfpatch-ld with a diffArenaSize arena, and reads the arena's
// place from the image.
func buildDiffDriver(t testing.TB, tg *target, opt diffOptions) *diffDriver {
	t.Helper()
	based := opt.Based
	cc := tg.Compilers[0]
	variant := "addresses"
	if based {
		variant = "based"
	}
	objs := cachedBuild(t, filepath.Join(sharedDir, "diffdrive", tg.Name, cc.Name, variant), func(dir string) []string {
		var jobs []compileJob
		if based {
			jobs = append(jobs, compileJob{"common/linmem.S", filepath.Join(dir, "linmem.o"), linmemFlags(t, cc)})
		}
		for _, src := range tg.platformSources() {
			jobs = append(jobs, compileJob{src, filepath.Join(dir, objectName(src)), nil})
		}
		var flags []string
		if based {
			flags = []string{"-DDIFF_POINTER_BASE"}
		}
		jobs = append(jobs,
			compileJob{"common/print.c", filepath.Join(dir, "print.o"), nil},
			compileJob{"common/diffdrive.c", filepath.Join(dir, "diffdrive.o"), flags},
			compileJob{"common/diffjmp.S", filepath.Join(dir, "diffjmp.o"), nil})
		compileObjects(t, cc, jobs...)
		objs := make([]string, len(jobs))
		for i, j := range jobs {
			objs[i] = j.obj
		}
		return objs
	})
	env := []string{fmt.Sprintf("ELFPATCH_ARENA_SIZE=%d", diffArenaSize)}
	var patch []string
	if based {
		patch = append(patch, "--pointer-base", "__linear_memory_base")
	}
	if opt.ArenaObject != "" {
		patch = append(patch, "--arena-object", opt.ArenaObject)
		env = append(env, "ELFPATCH_SLOT_SIZE=512")
	}
	if patch != nil {
		env = append(env, "ELFPATCH_PATCH=0")
	}
	out := wrappedLink(t, tg.Shapes[0], objs, tg.script(t, tg.Scripts[0]), filepath.Join(t.TempDir(), "diffdrive.elf"), env)
	if patch != nil {
		mustElfpatch(t, append(patch, out)...)
	}
	if opt.ArenaObject != "" {
		mustElfpatch(t, "verify", "--arena-object", opt.ArenaObject, out)
	} else {
		mustElfpatch(t, "verify", out)
	}
	d := &diffDriver{tg: tg, elf: out, env: diffEnvOf(t, out, based)}
	if d.env.Size() != diffArenaSize {
		t.Fatalf("%s: the arena is %d bytes, want %d", tg.Name, d.env.Size(), diffArenaSize)
	}
	return d
}

// diffEnvOf reads the arena's bounds (and the pointer base) from the
// image's symbols.
func diffEnvOf(t testing.TB, path string, based bool) seq.Env {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	value := func(name string) uint32 {
		for _, s := range syms {
			if s.Name == name && s.Section != elf.SHN_UNDEF {
				if s.Value > 0xffffffff {
					t.Fatalf("%s: %s = %#x, not below 4 GiB", path, name, s.Value)
				}
				return uint32(s.Value)
			}
		}
		t.Fatalf("%s: no symbol %s", path, name)
		return 0
	}
	env := seq.Env{Start: value("__elfpatch_arena_start"), End: value("__elfpatch_arena_end")}
	if based {
		env.Based, env.Base = true, value("__linear_memory_base")
	}
	return env
}

// encodeSequences is the driver's input for seqs (see diffdrive.c).
func encodeSequences(seqs []seq.Sequence) []byte {
	words := []uint32{0x53445045, 1, uint32(len(seqs))}
	for _, s := range seqs {
		words = append(words, s.ID, uint32(len(s.Ops)))
		for _, op := range s.Ops {
			words = append(words, uint32(op.Ref), op.Val, op.OldLen, op.Align, op.NewLen)
		}
	}
	b := make([]byte, 4*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return b
}

// The driver's fill pattern and hash (diffdrive.c: pattern_seed,
// pattern_byte, fnv).
func patternSeed(id, op uint32) uint32 { return id*0x9e3779b1 + op*0x7f4a7c15 }

func patternByte(x uint32) byte { return byte(x ^ x>>13 ^ x>>24) }

func fnv32a(b []byte) uint32 {
	h := fnv.New32a()
	h.Write(b)
	return h.Sum32()
}

// diffLive is a block the driver holds.
type diffLive struct{ op, ptr, len uint32 }

// expectedLine is the line the driver must print for s if the allocator
// does what the model does, and the number of operations that trapped.
// It plays the driver's own steps (diffdrive.c: run_op) on a copy of the
// arena's bytes: the copy a call makes is only visible in the P check (the
// driver fills the whole block right after), and it can fail there only
// when the copy runs downwards over its own source, which the model's Copy
// reproduces byte for byte.
func expectedLine(env seq.Env, s seq.Sequence) (string, int, error) {
	mem := make([]byte, env.Size())
	at := func(ptr uint32) []byte { // the arena's bytes from a caller's pointer on
		return mem[ptr-env.PtrStart():]
	}
	r := seq.NewRunner(env)
	var live []diffLive
	var b strings.Builder
	traps := 0
	fmt.Fprintf(&b, "s%d", s.ID)
	for k, op := range s.Ops {
		st, err := r.Step(op)
		if err != nil {
			return "", 0, fmt.Errorf("op #%d: %w", k, err)
		}
		c, o := st.Call, st.Out
		b.WriteByte(' ')
		switch {
		case o.Trap != model.NoTrap:
			b.WriteByte('T')
			traps++
		case c.NewLen == 0:
			fmt.Fprintf(&b, "=%x", o.Result)
		default:
			fmt.Fprintf(&b, "%x", o.Result-env.PtrStart())
			if cp := o.Copy; cp.Len != 0 && cp.To < cp.From && cp.From-cp.To < cp.Len {
				// Downwards over itself (both inside the arena: seq
				// refuses anything else).
				scratch := append([]byte(nil), mem...)
				cp.Apply(scratch, env.Start)
				from, to := cp.From-env.Start, cp.To-env.Start
				if string(scratch[to:to+cp.Len]) != string(mem[from:from+cp.Len]) {
					b.WriteByte('P')
				}
			}
			if op.Ref == seq.Result {
				for i, l := range live {
					if l.op == op.Val {
						live = append(live[:i], live[i+1:]...)
						break
					}
				}
			}
			p, n := o.Result, c.NewLen
			kept := live[:0]
			for _, l := range live {
				if p < l.ptr+l.len && l.ptr < p+n {
					fmt.Fprintf(&b, "O%d", l.op)
				} else {
					kept = append(kept, l)
				}
			}
			live = kept
			x := patternSeed(s.ID, uint32(k))
			for i := range at(p)[:n] {
				at(p)[i] = patternByte(x)
				x += 0x85ebca77
			}
			live = append(live, diffLive{uint32(k), p, n})
		}
		kept := live[:0]
		for _, l := range live {
			ok := true
			x := patternSeed(s.ID, l.op)
			for _, v := range at(l.ptr)[:l.len] {
				if v != patternByte(x) {
					ok = false
					break
				}
				x += 0x85ebca77
			}
			if ok {
				kept = append(kept, l)
			} else {
				fmt.Fprintf(&b, "C%d", l.op)
			}
		}
		live = kept
	}
	fmt.Fprintf(&b, " h%08x", fnv32a(mem))
	return b.String(), traps, nil
}

// diffHeader is the driver's first line.
var diffHeader = regexp.MustCompile(`diffdrive start=0x([0-9a-f]{8}) end=0x([0-9a-f]{8}) base=0x([0-9a-f]{8})`)

// diffRun is one run of the driver over a batch.
type diffRun struct {
	lines  []string // the line printed for each sequence; "" if none
	ended  bool     // the driver printed "end COUNT"
	code   int
	output string
}

// run runs the driver over seqs (one process) and returns what it
// printed for each. name names the input file, in the image's directory.
func (d *diffDriver) run(t testing.TB, name string, seqs []seq.Sequence) diffRun {
	t.Helper()
	if err := os.WriteFile(filepath.Join(filepath.Dir(d.elf), name), encodeSequences(seqs), 0o644); err != nil {
		t.Fatal(err)
	}
	timeout := qemuTimeout + time.Duration(len(seqs))*50*time.Millisecond
	code, out := d.tg.runTimeout(t, d.elf, name, timeout)
	run := diffRun{lines: make([]string, len(seqs)), code: code, output: out}
	m := diffHeader.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%s: the driver printed no header (exit %d):\n%s", d.tg.Name, code, clip(out))
	}
	if want := fmt.Sprintf("%08x %08x %08x", d.env.Start, d.env.End, d.env.Base); m[1]+" "+m[2]+" "+m[3] != want {
		t.Fatalf("%s: the driver sees start, end, base %s %s %s; the image's symbols say %s", d.tg.Name, m[1], m[2], m[3], want)
	}
	// The driver prints a line per sequence, in the input's order (the
	// shrinker's candidates all have the same ID).
	next := 0
	for _, line := range strings.Split(out, "\n") {
		if next < len(seqs) && strings.HasPrefix(line, fmt.Sprintf("s%d ", seqs[next].ID)) {
			run.lines[next] = line
			next++
		}
		if line == fmt.Sprintf("end %d", len(seqs)) {
			run.ended = true
		}
	}
	return run
}

// clip shortens a long output for a message: its start and its end.
func clip(s string) string {
	if len(s) <= 4000 {
		return s
	}
	return s[:1500] + "\n...\n" + s[len(s)-2500:]
}

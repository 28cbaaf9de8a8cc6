package tests

// The differential test: random sequences of allocator calls (model/seq)
// run through the real allocator of a patched image on every target
// (common/diffdrive.c), and everything the driver observes compared with
// what the model (model/) says: each result, where each trap happens, the
// preserved prefixes, overlaps with live blocks, the live blocks' bytes
// and the whole arena's bytes after each sequence. A disagreement is
// shrunk (seq.Shrink, re-running candidates on the target) and printed.
//
//	go test ./tests/ -run TestAllocatorsAgreeWithTheModel -v
//	ELFPATCH_DIFF_SEQUENCES=10000 go test ./tests/ -run TestAllocatorsAgreeWithTheModel -v -timeout 1h

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulseengine/elfpatch/model/seq"
)

const (
	// diffSeed seeds the generator; sequence i of a target is the same
	// on every run (ELFPATCH_DIFF_SEED picks another seed).
	diffSeed = 0x5eed
	// diffDefaultSequences is how many sequences each target runs unless
	// ELFPATCH_DIFF_SEQUENCES says otherwise.
	diffDefaultSequences = 300
	// diffBatch is how many sequences one run of the driver takes.
	diffBatch = 2000
)

// diffSetting reads a positive integer from the environment.
func diffSetting(t testing.TB, name string, def uint64) uint64 {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseUint(v, 0, 64)
	if err != nil || n == 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// TestAllocatorsAgreeWithTheModel: on every target, and on one with
// --pointer-base, every observable effect of N random sequences is what
// the model predicts (N: ELFPATCH_DIFF_SEQUENCES, default 300).
func TestAllocatorsAgreeWithTheModel(t *testing.T) {
	n := int(diffSetting(t, "ELFPATCH_DIFF_SEQUENCES", diffDefaultSequences))
	seed := diffSetting(t, "ELFPATCH_DIFF_SEED", diffSeed)
	type run struct {
		tg    *target
		based bool
	}
	var runs []run
	for _, tg := range targets {
		runs = append(runs, run{tg, false})
	}
	runs = append(runs, run{targetM3, true})
	for _, r := range runs {
		name := r.tg.Name
		if r.based {
			name += "-pointer-base"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			requireTarget(t, r.tg)
			began := time.Now()
			d := buildDiffDriver(t, r.tg, diffOptions{Based: r.based})
			res := d.compare(t, seed, n)
			if res.report != "" {
				t.Fatal(res.report)
			}
			msg := fmt.Sprintf("%s: %d sequences, %d operations (%d traps), all agree (%.1fs)", name, n, res.ops, res.traps, time.Since(began).Seconds())
			t.Log(msg)
			fmt.Println(msg)
		})
	}
}

// The test finds a disagreement where there is one, and shrinks it by
// re-running candidates on the target: common/userarena.c, bound with
// --arena-object, keeps the contract but makes two choices the model
// does not (it never keeps a block above the top in place, and it
// copies forwards).
func TestTheDifferentialTestCatchesAnotherAllocator(t *testing.T) {
	tg := targetM3
	requireTarget(t, tg)
	user := userAllocatorObject(t, tg.Compilers[0], "common/userarena.c")
	d := buildDiffDriver(t, tg, diffOptions{ArenaObject: user})
	res := d.compare(t, diffSeed, 2000)
	if res.report == "" {
		t.Fatalf("%d sequences, %d operations: no disagreement found with userarena.c", 2000, res.ops)
	}
	if len(res.shrunk.Ops) > 3 || !strings.Contains(res.report, "first difference: operation #") {
		t.Fatalf("shrunk to %d operations, want at most 3:\n%s", len(res.shrunk.Ops), res.report)
	}
	t.Logf("found and shrunk:\n%s", res.report)
}

// diffResult is what compare found.
type diffResult struct {
	ops, traps int
	// report describes the first disagreement ("" if none), with the
	// shrunk sequence.
	report string
	shrunk seq.Sequence
}

// compare runs sequences 0..n-1 of the generator for d's arena in
// batches and compares each line the driver prints with the model's; it
// stops at the first disagreement and shrinks it.
func (d *diffDriver) compare(t *testing.T, seed uint64, n int) diffResult {
	t.Helper()
	var res diffResult
	gen := seq.Generator{Env: d.env, Seed: seed}
	for first := 0; first < n; first += diffBatch {
		seqs := gen.Sequences(uint32(first), min(diffBatch, n-first))
		want := make([]string, len(seqs))
		for i, s := range seqs {
			line, tr, err := expectedLine(d.env, s)
			if err != nil {
				t.Fatalf("sequence %d may not run: %v", s.ID, err)
			}
			want[i] = line
			res.ops += len(s.Ops)
			res.traps += tr
		}
		got := d.run(t, fmt.Sprintf("batch-%d.bin", first), seqs)
		for i := range seqs {
			if got.lines[i] != want[i] {
				res.shrunk, res.report = d.disagreement(t, seed, seqs[i], want[i], got)
				return res
			}
		}
		if !got.ended || got.code != 0 {
			t.Fatalf("%s: the driver ended with status %d after agreeing on every sequence:\n%s", d.tg.Name, got.code, clip(got.output))
		}
	}
	return res
}

// disagreement shrinks s, on which the target printed something else than
// the model predicts, and returns the shrunk sequence and a report.
func (d *diffDriver) disagreement(t *testing.T, seed uint64, s seq.Sequence, want string, got diffRun) (seq.Sequence, string) {
	t.Helper()
	orig := lineFor(got, s)
	oracle := func(cands []seq.Sequence) (int, error) {
		r := d.run(t, "shrink.bin", cands)
		for i, c := range cands {
			w, _, err := expectedLine(d.env, c)
			if err != nil {
				return -1, err
			}
			if r.lines[i] != w {
				return i, nil
			}
		}
		return -1, nil
	}
	short, stats, err := seq.Shrink(d.env, s, oracle)
	if err != nil {
		t.Errorf("shrinking: %v", err)
	}
	shortWant, _, _ := expectedLine(d.env, short)
	shortRun := d.run(t, "shrunk.bin", []seq.Sequence{short})
	var crash string
	if shortRun.lines[0] == "" {
		crash = "\nthe driver printed no line for it; its output:\n" + clip(shortRun.output)
	}
	return short, fmt.Sprintf(`%s: the allocator disagrees with the model (seed %#x, sequence %d of %d operations).
Shrunk to %d operations (%d runs of the driver, %d candidates):
%s
model:  %s
target: %s
%s%s
The original sequence:
%s
model:  %s
target: %s`,
		d.tg.Name, seed, s.ID, len(s.Ops), len(short.Ops), stats.Calls+1, stats.Candidates,
		d.env.Format(short), shortWant, shortRun.lines[0], firstDifference(shortWant, shortRun.lines[0]), crash,
		d.env.Format(s), want, orig)
}

// lineFor is the line run printed for s, or a note that it printed none.
func lineFor(run diffRun, s seq.Sequence) string {
	prefix := fmt.Sprintf("s%d ", s.ID)
	for _, l := range strings.Split(run.output, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return fmt.Sprintf("(no line; the driver exited %d, its output ends:)\n%s", run.code, clip(run.output))
}

// firstDifference names the first token of a driver line (an operation,
// or the arena's hash) where want and got differ.
func firstDifference(want, got string) string {
	w, g := strings.Fields(want), strings.Fields(got)
	for i := 1; i < len(w); i++ {
		what := fmt.Sprintf("operation #%d", i-1)
		if i == len(w)-1 {
			what = "the arena's bytes after the sequence"
		}
		switch {
		case i >= len(g):
			return fmt.Sprintf("first difference: %s: the model says %s, the target printed nothing", what, w[i])
		case w[i] != g[i]:
			return fmt.Sprintf("first difference: %s: the model says %s, the target %s", what, w[i], g[i])
		}
	}
	return ""
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
	"github.com/pulseengine/elfpatch/internal/testtool"
)

// The trace parser counts the allocator's instructions between pairs of
// marks and nothing else.
func TestCountReadsQEMUExecTraces(t *testing.T) {
	const (
		lo, hi = 0x1000, 0x1080
		mark   = 0x2000
	)
	line := func(pc string) string {
		return "Trace 0: 0x7f00 [00000000/" + pc + "/00000000/ff200000] sym\n"
	}
	var b strings.Builder
	b.WriteString("----------------\nIN: something else\n")
	b.WriteString(line("00001000")) // before the first mark: not counted
	for k := 0; k < nMeasures; k++ {
		b.WriteString(line("00002000"))
		for i := 0; i <= k; i++ {
			b.WriteString(line("00001004"))
		}
		b.WriteString(line("00003000")) // outside the allocator
		b.WriteString(line("00001080")) // just past its end
		b.WriteString(line("00002000"))
		b.WriteString(line("0000107e")) // between measurements
	}
	var counts [nMeasures]int
	marks, err := count(strings.NewReader(b.String()), lo, hi, mark, &counts)
	if err != nil {
		t.Fatal(err)
	}
	if marks != 2*nMeasures {
		t.Errorf("%d marks, want %d", marks, 2*nMeasures)
	}
	for k, c := range counts {
		if c != k+1 {
			t.Errorf("measure %d: %d instructions, want %d", k, c, k+1)
		}
	}
	if _, err := count(strings.NewReader("Trace 0: 0x7f00 [0000/zz/0/0]\n"), lo, hi, mark, &counts); err == nil {
		t.Error("a trace line without a PC was accepted")
	}
}

func TestSlopeIsPerByteBetween64And1024(t *testing.T) {
	if got := slope(100, 100+960*5); got != "5.00" {
		t.Errorf("slope = %s, want 5.00", got)
	}
	if got := slope(40, 1240); got != "1.25" {
		t.Errorf("slope = %s, want 1.25", got)
	}
}

// galeThumb2FastPath is the fast path of gale's reference arena
// (crates/gale-app-demo/tcb/cabi_arena.c) built by arm-none-eabi-gcc 12.2.1
// -Os for Cortex-M3, as `go run ./bench -gale FILE` measures it: the issue's
// bound for the Thumb-2 allocator's fast path. gale's file is not part of
// this repository, so the test holds the number measured with it.
const galeThumb2FastPath = 20

// The Thumb-2 allocator meets its targets, measured by running it: the
// whole contract in at most 128 bytes, a fast path no longer than gale's,
// and a copy that goes by words when it can (fewer instructions per byte
// than the byte copy of an odd address).
func TestThumb2MeetsItsSizeAndSpeedTargets(t *testing.T) {
	testtool.Require(t, "arm-none-eabi-gcc", "qemu-system-arm")
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "harness.c"), harnessC, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "mprofile.ld"), mprofileLD, 0o644); err != nil {
		t.Fatal(err)
	}
	v, ok := arenablob.ByName("thumb2")
	if !ok {
		t.Fatal("no thumb2 variant")
	}
	r := measureObject(targets[0], filepath.Join(work, "thumb2"), v.Object)
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Logf("thumb2: %d bytes, fast path %d, copy %s / %s insns per byte", r.size, r.counts[mFast],
		slope(r.counts[mAligned64], r.counts[mAligned1024]), slope(r.counts[mUnaligned64], r.counts[mUnaligned1024]))
	if r.size > 128 {
		t.Errorf("thumb2 is %d bytes, want at most 128", r.size)
	}
	if r.counts[mFast] > galeThumb2FastPath {
		t.Errorf("thumb2's fast path is %d instructions, want at most gale's %d", r.counts[mFast], galeThumb2FastPath)
	}
	aligned := r.counts[mAligned1024] - r.counts[mAligned64]
	unaligned := r.counts[mUnaligned1024] - r.counts[mUnaligned64]
	if 2*aligned > unaligned {
		t.Errorf("an aligned copy of 960 bytes more takes %d instructions more, an unaligned one %d: the copy does not go by words", aligned, unaligned)
	}
}

package patcher

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// writeOutput writes o through WriteTo, from a file holding in, and
// returns what it wrote.
func writeOutput(t *testing.T, o *Output, in []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	srcPath := filepath.Join(dir, "in")
	if err := os.WriteFile(srcPath, in, 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(srcPath)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := o.WriteTo(dst, src); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst.Name())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// WriteTo writes exactly the bytes Bytes builds, whatever the pieces and
// edits: ranges of the input in any order, new bytes, padding, edits that
// overlap each other (the later wins), lie close together or far apart,
// and large ranges split at block boundaries.
func TestWriteToWritesWhatBytesBuilds(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	in := make([]byte, 3<<20)
	rng.Read(in)
	for trial := 0; trial < 40; trial++ {
		o := newOutput(in)
		for k := rng.Intn(3); k > 0; k-- {
			off := uint64(rng.Intn(len(in) - 16))
			o.patchInput(off, []byte{1, 2, 3, 4, 5})
		}
		if trial%4 == 0 {
			o.appendInput(0, uint64(len(in)))
		}
		for k := rng.Intn(6); k > 0; k-- {
			switch rng.Intn(3) {
			case 0:
				off := uint64(rng.Intn(len(in)))
				n := uint64(rng.Intn(len(in) - int(off)))
				if rng.Intn(3) == 0 {
					n = min(uint64(len(in))-off, cloneMin+uint64(rng.Intn(9000)))
				}
				o.appendInput(off, n)
			case 1:
				b := make([]byte, rng.Intn(5000))
				rng.Read(b)
				o.appendBytes(b)
			default:
				o.pad(uint64(1) << rng.Intn(13))
			}
		}
		if o.Size() == 0 {
			continue
		}
		for k := rng.Intn(200); k > 0; k-- {
			off := uint64(rng.Int63n(int64(o.Size())))
			n := min(uint64(1+rng.Intn(64)), o.Size()-off)
			b := make([]byte, n)
			rng.Read(b)
			o.writeAt(off, b)
		}
		if err := o.check("t"); err != nil {
			t.Fatal(err)
		}
		want := o.Bytes()
		if got := writeOutput(t, o, in); !bytes.Equal(got, want) {
			t.Fatalf("trial %d: WriteTo wrote %d bytes that differ from Bytes's %d", trial, len(got), len(want))
		}
	}
}

// Every patch of the repository's images writes, streamed, the bytes
// Apply returns.
func TestStreamedPatchesMatchApply(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(fuzzImageDir, "*"))
	if len(paths) < 10 {
		t.Fatalf("only %d images in %s", len(paths), fuzzImageDir)
	}
	patched := 0
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := Read(path, data)
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewPlan(img, Options{Version: "test"})
		if err != nil {
			continue
		}
		o, err := p.Render()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		want, err := p.Apply()
		if err != nil {
			t.Fatal(err)
		}
		if got := writeOutput(t, o, data); !bytes.Equal(got, want) {
			t.Errorf("%s: the streamed output differs from Apply's", path)
		}
		if o.unchanged() != bytes.Equal(want, data) {
			t.Errorf("%s: unchanged() is %v, but the output equal to the input is %v", path, o.unchanged(), bytes.Equal(want, data))
		}
		patched++
	}
	if patched < 5 {
		t.Fatalf("only %d images patched", patched)
	}
}

// BenchmarkPlanAndRender plans and describes the patch of each image the
// patcher tests build: the work before any byte is written.
func BenchmarkPlanAndRender(b *testing.B) {
	paths, _ := filepath.Glob(filepath.Join(fuzzImageDir, "*.elf"))
	var imgs [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		imgs = append(imgs, data)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, data := range imgs {
			img, err := Read("b.elf", data)
			if err != nil {
				b.Fatal(err)
			}
			if p, err := NewPlan(img, Options{Version: "bench"}); err == nil {
				if _, err := p.Render(); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

// BenchmarkWriteTo64MiB writes a 64 MiB output that moves most of its
// input and carries a few hundred edits: the kernel copies, elfpatch
// writes the windows.
func BenchmarkWriteTo64MiB(b *testing.B) {
	in := make([]byte, 64<<20)
	rand.New(rand.NewSource(1)).Read(in)
	dir := b.TempDir()
	srcPath := filepath.Join(dir, "in")
	if err := os.WriteFile(srcPath, in, 0o644); err != nil {
		b.Fatal(err)
	}
	src, err := os.Open(srcPath)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	o := newOutput(in)
	o.appendInput(0, 4096+123)
	o.appendBytes(make([]byte, 300))
	o.appendInput(4096+123, uint64(len(in))-4096-123)
	for k := uint64(0); k < 300; k++ {
		o.writeAt(k*4099, []byte{1, 2, 3, 4})
	}
	b.SetBytes(int64(o.Size()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst, err := os.Create(filepath.Join(dir, "out"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := o.WriteTo(dst, src); err != nil {
			b.Fatal(err)
		}
		dst.Close()
	}
}

package patcher

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"hash/adler32"
	"io"
	"math/rand"
	"testing"

	kzlib "github.com/klauspost/compress/zlib"
)

// ropeBytes builds a rope whose input ranges are offsets in in.
func ropeBytes(r rope, in []byte) []byte {
	var b []byte
	for _, p := range r {
		if p.input {
			b = append(b, in[p.off:p.off+p.n]...)
		} else {
			b = append(b, p.data...)
		}
	}
	return b
}

// A zlib stream extended by zlibAppend decompresses, checksum and all, to
// its old contents and then the new bytes, whichever encoder made it and
// at whatever level (stored, fixed and dynamic blocks; the old data
// ending at every bit position), and whatever the new bytes' length
// (more than one stored block included). The old stream's bytes stay
// ranges of the input, but for the two it changes.
func TestZlibAppendDecompressesToTheOldBytesAndTheNew(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	type enc struct {
		name string
		make func(w io.Writer) io.WriteCloser
	}
	var encs []enc
	for _, level := range []int{zlib.NoCompression, zlib.BestSpeed, zlib.DefaultCompression, zlib.BestCompression, zlib.HuffmanOnly} {
		encs = append(encs, enc{fmt.Sprintf("go/%d", level), func(w io.Writer) io.WriteCloser { z, _ := zlib.NewWriterLevel(w, level); return z }})
	}
	for _, level := range []int{kzlib.BestSpeed, kzlib.DefaultCompression, kzlib.BestCompression} {
		encs = append(encs, enc{fmt.Sprintf("klauspost/%d", level), func(w io.Writer) io.WriteCloser { z, _ := kzlib.NewWriterLevel(w, level); return z }})
	}
	ends := map[uint64]bool{}
	for trial := 0; trial < 300; trial++ {
		var old []byte
		switch trial % 3 {
		case 0: // random: stored or barely compressed
			old = make([]byte, rng.Intn(3000))
			rng.Read(old)
		case 1: // text-like: dynamic blocks
			for len(old) < rng.Intn(200000) {
				old = fmt.Appendf(old, "DW_TAG_%d name_%d\x00", rng.Intn(50), rng.Intn(500))
			}
		default: // short: fixed blocks
			old = []byte(fmt.Sprintf("abc%d", rng.Intn(1000))[:1+rng.Intn(4)])
		}
		add := make([]byte, []int{1, 7, 300, 65535, 70000}[rng.Intn(5)])
		rng.Read(add)
		e := encs[trial%len(encs)]
		var z bytes.Buffer
		w := e.make(&z)
		w.Write(old)
		w.Close()
		in := append([]byte("HEADER"), z.Bytes()...)
		r, err := zlibAppend(z.Bytes(), 6, add)
		if err != nil {
			t.Fatalf("trial %d (%s, %d bytes): %v", trial, e.name, len(old), err)
		}
		_, end, _ := deflateEnd(z.Bytes())
		ends[end%8] = true
		changed := uint64(0)
		for _, p := range r {
			if !p.input {
				changed += p.n
			}
		}
		if max := 1 + uint64(len(add)) + 5*uint64(len(add)/65535+1) + 1 + 4 + 1; changed > max {
			t.Errorf("trial %d: %d bytes made anew for %d appended", trial, changed, len(add))
		}
		got := ropeBytes(r, in)
		zr, err := zlib.NewReader(bytes.NewReader(got))
		if err != nil {
			t.Fatalf("trial %d (%s): %v", trial, e.name, err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("trial %d (%s, %d+%d bytes): %v", trial, e.name, len(old), len(add), err)
		}
		if !bytes.Equal(plain, append(old, add...)) {
			t.Fatalf("trial %d (%s): decompresses to %d bytes, want %d", trial, e.name, len(plain), len(old)+len(add))
		}
	}
	if len(ends) < 8 {
		t.Errorf("the old data ended at only %d of the 8 bit positions", len(ends))
	}
}

func TestAdlerCatIsTheChecksumOfTheConcatenation(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for i := 0; i < 200; i++ {
		a, b := make([]byte, rng.Intn(100000)), make([]byte, rng.Intn(100000))
		rng.Read(a)
		rng.Read(b)
		if got, want := adlerCat(adler32.Checksum(a), adler32.Checksum(b), uint64(len(b))), adler32.Checksum(append(a, b...)); got != want {
			t.Fatalf("%d+%d bytes: %08x, want %08x", len(a), len(b), got, want)
		}
	}
}

// Damaged streams are refused, never misread.
func TestDeflateEndRefusesDamagedStreams(t *testing.T) {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(bytes.Repeat([]byte("debug info "), 1000))
	w.Close()
	good := z.Bytes()
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"not zlib", []byte("plain text, not compressed")},
		{"truncated", good[:len(good)/2]},
		{"a preset dictionary", append([]byte{0x78, 0xbb}, good[2:]...)},
	} {
		if _, _, err := deflateEnd(c.b); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
		if _, err := zlibAppend(c.b, 0, []byte("x")); err == nil {
			t.Errorf("%s: zlibAppend accepted it", c.name)
		}
	}
	if _, err := zlibAppend(append(append([]byte{}, good...), 0), 0, []byte("x")); err == nil {
		t.Error("a stream with a byte after it was accepted")
	}
}

// FuzzZlibAppend: whatever the bytes, deflateEnd and zlibAppend return
// or refuse, never panic; and a stream that decompresses, extended,
// decompresses to its old contents and the new bytes.
func FuzzZlibAppend(f *testing.F) {
	for _, level := range []int{zlib.NoCompression, zlib.BestSpeed, zlib.BestCompression, zlib.HuffmanOnly} {
		var z bytes.Buffer
		w, _ := zlib.NewWriterLevel(&z, level)
		w.Write(bytes.Repeat([]byte("DW_AT_name\x00main\x00"), 40))
		w.Close()
		f.Add(z.Bytes(), []byte("unit"))
	}
	f.Fuzz(func(t *testing.T, z, add []byte) {
		r, err := zlibAppend(z, 0, add)
		if err != nil {
			return
		}
		zr, err := zlib.NewReader(bytes.NewReader(z))
		if err != nil {
			return
		}
		old, err := io.ReadAll(zr)
		if err != nil {
			return // the input does not decompress: neither need the output
		}
		zr, err = zlib.NewReader(bytes.NewReader(ropeBytes(r, z)))
		if err != nil {
			t.Fatalf("the extended stream has no header: %v", err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, append(old, add...)) {
			t.Fatalf("the extended stream decompresses to %d bytes (%v), want %d", len(got), err, len(old)+len(add))
		}
	})
}

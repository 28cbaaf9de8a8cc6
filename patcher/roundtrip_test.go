package patcher

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// roundTripFiles are the repository's own ELF files: the synth corpus, the
// example image, and the fuzz seeds when they are there.
func roundTripFiles(t *testing.T) []string {
	t.Helper()
	var paths []string
	for _, glob := range []string{
		filepath.Join("..", "testdata", "synth", "*.o"), filepath.Join("..", "testdata", "synth", "*.elf"),
		filepath.Join("..", "examples", "cortex-m3", "app.elf"),
		filepath.Join("..", "arena_blob", "*.o"),
		filepath.Join("testdata", "fuzz", "images", "*"),
	} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	if len(paths) < 30 {
		t.Fatalf("only %d files to round-trip", len(paths))
	}
	return paths
}

// Every file the repository has, and what elfpatch makes of each one it
// patches, encodes back to its own bytes.
func TestRoundTripReproducesEveryFileByteForByte(t *testing.T) {
	patched := 0
	for _, path := range roundTripFiles(t) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := Read(path, data)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if err := RoundTrip(img); err != nil {
			t.Errorf("%v", err)
		}
		p, err := NewPlan(img, Options{Version: "roundtrip"})
		if err != nil || p.Action == "nothing to bind" || p.Action == "unchanged" {
			continue
		}
		out, err := p.Apply()
		if err != nil {
			continue
		}
		back, err := Read(path+" (patched)", out)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if err := RoundTrip(back); err != nil {
			t.Errorf("%v", err)
		}
		patched++
	}
	if patched == 0 {
		t.Error("no file was patched: the round trip of patched files checked nothing")
	}
}

// A model that does not match the bytes is caught, and the message names
// the structure and the byte.
func TestRoundTripNamesWhatDiffers(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "examples", "cortex-m3", "app.elf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		change func(img *Image)
		want   string
	}{
		{func(img *Image) { img.Flags ^= 0x100 }, "ELF header, byte 37"},
		{func(img *Image) { img.Entry += 2 }, "ELF header, byte 24"},
		{func(img *Image) { img.Sections[3].Addr++ }, "section header 3 (.text), byte 12"},
		{func(img *Image) { img.Sections[2].NameOff++ }, "section header 2 (.rel.isr_vector), byte 0"},
		{func(img *Image) { img.Sections[4].Info++ }, "section header 4 (.rel.text), byte 28"},
		{func(img *Image) { img.Progs[0].Memsz += 2 }, "program header 0 (PT_LOAD), byte 20"},
		{func(img *Image) { img.Syms[7].Value++ }, "symbol 7 ("},
		{func(img *Image) { img.Syms[7].Shndx++ }, "symbol 7 ("},
		{func(img *Image) { img.Relocs[1].Offset++ }, "relocation 1 of .rel.isr_vector, byte 0"},
		{func(img *Image) { img.Relocs[0].Type++ }, "relocation 0 of .rel.isr_vector, byte 4"},
	} {
		img, err := Read("app.elf", data)
		if err != nil {
			t.Fatal(err)
		}
		c.change(img)
		err = RoundTrip(img)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("RoundTrip after a change at %q: %v", c.want, err)
		}
	}
}

package patcher

import (
	"bytes"
	"debug/dwarf"
	"debug/elf"
	"fmt"
	"strings"
	"testing"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
)

// debugAsm is sitesAsm with a long function after it, so that the line
// table is large enough for the linker to compress.
var debugAsm = sitesAsm + `
  .text
  .global filler
  .type filler, %function
filler:
` + strings.Repeat("  nop\n", 600) + `  bx lr
`

// allocatorUnit finds the compile unit elfpatch added and its subprogram.
func allocatorUnit(t *testing.T, img *Image, file string) (cu, fn *dwarf.Entry, d *dwarf.Data) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(img.Data))
	if err != nil {
		t.Fatal(err)
	}
	d, err = f.DWARF()
	if err != nil {
		t.Fatalf("the patched image's DWARF does not read: %v", err)
	}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e == nil {
			return cu, fn, d
		}
		switch e.Tag {
		case dwarf.TagCompileUnit:
			if name, _ := e.Val(dwarf.AttrName).(string); name == file || strings.HasSuffix(name, "/"+file) {
				cu = e
			} else {
				r.SkipChildren()
			}
		case dwarf.TagSubprogram:
			if cu != nil && fn == nil {
				fn = e
			}
		}
	}
}

func TestDebugInfoDescribesTheAllocatorInEveryCompression(t *testing.T) {
	v, _ := arenablob.ByName("thumb2")
	for _, compress := range []string{"none", "zlib", "zstd"} {
		t.Run(compress, func(t *testing.T) {
			img := readImage(t, buildImage(t, imageSpec{asm: debugAsm, asFlags: []string{"-g"}, ldFlags: []string{"--compress-debug-sections=" + compress}}))
			line := img.SectionNamed(".debug_line")
			if compressed := line.Flags&elf.SHF_COMPRESSED != 0; compressed != (compress != "none") {
				t.Fatalf(".debug_line is compressed: %v, linked with %s", compressed, compress)
			}
			p, out := patched(t, img, Options{Version: "test"})
			if p.debug == nil {
				t.Fatal("no debug unit was planned")
			}
			if got := out.SectionNamed(".debug_line").Flags & elf.SHF_COMPRESSED; got != line.Flags&elf.SHF_COMPRESSED {
				t.Errorf(".debug_line compression flag changed: %v", got)
			}
			cu, fn, d := allocatorUnit(t, out, "arena_blob/thumb2.S")
			if cu == nil || fn == nil {
				t.Fatalf("no unit for arena_blob/thumb2.S with a subprogram: %v %v", cu, fn)
			}
			if name, low := fn.Val(dwarf.AttrName), fn.Val(dwarf.AttrLowpc); name != "__cabi_arena_realloc" || low != p.Allocator.Address {
				t.Errorf("subprogram %v at %#x, want __cabi_arena_realloc at %#x", name, low, p.Allocator.Address)
			}
			if hi := fn.Val(dwarf.AttrHighpc); hi != int64(p.Allocator.Size) {
				t.Errorf("subprogram size %v, want %d", hi, p.Allocator.Size)
			}
			lr, err := d.LineReader(cu)
			if err != nil || lr == nil {
				t.Fatalf("line table: %v", err)
			}
			var rows []string
			var e dwarf.LineEntry
			for lr.Next(&e) == nil {
				if !e.EndSequence {
					rows = append(rows, fmt.Sprintf("%#x %s:%d", e.Address, e.File.Name, e.Line))
				}
			}
			var want []string
			for _, r := range v.Lines {
				want = append(want, fmt.Sprintf("%#x arena_blob/thumb2.S:%d", p.Slot.Address+r.Offset, r.Line))
			}
			if strings.Join(rows, "\n") != strings.Join(want, "\n") {
				t.Errorf("line rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
			}
			// The sections keep the input's bytes, the unit after them, so
			// that nothing had to be decompressed: all of them when not
			// compressed or zstd-compressed (the unit in a frame of its
			// own), all but two when zlib-compressed (the last block's
			// BFINAL bit, and the byte its data ends in); the compression
			// header gains the unit's size.
			for _, name := range []string{".debug_info", ".debug_line", ".debug_abbrev"} {
				a, b := img.contents(img.SectionNamed(name)), out.contents(out.SectionNamed(name))
				skip, may := 0, 0
				switch compress {
				case "zstd":
					skip = 12
				case "zlib":
					skip, may = 12, 2
					a = a[:len(a)-4] // the checksum
				}
				differ := 0
				for i := skip; i < len(a) && i < len(b); i++ {
					if a[i] != b[i] {
						differ++
					}
				}
				if len(b) <= len(a) || differ > may {
					t.Errorf("%s: %d of the input's %d bytes differ at the start of the output's %d, want at most %d", name, differ, len(a), len(b), may)
				}
			}
			// The image's own unit is still there and still whole.
			if own, _, _ := allocatorUnit(t, out, "app.s"); own == nil {
				t.Error("the image's own compile unit is gone")
			}
			// Patching again changes nothing; verify accepts the unit.
			again, _ := patched(t, out, Options{Version: "test"})
			if again.Action != "unchanged" {
				t.Errorf("patching again: %s: %v", again.Action, again.Changes)
			}
			if rep, err := Verify(out, Options{}); err != nil || !rep.OK {
				t.Errorf("verify: %v %v", err, rep.Problems)
			}
		})
	}
}

func TestDebugInfoIsLeftAloneWithoutDWARF(t *testing.T) {
	img := readImage(t, buildImage(t, imageSpec{}))
	p, out := patched(t, img, Options{Version: "test"})
	if p.debug != nil || out.SectionNamed(".debug_info") != nil {
		t.Errorf("an image without DWARF gained some: %+v", p.debug)
	}
}

// With a pointer base, the shim and the allocator each have a unit.
func TestDebugInfoDescribesTheShimAndTheAllocator(t *testing.T) {
	img := readImage(t, buildImage(t, imageSpec{asm: linearAsm("0x10000"), script: linearScript, asFlags: []string{"-g"}}))
	p, out := patched(t, img, Options{PointerBase: "__linear_memory_base"})
	_, shimFn, _ := allocatorUnit(t, out, "arena_blob/shim_thumb.S")
	_, allocFn, _ := allocatorUnit(t, out, "arena_blob/thumb2.S")
	if shimFn == nil || allocFn == nil {
		t.Fatalf("units: shim %v, allocator %v", shimFn, allocFn)
	}
	abs := out.SymbolNamed(reallocAbsSym)
	if shimFn.Val(dwarf.AttrName) != allocSym || shimFn.Val(dwarf.AttrLowpc) != p.Allocator.Address {
		t.Errorf("shim subprogram %v at %#x, want %s at %#x", shimFn.Val(dwarf.AttrName), shimFn.Val(dwarf.AttrLowpc), allocSym, p.Allocator.Address)
	}
	if allocFn.Val(dwarf.AttrName) != reallocAbsSym || allocFn.Val(dwarf.AttrLowpc) != abs.Value&^1 {
		t.Errorf("allocator subprogram %v at %#x, want %s at %#x", allocFn.Val(dwarf.AttrName), allocFn.Val(dwarf.AttrLowpc), reallocAbsSym, abs.Value&^1)
	}
}

// A linked image's relocations of sections no segment loads (the debug
// sections', kept by --emit-relocs) hold no site and are not decoded: the
// image has .rel.debug_* sections, and none of their entries is read.
func TestALinkedImagesDebugRelocationsAreNotDecoded(t *testing.T) {
	img := readImage(t, buildImage(t, imageSpec{asm: debugAsm, asFlags: []string{"-g"}}))
	debugRelocs := 0
	for _, s := range img.Sections {
		if (s.Type == elf.SHT_REL || s.Type == elf.SHT_RELA) && int(s.Info) < len(img.Sections) && !img.Sections[s.Info].Alloc() && s.Size > 0 {
			debugRelocs++
		}
	}
	if debugRelocs == 0 {
		t.Fatal("the image has no relocations of a non-loaded section to leave alone")
	}
	for _, r := range img.Relocs {
		if !r.Target.Alloc() {
			t.Fatalf("relocation %d of %s, for the non-loaded %s, was decoded", r.Index, r.Sec.Label(), r.Target.Label())
		}
	}
	if len(img.Relocs) == 0 {
		t.Fatal("no relocation of a loaded section was decoded either")
	}
}

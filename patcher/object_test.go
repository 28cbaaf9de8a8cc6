package patcher

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	arenablob "github.com/pulseengine/elfpatch/arena_blob"
	"github.com/pulseengine/elfpatch/relocs"
)

// plainScript links a relocatable object into an image with no help from
// elfpatch: no arena.ld, no reserve object, no special options.
const plainScript = `
MEMORY { FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 1M
         RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 256K }
SECTIONS {
  .text : { *(.text*) *(.rodata*) } > FLASH
  .data : { *(.data*) } > RAM AT > FLASH
  .bss : { __bss_start__ = .; *(.bss*) *(COMMON) __bss_end__ = .; } > RAM
}
`

// synthImport prepares a synth corpus object as a user's pipeline would:
// its first called import renamed, with objcopy, to an arena spelling, and
// its other undefined symbols to stubs the test link defines. It returns
// the object's path and the stubs, or "" when the object calls nothing it
// does not define.
func synthImport(t *testing.T, dir, name, spelling string) (string, []string) {
	t.Helper()
	src := filepath.Join("..", "testdata", "synth", name)
	img := readImage(t, src)
	var callee string
	for _, r := range img.Relocs {
		if s := img.Syms[r.Sym]; s.Undefined() && elf.R_ARM(r.Type) == rThmCall {
			callee = s.Name
			break
		}
	}
	if callee == "" {
		return "", nil
	}
	args := []string{"--redefine-sym", callee + "=" + spelling}
	var stubs []string
	for _, s := range img.Syms {
		if s.Index != 0 && s.Undefined() && s.Name != callee && s.Name != "" {
			stub := fmt.Sprintf("elfpatch_stub_%d", len(stubs))
			args = append(args, "--redefine-sym", s.Name+"="+stub)
			stubs = append(stubs, stub)
		}
	}
	out := filepath.Join(dir, "in-"+name)
	runTool(t, ".", append(append([]string{"arm-none-eabi-objcopy"}, args...), src, out)...)
	return out, stubs
}

// linkPlain links objects with plainScript and keeps relocations, so the
// test can decode every site.
func linkPlain(t *testing.T, linker string, out string, stubs []string, objs ...string) *Image {
	t.Helper()
	script := filepath.Join(filepath.Dir(out), "plain.ld")
	if err := os.WriteFile(script, []byte(plainScript), 0o644); err != nil {
		t.Fatal(err)
	}
	argv := []string{linker, "-T", script, "-e", "0", "--emit-relocs"}
	for _, s := range stubs {
		argv = append(argv, "--defsym="+s+"=0x08000101")
	}
	runTool(t, ".", append(append(argv, objs...), "-o", out)...)
	return readImage(t, out)
}

// Every ARM object of the synth corpus that calls an import, with the
// import renamed to either spelling: patched as a relocatable object,
// verified, linked plainly by GNU ld and by ld.lld, and every call of the
// import decoded in the linked image reaches the allocator.
func TestSynthObjectsGetTheAllocatorAndLinkPlainly(t *testing.T) {
	needTools(t, "arm-none-eabi-objcopy", "arm-none-eabi-ld", "ld.lld")
	names, _ := filepath.Glob(filepath.Join("..", "testdata", "synth", "*-cm3.o"))
	patchedObjects := 0
	for i, path := range names {
		name := filepath.Base(path)
		spelling := DefaultImports[i%2]
		dir := t.TempDir()
		in, stubs := synthImport(t, dir, name, spelling)
		if in == "" {
			continue // the object calls nothing it does not define
		}
		patchedObjects++
		t.Run(name, func(t *testing.T) {
			img := readImage(t, in)
			p, out := patched(t, img, Options{ArenaSize: 4096, SetSize: true})
			if p.Action != "bind" || p.Allocator == nil || p.Arena.NewSize != 4096 {
				t.Fatalf("plan: %s, allocator %+v, arena %+v", p.Action, p.Allocator, p.Arena)
			}
			if rep, err := Verify(out, Options{}); err != nil || !rep.OK {
				t.Fatalf("verify: %v %v", err, rep.Problems)
			}
			// Everything the object had is still there, byte for byte.
			for _, s := range img.Sections {
				if s.FileSize() == 0 || s == img.Symtab || s == img.Strtab || s.Index == img.Shstrndx ||
					s.Type == elf.SHT_REL || s.Type == elf.SHT_RELA {
					continue
				}
				o := out.Sections[s.Index]
				if o.Name != s.Name || !bytes.Equal(img.contents(s), out.contents(o)) {
					t.Errorf("section %s changed", s.Label())
				}
			}
			obj := filepath.Join(dir, "patched.o")
			if err := WriteFile(obj, out.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, linker := range []string{"arm-none-eabi-ld", "ld.lld"} {
				linked := linkPlain(t, linker, filepath.Join(dir, linker+".elf"), stubs, obj)
				alloc := linked.SymbolNamed(allocSym)
				if alloc == nil || alloc.Undefined() {
					t.Fatalf("%s: %s is not defined in the linked image", linker, allocSym)
				}
				calls := 0
				for _, r := range linked.Relocs {
					if linked.Syms[r.Sym].Name != spelling || elf.R_ARM(r.Type) != rThmCall {
						continue
					}
					_, off, err := linked.place(r, 4)
					if err != nil {
						t.Fatal(err)
					}
					to, blx, err := relocs.ARMBranchTarget(linked.Data[off:], r.Offset)
					if err != nil || blx || to != alloc.Value&^1 {
						t.Errorf("%s: call at %#x goes to %#x (blx %v, %v), not the allocator at %#x", linker, r.Offset, to, blx, err, alloc.Value&^1)
					}
					calls++
				}
				if calls == 0 {
					t.Errorf("%s: no call of %s in the linked image", linker, spelling)
				}
			}
		})
	}
	if patchedObjects < 20 {
		t.Errorf("only %d corpus objects call an import", patchedObjects)
	}
}

// Patching an object again with the same size changes nothing; another
// size re-sizes the arena and nothing else; and back again gives the
// first bytes.
func TestObjectsResizeAndRepatchToTheSameBytes(t *testing.T) {
	needTools(t, "arm-none-eabi-objcopy")
	in, _ := synthImport(t, t.TempDir(), "drivers_os-node_exec-cm3.o", "cabi-arena-realloc")
	_, once := patched(t, readImage(t, in), Options{ArenaSize: 4096, SetSize: true})
	p, twice := patched(t, once, Options{ArenaSize: 4096, SetSize: true})
	if p.Action != "unchanged" || !bytes.Equal(once.Data, twice.Data) {
		t.Fatalf("the same size again: %s", p.Action)
	}
	p, bigger := patched(t, once, Options{ArenaSize: 65536, SetSize: true})
	if p.Action != "resize" {
		t.Fatalf("another size: %s", p.Action)
	}
	arena := bigger.SectionNamed(objArenaSection)
	if arena == nil || arena.Size != 65536 || bigger.SymbolNamed(arenaEnd).Value != 65536 {
		t.Fatalf("the arena after the resize: %+v", arena)
	}
	note := once.SectionNamed(provenanceSection)
	outside := countDiff(once.Data[:note.Offset], bigger.Data[:note.Offset]) + countDiff(once.Data[note.Offset+note.Size:], bigger.Data[note.Offset+note.Size:])
	if outside > 8 {
		t.Errorf("the resize changed %d bytes besides the provenance note; it should change only the section size and the end symbol", outside)
	}
	_, back := patched(t, bigger, Options{ArenaSize: 4096, SetSize: true})
	if !bytes.Equal(back.Data, once.Data) {
		t.Error("resizing back does not give the first patch's bytes")
	}
}

func countDiff(a, b []byte) int {
	n := 0
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			n++
		}
	}
	return n + max(0, len(b)-len(a))
}

// An object that links its own allocator gets the other spellings bound to
// it and nothing added; --arena-size is refused for it, since it does not
// use elfpatch's region symbols.
func TestAnObjectsOwnAllocatorReceivesTheOtherSpellings(t *testing.T) {
	needTools(t, "arm-none-eabi-as")
	dir := t.TempDir()
	src := filepath.Join(dir, "own.s")
	if err := os.WriteFile(src, []byte(`
  .syntax unified
  .cpu cortex-m3
  .thumb
  .text
  .global caller
  .type caller, %function
caller:
  bl "cabi-arena-realloc"
  .global __cabi_arena_realloc
  .type __cabi_arena_realloc, %function
__cabi_arena_realloc:
  bx lr
  .size __cabi_arena_realloc, .-__cabi_arena_realloc
`), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "own.o")
	runTool(t, dir, "arm-none-eabi-as", src, "-o", obj)
	img := readImage(t, obj)
	p, out := patched(t, img, Options{})
	if !p.Allocator.Linked || len(out.Sections) != len(img.Sections)+1 || out.SectionNamed(provenanceSection) == nil {
		t.Fatalf("allocator %+v, %d sections (had %d); want only the provenance note added", p.Allocator, len(out.Sections), len(img.Sections))
	}
	own, kebab := out.SymbolNamed(allocSym), out.SymbolNamed("cabi-arena-realloc")
	if kebab.Undefined() || kebab.Value != own.Value || kebab.Shndx != own.Shndx {
		t.Errorf("cabi-arena-realloc = %+v, want %+v", kebab, own)
	}
	if _, err := NewPlan(img, Options{ArenaSize: 4096, SetSize: true}); err == nil || !strings.Contains(err.Error(), "does not use __elfpatch_arena_start") {
		t.Errorf("--arena-size on an object with its own allocator: %v", err)
	}
}

// The RISC-V object of the corpus (ESP32-C3, RVC), partially linked with a
// caller of the import as a build system would, patched, then linked
// plainly: the calls reach the compressed allocator, and the corpus code
// is the same.
func TestTheESP32C3ObjectGetsTheAllocatorAndLinksPlainly(t *testing.T) {
	needTools(t, "riscv64-unknown-elf-as", "riscv64-unknown-elf-ld", "ld.lld")
	dir := t.TempDir()
	src := filepath.Join(dir, "caller.s")
	if err := os.WriteFile(src, []byte(`
  .text
  .globl _start
_start:
  call "cabi-arena-realloc"
  call gust_mix
  tail __cabi_arena_realloc
`), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, dir, "riscv64-unknown-elf-as", "-march=rv32imac", "-mabi=ilp32", src, "-o", "caller.o")
	corpus, err := filepath.Abs(filepath.Join("..", "testdata", "synth", "esp32c3_gust_mix-esp32c3.o"))
	if err != nil {
		t.Fatal(err)
	}
	runTool(t, dir, "riscv64-unknown-elf-ld", "-m", "elf32lriscv", "-r", corpus, "caller.o", "-o", "combined.o")
	img := readImage(t, filepath.Join(dir, "combined.o"))
	p, out := patched(t, img, Options{ArenaSize: 2048, SetSize: true})
	if p.Allocator.Variant != "rv32c" {
		t.Fatalf("an RVC object got the %s allocator", p.Allocator.Variant)
	}
	obj := filepath.Join(dir, "patched.o")
	if err := WriteFile(obj, out.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "rv.ld")
	if err := os.WriteFile(script, []byte(`
SECTIONS {
  . = 0x80000000;
  .text : { *(.text*) }
  .bss : { *(.bss*) }
}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ld := range [][]string{{"riscv64-unknown-elf-ld", "-m", "elf32lriscv"}, {"ld.lld"}} {
		elfPath := filepath.Join(dir, ld[0]+".elf")
		runTool(t, dir, append(ld, "-T", script, "--emit-relocs", obj, "-o", elfPath)...)
		linked := readImage(t, elfPath)
		alloc := linked.SymbolNamed(allocSym)
		calls := 0
		for _, r := range linked.Relocs {
			name := linked.Syms[r.Sym].Name
			// GNU ld relaxes calls to a defined symbol into jal or c.jal.
			t2 := elf.R_RISCV(r.Type)
			size := map[elf.R_RISCV]uint64{elf.R_RISCV_CALL: 8, elf.R_RISCV_CALL_PLT: 8, elf.R_RISCV_JAL: 4, elf.R_RISCV_RVC_JUMP: 2}[t2]
			if (name != "cabi-arena-realloc" && name != allocSym) || size == 0 {
				continue
			}
			_, off, err := linked.place(r, size)
			if err != nil {
				t.Fatal(err)
			}
			v, err := relocs.RISCVField(t2, linked.Data[off:off+size])
			if err != nil || uint64(int64(r.Offset)+v) != alloc.Value {
				t.Errorf("%s: call at %#x goes to %#x (%v), not the allocator at %#x", ld[0], r.Offset, uint64(int64(r.Offset)+v), err, alloc.Value)
			}
			calls++
		}
		if calls != 2 {
			t.Errorf("%s: %d calls of the import, want 2", ld[0], calls)
		}
		mix := readImage(t, corpus)
		if got, want := linked.contents(linked.SectionNamed(".text"))[:mix.Sections[1].Size], mix.contents(mix.Sections[1]); !bytes.Equal(got, want) {
			t.Errorf("%s: the corpus code changed", ld[0])
		}
	}
}

// --arena-object is checked before anything is written: the object must
// define __cabi_arena_realloc as a function, need nothing the image lacks,
// and, for a linked image, bring no data of its own.
func TestArenaObjectsAreCheckedBeforeInjection(t *testing.T) {
	needTools(t, "arm-none-eabi-as")
	img := readImage(t, buildImage(t, imageSpec{}))
	for _, c := range []struct{ asm, want string }{
		{`  .text
  .global other
other: bx lr
`, "does not define __cabi_arena_realloc as a function"},
		{`  .syntax unified
  .thumb
  .text
  .global __cabi_arena_realloc
  .type __cabi_arena_realloc, %function
__cabi_arena_realloc:
  bl memcpy_of_its_own
  bx lr
`, "R_ARM_THM_CALL to memcpy_of_its_own: the image does not define this symbol"},
		{`  .syntax unified
  .thumb
  .text
  .global __cabi_arena_realloc
  .type __cabi_arena_realloc, %function
__cabi_arena_realloc:
  bx lr
  .bss
  .space 64
`, ".bss: holds 64 bytes of data of its own; a linked image has no room for it"},
	} {
		dir := t.TempDir()
		src := filepath.Join(dir, "mine.s")
		if err := os.WriteFile(src, []byte(c.asm), 0o644); err != nil {
			t.Fatal(err)
		}
		runTool(t, dir, "arm-none-eabi-as", "-mcpu=cortex-m3", src, "-o", "mine.o")
		data, err := os.ReadFile(filepath.Join(dir, "mine.o"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = NewPlan(img, Options{ArenaObject: &arenablob.Variant{Name: "mine.o", Object: data}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

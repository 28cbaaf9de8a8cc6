package patcher

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"
	"time"
)

// Fuzzing the reader and the patcher ("never corrupt, never surprise").
// Whatever the bytes, Read, Inspect, NewPlan, Apply and Verify return or
// refuse with an *Error; none panics, hangs or allocates without bound. A
// patch that applies reads back, changes no byte it does not need, verifies,
// and planned again changes nothing.
//
// The seeds are the synth corpus, the example image, the images in
// testdata/fuzz/images (built as buildImage builds the tests' images; see
// TestWriteFuzzImages), and variants of each with the defects a damaged file
// or a broken tool gives: truncated, header and table fields changed.

// fuzzImageDir holds the seed images the patcher tests' builder made.
const fuzzImageDir = "testdata/fuzz/images"

// fuzzFiles are the files the fuzz targets start from.
func fuzzFiles(tb testing.TB) [][]byte {
	tb.Helper()
	var paths []string
	for _, glob := range []string{
		filepath.Join(fuzzImageDir, "*.elf"), filepath.Join(fuzzImageDir, "*.o"),
		filepath.Join("..", "testdata", "synth", "*.o"), filepath.Join("..", "testdata", "synth", "*.elf"),
		filepath.Join("..", "examples", "cortex-m3", "app.elf"),
	} {
		m, err := filepath.Glob(glob)
		if err != nil {
			tb.Fatal(err)
		}
		paths = append(paths, m...)
	}
	if len(paths) < 10 {
		tb.Fatalf("only %d seed files", len(paths))
	}
	var files [][]byte
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, data)
	}
	return files
}

// Header field offsets, ELF32 then ELF64.
type elfLayout struct {
	ehsize                                         int
	phoff, shoff, flags                            int
	phentsize, phnum, shentsize, shnum, shstrndx   int
	shName, shType, shFlags, shAddr, shOffset      int
	shSize, shLink, shInfo, shAddralign, shEntsize int
	phOffset, phVaddr, phFilesz, phMemsz, phAlign  int
	word                                           int
	symName, symValue, symSize, symInfo, symShndx  int
	relOffset, relInfo                             int
}

var elfLayouts = map[elf.Class]elfLayout{
	elf.ELFCLASS32: {ehsize: 52, phoff: 28, shoff: 32, flags: 36, phentsize: 42, phnum: 44, shentsize: 46, shnum: 48, shstrndx: 50,
		shName: 0, shType: 4, shFlags: 8, shAddr: 12, shOffset: 16, shSize: 20, shLink: 24, shInfo: 28, shAddralign: 32, shEntsize: 36,
		phOffset: 4, phVaddr: 8, phFilesz: 16, phMemsz: 20, phAlign: 28, word: 4,
		symName: 0, symValue: 4, symSize: 8, symInfo: 12, symShndx: 14, relOffset: 0, relInfo: 4},
	elf.ELFCLASS64: {ehsize: 64, phoff: 32, shoff: 40, flags: 48, phentsize: 54, phnum: 56, shentsize: 58, shnum: 60, shstrndx: 62,
		shName: 0, shType: 4, shFlags: 8, shAddr: 16, shOffset: 24, shSize: 32, shLink: 40, shInfo: 44, shAddralign: 48, shEntsize: 56,
		phOffset: 8, phVaddr: 16, phFilesz: 32, phMemsz: 40, phAlign: 48, word: 8,
		symName: 0, symValue: 8, symSize: 16, symInfo: 4, symShndx: 6, relOffset: 0, relInfo: 8},
}

// fuzzVariant is a damaged copy of a seed, and what was damaged.
type fuzzVariant struct {
	what string
	data []byte
}

// fuzzVariants returns damaged copies of data: truncated, with header,
// section header, program header, symbol and relocation fields changed.
func fuzzVariants(data []byte) []fuzzVariant {
	var out []fuzzVariant
	for _, n := range []int{0, 4, 16, 51, 63, len(data) / 2, len(data) - 1} {
		if n >= 0 && n < len(data) {
			out = append(out, fuzzVariant{fmt.Sprintf("truncated to %d bytes", n), slices.Clone(data[:n])})
		}
	}
	img, err := Read("seed", data)
	if err != nil || img.Order != binary.LittleEndian {
		return out
	}
	L := elfLayouts[img.Class]
	o := binary.LittleEndian
	set := func(off, width int, v uint64) {
		if off < 0 || off+width > len(data) {
			return
		}
		what := fmt.Sprintf("%d bytes at %#x set to %#x", width, off, v)
		d := slices.Clone(data)
		switch width {
		case 1:
			d[off] = byte(v)
		case 2:
			o.PutUint16(d[off:], uint16(v))
		case 4:
			o.PutUint32(d[off:], uint32(v))
		case 8:
			o.PutUint64(d[off:], v)
		}
		out = append(out, fuzzVariant{what, d})
	}
	w := L.word
	get := func(off, width int) uint64 {
		if width == 8 {
			return o.Uint64(data[off:])
		}
		if width == 4 {
			return uint64(o.Uint32(data[off:]))
		}
		return uint64(o.Uint16(data[off:]))
	}
	// The file header.
	shnum := uint64(len(img.Sections))
	set(int(elf.EI_CLASS), 1, uint64(3-img.Class))
	set(int(elf.EI_DATA), 1, uint64(elf.ELFDATA2MSB))
	set(16, 2, uint64(elf.ET_DYN))
	if img.Type == elf.ET_REL {
		set(16, 2, uint64(elf.ET_EXEC))
	} else {
		set(16, 2, uint64(elf.ET_REL))
	}
	for _, m := range []elf.Machine{elf.EM_ARM, elf.EM_RISCV, elf.EM_AARCH64, elf.EM_X86_64} {
		if m != img.Machine {
			set(18, 2, uint64(m))
		}
	}
	set(L.flags, 4, uint64(img.Flags^1))
	set(L.shoff, w, uint64(len(data)-1))
	set(L.shoff, w, 1)
	set(L.phoff, w, uint64(len(data)))
	set(L.shnum, 2, 0)
	set(L.shnum, 2, shnum+1)
	set(L.shnum, 2, shnum-1)
	set(L.shnum, 2, 0xffff)
	set(L.phnum, 2, uint64(len(img.Progs)+1))
	set(L.phnum, 2, 0xffff)
	set(L.shentsize, 2, uint64(img.Shentsize+8))
	set(L.shstrndx, 2, 0)
	set(L.shstrndx, 2, 0xffff)
	set(L.shstrndx, 2, shnum-1)
	if img.Symtab != nil {
		set(L.shstrndx, 2, uint64(img.Symtab.Index))
	}

	// Section headers of the sections a patch reads or writes.
	interesting := map[int]bool{img.Shstrndx: true}
	for _, s := range img.Sections {
		switch {
		case s.Type == elf.SHT_SYMTAB, s.Type == elf.SHT_STRTAB, s.Type == elf.SHT_REL, s.Type == elf.SHT_RELA,
			s.Name == arenaName, s.Name == provenanceSection, s.Name == ".comment", s.Type == shtARMAttributes:
			interesting[s.Index] = true
		}
	}
	for _, name := range []string{slotSym, stateSym} {
		if s := img.SymbolNamed(name); s != nil {
			if sec := img.SectionOf(s); sec != nil {
				interesting[sec.Index] = true
			}
		}
	}
	for _, i := range slices.Sorted(maps.Keys(interesting)) {
		s := img.Sections[i]
		h := int(img.Shoff) + i*img.Shentsize
		if h+img.Shentsize > len(data) {
			continue
		}
		set(h+L.shType, 4, uint64(elf.SHT_NOBITS))
		set(h+L.shType, 4, uint64(elf.SHT_PROGBITS))
		set(h+L.shFlags, w, get(h+L.shFlags, w)^uint64(elf.SHF_ALLOC))
		set(h+L.shFlags, w, get(h+L.shFlags, w)|uint64(elf.SHF_COMPRESSED))
		set(h+L.shOffset, w, uint64(len(data))-s.Size/2)
		set(h+L.shSize, w, s.Size+1)
		set(h+L.shSize, w, s.Size+s.Entsize)
		set(h+L.shSize, w, 0)
		set(h+L.shSize, w, 0xffffff00)
		set(h+L.shLink, 4, 0)
		set(h+L.shLink, 4, shnum)
		set(h+L.shInfo, 4, 0)
		set(h+L.shInfo, 4, 0xffff)
		set(h+L.shAddralign, w, 1<<31)
		set(h+L.shAddralign, w, 3)
		set(h+L.shAddr, w, s.Addr+2)
		set(h+L.shName, 4, 0xffff)
	}
	// Program headers.
	for i := range img.Progs {
		h := int(img.Phoff) + i*img.Phentsize
		if h+img.Phentsize > len(data) {
			continue
		}
		set(h+L.phOffset, w, uint64(len(data)))
		set(h+L.phFilesz, w, 0)
		set(h+L.phMemsz, w, get(h+L.phMemsz, w)+0x10000)
		set(h+L.phVaddr, w, get(h+L.phVaddr, w)+4)
		set(h+L.phAlign, w, 3)
	}
	// Symbols the patch reads.
	ent := int(img.symEntSize())
	for _, s := range img.Syms {
		switch s.Name {
		case slotSym, stateSym, allocSym, "cabi-arena-realloc", arenaLimit, arenaEnd, "__bss_start__", "__bss_end__":
		default:
			continue
		}
		e := int(img.Symtab.Offset) + s.Index*ent
		set(e+L.symValue, w, s.Value+2)
		set(e+L.symValue, w, s.Value^0x80000000)
		set(e+L.symSize, w, 0)
		set(e+L.symSize, w, s.Size+0x100000)
		set(e+L.symShndx, 2, uint64(elf.SHN_ABS))
		set(e+L.symShndx, 2, 0)
		set(e+L.symShndx, 2, shnum+3)
		set(e+L.symInfo, 1, uint64(elf.ST_INFO(elf.STB_WEAK, elf.STT_FUNC)))
		set(e+L.symInfo, 1, uint64(elf.ST_INFO(elf.STB_GLOBAL, elf.STT_OBJECT)))
		set(e+L.symName, 4, 0xfffffff0)
	}
	// Relocations at the import sites.
	_, _, sites := findImports(img, Options{})
	for k, r := range sites {
		if k >= 6 {
			break
		}
		e := int(r.Sec.Offset) + r.Index*int(img.relocEntSize(r.Rela))
		set(e+L.relOffset, w, r.Offset+2)
		set(e+L.relOffset, w, r.Offset+0x100000)
		if img.Class == elf.ELFCLASS64 {
			set(e+L.relInfo, 8, uint64(r.Sym)<<32|uint64(r.Type+1))
			set(e+L.relInfo, 8, uint64(0xffffff)<<32|uint64(r.Type))
		} else {
			set(e+L.relInfo, 4, uint64(r.Sym)<<8|uint64(r.Type+1)&0xff)
			set(e+L.relInfo, 4, uint64(0xffffff)<<8|uint64(r.Type))
		}
	}
	return out
}

// fuzzOptions are the option sets the patch target runs: mode%3 is the
// default, --arena-size n, or --import of an undefined symbol of the image
// (picked by n); mode&4 adds --allow-undefined.
func fuzzOptions(img *Image, mode uint8, n uint32) Options {
	opts := Options{Version: "fuzz"}
	switch mode % 3 {
	case 1:
		opts.ArenaSize, opts.SetSize = uint64(n), true
	case 2:
		var undef []string
		for _, s := range img.Syms {
			if s.Index != 0 && s.Undefined() && s.Name != "" && !slices.Contains(DefaultImports, s.Name) {
				undef = append(undef, s.Name)
			}
		}
		name := "fuzz_import"
		if len(undef) > 0 {
			name = undef[int(n)%len(undef)]
		}
		opts.Imports = []string{name}
	}
	opts.AllowUndefined = mode&4 != 0
	return opts
}

// checkRefusal fails the test for an error that is not an elfpatch *Error
// or Errors, or that says something went wrong inside elfpatch.
func checkRefusal(t *testing.T, stage string, err error) {
	t.Helper()
	var e *Error
	var l Errors
	if !errors.As(err, &e) && !errors.As(err, &l) {
		t.Fatalf("%s: a %T, not an elfpatch error: %v", stage, err, err)
	}
	if msg := err.Error(); strings.Contains(msg, "internal error") || strings.Contains(msg, "runtime error") {
		t.Fatalf("%s: %v", stage, err)
	}
}

// bounded fails the test when one input allocates more than a fixed budget
// plus a multiple of its size, and panics (which the fuzzer records as a
// crash) when it runs for longer than any input should: a hang. The
// returned function ends the measurement.
func bounded(t *testing.T, size int) func() {
	t.Helper()
	budget := uint64(64<<20) + 64*uint64(size)
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(sample)
	start := sample[0].Value.Uint64()
	watchdog := time.AfterFunc(30*time.Second, func() {
		panic(fmt.Sprintf("a fuzz input of %d bytes ran for 30s: elfpatch hangs on it", size))
	})
	return func() {
		watchdog.Stop()
		metrics.Read(sample)
		if n := sample[0].Value.Uint64() - start; n > budget {
			t.Fatalf("an input of %d bytes allocated %d bytes (budget %d)", size, n, budget)
		}
	}
}

func addReadSeeds(f *testing.F) {
	for _, data := range fuzzFiles(f) {
		f.Add(data)
		for _, v := range fuzzVariants(data) {
			f.Add(v.data)
		}
	}
}

// FuzzRead reads anything: debug/elf must not panic on what Read hands it
// (Read refuses such input first), Read's own decoding must not need its
// recover, and what it returns is consistent enough to inspect.
func FuzzRead(f *testing.F) {
	addReadSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		defer bounded(t, len(data))()
		var elfPanic any
		func() {
			defer func() { elfPanic = recover() }()
			_, _ = elf.NewFile(bytes.NewReader(data))
		}()
		img, err := Read("fuzz.elf", data)
		if err != nil {
			checkRefusal(t, "read", err)
			if elfPanic != nil && strings.Contains(err.Error(), fmt.Sprint(elfPanic)) {
				t.Fatalf("debug/elf panics on this input (%v); Read must refuse it before", elfPanic)
			}
			return
		}
		if elfPanic != nil {
			t.Fatalf("debug/elf panics on this input (%v), and Read accepts it", elfPanic)
		}
		checkImage(t, img)
		rep := Inspect(img, Options{})
		for _, s := range rep.Sites {
			if s.Type == "" || s.Symbol == "" && rep.Plan != nil {
				t.Fatalf("inspect: a site without a type or symbol: %+v", s)
			}
		}
	})
}

// checkImage checks what the rest of elfpatch relies on in a read image.
func checkImage(t *testing.T, img *Image) {
	t.Helper()
	for i, s := range img.Sections {
		if s.Index != i {
			t.Fatalf("section %d has index %d", i, s.Index)
		}
		if n := s.FileSize(); n > 0 && (s.Offset > uint64(len(img.Data)) || n > uint64(len(img.Data))-s.Offset) {
			t.Fatalf("section %s lies past the end of the file", s.Label())
		}
	}
	if len(img.Sections) > 0 && (img.Shstrndx >= len(img.Sections) || img.Shoff+uint64(len(img.Sections))*uint64(img.Shentsize) > uint64(len(img.Data))) {
		t.Fatalf("e_shstrndx %d, e_shoff %#x with %d sections of %d bytes, in %d bytes", img.Shstrndx, img.Shoff, len(img.Sections), img.Shentsize, len(img.Data))
	}
	for i, s := range img.Syms {
		if s.Index != i {
			t.Fatalf("symbol %d has index %d", i, s.Index)
		}
	}
	for _, r := range img.Relocs {
		if int(r.Sym) >= len(img.Syms) || r.Target == nil || r.Sec == nil {
			t.Fatalf("relocation %d of %s: symbol %d of %d, target %v", r.Index, r.Sec.Label(), r.Sym, len(img.Syms), r.Target)
		}
	}
}

func addPatchSeeds(f *testing.F) {
	for i, data := range fuzzFiles(f) {
		for mode := range uint8(6) {
			f.Add(data, mode, uint32(2048))
		}
		for j, v := range fuzzVariants(data) {
			f.Add(v.data, uint8(i+j)%6, uint32(1024))
		}
	}
}

// FuzzPatch plans a patch of anything with each option set, applies it,
// and holds a patch that applies to everything a patch promises.
func FuzzPatch(f *testing.F) {
	addPatchSeeds(f)
	f.Fuzz(fuzzPatch)
}

func fuzzPatch(t *testing.T, data []byte, mode uint8, n uint32) {
	defer bounded(t, len(data))()
	img, err := Read("fuzz.elf", data)
	if err != nil {
		return // FuzzRead's business
	}
	opts := fuzzOptions(img, mode, n)
	p, err := NewPlan(img, opts)
	if err != nil {
		checkRefusal(t, "plan", err)
		return
	}
	out, err := p.Apply()
	if err != nil {
		checkRefusal(t, "apply", err)
		return
	}
	if p.Action == "nothing to bind" {
		if !bytes.Equal(out, data) {
			t.Fatal("a plan with nothing to bind changed the file")
		}
		return
	}
	back, err := Read("fuzz.elf", out)
	if err != nil {
		t.Fatalf("%s: the patched image does not read back: %v", p.Action, err)
	}
	if p.Action == "unchanged" && !bytes.Equal(out, data) {
		t.Fatal("a plan that changes nothing changed the file")
	}
	checkNeeded(t, img, back, p)
	rep, err := Verify(back, Options{Imports: opts.Imports})
	if err != nil || !rep.OK {
		var problems []string
		if rep != nil {
			problems = rep.Problems
		}
		t.Fatalf("%s: the patched image does not verify: %v %q", p.Action, err, problems)
	}
	again, err := NewPlan(back, opts)
	if err != nil || again.Action != "unchanged" {
		var changes []Change
		if again != nil {
			changes = again.Changes
		}
		t.Fatalf("%s: the patched image planned again: %v %+v", p.Action, err, changes)
	}
}

// TestWriteFuzzImages rebuilds testdata/fuzz/images with
// ELFPATCH_WRITE_FUZZ_IMAGES=1: images linked as buildImage links the
// tests' images (the arena script, the reserve object, --emit-relocs,
// imports left undefined), with small page sizes to keep them small, and
// a patched copy of a few.
func TestWriteFuzzImages(t *testing.T) {
	if os.Getenv("ELFPATCH_WRITE_FUZZ_IMAGES") != "1" {
		t.Skip("set ELFPATCH_WRITE_FUZZ_IMAGES=1 to rebuild " + fuzzImageDir)
	}
	if err := os.MkdirAll(fuzzImageDir, 0o755); err != nil {
		t.Fatal(err)
	}
	kebabOnly := strings.NewReplacer("bl __cabi_arena_realloc\n", "", "ldr r1, =__cabi_arena_realloc\n", "", ".word __cabi_arena_realloc - .\n", "").Replace(sitesAsm)
	own := strings.NewReplacer("bl __cabi_arena_realloc\n", "", "ldr r1, =__cabi_arena_realloc\n", "", ".word __cabi_arena_realloc - .\n", "").Replace(sitesAsm) + `
  .text
  .global __cabi_arena_realloc
  .type __cabi_arena_realloc, %function
__cabi_arena_realloc:
  bx lr
  .size __cabi_arena_realloc, .-__cabi_arena_realloc
`
	v6m := strings.NewReplacer(".cpu cortex-m3", ".cpu cortex-m0", "  movw r0, #:lower16:\"cabi-arena-realloc\"\n  movt r0, #:upper16:\"cabi-arena-realloc\"\n", "",
		"  b.w \"cabi-arena-realloc\"\n", "").Replace(sitesAsm)
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(fuzzImageDir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", name, len(data))
	}
	patch := func(name string, data []byte, opts Options) {
		img, err := Read(name, data)
		if err != nil {
			t.Fatal(err)
		}
		_, out := patched(t, img, opts)
		write(name, out.Data)
	}
	images := []struct {
		name    string
		spec    imageSpec
		patched bool
	}{
		{"arm-ld-sites.elf", imageSpec{}, true},
		{"arm-lld-sites.elf", imageSpec{linker: "lld", arenaSize: 8192}, true},
		{"arm-ld-kebab.elf", imageSpec{asm: kebabOnly}, false},
		{"arm-ld-own.elf", imageSpec{asm: own}, false},
		{"arm-ld-v6m.elf", imageSpec{asm: v6m, cpu: "cortex-m0"}, false},
		{"arm-ld-veneer.elf", imageSpec{asm: farCases[0].calls + farCases[0].own, script: farCases[0].script(false), flash: farCases[0].code}, false},
		{"riscv-ld-sites.elf", imageSpec{arch: "riscv", asm: riscvSitesAsm, flash: "0x10000"}, true},
		{"riscv-ld-veneer.elf", imageSpec{arch: "riscv", asm: farCases[1].calls + farCases[1].own, script: farCases[1].script(false)}, false},
		{"aarch64-ld-sites.elf", imageSpec{arch: "aarch64", asm: aarch64SitesAsm, flash: "0x400000"}, true},
		{"x86_64-ld-sites.elf", imageSpec{arch: "x86_64", asm: x86SitesAsm, flash: "0x400000"}, true},
	}
	for _, c := range images {
		data := buildSmallImage(t, c.spec)
		write(c.name, data)
		if c.patched {
			patch(strings.TrimSuffix(c.name, ".elf")+"-patched.elf", data, Options{Version: "fuzz"})
		}
	}
	// A synth object calling the import, before and after a patch.
	in, _ := synthImport(t, t.TempDir(), "drivers_timer-thin_timer-thin-cm3.o", "cabi-arena-realloc")
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	write("arm-synth-timer.o", data)
	patch("arm-synth-timer-patched.o", data, Options{Version: "fuzz", ArenaSize: 4096, SetSize: true})
}

// Sites of the other architectures, for the seed images.
const riscvSitesAsm = `  .option norelax
  .section .text._start,"ax",@progbits
  .globl _start
_start:
  call "cabi-arena-realloc"
  tail __cabi_arena_realloc
  jal "cabi-arena-realloc"
1:
  auipc a0, %pcrel_hi(__cabi_arena_realloc)
  addi a0, a0, %pcrel_lo(1b)
  lui a1, %hi("cabi-arena-realloc")
  addi a1, a1, %lo("cabi-arena-realloc")
  .section .rodata.rel,"a",@progbits
  .4byte __cabi_arena_realloc - .
  .data
  .4byte "cabi-arena-realloc"
  .bss
  .word 0
`

const aarch64SitesAsm = `  .section .text._start,"ax",@progbits
  .globl _start
_start:
  bl "cabi-arena-realloc"
  b __cabi_arena_realloc
  adrp x0, "cabi-arena-realloc"
  add x0, x0, :lo12:"cabi-arena-realloc"
  movz x1, #:abs_g1:__cabi_arena_realloc
  movk x1, #:abs_g0_nc:__cabi_arena_realloc
  .section .rodata.rel,"a",@progbits
  .xword __cabi_arena_realloc
  .word __cabi_arena_realloc - .
  .bss
  .word 0
`

const x86SitesAsm = `  .section .text._start,"ax",@progbits
  .globl _start
_start:
  call "cabi-arena-realloc"
  jmp __cabi_arena_realloc
  lea "cabi-arena-realloc"(%rip), %rax
  movabs $__cabi_arena_realloc, %rbx
  .section .rodata.rel,"a",@progbits
  .quad __cabi_arena_realloc
  .long __cabi_arena_realloc - .
  .bss
  .long 0
`

// buildSmallImage is buildImage with small page sizes, so that the seeds
// carry no padding.
func buildSmallImage(t *testing.T, spec imageSpec) []byte {
	t.Helper()
	spec.ldFlags = append([]string{"-z", "max-page-size=0x10", "-z", "common-page-size=0x10"}, spec.ldFlags...)
	data, err := os.ReadFile(buildImage(t, spec))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkNeeded is checkMinimal for any input, damaged ones included: a byte
// the patch did not need may change only where no header, section or
// segment of the input holds it (what follows a table that grows is laid
// out again, and bytes nothing refers to are not kept), a section that is
// not loaded may move with its contents, and the provenance note may change
// size.
func checkNeeded(t *testing.T, in, out *Image, p *Plan) {
	t.Helper()
	allowed := allowedChanges(in, out, p)
	var owned []span
	own := func(lo, n uint64) { owned = append(owned, span{lo: lo, hi: lo + n}) }
	own(0, uint64(elfLayouts[in.Class].ehsize))
	own(in.Phoff, uint64(len(in.Progs))*uint64(in.Phentsize))
	own(in.Shoff, uint64(len(in.Sections))*uint64(in.Shentsize))
	for _, s := range in.Sections {
		own(s.Offset, s.FileSize())
	}
	for _, pr := range in.Progs {
		own(pr.Off, pr.Filesz)
	}
	// The header entry of a section that moved or changed size: which of
	// its fields may change is checked below.
	for i, a := range in.Sections {
		if i < len(out.Sections) && (a.Offset != out.Sections[i].Offset || a.Size != out.Sections[i].Size) {
			allowed = append(allowed, span{lo: in.shdrOff(i), hi: in.shdrOff(i) + uint64(in.Shentsize)})
		}
		// The place a section left: that its contents went with it is
		// checked below.
		if i < len(out.Sections) && a.Offset != out.Sections[i].Offset && !a.Alloc() {
			allowed = append(allowed, span{lo: a.Offset, hi: a.Offset + a.FileSize()})
		}
	}
	within := func(l []span, off uint64) bool {
		for _, a := range l {
			if off >= a.lo && off < a.hi {
				return true
			}
		}
		return false
	}
	unexplained := 0
	for off := range min(len(in.Data), len(out.Data)) {
		if in.Data[off] == out.Data[off] || within(allowed, uint64(off)) || !within(owned, uint64(off)) {
			continue
		}
		if unexplained++; unexplained <= 5 {
			t.Errorf("byte at file offset %#x changed (%#02x -> %#02x) outside anything the patch needed", off, in.Data[off], out.Data[off])
		}
	}
	if unexplained > 0 {
		t.FailNow()
	}
	if len(out.Sections) < len(in.Sections) {
		t.Fatalf("%d sections became %d", len(in.Sections), len(out.Sections))
	}
	for i, a := range in.Sections {
		b := out.Sections[i]
		if a.Name != b.Name || a.Type != b.Type || a.Flags != b.Flags || a.Addr != b.Addr || a.Link != b.Link || a.Addralign != b.Addralign || a.Entsize != b.Entsize {
			t.Fatalf("section %d header changed: %+v -> %+v", i, *a, *b)
		}
		table := a.Type == elf.SHT_SYMTAB || a.Type == elf.SHT_STRTAB || a.Type == elf.SHT_REL || a.Type == elf.SHT_RELA || a.Name == provenanceSection
		_, sized := p.edit.shdr[fieldKey{i, shSize}]
		switch {
		case table || sized:
		case a.Size != b.Size:
			t.Fatalf("section %s changed size: %#x -> %#x", a.Label(), a.Size, b.Size)
		case a.Offset != b.Offset && (a.Alloc() || !bytes.Equal(in.contents(a), out.contents(b))):
			t.Fatalf("section %s moved from %#x to %#x, or changed as it moved", a.Label(), a.Offset, b.Offset)
		}
		_, info := p.edit.shdr[fieldKey{i, shInfo}]
		if a.Info != b.Info && !info {
			t.Fatalf("section %s: sh_info %d -> %d", a.Label(), a.Info, b.Info)
		}
	}
	for i, a := range in.Progs {
		b := *out.Progs[i]
		if _, ok := p.edit.phdr[fieldKey{i, phMemsz}]; ok {
			b.Memsz = a.Memsz
		}
		if *a != b {
			t.Fatalf("program header %d changed: %+v -> %+v", i, *a, *out.Progs[i])
		}
	}
}

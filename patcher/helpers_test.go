package patcher

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulseengine/elfpatch/internal/testtool"
	"github.com/pulseengine/elfpatch/linkerscripts"
)

// needTools skips a test when a tool is missing, except in CI, where a
// missing tool is a failure.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	testtool.Require(t, tools...)
}

func runTool(t *testing.T, dir string, argv ...string) string {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// sitesAsm calls the import through every relocation type a Thumb-2
// compiler emits for a function: BL, B.W, MOVW/MOVT, a literal-pool word,
// a PC-relative word and a word in .data; under both spellings.
const sitesAsm = `
  .syntax unified
  .cpu cortex-m3
  .thumb
  .section .text._start,"ax",%progbits
  .global _start
  .type _start, %function
_start:
  bl __cabi_arena_realloc
  bl "cabi-arena-realloc"
  movw r0, #:lower16:"cabi-arena-realloc"
  movt r0, #:upper16:"cabi-arena-realloc"
  ldr r1, =__cabi_arena_realloc
  b.w "cabi-arena-realloc"
  .ltorg
  .section .rodata.rel,"a",%progbits
  .word __cabi_arena_realloc - .
  .data
  .word "cabi-arena-realloc"
  .bss
  .word 0
`

// layoutScript is an ordinary Cortex-M script, its flash at FLASH.
const layoutScript = `
MEMORY { FLASH (rx) : ORIGIN = FLASHORIGIN, LENGTH = 1M
         RAM (rwx) : ORIGIN = 0x20000000, LENGTH = 256K }
ENTRY(_start)
SECTIONS {
  .text : { *(.text*) *(.rodata*) } > FLASH
  .data : { *(.data*) } > RAM AT > FLASH
  .bss : { __bss_start__ = .; *(.bss*) *(COMMON) __bss_end__ = .; } > RAM
}
`

type imageSpec struct {
	asm       string
	linker    string // "ld" (GNU) or "lld"
	flash     string // FLASH origin, default 0x08000000
	arenaSize uint64
	slotSize  uint64
	script    string   // replaces layoutScript
	cpu       string   // -mcpu for the assembler (ARM)
	arch      string   // "arm" (default), "riscv" (RV32IMAC) or "aarch64"
	asFlags   []string // more assembler flags, e.g. -g
	ldFlags   []string // more linker flags
}

// toolchains are the assembler and GNU linker of each architecture, and
// the reserve object's machine.
var toolchains = map[string]struct {
	as      []string
	ld      []string
	machine elf.Machine
	class   elf.Class
	flags   uint32
}{
	"arm":     {[]string{"arm-none-eabi-as"}, []string{"arm-none-eabi-ld"}, elf.EM_ARM, elf.ELFCLASS32, 0x05000000},
	"riscv":   {[]string{"riscv64-unknown-elf-as", "-march=rv32imac", "-mabi=ilp32"}, []string{"riscv64-unknown-elf-ld", "-m", "elf32lriscv"}, elf.EM_RISCV, elf.ELFCLASS32, 0x1},
	"aarch64": {[]string{"aarch64-linux-gnu-as"}, []string{"aarch64-linux-gnu-ld"}, elf.EM_AARCH64, elf.ELFCLASS64, 0},
	"x86_64":  {[]string{"as", "--64"}, []string{"ld", "-m", "elf_x86_64"}, elf.EM_X86_64, elf.ELFCLASS64, 0},
}

// buildImage assembles spec.asm and links it as elfpatch-ld would: the
// arena script first, the reserve object last, relocations kept and the
// imports left undefined.
func buildImage(t *testing.T, spec imageSpec) string {
	t.Helper()
	if spec.arch == "" {
		spec.arch = "arm"
	}
	tc, ok := toolchains[spec.arch]
	if !ok {
		t.Fatalf("no toolchain for %s", spec.arch)
	}
	ld := tc.ld
	if spec.linker == "lld" {
		ld = []string{"ld.lld"}
	}
	needTools(t, tc.as[0], ld[0])
	dir := t.TempDir()
	if spec.asm == "" {
		spec.asm = sitesAsm
	}
	if spec.flash == "" {
		spec.flash = "0x08000000"
	}
	if spec.arenaSize == 0 {
		spec.arenaSize = 4096
	}
	if spec.script == "" {
		spec.script = layoutScript
	}
	if spec.cpu == "" {
		spec.cpu = "cortex-m3"
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	src := write("app.s", spec.asm)
	script := write("app.ld", strings.ReplaceAll(spec.script, "FLASHORIGIN", spec.flash))
	arena := write("arena.ld", string(linkerscripts.ArenaLD))
	as := append([]string{}, tc.as...)
	if spec.arch == "arm" {
		as = append(as, "-mcpu="+spec.cpu)
	}
	as = append(as, spec.asFlags...)
	runTool(t, dir, append(as, src, "-o", filepath.Join(dir, "app.o"))...)
	obj, err := ReserveObject(ReserveOptions{Machine: tc.machine, Class: tc.class, Flags: tc.flags, ArenaSize: spec.arenaSize, SlotSize: spec.slotSize})
	if err != nil {
		t.Fatal(err)
	}
	write("reserve.o", string(obj))
	out := filepath.Join(dir, "app.elf")
	ld = append(append([]string{}, ld...), spec.ldFlags...)
	runTool(t, dir, append(ld, "-T", arena, "-T", script, "--emit-relocs", "--unresolved-symbols=ignore-all",
		"app.o", "reserve.o", "-o", out)...)
	return out
}

func readImage(t *testing.T, path string) *Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := Read(filepath.Base(path), data)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// patched plans and applies a patch and reads the result back.
func patched(t *testing.T, img *Image, opts Options) (*Plan, *Image) {
	t.Helper()
	p, err := NewPlan(img, opts)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	out, err := p.Apply()
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	back, err := Read(img.Name, out)
	if err != nil {
		t.Fatalf("the patched image does not read back: %v", err)
	}
	return p, back
}

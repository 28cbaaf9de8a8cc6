// Package arenablob holds the allocators elfpatch writes into images: their
// assembly sources, the pinned build that makes them (build.sh) and the
// built relocatable objects, embedded here byte for byte.
//
// Every object keeps all its bytes in one code section,
// .text.__cabi_arena_realloc, defines __cabi_arena_realloc there as a
// function and refers to three symbols the patcher resolves against the
// image: __elfpatch_state (one zero-initialised word in the image's .bss),
// __elfpatch_arena_start and __elfpatch_arena_end (the arena's bounds), plus
// a weak reference to __cabi_arena_exhausted, the image's optional trap hook,
// which it calls from exactly one place, followed by the architecture's
// permanently undefined instruction.  The 64-bit variants take and return
// the canonical ABI's 32-bit pointers: their arena must lie below 4 GiB.
//
// The pointer-base shims (Shims, shim_*.S) serve --pointer-base: elfpatch
// places one in front of the unchanged allocator in the same code slot.  A
// shim keeps the same one-section shape and defines __cabi_arena_realloc
// itself; it refers to exactly two symbols the patcher resolves:
// __elfpatch_realloc_abs, the allocator's own entry, and
// __elfpatch_pointer_base, the linear memory's base address.  It passes
// new_len == 0 calls to the allocator unchanged (a tail call) and otherwise
// adds the base to old_ptr and subtracts it from the result, 32-bit and
// wrapping.  One shim serves every allocator variant of its family.
package arenablob

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
)

//go:embed thumb2.o
var thumb2 []byte

//go:embed thumb2.lines
var thumb2Lines string

//go:embed thumb1.o
var thumb1 []byte

//go:embed thumb1.lines
var thumb1Lines string

//go:embed rv32c.o
var rv32c []byte

//go:embed rv32c.lines
var rv32cLines string

//go:embed rv32.o
var rv32 []byte

//go:embed rv32.lines
var rv32Lines string

//go:embed aarch64.o
var aarch64 []byte

//go:embed aarch64.lines
var aarch64Lines string

//go:embed x86_64.o
var x86_64 []byte

//go:embed x86_64.lines
var x86_64Lines string

//go:embed shim_thumb.o
var shimThumb []byte

//go:embed shim_thumb.lines
var shimThumbLines string

//go:embed shim_rv32.o
var shimRV32 []byte

//go:embed shim_rv32.lines
var shimRV32Lines string

//go:embed shim_aarch64.o
var shimAArch64 []byte

//go:embed shim_aarch64.lines
var shimAArch64Lines string

//go:embed shim_x86_64.o
var shimX86_64 []byte

//go:embed shim_x86_64.lines
var shimX86_64Lines string

// Variant is one built allocator.
type Variant struct {
	// Name identifies the variant in reports and in --version.
	Name string
	// Suits says which images receive it.
	Suits string
	// Source is the file in this directory the object is built from.
	Source string
	// Object is the relocatable ELF object elfpatch links into the slot.
	Object []byte
	// SHA256 is the recorded hash of Object; tests check that the embedded
	// object and a fresh rebuild both match it.
	SHA256 string
	// Lines maps each instruction of the code to its line in Source, as
	// the pinned debug build recorded it (Name + ".lines").
	Lines []Line
}

// Line is one row of a line table: the instruction at Offset from the
// start of the code section comes from line Line of the source.
type Line struct {
	Offset uint64
	Line   int
}

// parseLines reads a .lines file: "0xOFFSET LINE" per row.  The files are
// embedded and checked by the tests, so a malformed one is a build error.
func parseLines(name, text string) []Line {
	var rows []Line
	for i, l := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			panic(fmt.Sprintf("%s.lines:%d: want OFFSET LINE", name, i+1))
		}
		off, err1 := strconv.ParseUint(f[0], 0, 64)
		line, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			panic(fmt.Sprintf("%s.lines:%d: want OFFSET LINE", name, i+1))
		}
		rows = append(rows, Line{off, line})
	}
	return rows
}

// Variants lists every allocator elfpatch carries, in a fixed order.
func Variants() []Variant {
	return []Variant{
		{
			Name:   "thumb2",
			Suits:  "ARMv7-M, ARMv7E-M, ARMv8-M Mainline (Thumb-2)",
			Source: "thumb2.S",
			Object: thumb2,
			Lines:  parseLines("thumb2", thumb2Lines),
			SHA256: "ed4432afe3caa69774c39094d26df8abf7330d2321a8f10e4f42ee99837cf5ff",
		},
		{
			Name:   "thumb1",
			Suits:  "ARMv6-M, ARMv8-M Baseline (Thumb-1: Cortex-M0, M0+, M23)",
			Source: "thumb1.S",
			Object: thumb1,
			Lines:  parseLines("thumb1", thumb1Lines),
			SHA256: "04750170048282964dc0bd22a7dadcd62d0e5dc09afbfc715cdcf82bba4325ee",
		},
		{
			Name:   "rv32c",
			Suits:  "RV32 with C (RV32IMC, RV32IMAC, RV32EC: ESP32-C3, QEMU virt)",
			Source: "rv32.S",
			Object: rv32c,
			Lines:  parseLines("rv32c", rv32cLines),
			SHA256: "725acbb2e435cf47225551659a6b5e20bc4f55cabb837f7d3de0349a1059614c",
		},
		{
			Name:   "rv32",
			Suits:  "RV32 without C (RV32I, RV32IM, RV32E)",
			Source: "rv32.S",
			Object: rv32,
			Lines:  parseLines("rv32", rv32Lines),
			SHA256: "6187e9b7b542eb65f8d37fc4def47a61882ccec6e470489f5fe6eb5967d08248",
		},
		{
			Name:   "aarch64",
			Suits:  "AArch64 (A64; arena below 4 GiB)",
			Source: "aarch64.S",
			Object: aarch64,
			Lines:  parseLines("aarch64", aarch64Lines),
			SHA256: "56a75cd56f95af68d141fd6a18144e958af77c849aac439da70e61caa7eb3190",
		},
		{
			Name:   "x86_64",
			Suits:  "x86-64 SysV (host tests only; arena below 4 GiB)",
			Source: "x86_64.S",
			Object: x86_64,
			Lines:  parseLines("x86_64", x86_64Lines),
			SHA256: "a736480479d2072741330650de6e276eb3a8c24bad4b3aaa501cd64af32eff07",
		},
	}
}

// ByName returns the variant called name.
func ByName(name string) (Variant, bool) {
	for _, v := range Variants() {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

// Shim is a pointer-base shim placed in front of an allocator (see
// shim_*.S): offsets from __elfpatch_pointer_base in and out, addresses to
// and from the allocator, whose entry it calls as __elfpatch_realloc_abs.
type Shim struct {
	// Name identifies the shim in reports; build.sh builds Name + ".o".
	Name string
	// Family is the architecture family it serves: "arm", "riscv",
	// "aarch64" or "x86_64".
	Family string
	// Serves lists the allocator variants (Variants) it runs with.
	Serves []string
	// Source is the file in this directory the object is built from.
	Source string
	// Object is the relocatable ELF object elfpatch links into the slot.
	Object []byte
	// SHA256 is the recorded hash of Object; tests check that the embedded
	// object and a fresh rebuild both match it.
	SHA256 string
	// Lines maps each instruction to its line in Source (see Variant).
	Lines []Line
}

// Shims lists every pointer-base shim elfpatch carries, one per family, in
// a fixed order.
func Shims() []Shim {
	return []Shim{
		{
			Name:   "shim_thumb",
			Family: "arm",
			Serves: []string{"thumb2", "thumb1"},
			Source: "shim_thumb.S",
			Object: shimThumb,
			Lines:  parseLines("shim_thumb", shimThumbLines),
			SHA256: "9fb1f0002af5746e6af17c08d7a9d978d33c24a744185d5361e589c4b57f97d1",
		},
		{
			Name:   "shim_rv32",
			Family: "riscv",
			Serves: []string{"rv32c", "rv32"},
			Source: "shim_rv32.S",
			Object: shimRV32,
			Lines:  parseLines("shim_rv32", shimRV32Lines),
			SHA256: "9f5ba20ee39e150d244de1d7fb1cb9a209c2d8005a8dd4079e90ed6a0a5761dd",
		},
		{
			Name:   "shim_aarch64",
			Family: "aarch64",
			Serves: []string{"aarch64"},
			Source: "shim_aarch64.S",
			Object: shimAArch64,
			Lines:  parseLines("shim_aarch64", shimAArch64Lines),
			SHA256: "783b404db2adcb97dcbb7132248d3d691805955d2843dd182ae75e1c6def12e0",
		},
		{
			Name:   "shim_x86_64",
			Family: "x86_64",
			Serves: []string{"x86_64"},
			Source: "shim_x86_64.S",
			Object: shimX86_64,
			Lines:  parseLines("shim_x86_64", shimX86_64Lines),
			SHA256: "fc77006d08bc524e89034e302406a677965b572a83833c1e68e7dd34cacfd146",
		},
	}
}

// ShimFor returns the shim of an architecture family: "arm", "riscv",
// "aarch64" or "x86_64".
func ShimFor(family string) (Shim, bool) {
	for _, s := range Shims() {
		if s.Family == family {
			return s, true
		}
	}
	return Shim{}, false
}

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
package arenablob

import (
	_ "embed"
)

//go:embed thumb2.o
var thumb2 []byte

//go:embed thumb1.o
var thumb1 []byte

//go:embed rv32c.o
var rv32c []byte

//go:embed rv32.o
var rv32 []byte

//go:embed aarch64.o
var aarch64 []byte

//go:embed x86_64.o
var x86_64 []byte

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
}

// Variants lists every allocator elfpatch carries, in a fixed order.
func Variants() []Variant {
	return []Variant{
		{
			Name:   "thumb2",
			Suits:  "ARMv7-M, ARMv7E-M, ARMv8-M Mainline (Thumb-2)",
			Source: "thumb2.S",
			Object: thumb2,
			SHA256: "902d4e072a7a785de1bba45d7f446b0873e2f7841e12bce94e3b99564095073a",
		},
		{
			Name:   "thumb1",
			Suits:  "ARMv6-M, ARMv8-M Baseline (Thumb-1: Cortex-M0, M0+, M23)",
			Source: "thumb1.S",
			Object: thumb1,
			SHA256: "7617bcfecb76384edd0f228d31ab250667d91b7abf03740b25f044ee53cfc587",
		},
		{
			Name:   "rv32c",
			Suits:  "RV32 with C (RV32IMC, RV32IMAC, RV32EC: ESP32-C3, QEMU virt)",
			Source: "rv32.S",
			Object: rv32c,
			SHA256: "50028ebd60a7a8dc0d46fa844ae49906606eec7aa1268924a7fa33c9da2c76f7",
		},
		{
			Name:   "rv32",
			Suits:  "RV32 without C (RV32I, RV32IM, RV32E)",
			Source: "rv32.S",
			Object: rv32,
			SHA256: "cae3e92d9c6b4bcaec8a6abc7d0dd8a1057710e8397b7cd1ef993f411f2c6419",
		},
		{
			Name:   "aarch64",
			Suits:  "AArch64 (A64; arena below 4 GiB)",
			Source: "aarch64.S",
			Object: aarch64,
			SHA256: "b43bbe7178518f41c34e17c3d03790334e8c831880f3edf0982b191f3762bd04",
		},
		{
			Name:   "x86_64",
			Suits:  "x86-64 SysV (host tests only; arena below 4 GiB)",
			Source: "x86_64.S",
			Object: x86_64,
			SHA256: "1256ee4b872b92a39a3380805c7488633557fa0f8527bf425d13c50062b72bc1",
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

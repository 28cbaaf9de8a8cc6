// Package arenablob holds the allocators elfpatch writes into images: their
// assembly sources, the pinned build that makes them (build.sh) and the
// built relocatable objects, embedded here byte for byte.
//
// Every object defines __cabi_arena_realloc and refers to three symbols the
// patcher resolves against the image: __elfpatch_state (one zero-initialised
// word in the image's .bss), __elfpatch_arena_start and
// __elfpatch_arena_end (the arena's bounds), plus a weak reference to
// __cabi_arena_exhausted, the image's optional trap hook.
package arenablob

import (
	_ "embed"
)

//go:embed thumb2.o
var thumb2 []byte

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

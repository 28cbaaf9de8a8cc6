// Package linkerscripts carries the linker script fragments elfpatch adds
// to a link, so that the elfpatch binary alone can run a wrapped link.
package linkerscripts

import _ "embed"

// ArenaLD is arena.ld: it places the arena before .bss and keeps the
// reserve object's slot and state.
//
//go:embed arena.ld
var ArenaLD []byte

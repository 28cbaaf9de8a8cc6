// Every kind of site against the allocator import, left undefined: what a
// linker writes there with --unresolved-symbols=ignore-all (static, not
// PIE), and which addend it keeps. Linked on its own, low enough (layout.ld)
// that GNU ld's S = 0 is in reach of B, BL and ADR.
	.include "macros.inc"

	site	undef_bl
	bl	__cabi_arena_realloc
	site	undef_b
	b	__cabi_arena_realloc
	site	undef_bl_kebab		// the fused (meld) spelling
	bl	"cabi-arena-realloc"
	site	undef_adrp
	adrp	x0, __cabi_arena_realloc+0x1234
	site	undef_add
	add	x0, x0, :lo12:__cabi_arena_realloc+0x1234
	site	undef_ldst64
	ldr	x1, [x1, :lo12:__cabi_arena_realloc+0x1238]
	site	undef_adr
	adr	x2, __cabi_arena_realloc+8
	site	undef_movz_g3
	movz	x3, #:abs_g3:__cabi_arena_realloc
	site	undef_movk_g2_nc
	movk	x3, #:abs_g2_nc:__cabi_arena_realloc
	site	undef_movk_g1_nc
	movk	x3, #:abs_g1_nc:__cabi_arena_realloc
	site	undef_movk_g0_nc
	movk	x3, #:abs_g0_nc:__cabi_arena_realloc+0x20

	data_site undef_xword
	.xword	__cabi_arena_realloc+0x10
	data_site undef_prel32
	.word	__cabi_arena_realloc - .

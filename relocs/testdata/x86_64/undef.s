# Every kind of site against the allocator import, left undefined: what a
# linker writes there with --unresolved-symbols=ignore-all (static, not
# PIE), and which addend it keeps.
	.include "macros.inc"

	site	undef_call
	call	__cabi_arena_realloc
	site	undef_jmp
	jmp	__cabi_arena_realloc
	site	undef_jcc
	jne	__cabi_arena_realloc
	site	undef_call_kebab	# the fused (meld) spelling
	call	"cabi-arena-realloc"
	site	undef_lea
	lea	__cabi_arena_realloc(%rip), %rax
	site	undef_mov_rip
	mov	__cabi_arena_realloc+8(%rip), %rcx
	site	undef_mov32
	mov	$__cabi_arena_realloc, %edx
	site	undef_mov32s
	mov	$__cabi_arena_realloc+16, %rdx
	site	undef_movabs
	movabs	$__cabi_arena_realloc+24, %rsi
	site	undef_got_call
	call	*__cabi_arena_realloc@GOTPCREL(%rip)
	site	undef_got_jmp
	jmp	*__cabi_arena_realloc@GOTPCREL(%rip)
	site	undef_got_mov
	mov	__cabi_arena_realloc@GOTPCREL(%rip), %rdi

	data_site undef_quad
	.quad	__cabi_arena_realloc+0x10
	data_site undef_quad_pc64
	.quad	__cabi_arena_realloc - .
	data_site undef_long_pc32
	.long	__cabi_arena_realloc - .

# Sites against an import left undefined at link time
# (--unresolved-symbols=ignore-all), as elfpatch meets them: what each linker
# writes there. GNU ld resolves every one against address 0; ld.lld sends a
# call, tail or jal to the instruction itself and resolves the rest against
# 0. The _wrap sites sit more than 2 GiB above 0.
	.include "macros.inc"

	site	undef_call
	call	__cabi_arena_realloc
	site	undef_tail
	tail	__cabi_arena_realloc
	site	undef_jal
	jal	__cabi_arena_realloc
	site	undef_lla
	lla	a0, __cabi_arena_realloc
	site	undef_lui_addi
	lui	a1, %hi(__cabi_arena_realloc)
	addi	a1, a1, %lo(__cabi_arena_realloc)
	site	undef_lui_sw
	lui	a2, %hi(__cabi_arena_realloc)
	sw	a3, %lo(__cabi_arena_realloc)(a2)
	data_site undef_word
	.word	__cabi_arena_realloc

	site	undef_call_wrap
	call	__cabi_arena_realloc
	site	undef_lla_wrap
	lla	a4, __cabi_arena_realloc

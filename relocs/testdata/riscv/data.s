# R_RISCV_32 words: a function, a datum with an addend, one with a negative
# addend that brings it to zero.
	.include "macros.inc"

	data_site word_fn
	.word	t_call_fwd
	data_site word_addend
	.word	d_abs_carry+8
	data_site word_zero
	.word	d_abs_carry-0x20000800

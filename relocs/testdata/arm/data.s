@ Data relocations: R_ARM_ABS32 and R_ARM_REL32 words, and R_ARM_PREL31
@ (the exception-index form: 31-bit offset, top bit left alone).
	.syntax	unified
	.thumb
	.include "macros.inc"

	data_site word_abs32_fn
	.word	t_data
	data_site word_abs32_data
	.word	d_word+8
	data_site word_rel32_data
	.word	d_word - .
	data_site word_rel32_fn
	.word	t_data - .
	data_site word_prel31_fn
	.reloc	., R_ARM_PREL31, t_data
	.word	0x80000000
	data_site word_prel31_data
	.reloc	., R_ARM_PREL31, d_word
	.word	0x7ffffffc

	thumb_fn t_data

	.section .d_word,"aw",%progbits
	.global	d_word
	.type	d_word, %object
d_word:	.word	0

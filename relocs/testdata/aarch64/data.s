// Data relocations: R_AARCH64_ABS64 and R_AARCH64_PREL64 doublewords,
// R_AARCH64_ABS32 and R_AARCH64_PREL32 words at the ends both linkers
// accept (GNU ld checks ABS32 as unsigned and PREL32 as signed).
	.include "macros.inc"

	data_site xword_abs64
	.xword	a_chain+1
	data_site xword_abs64_fn
	.xword	t_fwd
	data_site xword_prel64
	.xword	d_back - .
	data_site word_abs32_max
	.word	a_g1_max
	data_site word_abs32
	.word	d_adrp_max_back
	data_site word_prel32_max
	.word	d_prel32_max - .
	data_site word_prel32_min
	.word	d_prel32_min - .

	object	d_prel32_max
	object	d_prel32_min

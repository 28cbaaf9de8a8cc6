# RV64, linked on its own: R_RISCV_64 words, and a call pair and an auipc
# pair above 4 GiB, the far call at both ends of its range.
	.include "macros.inc"

	site	call64_max_fwd
	call	t64_max_fwd
	site	call64_max_back
	call	t64_max_back
	site	pcrel64
	lla	a0, d64
	data_site dword_fn
	.8byte	t64_max_fwd
	data_site dword_addend
	.8byte	d64+0x10

	fn	t64_max_fwd
	fn	t64_max_back
	datum	d64

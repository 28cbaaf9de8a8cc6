# Data relocations: R_X86_64_64 and R_X86_64_PC64 quadwords, R_X86_64_PC32
# and R_X86_64_32 longs, and an R_X86_64_PLT32 in data (a relative function
# pointer), which is no branch at all. GNU as 2.40 rejects `.long f@PLT - .`,
# so that one is spelled with .reloc.
	.include "macros.inc"

	data_site quad_abs64
	.quad	t_fwd+8
	data_site quad_pc64
	.quad	t_back - .
	data_site long_pc32
	.long	d_near - .
	data_site long_abs32
	.long	a32_max
	data_site long_plt32
	.reloc	., R_X86_64_PLT32, t_fwd
	.long	0

# Addresses built in two instructions: lui with addi, lw or sw (R_RISCV_HI20
# with R_RISCV_LO12_I or _S, absolute), and auipc with the same (PCREL_HI20
# with PCREL_LO12_I or _S, whose symbol is the auipc's label). Targets are
# bytes at odd addresses, so the low part reaches +0x7ff; the high part
# carries when the low part is -0x800.
	.include "macros.inc"

	site	pcrel_max_fwd
	lla	a0, d_pcrel_max_fwd
	site	pcrel_max_back
	lla	a1, d_pcrel_max_back

	site	abs_nocarry
	lui	a5, %hi(d_abs_nocarry)
	addi	a5, a5, %lo(d_abs_nocarry)
	site	abs_carry
	lui	a4, %hi(d_abs_carry)
	addi	a4, a4, %lo(d_abs_carry)
	site	abs_load
	lui	a3, %hi(d_abs_nocarry)
	lw	a0, %lo(d_abs_nocarry)(a3)
	site	abs_store
	lui	t0, %hi(d_abs_carry)
	sw	a1, %lo(d_abs_carry)(t0)
	site	abs_addend
	lui	a2, %hi(d_abs_carry-0x10)
	addi	a2, a2, %lo(d_abs_carry-0x10)
	site	abs_sign
	lui	s1, %hi(d_abs_sign)
	sb	a2, %lo(d_abs_sign)(s1)
	site	abs_top
	lui	a0, %hi(d_abs_top)
	addi	a0, a0, %lo(d_abs_top)

	site	pcrel_nocarry
	lla	a0, d_pcrel_nocarry
	site	pcrel_carry
	lla	a1, d_pcrel_carry
	site	pcrel_la
	la	a2, d_pcrel_back
	site	pcrel_addend
	lla	a3, d_pcrel_carry+0x100
	site	pcrel_load
1:	auipc	a4, %pcrel_hi(d_pcrel_carry)
	lw	a5, %pcrel_lo(1b)(a4)
	site	pcrel_store
2:	auipc	t1, %pcrel_hi(d_pcrel_nocarry)
	sh	t2, %pcrel_lo(2b)(t1)

	datum	d_pcrel_max_fwd
	datum	d_pcrel_max_back
	datum	d_abs_nocarry
	datum	d_abs_carry
	datum	d_abs_sign
	datum	d_abs_top
	datum	d_pcrel_nocarry
	datum	d_pcrel_carry
	datum	d_pcrel_back

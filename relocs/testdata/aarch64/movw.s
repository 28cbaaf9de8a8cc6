// MOVZ/MOVK with R_AARCH64_MOVW_UABS_G0..G3: the checked groups at the top
// of their range, a full 64-bit chain G3, G2_NC, G1_NC, G0_NC, an addend
// that carries from G0 into G1, and a MOVK of a W register. The symbols are
// absolute (layout.ld), so the values are exact.
	.include "macros.inc"

	site	movz_g0_max
	movz	x0, #:abs_g0:a_g0_max
	site	movz_g1_max
	movz	x1, #:abs_g1:a_g1_max
	site	movz_g2_max
	movz	x2, #:abs_g2:a_g2_max

	site	movz_g3
	movz	x3, #:abs_g3:a_chain
	site	movk_g2_nc
	movk	x3, #:abs_g2_nc:a_chain
	site	movk_g1_nc
	movk	x3, #:abs_g1_nc:a_chain
	site	movk_g0_nc
	movk	x3, #:abs_g0_nc:a_chain

	site	movz_g1_carry		// 0xffff + 1: G1 gets 1
	movz	x4, #:abs_g1:a_g0_max+1
	site	movk_w_g1_nc
	movk	w5, #:abs_g1_nc:a_chain

// Page-relative addressing: ADRP (R_AARCH64_ADR_PREL_PG_HI21 and _NC) near
// and at both ends of its ±4 GiB, ADR (R_AARCH64_ADR_PREL_LO21) at both ends
// of its ±1 MiB, and the instructions that supply the low 12 bits: ADD
// (R_AARCH64_ADD_ABS_LO12_NC) and a load or store of each size
// (R_AARCH64_LDST{8,16,32,64,128}_ABS_LO12_NC), whose field is scaled by it.
	.include "macros.inc"

	site	adrp_fwd
	adrp	x0, d_near
	site	adrp_back
	adrp	x1, d_back
	site	adrp_max_fwd
	adrp	x2, d_adrp_max_fwd
	site	adrp_max_back
	adrp	x3, d_adrp_max_back
	site	adrp_nc
	adrp	x4, :pg_hi21_nc:d_near
	site	adrp_addend		// the addend carries into the next page
	adrp	x5, d_near+0xcbb

	site	adr_fwd
	adr	x6, d_near
	site	adr_back
	adr	x7, d_back
	site	adr_max_fwd
	adr	x8, d_adr_max_fwd
	site	adr_max_back
	adr	x9, d_adr_max_back

	site	add_lo12
	add	x0, x0, :lo12:d_near
	site	add_lo12_addend		// only the low 12 bits of S + A: 0x3001
	add	w1, w1, :lo12:d_near+0xcbc

// d_lo12 sits at 0x...ff0: each load reaches the top of its field.
	site	ldst8
	ldrb	w0, [x0, :lo12:d_lo12+0xf]
	site	ldst16
	ldrh	w1, [x1, :lo12:d_lo12+0xe]
	site	ldst32
	ldr	w2, [x2, :lo12:d_lo12+0xc]
	site	ldst64
	ldr	x3, [x3, :lo12:d_lo12+8]
	site	ldst128
	ldr	q4, [x4, :lo12:d_lo12]
	site	ldst64_str_wrap		// 0x...ff0 + 0x10 wraps to offset 0
	str	x5, [sp, :lo12:d_lo12+0x10]
	site	ldst32_ldrsw
	ldrsw	x6, [x6, :lo12:d_lo12+4]
	site	ldst64_fp
	ldr	d7, [x7, :lo12:d_lo12+8]

	object	d_near
	object	d_back
	object	d_adrp_max_fwd
	object	d_adrp_max_back
	object	d_adr_max_fwd
	object	d_adr_max_back
	object	d_lo12

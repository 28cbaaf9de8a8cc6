@ A32 (ARM-state) code as a Cortex-R5 runs it: BL and BLX (R_ARM_CALL), B,
@ B<cond> and BL<cond> (R_ARM_JUMP24), the old R_ARM_PC24, MOVW/MOVT
@ (R_ARM_MOVW_ABS_NC, R_ARM_MOVT_ABS) and R_ARM_TARGET1 words. The branch
@ fields hold target - (P + 8); layout.ld has the addresses.
	.syntax	unified
	.arm
	.include "macros.inc"

@ A32 to A32: BL, near and at both ends of its ±32 MiB.
	site	call_fwd
	bl	a_r_fwd
	site	call_back
	bl	a_r_back
	site	call_max_fwd
	bl	a_call_max_fwd
	site	call_max_back
	bl	a_call_max_back

@ A32 to Thumb: the linker turns `bl` into BLX, whose H bit (bit 24) holds
@ bit 1 of the offset, so targets sit at both T % 4 == 0 and 2.
	site	call_blx_fwd
	bl	t_r_fwd
	site	call_blx_h
	bl	t_r_h
	site	call_blx_back
	bl	t_r_back
	site	call_blx_max_fwd
	bl	t_call_blx_max_fwd
	site	call_blx_max_back
	bl	t_call_blx_max_back

@ The other way round: the source says BLX, the target is A32, the linker
@ writes BL.
	site	call_blx_insn_to_arm
	blx	a_r_fwd

@ B, B<cond> and BL<cond> (a conditional call: BLX has no condition).
	site	jump_fwd
	b	a_r_fwd
	site	jump_back
	b	a_r_back
	site	jump_max_fwd
	b	a_jump_max_fwd
	site	jump_max_back
	b	a_jump_max_back
	site	jump_cond
	bne	a_r_back
	site	jump_blcond
	blgt	a_r_fwd

@ R_ARM_PC24, the pre-EABI type of both; assemblers no longer emit it.
	site	pc24_b
	.reloc	., R_ARM_PC24, a_r_fwd
	.inst	0xeafffffe
	site	pc24_bl
	.reloc	., R_ARM_PC24, a_r_back
	.inst	0xebfffffe

@ MOVW/MOVT pairs, as movw.s has them for Thumb; one keeps a condition.
	site	a32_movw_fn
	movw	r0, #:lower16:t_r_movw
	site	a32_movt_fn
	movt	r0, #:upper16:t_r_movw
	site	a32_movw_data
	movw	r1, #:lower16:d_r+0x20
	site	a32_movt_data
	movt	r1, #:upper16:d_r+0x20
	site	a32_movw_neg
	movw	r2, #:lower16:d_r-0x8000
	site	a32_movt_neg
	movtne	lr, #:upper16:d_r-0x8000

@ R_ARM_TARGET1, as .init_array entries have it: absolute here (the
@ default of both linkers); target1-rel.s has the other reading.
	data_site word_target1_fn
	.word	t_r_fwd(target1)
	data_site word_target1_data
	.word	d_r(target1)+8

@ Calls to an undefined weak symbol.
	.weak	missing
	site	weak_call
	bl	missing
	site	weak_jump
	b	missing

	.thumb
	thumb_fn t_r_fwd
	thumb_fn t_r_h
	thumb_fn t_r_back
	thumb_fn t_call_blx_max_fwd
	thumb_fn t_call_blx_max_back
	thumb_fn t_r_movw
	arm_fn	a_r_fwd
	arm_fn	a_r_back
	arm_fn	a_call_max_fwd
	arm_fn	a_call_max_back
	arm_fn	a_jump_max_fwd
	arm_fn	a_jump_max_back

	.section .d_r,"aw",%progbits
	.global	d_r
	.type	d_r, %object
d_r:	.word	0

@ Thumb calls to ARM code: the linker turns `bl` into BLX, whose offset is
@ taken from Align(P, 4), so sites sit at both P % 4 == 0 and P % 4 == 2.
@ ARM state needs an A-profile CPU (Cortex-M has none): assemble for ARMv7-A.
	.syntax	unified
	.thumb
	.include "macros.inc"

	site	blx_fwd
	bl	a_fwd
	site	blx_fwd_p2
	bl	a_fwd
	site	blx_back
	bl	a_back
	site	blx_max_fwd
	bl	a_blx_max_fwd
	site	blx_max_back
	bl	a_blx_max_back

@ The other way round: the source says BLX, the target is Thumb, the linker
@ writes BL.
	site	blx_insn_to_thumb
	blx	t_interwork

	arm_fn	a_fwd
	arm_fn	a_back
	arm_fn	a_blx_max_fwd
	arm_fn	a_blx_max_back
	thumb_fn t_interwork

@ The veneers ARMVeneerA32 and ARMVeneerThumb build, as source: a linker
@ puts one near a branch that cannot reach its target or cannot switch to
@ its state. Each sits at a word-aligned address and loads the PC from the
@ word after it, which carries the target's Thumb bit.
	.syntax	unified
	.include "macros.inc"

@ A32: the PC reads as P + 8, so [pc, #-4] is P + 4.
	.arm
	veneer	veneer_a32_to_thumb
	ldr	pc, [pc, #-4]
	.word	t_veneer
	veneer	veneer_a32_to_arm
	ldr	pc, [pc, #-4]
	.word	a_veneer

@ Thumb-2: the PC reads as Align(P, 4) + 4, so [pc, #0] is P + 4 when P is
@ word-aligned.
	.thumb
	veneer	veneer_thumb_to_thumb
	ldr.w	pc, [pc, #0]
	.word	t_veneer
	veneer	veneer_thumb_to_arm
	ldr.w	pc, [pc, #0]
	.word	a_veneer

	thumb_fn t_veneer
	arm_fn	a_veneer

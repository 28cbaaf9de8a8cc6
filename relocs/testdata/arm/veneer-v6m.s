@ The ARMv6-M veneer (ARMVeneerThumb with v6m): ARMv6-M has no LDR.W, and a
@ 16-bit LDR cannot load the PC, but POP can. The LDR at P + 2 reads
@ Align(P + 6, 4) + 4 = P + 8 when P is word-aligned. Every register is
@ kept: r0 is restored, and only r1's stack slot is overwritten.
	.syntax	unified
	.thumb
	.include "macros.inc"

	veneer	veneer_v6m
	push	{r0, r1}
	ldr	r0, [pc, #4]
	str	r0, [sp, #4]
	pop	{r0, pc}
	.word	t_veneer_v6m

	thumb_fn t_veneer_v6m

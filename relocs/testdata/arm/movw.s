@ MOVW/MOVT pairs (R_ARM_THM_MOVW_ABS_NC, R_ARM_THM_MOVT_ABS): a Thumb
@ function (MOVW carries the Thumb bit), a data address whose addend carries
@ into the upper half, and the most negative REL addend, -0x8000.
	.syntax	unified
	.thumb
	.include "macros.inc"

	site	movw_fn
	movw	r0, #:lower16:t_movw
	site	movt_fn
	movt	r0, #:upper16:t_movw
	site	movw_data
	movw	r1, #:lower16:d_movw+0x20
	site	movt_data
	movt	r1, #:upper16:d_movw+0x20
	site	movw_neg
	movw	r2, #:lower16:d_movw-0x8000
	site	movt_neg
	movt	lr, #:upper16:d_movw-0x8000

	thumb_fn t_movw

	.section .d_movw,"aw",%progbits
	.global	d_movw
	.type	d_movw, %object
d_movw:	.word	0

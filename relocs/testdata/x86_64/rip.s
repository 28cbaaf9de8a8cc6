# RIP-relative operands (R_X86_64_PC32). The displacement counts from the
# end of the instruction, so the addend is minus what follows the field:
# -4 at the end, -8 before a 4-byte immediate; +4 for d_near+8.
	.include "macros.inc"

	site	lea_rip
	lea	d_near(%rip), %rax
	site	mov_rip_load
	mov	d_near+8(%rip), %rcx
	site	mov_rip_store
	mov	%r9, d_near(%rip)
	site	movl_rip_imm
	movl	$7, d_near(%rip)

	object	d_near

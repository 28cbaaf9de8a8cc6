# Loads through the GOT (R_X86_64_GOTPCRELX, R_X86_64_REX_GOTPCRELX) of a
# defined function: a linker may relax them into direct references. GNU ld
# then rewrites the retained relocation (type, addend, even offset); ld.lld
# keeps it as it was.
	.include "macros.inc"

	site	got_call
	call	*t_relax@GOTPCREL(%rip)
	site	got_jmp
	jmp	*t_relax@GOTPCREL(%rip)
	site	got_mov
	mov	t_relax@GOTPCREL(%rip), %rdi

	fn	t_relax

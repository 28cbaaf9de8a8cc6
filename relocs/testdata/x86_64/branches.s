# Calls and jumps: call, jmp and jne rel32 (R_X86_64_PLT32, which is what
# assemblers write for a branch to a global symbol), near and at both ends
# of their ±2 GiB, and a call spelled out as an R_X86_64_PC32.
	.include "macros.inc"

	site	call_fwd
	call	t_fwd
	site	call_back
	call	t_back
	site	call_max_fwd
	call	t_call_max_fwd
	site	call_max_back
	call	t_call_max_back

	site	jmp_fwd
	jmp	t_fwd
	site	jmp_back
	jmp	t_back
	site	jmp_max_fwd
	jmp	t_jmp_max_fwd
	site	jmp_max_back
	jmp	t_jmp_max_back

	site	jcc_fwd
	jne	t_fwd

	site	call_pc32
	.byte	0xe8
	.long	t_fwd - . - 4

	fn	t_fwd
	fn	t_back
	fn	t_call_max_fwd
	fn	t_call_max_back
	fn	t_jmp_max_fwd
	fn	t_jmp_max_back

# Absolute immediates: R_X86_64_32 (zero-extended: mov to a 32-bit
# register), R_X86_64_32S (sign-extended: mov to a 64-bit register) at the
# ends of their ranges, and R_X86_64_64 (movabs). The symbols are absolute
# (layout.ld), so the values are exact.
	.include "macros.inc"

	site	mov32_max
	mov	$a32_max, %edx
	site	mov32_r8d
	mov	$a32_low, %r8d
	site	mov32s_max
	mov	$a32s_max, %rdx
	site	mov32s_min
	mov	$a32s_min, %rdx
	site	movabs
	movabs	$a_big, %rsi

# Alignment in code under relaxation: R_RISCV_ALIGN, which ld.lld 14 refuses.
	.text
	.globl	_start
_start:
	call	def
	.p2align 3
	call	imp
	.globl	def
def:	ret

# The import declared weak instead: GNU ld rewrites the sites.
	.weak	imp
	.text
	.globl	_start
_start:
	call	imp
	lla	a0, imp
	lui	a2, %hi(imp)
	addi	a2, a2, %lo(imp)

# Jumps and branches straight to the import: neither assembler emits a
# B-type or compressed branch to it, and GNU ld cannot reach address 0 with
# a jal from more than 1 MiB away.
	.text
	.globl	_start
_start:
	jal	imp
	j	imp
	beqz	a0, imp
	c.j	imp
	c.beqz	a0, imp

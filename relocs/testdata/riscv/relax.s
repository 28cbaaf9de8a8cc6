# What each linker leaves at a site against an import nobody defines (imp,
# linked with --unresolved-symbols=ignore-all) and against a function that
# is defined (def), with GNU ld's relaxation on. README.md has the commands.
	.text
	.globl	_start
_start:
	call	imp			# R_RISCV_CALL_PLT (clang: CALL) + RELAX
	tail	imp
	lla	a0, imp			# PCREL_HI20 + PCREL_LO12_I against the auipc's label
	la	a1, imp+0x10		# the same outside PIC code
	lui	a2, %hi(imp)		# HI20 + LO12_I
	addi	a2, a2, %lo(imp)
	lui	a3, %hi(imp+0x7ff)	# HI20 + LO12_S
	sw	a4, %lo(imp+0x7ff)(a3)

	call	def			# relaxed: c.jal, or jal without C
	tail	def			# relaxed: c.j, or jal zero
	lla	a0, def
	la	a1, def+0x10
	lui	a2, %hi(def)		# relaxed when def is below 0x800 (x0-based)
	addi	a2, a2, %lo(def)
	lui	a3, %hi(def)
	sw	a4, %lo(def)(a3)
	jal	def			# R_RISCV_JAL: never relaxed further
1:	.word	1b			# a label behind deleted bytes

	.globl	def
	.type	def, @function
def:	ret

	.data
	.word	imp
	.word	imp+4
	.word	def
	.word	1b

# Code relocations: the auipc+jalr pair (R_RISCV_CALL_PLT from GNU as,
# R_RISCV_CALL from clang 14), JAL, and through `forced` the B-type and
# compressed branches, each near, at the ends of its range, and where the
# call pair's low part is -0x800 (the high part carried) or +0x7fe.
	.include "macros.inc"

	site	call_max_fwd
	call	t_call_max_fwd
	site	call_max_back
	call	t_call_max_back

	site	call_fwd
	call	t_call_fwd
	site	call_back
	call	t_call_back
	site	call_carry
	call	t_call_carry
	site	call_nocarry
	call	t_call_nocarry
	site	call_lo_min
	call	t_call_lo_min
	site	tail_fwd
	tail	t_call_fwd

	site	jal_fwd
	jal	t_jal_fwd
	site	jal_back
	jal	t_jal_back
	site	jal_max_fwd
	jal	t_jal_max_fwd
	site	jal_max_back
	jal	t_jal_max_back
	site	j_fwd
	j	t_jal_fwd

	site	branch_fwd
	forced	R_RISCV_BRANCH, t_branch_fwd, 4, 0x00b50063	# beq a0, a1
	site	branch_back
	forced	R_RISCV_BRANCH, t_branch_back, 4, 0x00c59063	# bne a1, a2
	site	branch_max_fwd
	forced	R_RISCV_BRANCH, t_branch_max_fwd, 4, 0x00f74063	# blt a4, a5
	site	branch_max_back
	forced	R_RISCV_BRANCH, t_branch_max_back, 4, 0x0007f063	# bgeu a5, zero

	site	cj_fwd
	forced	R_RISCV_RVC_JUMP, t_cj_fwd, 2, 0xa001		# c.j
	site	cj_back
	forced	R_RISCV_RVC_JUMP, t_cj_back, 2, 0xa001
	site	cj_max_fwd
	forced	R_RISCV_RVC_JUMP, t_cj_max_fwd, 2, 0xa001
	site	cj_max_back
	forced	R_RISCV_RVC_JUMP, t_cj_max_back, 2, 0xa001
	site	cjal_fwd
	forced	R_RISCV_RVC_JUMP, t_cj_fwd, 2, 0x2001		# c.jal (RV32 only)

	site	cb_fwd
	forced	R_RISCV_RVC_BRANCH, t_cb_fwd, 2, 0xc101		# c.beqz a0
	site	cb_back
	forced	R_RISCV_RVC_BRANCH, t_cb_back, 2, 0xe181	# c.bnez a1
	site	cb_max_fwd
	forced	R_RISCV_RVC_BRANCH, t_cb_max_fwd, 2, 0xc381	# c.beqz a5
	site	cb_max_back
	forced	R_RISCV_RVC_BRANCH, t_cb_max_back, 2, 0xe001	# c.bnez s0

# Where compressed branches come from in real code: a branch over a call,
# whose length only the linker knows, so both assemblers leave a relocation
# against a local label (GNU as also compresses `beqz a1` on its own).
	site	local
	c.beqz	a0, 1f
	c.j	2f
	beqz	a1, 1f
	call	t_call_fwd
1:	ret
2:	ret

	fn	t_call_max_fwd
	fn	t_call_max_back
	fn	t_call_fwd
	fn	t_call_back
	fn	t_call_carry
	fn	t_call_nocarry
	fn	t_call_lo_min
	fn	t_jal_fwd
	fn	t_jal_back
	fn	t_jal_max_fwd
	fn	t_jal_max_back
	fn	t_branch_fwd
	fn	t_branch_back
	fn	t_branch_max_fwd
	fn	t_branch_max_back
	fn	t_cj_fwd
	fn	t_cj_back
	fn	t_cj_max_fwd
	fn	t_cj_max_back
	fn	t_cb_fwd
	fn	t_cb_back
	fn	t_cb_max_fwd
	fn	t_cb_max_back

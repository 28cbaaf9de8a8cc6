@ Thumb branches that stay in Thumb state: BL (R_ARM_THM_CALL), B.W
@ (R_ARM_THM_JUMP24), B<cond>.W (R_ARM_THM_JUMP19) and B.N
@ (R_ARM_THM_JUMP11), each to a near target forward and backward and to the
@ farthest target its field reaches (layout.ld has the addresses).
	.syntax	unified
	.thumb
	.include "macros.inc"

	site	bl_fwd
	bl	t_fwd
	site	bl_back
	bl	t_back
	site	bl_max_fwd
	bl	t_bl_max_fwd
	site	bl_max_back
	bl	t_bl_max_back

	site	bw_fwd
	b.w	t_fwd
	site	bw_back
	b.w	t_back
	site	bw_max_fwd
	b.w	t_bw_max_fwd
	site	bw_max_back
	b.w	t_bw_max_back

	site	bcond_fwd
	beq.w	t_fwd
	site	bcond_back
	bne.w	t_back
	site	bcond_max_fwd
	bhi.w	t_bcond_max_fwd
	site	bcond_max_back
	blt.w	t_bcond_max_back

	site	bn_fwd
	b.n	t_fwd
	site	bn_back
	b.n	t_back
	site	bn_max_fwd
	b.n	t_bn_max_fwd
	site	bn_max_back
	b.n	t_bn_max_back

@ Offsets where the two J bits differ, so that swapping them shows.
	site	bl_far_i1
	bl	t_bl_far_i1
	site	bl_far_i2
	bl	t_bl_far_i2
	site	bcond_far_j1
	bge.w	t_bcond_far_j1
	site	bcond_far_j2
	bls.w	t_bcond_far_j2

@ Calls to an undefined weak symbol: what a linker writes when the callee
@ (say, an allocator) is missing at link time.
	.weak	missing
	site	weak_bl
	bl	missing
	site	weak_bw
	b.w	missing

	thumb_fn t_fwd
	thumb_fn t_back
	thumb_fn t_bl_max_fwd
	thumb_fn t_bl_max_back
	thumb_fn t_bw_max_fwd
	thumb_fn t_bw_max_back
	thumb_fn t_bcond_max_fwd
	thumb_fn t_bcond_max_back
	thumb_fn t_bn_max_fwd
	thumb_fn t_bn_max_back
	thumb_fn t_bl_far_i1
	thumb_fn t_bl_far_i2
	thumb_fn t_bcond_far_j1
	thumb_fn t_bcond_far_j2

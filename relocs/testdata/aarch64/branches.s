// BL (R_AARCH64_CALL26) and B (R_AARCH64_JUMP26), each to a near target
// forward and backward and to the farthest target its field reaches
// (layout.ld has the addresses), and a call with an addend.
	.include "macros.inc"

	site	bl_fwd
	bl	t_fwd
	site	bl_back
	bl	t_back
	site	bl_max_fwd
	bl	t_bl_max_fwd
	site	bl_max_back
	bl	t_bl_max_back

	site	b_fwd
	b	t_fwd
	site	b_back
	b	t_back
	site	b_max_fwd
	b	t_b_max_fwd
	site	b_max_back
	b	t_b_max_back

	site	bl_addend
	bl	t_fwd+0x40

	fn	t_fwd
	fn	t_back
	fn	t_bl_max_fwd
	fn	t_bl_max_back
	fn	t_b_max_fwd
	fn	t_b_max_back

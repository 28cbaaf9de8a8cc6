@ R_ARM_TARGET1 linked with --target1-rel, which makes it R_ARM_REL32:
@ ((S + A) | T) - P. A Linux or BSD toolchain links .init_array this way.
	.syntax	unified
	.include "macros.inc"

	data_site word_target1_rel
	.word	t_target1_rel(target1)

	thumb_fn t_target1_rel

/*
 * PC-relative words (R_ARM_REL32) pointing at the allocator import, under
 * both spellings.  contract.c turns each into a callable address with
 * "address of the word + the word" (the Thumb bit is part of the value:
 * R_ARM_REL32 computes ((S + A) | T) - P).
 */
    .syntax unified
    .thumb

    .section .rodata.contract_rel32, "a", %progbits
    .p2align 2
    .global contract_rel32_snake
    .type contract_rel32_snake, %object
contract_rel32_snake:
    .word __cabi_arena_realloc - .
    .size contract_rel32_snake, 4

    .global contract_rel32_kebab
    .type contract_rel32_kebab, %object
contract_rel32_kebab:
    .word "cabi-arena-realloc" - .
    .size contract_rel32_kebab, 4

    .section .note.GNU-stack, "", %progbits

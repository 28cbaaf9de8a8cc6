/*
 * PC-relative 32-bit words pointing at the allocator import, under both
 * spellings: R_ARM_REL32, R_AARCH64_PREL32 or R_X86_64_PC32; on RISC-V
 * the pair R_RISCV_ADD32 (the import) + R_RISCV_SUB32 (the word's own
 * address), which is what GNU as and clang write for "sym - .".  contract.c turns each into a callable address with
 * "address of the word + the word, sign-extended" (on Thumb the Thumb bit
 * is part of the value: R_ARM_REL32 computes ((S + A) | T) - P).
 */
#if defined(__arm__)
    .syntax unified
#endif

    .section .rodata.contract_rel32, "a", %progbits
    .p2align 2
    .globl contract_rel32_snake
    .type contract_rel32_snake, %object
contract_rel32_snake:
    .4byte __cabi_arena_realloc - .
    .size contract_rel32_snake, 4

    .globl contract_rel32_kebab
    .type contract_rel32_kebab, %object
contract_rel32_kebab:
    .4byte "cabi-arena-realloc" - .
    .size contract_rel32_kebab, 4

    .section .note.GNU-stack, "", %progbits

/*
 * The import's address built in code by inline assembly, the way each ISA
 * builds an address where the compilers (at the harness's flags) may not:
 *
 *   ISA                   ISA_ASM_ADDR: a                 b
 *   Thumb-2 (m3, m33)     movw/movt                        (= a)
 *     R_ARM_THM_MOVW_ABS_NC, R_ARM_THM_MOVT_ABS
 *   A32 (r5)              movw/movt                        (= a)
 *     R_ARM_MOVW_ABS_NC, R_ARM_MOVT_ABS
 *   Thumb-1 (m0)          ldr =sym (literal pool)          (= a)
 *     R_ARM_ABS32 in .text: ARMv6-M has no MOVW/MOVT, and its execute-only
 *     sequence (movs/adds #:upper8_15: ..., R_ARM_THM_ALU_ABS_G0_NC..G3)
 *     is assembled by neither clang 14 nor linked by ld.lld 14
 *   RISC-V                lui/addi                         auipc/addi
 *     R_RISCV_HI20, R_RISCV_LO12_I; R_RISCV_PCREL_HI20, R_RISCV_PCREL_LO12_I
 *   AArch64               movz/movk (below 4 GiB)          adrp/add
 *     R_AARCH64_MOVW_UABS_G1, R_AARCH64_MOVW_UABS_G0_NC;
 *     R_AARCH64_ADR_PREL_PG_HI21, R_AARCH64_ADD_ABS_LO12_NC
 *   x86-64                movabs                           lea (%rip)
 *     R_X86_64_64; R_X86_64_PC32
 *
 * ISA_ASM_ADDR(a, b, SYM) sets the uintptr_t variables a and b to the
 * address of SYM, an assembler symbol name as a string literal (quoted
 * when it is not an identifier), computed in the two ways.
 */
#ifndef ELFPATCH_TESTS_ISA_H
#define ELFPATCH_TESTS_ISA_H

#include <stdint.h>

#if defined(__ARM_ARCH_6M__)
#define ISA_ASM_ADDR(a, b, SYM)                                                                                        \
    do {                                                                                                               \
        __asm__("ldr %0, =" SYM : "=l"(a));                                                                            \
        (b) = (a);                                                                                                     \
    } while (0)
#elif defined(__arm__)
#define ISA_ASM_ADDR(a, b, SYM)                                                                                        \
    do {                                                                                                               \
        __asm__("movw %0, #:lower16:" SYM "\n\t"                                                                       \
                "movt %0, #:upper16:" SYM                                                                              \
                : "=r"(a));                                                                                            \
        (b) = (a);                                                                                                     \
    } while (0)
#elif defined(__riscv)
#define ISA_ASM_ADDR(a, b, SYM)                                                                                        \
    do {                                                                                                               \
        __asm__("lui %0, %%hi(" SYM ")\n\t"                                                                            \
                "addi %0, %0, %%lo(" SYM ")"                                                                           \
                : "=r"(a));                                                                                            \
        __asm__("1: auipc %0, %%pcrel_hi(" SYM ")\n\t"                                                                 \
                "addi %0, %0, %%pcrel_lo(1b)"                                                                          \
                : "=r"(b));                                                                                            \
    } while (0)
#elif defined(__aarch64__)
#define ISA_ASM_ADDR(a, b, SYM)                                                                                        \
    do {                                                                                                               \
        __asm__("movz %0, #:abs_g1:" SYM "\n\t"                                                                        \
                "movk %0, #:abs_g0_nc:" SYM                                                                            \
                : "=r"(a));                                                                                            \
        __asm__("adrp %0, " SYM "\n\t"                                                                                 \
                "add %0, %0, :lo12:" SYM                                                                               \
                : "=r"(b));                                                                                            \
    } while (0)
#elif defined(__x86_64__)
#define ISA_ASM_ADDR(a, b, SYM)                                                                                        \
    do {                                                                                                               \
        __asm__("movabs $" SYM ", %0" : "=r"(a));                                                                      \
        __asm__("lea " SYM "(%%rip), %0" : "=r"(b));                                                                   \
    } while (0)
#else
#error "no ISA_ASM_ADDR for this ISA"
#endif

/* The architecture's permanently undefined instruction (SPEC: a trap). */
#if defined(__arm__)
#define ISA_UDF() __asm__ volatile("udf #0")
#elif defined(__riscv)
#define ISA_UDF() __asm__ volatile("unimp")
#elif defined(__aarch64__)
#define ISA_UDF() __asm__ volatile("udf #0")
#elif defined(__x86_64__)
#define ISA_UDF() __asm__ volatile("ud2")
#endif

#endif

/*
 * dd_setjmp / dd_longjmp for the differential driver (diffdrive.c): its
 * __cabi_arena_exhausted leaves the trapping allocator call with
 * dd_longjmp, back into the driver's dd_setjmp, which then returns 1.
 * __builtin_setjmp would do, but clang 14 does not have it for AArch64 or
 * RISC-V; these work with every compiler of every target.
 *
 *   int dd_setjmp(dd_jmpbuf *buf);            0, or 1 through dd_longjmp
 *   void dd_longjmp(dd_jmpbuf *buf);          never returns
 *
 * The buffer holds the stack pointer, the return address and the
 * callee-saved registers of the ABI (no floating-point ones on the 32-bit
 * targets, which are built soft-float; d8-d15 on AArch64).
 */
#if defined(__arm__)
    .syntax unified
#if defined(__thumb__)
    .thumb
#define DD_FUNC .thumb_func
#else
    .arm
#define DD_FUNC
#endif
    /* ARMv6-M instructions only (in Thumb): no STM of high registers. */
    .section .text.dd_setjmp, "ax", %progbits
    .globl dd_setjmp
    .type dd_setjmp, %function
    .p2align 2
    DD_FUNC
dd_setjmp:
    mov     r1, sp
    str     r1, [r0, #0]
    mov     r1, lr
    str     r1, [r0, #4]
    str     r4, [r0, #8]
    str     r5, [r0, #12]
    str     r6, [r0, #16]
    str     r7, [r0, #20]
    mov     r1, r8
    str     r1, [r0, #24]
    mov     r1, r9
    str     r1, [r0, #28]
    mov     r1, r10
    str     r1, [r0, #32]
    mov     r1, r11
    str     r1, [r0, #36]
    movs    r0, #0
    bx      lr
    .size dd_setjmp, . - dd_setjmp

    .section .text.dd_longjmp, "ax", %progbits
    .globl dd_longjmp
    .type dd_longjmp, %function
    .p2align 2
    DD_FUNC
dd_longjmp:
    ldr     r1, [r0, #24]
    mov     r8, r1
    ldr     r1, [r0, #28]
    mov     r9, r1
    ldr     r1, [r0, #32]
    mov     r10, r1
    ldr     r1, [r0, #36]
    mov     r11, r1
    ldr     r4, [r0, #8]
    ldr     r5, [r0, #12]
    ldr     r6, [r0, #16]
    ldr     r7, [r0, #20]
    ldr     r1, [r0, #0]
    mov     sp, r1
    ldr     r1, [r0, #4]
    movs    r0, #1
    bx      r1
    .size dd_longjmp, . - dd_longjmp

#elif defined(__aarch64__)
    .section .text.dd_setjmp, "ax", %progbits
    .globl dd_setjmp
    .type dd_setjmp, %function
    .p2align 2
dd_setjmp:
    stp     x19, x20, [x0, #0]
    stp     x21, x22, [x0, #16]
    stp     x23, x24, [x0, #32]
    stp     x25, x26, [x0, #48]
    stp     x27, x28, [x0, #64]
    stp     x29, x30, [x0, #80]
    mov     x1, sp
    str     x1, [x0, #96]
    stp     d8, d9, [x0, #104]
    stp     d10, d11, [x0, #120]
    stp     d12, d13, [x0, #136]
    stp     d14, d15, [x0, #152]
    mov     w0, #0
    ret
    .size dd_setjmp, . - dd_setjmp

    .section .text.dd_longjmp, "ax", %progbits
    .globl dd_longjmp
    .type dd_longjmp, %function
    .p2align 2
dd_longjmp:
    ldp     x19, x20, [x0, #0]
    ldp     x21, x22, [x0, #16]
    ldp     x23, x24, [x0, #32]
    ldp     x25, x26, [x0, #48]
    ldp     x27, x28, [x0, #64]
    ldp     x29, x30, [x0, #80]
    ldr     x1, [x0, #96]
    mov     sp, x1
    ldp     d8, d9, [x0, #104]
    ldp     d10, d11, [x0, #120]
    ldp     d12, d13, [x0, #136]
    ldp     d14, d15, [x0, #152]
    mov     w0, #1
    ret
    .size dd_longjmp, . - dd_longjmp

#elif defined(__riscv)
    .section .text.dd_setjmp, "ax", %progbits
    .globl dd_setjmp
    .type dd_setjmp, %function
    .p2align 2
dd_setjmp:
    sw      ra, 0(a0)
    sw      sp, 4(a0)
    sw      s0, 8(a0)
    sw      s1, 12(a0)
    sw      s2, 16(a0)
    sw      s3, 20(a0)
    sw      s4, 24(a0)
    sw      s5, 28(a0)
    sw      s6, 32(a0)
    sw      s7, 36(a0)
    sw      s8, 40(a0)
    sw      s9, 44(a0)
    sw      s10, 48(a0)
    sw      s11, 52(a0)
    li      a0, 0
    ret
    .size dd_setjmp, . - dd_setjmp

    .section .text.dd_longjmp, "ax", %progbits
    .globl dd_longjmp
    .type dd_longjmp, %function
    .p2align 2
dd_longjmp:
    lw      ra, 0(a0)
    lw      sp, 4(a0)
    lw      s0, 8(a0)
    lw      s1, 12(a0)
    lw      s2, 16(a0)
    lw      s3, 20(a0)
    lw      s4, 24(a0)
    lw      s5, 28(a0)
    lw      s6, 32(a0)
    lw      s7, 36(a0)
    lw      s8, 40(a0)
    lw      s9, 44(a0)
    lw      s10, 48(a0)
    lw      s11, 52(a0)
    li      a0, 1
    ret
    .size dd_longjmp, . - dd_longjmp

#elif defined(__x86_64__)
    .section .text.dd_setjmp, "ax", @progbits
    .globl dd_setjmp
    .type dd_setjmp, @function
dd_setjmp:
    movq    (%rsp), %rax            # the return address
    movq    %rax, 0(%rdi)
    leaq    8(%rsp), %rax           # the stack pointer after the return
    movq    %rax, 8(%rdi)
    movq    %rbx, 16(%rdi)
    movq    %rbp, 24(%rdi)
    movq    %r12, 32(%rdi)
    movq    %r13, 40(%rdi)
    movq    %r14, 48(%rdi)
    movq    %r15, 56(%rdi)
    xorl    %eax, %eax
    ret
    .size dd_setjmp, . - dd_setjmp

    .section .text.dd_longjmp, "ax", @progbits
    .globl dd_longjmp
    .type dd_longjmp, @function
dd_longjmp:
    movq    16(%rdi), %rbx
    movq    24(%rdi), %rbp
    movq    32(%rdi), %r12
    movq    40(%rdi), %r13
    movq    48(%rdi), %r14
    movq    56(%rdi), %r15
    movq    8(%rdi), %rsp
    movl    $1, %eax
    jmpq    *0(%rdi)
    .size dd_longjmp, . - dd_longjmp

#else
#error "no dd_setjmp for this architecture"
#endif

    .section .note.GNU-stack, "", %progbits

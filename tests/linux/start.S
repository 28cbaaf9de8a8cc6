/*
 * Linux user-mode entry point of the contract program (r5 under qemu-arm,
 * aarch64 under qemu-aarch64, x86_64 natively): _start hands the initial
 * stack pointer (argc, argv[], NULL, envp[], NULL, auxv[]) to linux_start
 * in platform.c.  linux_sigreturn is the signal restorer SA_RESTORER
 * installs (x86-64 requires one; the trap handlers never return to it).
 */
#if defined(__arm__)
    .syntax unified
    .arm
    .section .text._start, "ax", %progbits
    .globl _start
    .type _start, %function
    .p2align 2
_start:
    mov     r0, sp
    bl      linux_start
    udf     #0
    .size _start, . - _start

    .section .text.linux_sigreturn, "ax", %progbits
    .globl linux_sigreturn
    .type linux_sigreturn, %function
    .p2align 2
linux_sigreturn:
    mov     r7, #173            @ rt_sigreturn
    svc     #0
    .size linux_sigreturn, . - linux_sigreturn

#elif defined(__aarch64__)
    .section .text._start, "ax", %progbits
    .globl _start
    .type _start, %function
    .p2align 2
_start:
    mov     x29, #0
    mov     x30, #0
    mov     x0, sp
    bl      linux_start
    udf     #0
    .size _start, . - _start

    .section .text.linux_sigreturn, "ax", %progbits
    .globl linux_sigreturn
    .type linux_sigreturn, %function
    .p2align 2
linux_sigreturn:
    mov     x8, #139            // rt_sigreturn
    svc     #0
    .size linux_sigreturn, . - linux_sigreturn

#elif defined(__x86_64__)
    .section .text._start, "ax", %progbits
    .globl _start
    .type _start, %function
_start:
    xor     %ebp, %ebp
    mov     %rsp, %rdi
    and     $-16, %rsp
    call    linux_start
    ud2
    .size _start, . - _start

    .section .text.linux_sigreturn, "ax", %progbits
    .globl linux_sigreturn
    .type linux_sigreturn, %function
linux_sigreturn:
    mov     $15, %eax           # rt_sigreturn
    syscall
    .size linux_sigreturn, . - linux_sigreturn

#else
#error "no Linux entry point for this architecture"
#endif

    .section .note.GNU-stack, "", %progbits

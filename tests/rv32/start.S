/*
 * RV32 bare-metal entry, trap vector and semihosting call of the contract
 * program (QEMU virt, -bios none: the reset vector in the machine's ROM
 * jumps to the ELF entry point in machine mode, a0 = hart id).
 *
 *   _start          sets gp and sp, points mtvec at rv_trap_entry, runs
 *                   rv_start (platform.c: .data copy, .bss clear, main)
 *   rv_trap_entry   any exception or interrupt: rv_trap(mcause, mepc, mtval)
 *                   prints "TRAP ..." and exits with status 3
 *   rv_semihost     RISC-V semihosting: a0 = operation, a1 = argument
 *
 * Assembled without relaxation: the semihosting sequence must be exactly
 * "slli zero, zero, 0x1f; ebreak; srai zero, zero, 7", uncompressed and
 * within one page (its 16-byte alignment sees to that), and gp must be
 * set by an instruction the linker does not relax against gp itself.
 */
    .option norelax

    .section .text._start, "ax", %progbits
    .globl _start
    .type _start, %function
_start:
    .option push
    .option norvc
    la      gp, __global_pointer$
    la      sp, __StackTop
    la      t0, rv_trap_entry
    csrw    mtvec, t0
    .option pop
    call    rv_start
1:  j       1b
    .size _start, . - _start

    .section .text.rv_trap_entry, "ax", %progbits
    .globl rv_trap_entry
    .type rv_trap_entry, %function
    .p2align 2                      /* mtvec needs 4-byte alignment */
rv_trap_entry:
    csrr    a0, mcause
    csrr    a1, mepc
    csrr    a2, mtval
    call    rv_trap
2:  j       2b
    .size rv_trap_entry, . - rv_trap_entry

    .section .text.rv_semihost, "ax", %progbits
    .globl rv_semihost
    .type rv_semihost, %function
    .p2align 4
rv_semihost:
    .option push
    .option norvc
    slli    zero, zero, 0x1f
    ebreak
    srai    zero, zero, 7
    .option pop
    ret
    .size rv_semihost, . - rv_semihost

    .section .note.GNU-stack, "", %progbits

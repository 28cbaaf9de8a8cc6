# elfpatch pointer-base shim, RV32 (RV32I and RV32E, with or without C).
#
#   uint32_t __cabi_arena_realloc(uint32_t old_ptr, uint32_t old_len,
#                                 uint32_t align, uint32_t new_len);
#
# With --pointer-base SYM the canonical ABI's pointers are offsets from the
# linear memory's base, not addresses (SPEC.md rule 9).  elfpatch then places
# this shim in front of the unchanged allocator in the same code slot and
# resolves two symbols for it:
#   __elfpatch_realloc_abs    the allocator's own entry (addresses in and out)
#   __elfpatch_pointer_base   the linear memory's base address (SYM)
#
# new_len == 0 goes to the allocator unchanged: it checks align and returns
# align, a dangling pointer that is not translated.  Otherwise old_ptr is
# turned into an address and the result back into an offset, both wrapping
# as wasm address arithmetic does (a bogus old_ptr stays bogus and the
# allocator treats it as any other: it copies from it or traps).  The
# allocator does every check and every trap, as without the shim.
#
# No compressed instruction and only x1..x15, so the one shim serves rv32
# and rv32c images, RV32E included.  build.sh assembles it with llvm-mc
# (-mattr=-c,-relax), as rv32.S.  The base is LUI + ADDI (R_RISCV_HI20 +
# R_RISCV_LO12_I), the call CALL and the tail call TAIL (R_RISCV_CALL_PLT
# both; TAIL uses t1).  s0 keeps the base across the call; the frame is 16
# bytes, so sp stays aligned for ILP32 (16) and ILP32E (4) alike.

    .option norelax
    .section .text.__cabi_arena_realloc,"ax",@progbits
    .globl  __cabi_arena_realloc
    .type   __cabi_arena_realloc, @function
    .p2align 2
__cabi_arena_realloc:
    beqz    a3, .Ltail              # new_len == 0: nothing to translate
    addi    sp, sp, -16
    sw      ra, 12(sp)
    sw      s0, 8(sp)
    lui     s0, %hi(__elfpatch_pointer_base)
    addi    s0, s0, %lo(__elfpatch_pointer_base)
    add     a0, a0, s0              # offset -> address
    call    __elfpatch_realloc_abs@plt
    sub     a0, a0, s0              # address -> offset
    lw      ra, 12(sp)
    lw      s0, 8(sp)
    addi    sp, sp, 16
    ret
.Ltail:
    tail    __elfpatch_realloc_abs@plt
    .size   __cabi_arena_realloc, .-__cabi_arena_realloc

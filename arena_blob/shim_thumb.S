@ elfpatch pointer-base shim, Thumb (ARMv6-M and up: every Thumb allocator).
@
@   uint32_t __cabi_arena_realloc(uint32_t old_ptr, uint32_t old_len,
@                                 uint32_t align, uint32_t new_len);
@
@ With --pointer-base SYM the canonical ABI's pointers are offsets from the
@ linear memory's base, not addresses (SPEC.md rule 9).  elfpatch then places
@ this shim in front of the unchanged allocator in the same code slot and
@ resolves two symbols for it:
@   __elfpatch_realloc_abs    the allocator's own entry (addresses in and out)
@   __elfpatch_pointer_base   the linear memory's base address (SYM)
@
@ new_len == 0 goes to the allocator unchanged: it checks align and returns
@ align, a dangling pointer that is not translated.  Otherwise old_ptr is
@ turned into an address and the result back into an offset, both wrapping
@ as wasm address arithmetic does (a bogus old_ptr stays bogus and the
@ allocator treats it as any other: it copies from it or traps).  The
@ allocator does every check and every trap, as without the shim.
@
@ Only ARMv6-M instructions (16-bit Thumb and BL), so the one shim serves
@ both thumb1 and thumb2 images.  The base is a literal (R_ARM_ABS32), the
@ call a BL (R_ARM_THM_CALL) and the tail call a 16-bit B (R_ARM_THM_JUMP11,
@ +-2 KiB: the allocator follows the shim in the same slot).  r4 keeps the
@ base across the call; pushing it with lr keeps sp 8-byte aligned (AAPCS).

    .syntax unified
    .cpu    cortex-m0
    .thumb
    .section .text.__cabi_arena_realloc,"ax",%progbits
    .global __cabi_arena_realloc
    .type   __cabi_arena_realloc, %function
    .p2align 2
__cabi_arena_realloc:
    cmp     r3, #0
    bne     .Lshift
    b       __elfpatch_realloc_abs  @ new_len == 0: nothing to translate
.Lshift:
    push    {r4, lr}
    ldr     r4, .Lbase
    adds    r0, r0, r4              @ offset -> address
    bl      __elfpatch_realloc_abs
    subs    r0, r0, r4              @ address -> offset
    pop     {r4, pc}
    .p2align 2
.Lbase:
    .word   __elfpatch_pointer_base
    .size   __cabi_arena_realloc, .-__cabi_arena_realloc

@ elfpatch arena allocator, Thumb-1 (ARMv6-M, ARMv8-M Baseline).
@
@   void *__cabi_arena_realloc(void *old_ptr, uint32_t old_len,
@                              uint32_t align, uint32_t new_len);
@
@ A bump allocator over the region [__elfpatch_arena_start,
@ __elfpatch_arena_end).  Its only state is one word, __elfpatch_state, that
@ the linker places in the image's .bss: the offset of the first free byte
@ from the arena start.  The image's own startup zeroes .bss, so every reset
@ starts with an empty arena and nothing depends on RAM contents at power-up.
@
@ The contract (canonical-ABI realloc, see SPEC.md):
@   - align must be a power of two, on every call, or the call traps;
@   - new_len == 0 returns align (a dangling, aligned, non-null pointer) and
@     changes nothing;
@   - otherwise the result is aligned, overlaps no live block and starts with
@     the first min(old_len, new_len) bytes of the old block;
@   - the most recent block grows or shrinks in place (no copy, no waste);
@   - exhaustion and any unsigned wrap trap; nothing returns null.
@
@ A trap calls __cabi_arena_exhausted when the image defines it.  The
@ reference is weak: when the image does not define it, elfpatch writes a
@ permanently undefined instruction in place of the call, as it documents
@ for calls to undefined weak symbols in allocator objects.
@
@ This is thumb2.S for cores that only have the 16-bit Thumb set plus BL,
@ MRS and MSR: no CBZ, no IT, no LDREX/STREX, no 32-bit data processing.
@ Only the 16-bit UDF exists for the trap.
@
@ Without LDREX/STREX the bump (load cursor, compute, store cursor) runs
@ with interrupts masked: PRIMASK is saved, CPSID I, and PRIMASK is written
@ back as it was (a caller that had interrupts masked keeps them masked;
@ never a blind CPSIE).  The copy runs after PRIMASK is restored, so the
@ time spent masked does not depend on the block size.  PRIMASK is only
@ writable when privileged: unprivileged Thread mode (ARMv8-M Baseline, or
@ ARMv6-M with the Unprivileged/Privileged Extension) ignores CPSID and the
@ bump is then not protected against interrupt handlers that allocate.
@ PRIMASK does not mask NMI or HardFault: their handlers must not allocate.
@ A trap restores PRIMASK before it calls the hook, so the hook runs with
@ interrupts as the caller had them.
@
@ Unaligned word accesses fault on ARMv6-M, so the copy moves words only
@ when both blocks are word-aligned and the bytes left are a multiple of
@ four; otherwise bytes.
@
@ Register use after the argument checks:
@   r0 old_ptr   r1 old_len (then bytes left to copy)   r2 top, then the result
@   r3 new_len   r4 align - 1   r5 &state   r6 arena start   r7 arena end
@   ip PRIMASK as the caller had it

    .syntax unified
    .cpu    cortex-m0
    .thumb
    .section .text.__cabi_arena_realloc,"ax",%progbits
    .global __cabi_arena_realloc
    .type   __cabi_arena_realloc, %function
    .weak   __cabi_arena_exhausted
    .p2align 2
__cabi_arena_realloc:
    push    {r3, r4, r5, r6, r7, lr}  @ r3 too: keeps sp 8-byte aligned for
                                    @ the trap hook (AAPCS)
    subs    r4, r2, #1
    bcc     .Ltrap                  @ align 0: the subtraction borrows
    tst     r2, r4
    bne     .Ltrap                  @ more than one bit set
    cmp     r3, #0
    beq     .Ldone                  @ new_len == 0: return align in r2
    adr     r5, .Lpool
    ldm     r5, {r5, r6, r7}
    mrs     ip, primask
    cpsid   i                       @ nothing may allocate until the store
    ldr     r2, [r5]
    adds    r2, r6                  @ top = start + offset
    @ The most recent block ends at top; it grows or shrinks in place when it
    @ lies inside the arena and is aligned as asked.  A caller's old_len that
    @ reaches below the arena start must not move the cursor there.
    subs    r2, r1
    cmp     r2, r0
    bne     .Lfresh
    cmp     r0, r6
    blo     .Lfresh
    tst     r0, r4
    beq     .Lclaim                 @ r2 == old_ptr
.Lfresh:
    adds    r2, r1                  @ top again
    adds    r2, r4
    bcs     .Lunmask_trap           @ top + align - 1 wraps
    bics    r2, r4                  @ aligned start of the new block
.Lclaim:
    subs    r7, r2                  @ room = end - p ...
    bcc     .Lunmask_trap           @ ... p beyond the end
    cmp     r3, r7
    bhi     .Lunmask_trap           @ new_len > room: exhausted
    adds    r7, r2, r3
    subs    r7, r6                  @ new cursor, as an offset
    str     r7, [r5]
    msr     primask, ip             @ the bump is done: unmask as before
    cmp     r2, r0
    beq     .Ldone                  @ in place: the prefix is already there
    cmp     r1, r3
    bls     .Lmin
    movs    r1, r3                  @ copy min(old_len, new_len) bytes
.Lmin:
    movs    r4, r0
    orrs    r4, r2
    lsls    r4, r4, #30             @ zero when both blocks are word-aligned
.Lcopy:                             @ backwards: bytes until a word boundary
    cmp     r1, #0                  @ of the length, then words if aligned
    beq     .Ldone
    lsls    r5, r1, #30
    orrs    r5, r4
    bne     .Lbyte
    subs    r1, #4
    ldr     r3, [r0, r1]
    str     r3, [r2, r1]
    b       .Lcopy
.Lbyte:
    subs    r1, #1
    ldrb    r3, [r0, r1]
    strb    r3, [r2, r1]
    b       .Lcopy
.Ldone:
    mov     r0, r2
    pop     {r3, r4, r5, r6, r7, pc}
.Lunmask_trap:                      @ the hook runs with the caller's PRIMASK
    msr     primask, ip
.Ltrap:
    bl      __cabi_arena_exhausted  @ must not return ...
    udf     #0                      @ ... and if it does, stop here
    .p2align 2
.Lpool:
    .word   __elfpatch_state
    .word   __elfpatch_arena_start
    .word   __elfpatch_arena_end
    .size   __cabi_arena_realloc, .-__cabi_arena_realloc

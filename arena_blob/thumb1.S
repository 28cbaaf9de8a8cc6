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
@ for calls to undefined weak symbols in allocator objects.  The hook is
@ called with the stack 8-byte aligned (the frames pushed here are six
@ words) and with PRIMASK as the caller had it.
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
@
@ Shape (as thumb2.S).  The fast path is a fresh block (old_len == 0), with
@ no in-place test and no copy: 26 instructions.  Every other call takes
@ .Lslow with interrupts masked:
@   - the most recent block (top - old_len == old_ptr, old_ptr >= start,
@     old_ptr aligned) joins the fast path at .Lbase with old_ptr as its
@     base, is claimed and returned;
@   - any other block needs a fresh block and a copy.  .Lslow calls .Lfake,
@     which pushes a frame shaped like the entry frame whose saved PC is
@     .Lcopy and whose saved r3..r5 are old_ptr, old_len and new_len, and
@     goes to .Lbase with the top as the base: the claim's own return
@     (PRIMASK restored) pops that frame and lands in .Lcopy, which copies
@     and returns through the entry frame.
@ The masked code, CPSID I to MSR PRIMASK, is one straight run of 13
@ instructions on the fast path; the in-place test and the copy lie after
@ it.
@
@ Checks.  mask = align - 1; align 0 (the subtraction borrows) and
@ align & mask != 0 trap.  The fresh block is (top + mask) & ~mask; the
@ claim traps when that sum carries, when p + new_len carries or when
@ p + new_len > end.  Every trap restores PRIMASK first: it is read before
@ any check.
@
@ Copy.  Backwards (from the highest byte down, as the model copies), by
@ words when old_ptr, the new block and the length are all multiples of
@ four, else by bytes.  Unaligned word accesses fault on ARMv6-M; aligned
@ ones give the same bytes as the byte copy even when a wrong old_len makes
@ the blocks overlap, as the two are then at least a word apart.
@
@ Registers on the fast path:
@   r0 old_ptr, then the result   r1 old_len (0 here)   r2 top, then the end
@   of the new block, then the new cursor   r3 new_len   r4 mask
@   r5 &state   r6 arena start   r7 arena end   ip PRIMASK as the caller had it

    .syntax unified
    .cpu    cortex-m0
    .thumb
    .section .text.__cabi_arena_realloc,"ax",%progbits
    .global __cabi_arena_realloc
    .type   __cabi_arena_realloc, %function
    .weak   __cabi_arena_exhausted
    .p2align 2
__cabi_arena_realloc:
    push    {r3, r4, r5, r6, r7, lr}  @ six words: sp stays 8-byte aligned
    mrs     ip, primask             @ first: every trap restores it
    subs    r4, r2, #1              @ mask
    bcc     .Lunmask_trap           @ align 0: the subtraction borrows
    tst     r2, r4
    bne     .Lunmask_trap           @ more than one bit set
    cmp     r3, #0
    beq     .Lzero                  @ new_len == 0: return align
    adr     r5, .Lpool
    ldm     r5, {r5, r6, r7}
    cpsid   i                       @ nothing may allocate until the store
    ldr     r2, [r5]
    adds    r2, r6                  @ top = start + cursor
    cmp     r1, #0
    bne     .Lslow                  @ an old block: in place, or move it
.Lbase:                             @ r2: the top (or the block in place)
    adds    r0, r2, r4              @ C: top + mask wraps
    bcs     .Lunmask_trap
    bics    r0, r4                  @ p, the aligned start of the block
    adds    r2, r0, r3              @ C: p + new_len wraps
    bcs     .Lunmask_trap
    cmp     r2, r7
    bhi     .Lunmask_trap           @ p + new_len > end: exhausted
    subs    r2, r6                  @ the new cursor
    str     r2, [r5]
    msr     primask, ip             @ the bump is done: unmask as before
.Ldone:
    pop     {r3, r4, r5, r6, r7, pc}

.Lslow:                             @ r0 old_ptr, r1 old_len, r2 top; masked
    subs    r2, r1                  @ where the old block would start ...
    cmp     r2, r0
    bne     .Lmove                  @ ... if it were the most recent one
    tst     r0, r4
    bne     .Lmove                  @ not aligned as asked
    cmp     r0, r6
    bhs     .Lbase                  @ in place, inside the arena
.Lmove:
    adds    r2, r1                  @ the top again
    bl      .Lfake                  @ returns when the new block is claimed
.Lcopy:                             @ r0 new block, r3 old_ptr, r4 old_len,
    cmp     r4, r5                  @ r5 new_len; unmasked
    bls     1f
    movs    r4, r5                  @ copy min(old_len, new_len) > 0 bytes
1:  movs    r7, r0
    orrs    r7, r3
    orrs    r7, r4
    lsls    r7, r7, #30             @ zero when words can do it all
    beq     .Lwords
.Lbytes:
    subs    r4, #1
    ldrb    r6, [r3, r4]
    strb    r6, [r0, r4]
    bne     .Lbytes                 @ then r4 is 0: .Lwords returns at once
.Lwords:
    subs    r4, #4
    bcc     .Ldone
    ldr     r6, [r3, r4]
    str     r6, [r0, r4]
    b       .Lwords
.Lfake:                             @ the copy's frame (see Shape), then
    push    {r0, r1, r3, r4, r5, lr} @ claim a fresh block
    b       .Lbase
.Lzero:
    movs    r0, r2                  @ align
    b       .Ldone
.Lunmask_trap:                      @ the hook runs with the caller's PRIMASK
    msr     primask, ip
    bl      __cabi_arena_exhausted  @ must not return ...
    udf     #0                      @ ... and if it does, stop here
    .p2align 2
.Lpool:
    .word   __elfpatch_state
    .word   __elfpatch_arena_start
    .word   __elfpatch_arena_end
    .size   __cabi_arena_realloc, .-__cabi_arena_realloc

@ elfpatch arena allocator, Thumb-2 (ARMv7-M, ARMv7E-M, ARMv8-M Mainline).
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
@ called with the stack 8-byte aligned, as the AAPCS promises a function
@ (the frames pushed here are six words).
@
@ The bump (load cursor, compute, store cursor) is an LDREX/STREX loop, so an
@ interrupt handler that allocates between the load and the store makes the
@ store fail and the bump is retried; the copy runs after the store, outside
@ the loop.  LDREX/STREX work unprivileged too, where PRIMASK would not.
@
@ Shape.  The fast path is a fresh block (old_len == 0): 20 instructions
@ from entry to return, with no in-place test and no copy.  Every other call
@ takes .Lslow from inside the LDREX window:
@   - the most recent block (top - old_len == old_ptr, old_ptr >= start,
@     old_ptr aligned) rejoins the fast path's arithmetic at .Lbase with
@     old_ptr as its base, is claimed by the same STREX and returned;
@   - any other block needs a fresh block and a copy.  .Lslow calls .Lfake,
@     which pushes a frame shaped like the entry frame whose saved PC is
@     .Lcopy and whose saved r3..r5 are old_ptr, old_len and new_len, sets
@     old_len to 0 and retries as a fresh allocation: the fast path's own
@     return then pops that frame and lands in .Lcopy, which copies and
@     returns through the entry frame.  A retry of a fresh block stays a
@     fresh block; a retry of an in-place claim tests again.
@
@ Checks.  mask = align - 1; align & mask != 0 traps.  The fresh block is
@ (top + mask) & ~mask, and the claim traps when that sum carries, when
@ p + new_len carries or when p + new_len > end: one IT block chains the
@ three so that a failed check skips the rest and leaves C set for one BCS.
@ align == 0 passes the AND test, makes mask all ones and is caught as a
@ wrap: top + 0xffffffff carries unless top is 0, i.e. unless the arena
@ starts at address 0, where the contract cannot hold anyway (its first
@ block would be a null pointer).  On the slow path the same mask makes the
@ alignment test fail for every old_ptr but 0, so such calls go the fresh
@ way and trap there; new_len == 0 tests align itself.
@
@ Copy.  Backwards (from the highest byte down, as the model copies), by
@ words when old_ptr, the new block and the length are all multiples of
@ four, else by bytes.  Unaligned words would fault on cores that trap
@ them; aligned ones give the same bytes as the byte copy even when a wrong
@ old_len makes the blocks overlap, as the two are then at least a word
@ apart.
@
@ Registers on the fast path:
@   r0 old_ptr, then the result   r1 old_len (0 here)   r2 top, then the end
@   of the new block, then the new cursor   r3 new_len   r4 mask
@   r5 &state   r6 arena start   r7 arena end

    .syntax unified
    .cpu    cortex-m3
    .thumb
    .section .text.__cabi_arena_realloc,"ax",%progbits
    .global __cabi_arena_realloc
    .type   __cabi_arena_realloc, %function
    .weak   __cabi_arena_exhausted
    .p2align 2
__cabi_arena_realloc:
    push    {r3, r4, r5, r6, r7, lr}  @ six words: sp stays 8-byte aligned
    subs    r4, r2, #1              @ mask
    tst     r2, r4
    bne     .Ltrap                  @ align is not a power of two
    cbz     r3, .Lzero              @ new_len == 0: return align
.Lretry:
    adr     r5, .Lpool
    ldm     r5, {r5, r6, r7}
    ldrex   r2, [r5]
    add     r2, r6                  @ top = start + cursor
    cbnz    r1, .Lslow              @ an old block: in place, or move it
.Lbase:                             @ r2: the top (or the block in place)
    adds    r0, r2, r4              @ C: top + mask wraps
    bics    r0, r4                  @ p, the aligned start of the block
    itt     cc
    addscc.w r2, r0, r3             @ C: p + new_len wraps
    sbcscc.w r7, r2, r7             @ C: p + new_len > end
    bcs     .Ltrap
    subs    r2, r6                  @ the new cursor
    strex   r6, r2, [r5]
    cbnz    r6, .Lagain             @ an interrupt allocated meanwhile
.Ldone:
    pop     {r3, r4, r5, r6, r7, pc}

.Lfake:                             @ the copy's frame (see Shape), then
    push    {r0, r1, r3, r4, r5, lr} @ retry as a fresh block
    movs    r1, #0
.Lagain:
    b       .Lretry
.Lzero:
    movs    r0, r2                  @ align; 0 falls through to the trap
    bne     .Ldone
.Ltrap:
    bl      __cabi_arena_exhausted  @ must not return ...
    udf     #0                      @ ... and if it does, stop here

.Lslow:                             @ r0 old_ptr, r1 old_len, r2 top
    subs    r2, r1                  @ where the old block would start ...
    cmp     r2, r0
    bne     .Lmove                  @ ... if it were the most recent one
    tst     r0, r4
    bne     .Lmove                  @ not aligned as asked
    cmp     r0, r6
    bhs     .Lbase                  @ in place, inside the arena
.Lmove:
    bl      .Lfake                  @ returns when the new block is claimed
.Lcopy:                             @ r0 new block, r3 old_ptr, r4 old_len,
    cmp     r4, r5                  @ r5 new_len
    it      hi
    movhi   r4, r5                  @ copy min(old_len, new_len) > 0 bytes
    orr.w   r7, r0, r3
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
    .p2align 2
.Lpool:
    .word   __elfpatch_state
    .word   __elfpatch_arena_start
    .word   __elfpatch_arena_end
    .size   __cabi_arena_realloc, .-__cabi_arena_realloc

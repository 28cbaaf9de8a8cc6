// elfpatch arena allocator, AArch64 (A64).
//
//   uint32_t __cabi_arena_realloc(uint32_t old_ptr, uint32_t old_len,
//                                 uint32_t align, uint32_t new_len);
//
// A bump allocator over the region [__elfpatch_arena_start,
// __elfpatch_arena_end).  Its only state is one word, __elfpatch_state, that
// the linker places in the image's .bss: the offset of the first free byte
// from the arena start.  The image's own startup zeroes .bss, so every reset
// starts with an empty arena and nothing depends on RAM contents at power-up.
//
// The contract (canonical-ABI realloc, see SPEC.md):
//   - align must be a power of two, on every call, or the call traps;
//   - new_len == 0 returns align (a dangling, aligned, non-null pointer) and
//     changes nothing;
//   - otherwise the result is aligned, overlaps no live block and starts with
//     the first min(old_len, new_len) bytes of the old block;
//   - the most recent block grows or shrinks in place (no copy, no waste);
//   - exhaustion and any unsigned wrap trap; nothing returns null.
//
// A trap calls __cabi_arena_exhausted when the image defines it.  The
// reference is weak: when the image does not define it, elfpatch writes a
// permanently undefined instruction in place of the call, as it documents
// for calls to undefined weak symbols in allocator objects.
//
// Pointers are the canonical ABI's i32: the arguments arrive in w0..w3 (the
// upper halves of x0..x3 are undefined and never read) and the result is
// written to w0, which zero-extends it into x0.  elfpatch places the arena
// below 4 GiB, so the arena's bounds and every block fit in 32 bits and all
// arithmetic on them is 32-bit, wrapping (and trapping) exactly as on the
// 32-bit targets.  Only the state word's own address is 64-bit.
//
// The bump is a plain load and store, not an LDXR/STXR loop: exclusives
// need the exclusive monitors, and with the MMU off (data accesses are then
// Device memory) some cores without a global monitor fail every STXR, which
// would turn the retry loop into a silent hang.  An interrupt handler that
// allocates from the same arena while a call is between the load and the
// store is therefore not supported (a component instance is not reentered).
//
// Addresses come from ADRP + ADD :lo12: (R_AARCH64_ADR_PREL_PG_HI21 +
// R_AARCH64_ADD_ABS_LO12_NC), the hook is reached with BL (R_AARCH64_CALL26).
// The function is a leaf: no stack, no callee-saved register.
//
// Register use after the argument checks:
//   w0 old_ptr   w1 old_len (then bytes left to copy)   w9 top, then the result
//   w3 new_len   w4 align - 1   x5 &state   w6 arena start   w7 arena end
//   w10 the end of the new block, then the new cursor

    .section .text.__cabi_arena_realloc,"ax",%progbits
    .global __cabi_arena_realloc
    .type   __cabi_arena_realloc, %function
    .weak   __cabi_arena_exhausted
    .p2align 2
__cabi_arena_realloc:
    subs    w4, w2, #1
    b.lo    .Ltrap                  // align 0: the subtraction borrows
    tst     w2, w4
    b.ne    .Ltrap                  // more than one bit set
    cbz     w3, .Lzero              // new_len == 0: return align
    adrp    x5, __elfpatch_state
    add     x5, x5, :lo12:__elfpatch_state
    adrp    x6, __elfpatch_arena_start
    add     x6, x6, :lo12:__elfpatch_arena_start
    adrp    x7, __elfpatch_arena_end
    add     x7, x7, :lo12:__elfpatch_arena_end
    ldr     w9, [x5]
    add     w9, w9, w6              // top = start + offset
    // The most recent block ends at top; it grows or shrinks in place when it
    // lies inside the arena and is aligned as asked.  A caller's old_len that
    // reaches below the arena start must not move the cursor there.
    sub     w9, w9, w1
    cmp     w9, w0
    b.ne    .Lfresh
    cmp     w0, w6
    b.lo    .Lfresh
    tst     w0, w4
    b.eq    .Lclaim                 // w9 == old_ptr
.Lfresh:
    add     w9, w9, w1              // top again
    adds    w9, w9, w4
    b.hs    .Ltrap                  // top + align - 1 wraps (carry)
    bic     w9, w9, w4              // aligned start of the new block
.Lclaim:
    adds    w10, w9, w3             // the block's end
    b.cs    .Ltrap                  // p + new_len wraps ...
    cmp     w10, w7
    b.hi    .Ltrap                  // ... or passes the end: exhausted
    sub     w10, w10, w6            // new cursor, as an offset
    str     w10, [x5]
    cmp     w9, w0
    b.eq    .Ldone                  // in place: the prefix is already there
    cmp     w1, w3
    csel    w1, w1, w3, ls          // copy min(old_len, new_len) bytes
    mov     w0, w0                  // zero-extend old_ptr to address with x0
    orr     w4, w0, w9
    and     w4, w4, #3              // zero when both blocks are word-aligned
.Lcopy:                             // backwards: bytes until a word boundary
    cbz     w1, .Ldone              // of the length, then words if aligned
    orr     w5, w1, w4
    tst     w5, #3
    b.ne    .Lbyte
    sub     w1, w1, #4
    ldr     w3, [x0, w1, uxtw]
    str     w3, [x9, w1, uxtw]
    b       .Lcopy
.Lbyte:
    sub     w1, w1, #1
    ldrb    w3, [x0, w1, uxtw]
    strb    w3, [x9, w1, uxtw]
    b       .Lcopy
.Ldone:
    mov     w0, w9
    ret
.Lzero:
    mov     w0, w2
    ret
.Ltrap:
    bl      __cabi_arena_exhausted  // must not return ...
    udf     #0                      // ... and if it does, stop here
    .size   __cabi_arena_realloc, .-__cabi_arena_realloc

    // No executable stack wanted: a Linux link of this object must not warn
    // about or turn on one.  The section is empty and not allocated.
    .section .note.GNU-stack,"",%progbits

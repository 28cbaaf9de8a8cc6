// elfpatch pointer-base shim, AArch64 (A64).
//
//   uint32_t __cabi_arena_realloc(uint32_t old_ptr, uint32_t old_len,
//                                 uint32_t align, uint32_t new_len);
//
// With --pointer-base SYM the canonical ABI's pointers are offsets from the
// linear memory's base, not addresses (SPEC.md rule 9).  elfpatch then places
// this shim in front of the unchanged allocator in the same code slot and
// resolves two symbols for it:
//   __elfpatch_realloc_abs    the allocator's own entry (addresses in and out)
//   __elfpatch_pointer_base   the linear memory's base address (SYM)
//
// new_len == 0 goes to the allocator unchanged: it checks align and returns
// align, a dangling pointer that is not translated.  Otherwise old_ptr is
// turned into an address and the result back into an offset, both wrapping
// as wasm address arithmetic does (a bogus old_ptr stays bogus and the
// allocator treats it as any other: it copies from it or traps).  The
// allocator does every check and every trap, as without the shim.
//
// The arguments arrive in w0..w3; the arithmetic is 32-bit (the base, like
// the arena, lies below 4 GiB) and writing w0 zero-extends the result into
// x0.  The base is ADRP + ADD :lo12: (R_AARCH64_ADR_PREL_PG_HI21 +
// R_AARCH64_ADD_ABS_LO12_NC), the call BL (R_AARCH64_CALL26) and the tail
// call B (R_AARCH64_JUMP26).  x19 keeps the base across the call; it and
// x30 make a 16-byte frame, so sp stays 16-byte aligned.

    .section .text.__cabi_arena_realloc,"ax",%progbits
    .global __cabi_arena_realloc
    .type   __cabi_arena_realloc, %function
    .p2align 2
__cabi_arena_realloc:
    cbnz    w3, .Lshift
    b       __elfpatch_realloc_abs  // new_len == 0: nothing to translate
.Lshift:
    stp     x19, x30, [sp, #-16]!
    adrp    x19, __elfpatch_pointer_base
    add     x19, x19, :lo12:__elfpatch_pointer_base
    add     w0, w0, w19             // offset -> address
    bl      __elfpatch_realloc_abs
    sub     w0, w0, w19             // address -> offset
    ldp     x19, x30, [sp], #16
    ret
    .size   __cabi_arena_realloc, .-__cabi_arena_realloc

    // No executable stack wanted: a Linux link of this object must not warn
    // about or turn on one.  The section is empty and not allocated.
    .section .note.GNU-stack,"",%progbits

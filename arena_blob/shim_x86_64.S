# elfpatch pointer-base shim, x86-64 (SysV ABI; host tests only).
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
# The arguments arrive in edi, esi, edx, ecx; the arithmetic is 32-bit (the
# base, like the arena, lies below 4 GiB) and the result is left in eax,
# which zero-extends it into rax.  The base is RIP-relative (LEA:
# R_X86_64_PC32), the call CALL and the tail call JZ (R_X86_64_PLT32 both).
# rbx keeps the base across the call; pushing it realigns rsp to 16 bytes
# for the call.

    .section .text.__cabi_arena_realloc,"ax",@progbits
    .globl  __cabi_arena_realloc
    .type   __cabi_arena_realloc, @function
    .p2align 4
__cabi_arena_realloc:
    testl   %ecx, %ecx
    jz      __elfpatch_realloc_abs  # new_len == 0: nothing to translate
    pushq   %rbx
    leaq    __elfpatch_pointer_base(%rip), %rbx
    addl    %ebx, %edi              # offset -> address
    call    __elfpatch_realloc_abs
    subl    %ebx, %eax              # address -> offset
    popq    %rbx
    ret
    .size   __cabi_arena_realloc, .-__cabi_arena_realloc

    # No executable stack wanted: a host link of this object must not warn
    # about or turn on one.  The section is empty and not allocated.
    .section .note.GNU-stack,"",@progbits

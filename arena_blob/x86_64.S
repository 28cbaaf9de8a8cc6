# elfpatch arena allocator, x86-64 (SysV ABI; host tests only).
#
#   uint32_t __cabi_arena_realloc(uint32_t old_ptr, uint32_t old_len,
#                                 uint32_t align, uint32_t new_len);
#
# A bump allocator over the region [__elfpatch_arena_start,
# __elfpatch_arena_end).  Its only state is one word, __elfpatch_state, that
# the linker places in the image's .bss: the offset of the first free byte
# from the arena start.  The image's own startup zeroes .bss, so every reset
# starts with an empty arena and nothing depends on RAM contents at power-up.
#
# The contract (canonical-ABI realloc, see SPEC.md):
#   - align must be a power of two, on every call, or the call traps;
#   - new_len == 0 returns align (a dangling, aligned, non-null pointer) and
#     changes nothing;
#   - otherwise the result is aligned, overlaps no live block and starts with
#     the first min(old_len, new_len) bytes of the old block;
#   - the most recent block grows or shrinks in place (no copy, no waste);
#   - exhaustion and any unsigned wrap trap; nothing returns null.
#
# A trap calls __cabi_arena_exhausted when the image defines it.  The
# reference is weak: when the image does not define it, elfpatch writes
# permanently undefined instructions in place of the call (5 bytes), as it
# documents for calls to undefined weak symbols in allocator objects.
#
# Pointers are the canonical ABI's i32: the arguments arrive in edi, esi,
# edx, ecx (the upper halves of their registers are undefined and never
# read) and the result is left in eax, which zero-extends it into rax.
# elfpatch places the arena below 4 GiB, so the arena's bounds and every
# block fit in 32 bits and all arithmetic on them is 32-bit, wrapping (and
# trapping) exactly as on the 32-bit targets.  Only the state word's own
# address is 64-bit.  The bump is a plain load and store: these objects are
# for host tests, which do not allocate from signal handlers.
#
# Addresses are RIP-relative (LEA: R_X86_64_PC32), the hook is reached with
# CALL (R_X86_64_PLT32).  The function is a leaf: no stack until a trap.
#
# Register use after the argument checks:
#   edi old_ptr   esi old_len (then bytes left to copy)   eax top, then the result
#   ecx new_len   r8d align - 1   r11 &state   r9d arena start   r10d arena end

    .section .text.__cabi_arena_realloc,"ax",@progbits
    .globl  __cabi_arena_realloc
    .type   __cabi_arena_realloc, @function
    .weak   __cabi_arena_exhausted
    .p2align 4
__cabi_arena_realloc:
    movl    %edx, %r8d
    subl    $1, %r8d
    jb      .Ltrap                  # align 0: the subtraction borrows
    testl   %edx, %r8d
    jnz     .Ltrap                  # more than one bit set
    testl   %ecx, %ecx
    jz      .Lzero                  # new_len == 0: return align
    leaq    __elfpatch_state(%rip), %r11
    leaq    __elfpatch_arena_start(%rip), %r9
    leaq    __elfpatch_arena_end(%rip), %r10
    movl    (%r11), %eax
    addl    %r9d, %eax              # top = start + offset
    # The most recent block ends at top; it grows or shrinks in place when it
    # lies inside the arena and is aligned as asked.  A caller's old_len that
    # reaches below the arena start must not move the cursor there.
    subl    %esi, %eax
    cmpl    %edi, %eax
    jne     .Lfresh
    cmpl    %r9d, %edi
    jb      .Lfresh
    testl   %r8d, %edi
    jz      .Lclaim                 # eax == old_ptr
.Lfresh:
    addl    %esi, %eax              # top again
    addl    %r8d, %eax
    jc      .Ltrap                  # top + align - 1 wraps
    notl    %r8d
    andl    %r8d, %eax              # aligned start of the new block
.Lclaim:
    movl    %eax, %edx
    addl    %ecx, %edx              # the block's end: p + new_len wraps ...
    jc      .Ltrap
    cmpl    %r10d, %edx
    ja      .Ltrap                  # ... or passes the end: exhausted
    subl    %r9d, %edx              # new cursor, as an offset
    movl    %edx, (%r11)
    cmpl    %edi, %eax
    je      .Ldone                  # in place: the prefix is already there
    cmpl    %ecx, %esi
    cmova   %ecx, %esi              # copy min(old_len, new_len) bytes
    movl    %edi, %edi              # zero-extend old_ptr to address with rdi
    movl    %edi, %edx
    orl     %eax, %edx
    andl    $3, %edx                # zero when both blocks are word-aligned
.Lcopy:                             # backwards: bytes until a word boundary
    testl   %esi, %esi              # of the length, then words if aligned
    jz      .Ldone
    movl    %esi, %ecx
    orl     %edx, %ecx
    testb   $3, %cl
    jnz     .Lbyte
    subl    $4, %esi
    movl    (%rdi,%rsi), %ecx
    movl    %ecx, (%rax,%rsi)
    jmp     .Lcopy
.Lbyte:
    subl    $1, %esi
    movzbl  (%rdi,%rsi), %ecx
    movb    %cl, (%rax,%rsi)
    jmp     .Lcopy
.Ldone:
    ret
.Lzero:
    movl    %edx, %eax
    ret
.Ltrap:
    subq    $8, %rsp                # the hook gets the stack aligned as the
                                    # ABI promises a function (rsp + 8 = 0 mod 16)
    call    __cabi_arena_exhausted  # must not return ...
    ud2                             # ... and if it does, stop here
    .size   __cabi_arena_realloc, .-__cabi_arena_realloc

    # No executable stack wanted: a host link of this object must not warn
    # about or turn on one.  The section is empty and not allocated.
    .section .note.GNU-stack,"",@progbits

# elfpatch arena allocator, RV32 (RV32I and RV32E, with or without C).
#
#   void *__cabi_arena_realloc(void *old_ptr, uint32_t old_len,
#                              uint32_t align, uint32_t new_len);
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
# permanently undefined instructions in place of the call (8 bytes: AUIPC +
# JALR), as it documents for calls to undefined weak symbols in allocator
# objects.
#
# One source, two objects: rv32c.o is assembled with the C extension and
# may hold compressed instructions; rv32.o without it holds none, for cores
# without C.  UNIMP after the hook's call is accordingly C.UNIMP (2 bytes) in
# rv32c.o and the 32-bit UNIMP (CSRRW x0, cycle, x0) in rv32.o.  Only the
# base integer ISA is used (no M, no A, no Zicsr: the ESP32-C3 is RV32IMC)
# and only x1..x15, so the code also runs on RV32E.
# The function is a leaf: it needs no stack and touches no saved register.
#
# Without A (and without knowing the privilege level, which Zicsr would
# need to mask interrupts) the bump is a plain load and store: an interrupt
# handler that allocates from the same arena while a call is between the
# two is not supported.
#
# Relaxation is off: the object carries no R_RISCV_RELAX or R_RISCV_ALIGN,
# so its offsets are final and branches inside it are resolved here (build.sh
# assembles this file with llvm-mc: GNU as keeps a relocation against a local
# label for every branch even without relaxation).  Addresses are absolute
# (LUI + ADDI: R_RISCV_HI20 + R_RISCV_LO12_I; never a PC-relative pair or the
# GOT), the trap hook is reached with CALL (R_RISCV_CALL_PLT: AUIPC + JALR).
#
# Register use after the argument checks:
#   a0 old_ptr   a1 old_len (then bytes left to copy)   a2 scratch
#   a3 new_len   t0 align - 1   t1 &state   t2 top, then the result
#   a4 arena start   a5 arena end

    .option norelax
    .section .text.__cabi_arena_realloc,"ax",@progbits
    .globl  __cabi_arena_realloc
    .type   __cabi_arena_realloc, @function
    .weak   __cabi_arena_exhausted
    .p2align 2
__cabi_arena_realloc:
    addi    t0, a2, -1              # align 0 gives all ones here ...
    and     t1, a2, t0
    bnez    t1, .Ltrap              # ... more than one bit set
    beqz    a2, .Ltrap              # ... no bit set
    beqz    a3, .Lzero              # new_len == 0: return align
    lui     t1, %hi(__elfpatch_state)
    addi    t1, t1, %lo(__elfpatch_state)
    lui     a4, %hi(__elfpatch_arena_start)
    addi    a4, a4, %lo(__elfpatch_arena_start)
    lui     a5, %hi(__elfpatch_arena_end)
    addi    a5, a5, %lo(__elfpatch_arena_end)
    lw      t2, 0(t1)
    add     t2, t2, a4              # top = start + offset
    # The most recent block ends at top; it grows or shrinks in place when it
    # lies inside the arena and is aligned as asked.  A caller's old_len that
    # reaches below the arena start must not move the cursor there.
    sub     t2, t2, a1
    bne     t2, a0, .Lfresh
    bltu    a0, a4, .Lfresh
    and     a2, a0, t0
    beqz    a2, .Lclaim             # t2 == old_ptr
.Lfresh:
    add     t2, t2, a1              # top again
    add     t2, t2, t0
    bltu    t2, t0, .Ltrap          # top + align - 1 wraps (sum < addend)
    not     a2, t0
    and     t2, t2, a2              # aligned start of the new block
.Lclaim:
    add     a2, t2, a3              # the block's end (new_len > 0)
    bltu    a2, t2, .Ltrap          # p + new_len wraps ...
    bltu    a5, a2, .Ltrap          # ... or passes the end: exhausted
    sub     a2, a2, a4              # new cursor, as an offset
    sw      a2, 0(t1)
    beq     t2, a0, .Ldone          # in place: the prefix is already there
    bgeu    a3, a1, .Lmin
    mv      a1, a3                  # copy min(old_len, new_len) bytes
.Lmin:
    or      t0, a0, t2
    andi    t0, t0, 3               # zero when both blocks are word-aligned
.Lcopy:                             # backwards: bytes until a word boundary
    beqz    a1, .Ldone              # of the length, then words if aligned
    andi    t1, a1, 3
    or      t1, t1, t0
    bnez    t1, .Lbyte
    addi    a1, a1, -4
    add     a2, a0, a1
    lw      a3, 0(a2)
    add     a2, t2, a1
    sw      a3, 0(a2)
    j       .Lcopy
.Lbyte:
    addi    a1, a1, -1
    add     a2, a0, a1
    lbu     a3, 0(a2)
    add     a2, t2, a1
    sb      a3, 0(a2)
    j       .Lcopy
.Ldone:
    mv      a0, t2
    ret
.Lzero:
    mv      a0, a2
    ret
.Ltrap:
    call    __cabi_arena_exhausted@plt  # must not return ...
    unimp                               # ... and if it does, stop here
    .size   __cabi_arena_realloc, .-__cabi_arena_realloc

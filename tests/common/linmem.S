/*
 * The linear memory of a pointer-base build of the contract program
 * (programOptions.PointerBase: contract.c with -DCONTRACT_POINTER_BASE,
 * refalloc.c with -DREF_POINTER_BASE).  synth's default ABI passes
 * pointers as offsets from __linear_memory_base; elfpatch --pointer-base
 * __linear_memory_base translates the allocator's pointers and checks that
 * the arena lies inside [__linear_memory_base, __linear_memory_base +
 * st_size).
 *
 * __linear_memory_base marks the first byte of a zero-length section,
 * .data.linear_memory_base, that every linker script of the targets puts
 * first in .data (KEEP, before *(.data*)): the start of RAM on the
 * bare-metal targets (mps2.ld, mps2-far.ld, microbit.ld, an505.ld,
 * virt.ld), the start of the writable data on the Linux ones (linux.ld).
 * With a linker's default script it is first in .data because the harness
 * links this object first.  RAM from there holds .data, the arena that
 * elfpatch (or the harness) places before .bss, .bss and .noinit.
 *
 * The extent is the symbol's st_size: LINMEM_SIZE (-DLINMEM_SIZE=N, the
 * target's LinearMemory), given with .size because an assembler symbol,
 * unlike a linker-script one, can carry a size.  linmem_size, a read-only
 * word, holds the same number for the program to check the arena against
 * at run time.
 */
#ifndef LINMEM_SIZE
#error "define LINMEM_SIZE (the linear memory's size in bytes)"
#endif

    .section .data.linear_memory_base, "aw", %progbits
    .p2align 3
    .globl __linear_memory_base
    .type __linear_memory_base, %object
    .size __linear_memory_base, LINMEM_SIZE
__linear_memory_base:

    .section .rodata.linmem_size, "a", %progbits
    .p2align 2
    .globl linmem_size
    .type linmem_size, %object
    .size linmem_size, 4
linmem_size:
    .4byte LINMEM_SIZE

    .section .note.GNU-stack, "", %progbits

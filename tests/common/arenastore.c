/*
 * Storage for an allocator object linked directly into the contract program
 * (programOptions.AllocatorObject), as elfpatch's reserve object and
 * linkerscripts/arena.ld would provide it:
 *
 *   __elfpatch_state        one zeroed 4-byte word in .bss: the startup
 *                           code clears it, so every reset empties the arena
 *   __elfpatch_arena_start  an 8-aligned static array of ARENA_SIZE bytes
 *                           in .bss (-DARENA_SIZE=N)
 *   __elfpatch_arena_end    one past its last byte
 */
#include <stdint.h>

#ifndef ARENA_SIZE
#error "define ARENA_SIZE (the arena size in bytes)"
#endif

#define ARENASTORE_STR_(x) #x
#define ARENASTORE_STR(x) ARENASTORE_STR_(x)

uint32_t __elfpatch_state;
__attribute__((aligned(8))) uint8_t __elfpatch_arena_start[ARENA_SIZE];

/* A symbol ARENA_SIZE bytes into the array's section: its end. */
__asm__(".globl __elfpatch_arena_end\n\t"
        ".set __elfpatch_arena_end, __elfpatch_arena_start + " ARENASTORE_STR(ARENA_SIZE));

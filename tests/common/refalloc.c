/*
 * Reference arena allocator (TEST ONLY).
 *
 * Implements the canonical-ABI realloc contract that elfpatch's injected
 * allocator must meet, so that the harness (contract.c) can be validated
 * without elfpatch:
 *
 *   void *__cabi_arena_realloc(void *old, uint32_t old_len,
 *                              uint32_t align, uint32_t new_len);
 *
 * also defined under the kebab spelling "cabi-arena-realloc" (an alias).
 * A bounded bump allocator over a static array of REF_ARENA_SIZE bytes
 * (-DREF_ARENA_SIZE=N).  All state is in .bss, so ordinary startup code
 * empties the arena after every reset.  Traps (bad align, exhaustion,
 * address wrap) call __cabi_arena_exhausted() if the image defines it,
 * else execute the architecture's permanently undefined instruction
 * (isa.h: a HardFault on Cortex-M, SIGILL under Linux, an illegal
 * instruction exception on RISC-V).  Portable C: the same file serves
 * every target.
 *
 * The end-to-end tests build the same program without this file.
 *
 * -DREF_BUG=N builds a deliberately broken allocator (the harness
 * self-test checks that contract.c catches each one):
 *   1 never resizes in place        2 does not copy the prefix
 *   3 ignores align                 4 new_len 0 frees the most recent block
 *   5 arena one byte short          6 no wrap-around checks
 *   7 accepts any align             8 keeps its state in .noinit
 *   9 returns NULL when exhausted   10 shrinking the most recent block
 *                                      leaves the bump pointer alone
 *   11 (64-bit targets) a fresh block's pointer is not zero-extended:
 *      bit 32 is set
 *
 * -DREF_POINTER_BASE speaks synth's default ABI, as elfpatch --pointer-base
 * __linear_memory_base does (SPEC rule 9), for the pointer-base build of
 * contract.c:
 *
 *   uintptr_t __cabi_arena_realloc(uint32_t old, uint32_t old_len,
 *                                  uint32_t align, uint32_t new_len);
 *
 * old and the result are offsets from __linear_memory_base (linmem.S), the
 * result zero-extended; new_len == 0 still returns align itself.  The
 * arena is the same static array; the allocator works in offsets (its
 * start is ref_arena - __linear_memory_base), so alignment is the
 * offset's, and touches memory at __linear_memory_base + offset.
 */
#include <stdint.h>

#include "isa.h"
#include "platform.h"

#ifndef REF_ARENA_SIZE
#error "define REF_ARENA_SIZE (the arena size in bytes)"
#endif

#ifdef REF_POINTER_BASE
typedef uint32_t ref_ptr;      /* old_ptr: an offset */
typedef uintptr_t ref_result;  /* the result: an offset, zero-extended */
extern uint8_t __linear_memory_base[];
/* Where the allocator's values are: offsets from the linear memory's base. */
#define REF_ORIGIN ((uintptr_t)__linear_memory_base)
#else
typedef void *ref_ptr;
typedef void *ref_result;
#define REF_ORIGIN ((uintptr_t)0)
#endif

/* The memory a value designates. */
#define REF_MEM(v) ((void *)(REF_ORIGIN + (uintptr_t)(v)))

ref_result __cabi_arena_realloc(ref_ptr old, uint32_t old_len, uint32_t align, uint32_t new_len);

/*
 * -DREF_NO_KEBAB defines only __cabi_arena_realloc, as a user's own TCB
 * allocator does; elfpatch then binds the kebab spelling to it.
 */
#ifndef REF_NO_KEBAB
#ifdef __clang__
#define REF_KEBAB_NAME "cabi-arena-realloc"
#else
#define REF_KEBAB_NAME "\"cabi-arena-realloc\""
#endif
ref_result ref_kebab_alias(ref_ptr old, uint32_t old_len, uint32_t align, uint32_t new_len) __asm__(REF_KEBAB_NAME)
    __attribute__((alias("__cabi_arena_realloc")));
#endif

extern void __cabi_arena_exhausted(void) __attribute__((weak));

#ifndef REF_BUG
#define REF_BUG 0
#endif

#if REF_BUG == 8
#define REF_STATE __attribute__((section(".noinit")))
#else
#define REF_STATE
#endif

static uint8_t ref_arena[REF_ARENA_SIZE] __attribute__((aligned(8)));
REF_STATE static uint32_t ref_top;       /* offset of the first free byte */
REF_STATE static uint32_t ref_last;      /* offset of the most recent block */
REF_STATE static uint32_t ref_have_last; /* 0 until the first allocation */

__attribute__((noreturn, noinline)) static void ref_trap(void)
{
    if (__cabi_arena_exhausted) {
        __cabi_arena_exhausted();
    }
    ISA_UDF();
    __builtin_unreachable();
}

ref_result __cabi_arena_realloc(ref_ptr old, uint32_t old_len, uint32_t align, uint32_t new_len)
{
#if REF_BUG != 7
    if (align == 0 || (align & (align - 1u)) != 0) {
        ref_trap();
    }
#endif
    uint32_t base = (uint32_t)((uintptr_t)ref_arena - REF_ORIGIN);
    uint32_t limit = base + (uint32_t)REF_ARENA_SIZE;
#if REF_BUG == 5
    limit--;
#endif
    uint32_t o = (uint32_t)(uintptr_t)old;
    if (new_len == 0) {
#if REF_BUG == 4
        if (old_len != 0 && ref_have_last && o == base + ref_last) {
            ref_top = ref_last;
        }
#endif
        return (ref_result)(uintptr_t)align;
    }
#if REF_BUG == 3
    align = 1;
#endif

    /* Most recent block, already suitably aligned: resize in place. */
    if (REF_BUG != 1 && old_len != 0 && ref_have_last && o == base + ref_last && (o & (align - 1u)) == 0) {
        if (REF_BUG != 6 && new_len > limit - o) {
            ref_trap();
        }
        if (REF_BUG != 10 || new_len > old_len) {
            ref_top = ref_last + new_len;
        }
        return old;
    }

    uint32_t cur = base + ref_top;
    if (REF_BUG != 6 && cur > UINT32_MAX - (align - 1u)) {
        ref_trap();
    }
    uint32_t p = (cur + (align - 1u)) & ~(align - 1u);
#if REF_BUG == 6
    if (p + new_len > limit) {
        ref_trap();
    }
#else
    if (p > limit || new_len > limit - p) {
#if REF_BUG == 9
        return 0;
#endif
        ref_trap();
    }
#endif
    if (REF_BUG != 2 && old_len != 0) {
        memcpy(REF_MEM(p), REF_MEM(o), old_len < new_len ? old_len : new_len);
    }
    ref_last = p - base;
    ref_top = ref_last + new_len;
    ref_have_last = 1;
#if REF_BUG == 11 && UINTPTR_MAX > 0xffffffffu
    return (ref_result)((uintptr_t)p | ((uintptr_t)1 << 32));
#endif
    return (ref_result)(uintptr_t)p;
}

/*
 * A TCB arena allocator in the style of gale's reference one
 * (pulseengine/gale, crates/gale-app-demo/tcb/cabi_arena.c), for elfpatch
 * --arena-object on a relocatable object (TEST ONLY).  Written from its
 * description, not copied: the arena is the allocator's own static array
 * and its state a static offset, both in .bss, and it defines
 * __cabi_arena_realloc and nothing else.  Having .bss of its own, it can
 * only be injected before the final link (into an ET_REL, where the
 * linker places its storage), never into a linked image's code slot.
 *
 * The original returns 0 for new_len == 0 and ignores most rules; this one
 * honours the whole allocator contract (SPEC):
 *   - align must be a power of two, or the call traps;
 *   - new_len == 0 returns align and changes nothing;
 *   - the most recent block (the one ending at the offset) grows or
 *     shrinks in place when it is aligned as asked; anything else gets a
 *     fresh block at the offset, aligned up, with min(old_len, new_len)
 *     bytes of the old block copied;
 *   - exhaustion and any unsigned wrap trap (the offset never passes
 *     GALE_ARENA_SIZE); nothing returns null;
 *   - a trap calls __cabi_arena_exhausted if the image defines it (its
 *     address, a weak reference, is tested: the final link resolves it,
 *     to 0 when undefined, on every linker), then executes the
 *     permanently undefined instruction.
 * The startup code's zeroing of .bss empties the arena on every reset.
 *
 * -DGALE_ARENA_SIZE=N sets the arena size (default 16 KiB).
 */
#include <stdint.h>

#ifndef GALE_ARENA_SIZE
#define GALE_ARENA_SIZE 16384
#endif

extern void __cabi_arena_exhausted(void) __attribute__((weak));

void *__cabi_arena_realloc(void *old, uint32_t old_len, uint32_t align, uint32_t new_len);

static uint8_t arena[GALE_ARENA_SIZE] __attribute__((aligned(8)));
static uint32_t off; /* the first free byte, from the arena start */

#if defined(__arm__) || defined(__aarch64__)
#define GALE_UDF() __asm__ volatile("udf #0")
#elif defined(__riscv)
#define GALE_UDF() __asm__ volatile("unimp")
#elif defined(__x86_64__)
#define GALE_UDF() __asm__ volatile("ud2")
#else
#error "no permanently undefined instruction for this ISA"
#endif

__attribute__((noreturn, noinline)) static void gale_trap(void)
{
    if (__cabi_arena_exhausted) {
        __cabi_arena_exhausted();
    }
    GALE_UDF();
    __builtin_unreachable();
}

void *__cabi_arena_realloc(void *old, uint32_t old_len, uint32_t align, uint32_t new_len)
{
    if (align == 0 || (align & (align - 1u)) != 0) {
        gale_trap();
    }
    if (new_len == 0) {
        return (void *)(uintptr_t)align;
    }
    /* Offsets from the arena start; the arena itself is aligned to 8 only. */
    uint32_t base = (uint32_t)(uintptr_t)arena;
    uint32_t mask = align - 1u;
    uint32_t o = (uint32_t)(uintptr_t)old;
    uint32_t at;
    if (old_len != 0 && o >= base && o - base <= off && off - (o - base) == old_len && (o & mask) == 0) {
        at = o - base; /* the most recent block: in place */
    } else {
        uint32_t cur = base + off;
        if (cur > UINT32_MAX - mask) {
            gale_trap();
        }
        at = ((cur + mask) & ~mask) - base;
    }
    if (at > GALE_ARENA_SIZE || new_len > GALE_ARENA_SIZE - at) {
        gale_trap();
    }
    off = at + new_len;
    uint8_t *p = arena + at;
    if ((uint32_t)(uintptr_t)p != o && old_len != 0) {
        const volatile uint8_t *src = (const volatile uint8_t *)(uintptr_t)o;
        uint32_t n = old_len < new_len ? old_len : new_len;
        for (uint32_t i = 0; i < n; i++) {
            p[i] = src[i];
        }
    }
    return p;
}

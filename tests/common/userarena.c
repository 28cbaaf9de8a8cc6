/*
 * A user's own arena allocator for elfpatch --arena-object (TEST ONLY),
 * written against elfpatch's documented symbols only:
 *
 *   __elfpatch_arena_start  first byte of the arena
 *   __elfpatch_arena_end    one past its last byte
 *   __elfpatch_state        one word in .bss: the offset of the first free
 *                           byte from the arena start, zero after reset
 *   __cabi_arena_exhausted  the image's trap hook, if it has one (weak)
 *
 * It defines __cabi_arena_realloc and nothing else, and has no data or bss
 * of its own, so that elfpatch can place its code in a linked image's slot
 * after the link.  Built as the harness builds it (userAllocatorObject:
 * -O2 -ffunction-sections -fno-common, no unwind tables) the object has
 * one allocated section, .text.__cabi_arena_realloc: everything else is
 * inlined into the function, there is no switch (no jump table in
 * .rodata), and the copy loops are kept from being turned into a call of
 * memcpy.  Its relocations refer to the four symbols above (Thumb gcc
 * loads their addresses from a literal pool inside the code section).
 *
 * A bump allocator honouring the allocator contract (SPEC):
 *   - align must be a power of two, or the call traps;
 *   - new_len == 0 returns align and changes nothing;
 *   - the most recent block, the one that ends at the first free byte,
 *     grows or shrinks in place when it is aligned as asked;
 *   - any other request takes a fresh block at the first free byte,
 *     aligned up, and copies min(old_len, new_len) bytes of the old block
 *     (word by word where both blocks are word-aligned);
 *   - exhaustion and any unsigned wrap trap; nothing returns null.
 * Addresses are 32-bit (on 64-bit targets elfpatch keeps the arena below
 * 4 GiB, and the result is zero-extended).  On M-profile cores the bump
 * is taken with interrupts masked (PRIMASK), the copy outside.
 *
 * A trap calls __cabi_arena_exhausted, which must not return, and then
 * executes the architecture's permanently undefined instruction.  The call
 * goes straight to the weak symbol; its address is never tested, which
 * would need an address relocation against a symbol the image may not
 * define, and elfpatch resolves only calls of undefined weak symbols in
 * an allocator object: it replaces them with the trap.  Linked directly
 * instead, the call becomes what the linker makes of a call of an
 * undefined weak symbol: on Arm and AArch64 a no-op (GNU ld) or a call of
 * the next instruction (ld.lld), so the undefined instruction follows; on
 * x86-64 a call of address 0 (a SIGSEGV); on RISC-V a call of address 0
 * (GNU ld) or, with ld.lld, a jump to the AUIPC itself: a loop that never
 * traps.  __builtin_trap() is not used because it is not that instruction
 * everywhere: gcc emits ebreak on RISC-V and clang brk #1 on AArch64.
 */
#include <stdint.h>

extern uint8_t __elfpatch_arena_start[], __elfpatch_arena_end[];
extern uint32_t __elfpatch_state;
extern void __cabi_arena_exhausted(void) __attribute__((weak));

void *__cabi_arena_realloc(void *old, uint32_t old_len, uint32_t align, uint32_t new_len);

#if defined(__arm__) || defined(__aarch64__)
#define USERARENA_UDF() __asm__ volatile("udf #0")
#elif defined(__riscv)
#define USERARENA_UDF() __asm__ volatile("unimp")
#elif defined(__x86_64__)
#define USERARENA_UDF() __asm__ volatile("ud2")
#else
#error "no permanently undefined instruction for this ISA"
#endif

#define USERARENA_TRAP()                                                                                               \
    do {                                                                                                               \
        __cabi_arena_exhausted();                                                                                      \
        USERARENA_UDF();                                                                                               \
        __builtin_unreachable();                                                                                       \
    } while (0)

#if defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
/* Masks interrupts and returns the previous PRIMASK. */
static inline __attribute__((always_inline)) uint32_t userarena_lock(void)
{
    uint32_t primask;
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    return primask;
}

static inline __attribute__((always_inline)) void userarena_unlock(uint32_t primask)
{
    __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
}
#else
static inline __attribute__((always_inline)) uint32_t userarena_lock(void)
{
    return 0;
}

static inline __attribute__((always_inline)) void userarena_unlock(uint32_t primask)
{
    (void)primask;
}
#endif

void *__cabi_arena_realloc(void *old, uint32_t old_len, uint32_t align, uint32_t new_len)
{
    if (align == 0 || (align & (align - 1u)) != 0) {
        USERARENA_TRAP();
    }
    if (new_len == 0) {
        return (void *)(uintptr_t)align;
    }
    uint32_t start = (uint32_t)(uintptr_t)__elfpatch_arena_start;
    uint32_t end = (uint32_t)(uintptr_t)__elfpatch_arena_end;
    uint32_t o = (uint32_t)(uintptr_t)old;
    uint32_t mask = align - 1u;

    uint32_t key = userarena_lock();
    uint32_t top = start + __elfpatch_state; /* the first free byte */
    uint32_t p;
    if (old_len != 0 && o >= start && o <= top && top - o == old_len && (o & mask) == 0) {
        p = o; /* the most recent block: in place */
    } else {
        if (top > UINT32_MAX - mask) {
            userarena_unlock(key);
            USERARENA_TRAP();
        }
        p = (top + mask) & ~mask;
    }
    if (p > end || new_len > end - p) {
        userarena_unlock(key);
        USERARENA_TRAP();
    }
    __elfpatch_state = p + new_len - start;
    userarena_unlock(key);

    if (p != o && old_len != 0) {
        /* A fresh block lies above every live one: no overlap. */
        uint32_t n = old_len < new_len ? old_len : new_len;
        uint32_t i = 0;
        if (((o | p) & 3u) == 0) {
            for (; i + 4u <= n; i += 4u) {
                *(uint32_t *)(uintptr_t)(p + i) = *(const uint32_t *)(uintptr_t)(o + i);
                __asm__("" : "+r"(i)); /* a loop, not a call of memcpy */
            }
        }
        for (; i < n; i++) {
            *(uint8_t *)(uintptr_t)(p + i) = *(const uint8_t *)(uintptr_t)(o + i);
            __asm__("" : "+r"(i));
        }
    }
    return (void *)(uintptr_t)p;
}

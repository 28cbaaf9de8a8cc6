/*
 * Benchmark driver: calls __cabi_arena_realloc the way bench/main.go
 * measures it, with bench_mark() before and after each measured call.
 * main.go runs the program under QEMU with a per-instruction trace and
 * counts the instructions executed inside the allocator between each pair
 * of marks:
 *
 *   0  a fresh allocation on a non-empty arena: (0, 0, 8, 16)
 *   1  an aligned move of 64 bytes      (old block and new block 4-aligned)
 *   2  an aligned move of 1024 bytes
 *   3  an unaligned move of 64 bytes    (old block at an odd address)
 *   4  an unaligned move of 1024 bytes
 *
 * A move is a realloc of a block that is not the most recent one, to the
 * same length: the allocator takes a fresh block and copies old_len bytes.
 * The driver checks each result and exits with status 0 only when every
 * call did what the contract says.
 *
 * The allocator is either one of elfpatch's (an arena_blob object, linked with
 * __elfpatch_state and the arena bounds defined here and on the command
 * line) or an allocator compiled from C that owns its arena (-DOWN_ARENA).
 * Freestanding: no libc; the start code and the exit are per target.
 */
#include <stdint.h>

#ifndef BENCH_ARENA
#define BENCH_ARENA 8192u
#endif

/*
 * Pointers are uintptr_t here: the 64-bit elfpatch allocators read w0..w3
 * and zero-extend their result, a C allocator takes and returns void *.
 */
uintptr_t __cabi_arena_realloc(uintptr_t old_ptr, uint32_t old_len, uint32_t align, uint32_t new_len);

#ifndef OWN_ARENA
/* elfpatch's allocator: its state word and its region. */
uint32_t __elfpatch_state;
uint8_t bench_arena[BENCH_ARENA] __attribute__((aligned(64)));
#endif

static void bench_exit(int code);

/* The allocator's trap hook: a trap is a failed run. */
void __cabi_arena_exhausted(void)
{
    bench_exit(3);
}

/* The measured calls are bracketed by calls of this function. */
__attribute__((noinline)) void bench_mark(void)
{
    __asm__ volatile("" ::: "memory");
}

static int failed;

/*
 * aligned(p, align): p is aligned as asked.  An allocator that owns its
 * arena (gale's) aligns offsets into its array, not addresses, so its
 * results are only checked for their contents.
 */
#ifdef OWN_ARENA
#define aligned(p, align) 1
#else
#define aligned(p, align) (((p) & ((align) - 1)) == 0)
#endif

static void expect(int ok)
{
    if (!ok) {
        failed = 1;
    }
}

static void fill(uintptr_t p, uint32_t n, uint8_t seed)
{
    volatile uint8_t *b = (volatile uint8_t *)p;
    for (uint32_t i = 0; i < n; i++) {
        b[i] = (uint8_t)(seed + i);
    }
}

static int holds(uintptr_t p, uint32_t n, uint8_t seed)
{
    volatile uint8_t *b = (volatile uint8_t *)p;
    for (uint32_t i = 0; i < n; i++) {
        if (b[i] != (uint8_t)(seed + i)) {
            return 0;
        }
    }
    return 1;
}

/* A move of n bytes from a block aligned to align (odd: at an odd address). */
static void move(uint32_t n, uint32_t align, int odd)
{
    if (odd) {
        /* Step the top to an odd address with 1-byte blocks. */
        uintptr_t q = __cabi_arena_realloc(0, 0, 1, 1);
        if (((q + 1) & 1) == 0) {
            __cabi_arena_realloc(0, 0, 1, 1);
        }
    }
    uintptr_t a = __cabi_arena_realloc(0, 0, align, n);
    expect(a != 0 && aligned(a, align) && (!odd || (a & 1) != 0));
    fill(a, n, (uint8_t)n);
    __cabi_arena_realloc(0, 0, 1, 1); /* a is no longer the most recent block */
    bench_mark();
    uintptr_t b = __cabi_arena_realloc(a, n, align, n);
    bench_mark();
    expect(b != a && aligned(b, align) && holds(b, n, (uint8_t)n));
}

static void reset(void)
{
#ifndef OWN_ARENA
    __elfpatch_state = 0;
#endif
}

static int bench_main(void)
{
    uintptr_t a = __cabi_arena_realloc(0, 0, 8, 16);
    bench_mark();
    uintptr_t b = __cabi_arena_realloc(0, 0, 8, 16);
    bench_mark();
    expect(a != 0 && b == a + 16 && aligned(b, 8));

    reset();
    move(64, 4, 0);
    reset();
    move(1024, 4, 0);
    reset();
    move(64, 1, 1);
    reset();
    move(1024, 1, 1);
    return failed;
}

/* Start and exit. */
#if defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
/* M-profile under qemu-system-arm: a vector table, semihosting to exit. */
extern char __stack_top[];
void bench_reset(void);
__attribute__((section(".vectors"), used)) void *const bench_vectors[2] = {__stack_top, (void *)bench_reset};

void bench_reset(void)
{
    bench_exit(bench_main());
}

static void bench_exit(int code)
{
    /* SYS_EXIT: ADP_Stopped_ApplicationExit exits QEMU with status 0, any
     * other reason with 1. */
    register uint32_t r0 __asm__("r0") = 0x18;
    register uint32_t r1 __asm__("r1") = code == 0 ? 0x20026u : 0x20023u;
    __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
    for (;;) {
    }
}
#else
/* Linux user mode under qemu-riscv32, qemu-aarch64 or qemu-x86_64. */
static void bench_exit(int code)
{
#if defined(__riscv)
    register long a0 __asm__("a0") = code;
    register long a7 __asm__("a7") = 93; /* exit */
    __asm__ volatile("ecall" : : "r"(a0), "r"(a7) : "memory");
#elif defined(__aarch64__)
    register long x0 __asm__("x0") = code;
    register long x8 __asm__("x8") = 93; /* exit */
    __asm__ volatile("svc #0" : : "r"(x0), "r"(x8) : "memory");
#elif defined(__x86_64__)
    __asm__ volatile("syscall" : : "a"(60L), "D"((long)code) : "rcx", "r11", "memory");
#else
#error "no exit for this target"
#endif
    for (;;) {
    }
}

/* Entered with the stack as the kernel built it: realign, never return. */
__attribute__((noreturn, used)) void bench_start(void)
{
    bench_exit(bench_main());
    for (;;) {
    }
}

#if defined(__riscv)
__asm__(".section .text._start,\"ax\",@progbits\n"
        ".globl _start\n"
        "_start:\n"
        "  andi sp, sp, -16\n"
        "  call bench_start\n");
#elif defined(__aarch64__)
__asm__(".section .text._start,\"ax\",%progbits\n"
        ".globl _start\n"
        "_start:\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  bl bench_start\n");
#elif defined(__x86_64__)
__asm__(".section .text._start,\"ax\",@progbits\n"
        ".globl _start\n"
        "_start:\n"
        "  xor %ebp, %ebp\n"
        "  and $-16, %rsp\n"
        "  call bench_start\n");
#endif
#endif

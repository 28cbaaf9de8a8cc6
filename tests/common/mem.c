/*
 * Freestanding memory primitives for the harness programs: what
 * -ffreestanding code may still be compiled into calls to (memcpy, memset,
 * memmove, memcmp; on Arm EABI also the __aeabi_mem* helpers clang emits,
 * and on ARMv6-M, which has no divide instruction, the __aeabi_uidiv
 * helpers).
 *
 * The Linux and RISC-V platforms compile this file; the Cortex-M
 * semihosting client (cortexm/semihost.c) includes it, so that startup.c
 * and semihost.c alone are a complete runtime (examples/cortex-m3 is built
 * from just those).
 */
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/*
 * GCC recognises byte loops as memcpy/memset even with -ffreestanding and
 * would turn memcpy's own loop into a call to memcpy.  Clang's
 * -ffreestanding implies -fno-builtin, which already prevents that.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_LOOP_TO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_LOOP_TO_LIBCALL
#endif

NO_LOOP_TO_LIBCALL void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 3u) == 0) {
        for (; n >= 4; n -= 4, d += 4, s += 4) {
            *(uint32_t *)(void *)d = *(const uint32_t *)(const void *)s;
        }
    }
    while (n--) {
        *d++ = *s++;
    }
    return dst;
}

NO_LOOP_TO_LIBCALL void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0) {
        return dst;
    }
    if (d < s || d >= s + n) {
        while (n--) {
            *d++ = *s++;
        }
    } else {
        d += n;
        s += n;
        while (n--) {
            *--d = *--s;
        }
    }
    return dst;
}

NO_LOOP_TO_LIBCALL void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    unsigned char b = (unsigned char)c;
    if (((uintptr_t)d & 3u) == 0) {
        uint32_t w = b * 0x01010101u;
        for (; n >= 4; n -= 4, d += 4) {
            *(uint32_t *)(void *)d = w;
        }
    }
    while (n--) {
        *d++ = b;
    }
    return dst;
}

NO_LOOP_TO_LIBCALL int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a;
    const unsigned char *y = b;
    for (; n != 0; n--, x++, y++) {
        if (*x != *y) {
            return *x < *y ? -1 : 1;
        }
    }
    return 0;
}

#if defined(__ARM_EABI__)
/*
 * ARM run-time ABI memory helpers.  Clang lowers memcpy/memset intrinsics
 * on arm-none-eabi to these; note __aeabi_memset's argument order
 * (dest, n, c).
 */
void __aeabi_memcpy(void *dst, const void *src, size_t n);
void __aeabi_memcpy4(void *dst, const void *src, size_t n);
void __aeabi_memcpy8(void *dst, const void *src, size_t n);
void __aeabi_memmove(void *dst, const void *src, size_t n);
void __aeabi_memmove4(void *dst, const void *src, size_t n);
void __aeabi_memmove8(void *dst, const void *src, size_t n);
void __aeabi_memset(void *dst, size_t n, int c);
void __aeabi_memset4(void *dst, size_t n, int c);
void __aeabi_memset8(void *dst, size_t n, int c);
void __aeabi_memclr(void *dst, size_t n);
void __aeabi_memclr4(void *dst, size_t n);
void __aeabi_memclr8(void *dst, size_t n);

void __aeabi_memcpy(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
void __aeabi_memcpy4(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
void __aeabi_memcpy8(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
void __aeabi_memmove(void *dst, const void *src, size_t n) { memmove(dst, src, n); }
void __aeabi_memmove4(void *dst, const void *src, size_t n) { memmove(dst, src, n); }
void __aeabi_memmove8(void *dst, const void *src, size_t n) { memmove(dst, src, n); }
void __aeabi_memset(void *dst, size_t n, int c) { memset(dst, c, n); }
void __aeabi_memset4(void *dst, size_t n, int c) { memset(dst, c, n); }
void __aeabi_memset8(void *dst, size_t n, int c) { memset(dst, c, n); }
void __aeabi_memclr(void *dst, size_t n) { memset(dst, 0, n); }
void __aeabi_memclr4(void *dst, size_t n) { memset(dst, 0, n); }
void __aeabi_memclr8(void *dst, size_t n) { memset(dst, 0, n); }
#endif

#if defined(__ARM_EABI__) && defined(__ARM_ARCH_6M__)
/*
 * ARMv6-M has no divide instruction (and no UMULL to divide by a
 * constant), so the compilers call these for "/" and "%".  Shift and
 * subtract; __aeabi_uidivmod returns the quotient in r0 and the remainder
 * in r1, i.e. as the low and high halves of a 64-bit result.
 */
unsigned __aeabi_uidiv(unsigned n, unsigned d);
unsigned long long __aeabi_uidivmod(unsigned n, unsigned d);

unsigned long long __aeabi_uidivmod(unsigned n, unsigned d)
{
    unsigned q = 0, r = 0;
    if (d == 0) {
        __asm__ volatile("udf #0");
    }
    for (int i = 31; i >= 0; i--) {
        r = (r << 1) | ((n >> i) & 1u);
        if (r >= d) {
            r -= d;
            q |= 1u << i;
        }
    }
    return (unsigned long long)q | ((unsigned long long)r << 32);
}

unsigned __aeabi_uidiv(unsigned n, unsigned d)
{
    return (unsigned)__aeabi_uidivmod(n, d);
}
#endif

/* Semihosting client and freestanding memory primitives; see semihost.h. */
#include "semihost.h"

uint32_t sh_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void sh_write(const char *s)
{
    sh_call(SH_SYS_WRITE0, s);
}

void sh_puts(const char *s)
{
    sh_write(s);
    sh_write("\n");
}

void sh_hex(uint32_t v)
{
    char buf[11];
    static const char digits[] = "0123456789abcdef";
    buf[0] = '0';
    buf[1] = 'x';
    for (int i = 0; i < 8; i++) {
        buf[2 + i] = digits[(v >> (28 - 4 * i)) & 0xfu];
    }
    buf[10] = 0;
    sh_write(buf);
}

void sh_dec(uint32_t v)
{
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    sh_write(&buf[i]);
}

void sh_kv(const char *label, uint32_t v)
{
    sh_write(label);
    sh_write("=");
    sh_hex(v);
    sh_write(" ");
}

void sh_exit(uint32_t code)
{
    uint32_t block[2] = {SH_ADP_STOPPED_APPLICATION_EXIT, code};
    sh_call(SH_SYS_EXIT_EXTENDED, block);
    /* A host without SYS_EXIT_EXTENDED: plain SYS_EXIT can only say 0/1. */
    sh_call(SH_SYS_EXIT, (const void *)(uintptr_t)(code == 0 ? SH_ADP_STOPPED_APPLICATION_EXIT : 0x20023u));
    for (;;) {
        __asm__ volatile("udf #0");
    }
}

int sh_get_cmdline(char *buf, uint32_t size)
{
    volatile uint32_t block[2];
    if (size == 0) {
        return -1;
    }
    block[0] = (uint32_t)(uintptr_t)buf;
    block[1] = size;
    if (sh_call(SH_SYS_GET_CMDLINE, (const void *)block) != 0) {
        buf[0] = 0;
        return -1;
    }
    uint32_t n = block[1];
    if (n >= size) {
        n = size - 1;
    }
    buf[n] = 0;
    return (int)n;
}

/*
 * The freestanding memory primitives (memcpy, memset, memmove, memcmp and
 * the __aeabi_mem* helpers), shared with the platforms that do not use
 * semihosting: included here so that startup.c and semihost.c alone are a
 * complete runtime (examples/cortex-m3 is built from just those).
 */
#include "../common/mem.c"

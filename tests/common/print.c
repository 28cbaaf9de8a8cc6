/* Output helpers of the contract program, on top of plat_write; see platform.h. */
#include "platform.h"

void out_write(const char *s)
{
    plat_write(s);
}

void out_puts(const char *s)
{
    plat_write(s);
    plat_write("\n");
}

/* uintptr_t, not uint64_t: a 64-bit shift is a library call on Thumb-1. */
static void hex_digits(uintptr_t v, int n)
{
    char buf[19];
    static const char digits[] = "0123456789abcdef";
    buf[0] = '0';
    buf[1] = 'x';
    for (int i = 0; i < n; i++) {
        buf[2 + i] = digits[(v >> (4 * (n - 1 - i))) & 0xfu];
    }
    buf[2 + n] = 0;
    plat_write(buf);
}

void out_hex(uint32_t v)
{
    hex_digits(v, 8);
}

void out_dec(uint32_t v)
{
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    plat_write(&buf[i]);
}

void out_kv(const char *label, uint32_t v)
{
    plat_write(label);
    plat_write("=");
    out_hex(v);
    plat_write(" ");
}

void out_kvp(const char *label, uintptr_t v)
{
    plat_write(label);
    plat_write("=");
    hex_digits(v, (int)(2 * sizeof v));
    plat_write(" ");
}

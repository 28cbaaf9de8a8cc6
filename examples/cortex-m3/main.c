/*
 * The example image of the README: an ordinary Cortex-M3 program (QEMU
 * mps2-an385) doing what the code of a grow-free WebAssembly component does
 * when it lowers values through the canonical ABI: every allocation goes
 * through the embedder import, spelled as a fused build spells it,
 * cabi-arena-realloc.  Nothing here defines it; elfpatch binds it.
 */
#include <stdint.h>

#include "semihost.h"

#ifdef __clang__
#define KEBAB(name) __asm__(name)
#else
#define KEBAB(name) __asm__("\"" name "\"")
#endif

extern void *cabi_realloc(void *old_ptr, uint32_t old_len, uint32_t align,
                          uint32_t new_len) KEBAB("cabi-arena-realloc");

int main(void)
{
    static const char greeting[] = "hello from the arena";

    /* A string: a fresh block, byte-aligned. */
    char *s = cabi_realloc(0, 0, 1, sizeof greeting);
    memcpy(s, greeting, sizeof greeting);
    sh_write("string at ");
    sh_hex((uint32_t)s);
    sh_write(": ");
    sh_puts(s);

    /* A list that grows: the most recent block grows in place. */
    uint32_t *list = cabi_realloc(0, 0, 4, 4 * sizeof *list);
    for (uint32_t i = 0; i < 4; i++)
        list[i] = i * i;
    uint32_t *grown = cabi_realloc(list, 4 * sizeof *list, 4, 64 * sizeof *list);
    sh_write("list at ");
    sh_hex((uint32_t)list);
    sh_write(grown == list ? ", grown in place, " : ", moved, ");
    sh_write("list[3] = ");
    sh_dec(grown[3]);
    sh_puts("");

    /* Growing the string, no longer the most recent block, copies it. */
    char *longer = cabi_realloc(s, sizeof greeting, 1, 2 * sizeof greeting);
    sh_write("string moved to ");
    sh_hex((uint32_t)longer);
    sh_write(": ");
    sh_puts(longer);
    return 0;
}

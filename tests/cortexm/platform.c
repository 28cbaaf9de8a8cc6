/*
 * Cortex-M platform layer of the contract program (see common/platform.h):
 * m3 (QEMU mps2-an385), m0 (QEMU microbit) and m33 (QEMU mps2-an505, in
 * Secure state).  Output, exit status, the command line and host files
 * go through Arm semihosting (semihost.c; common/baremetal.c has what
 * this layer shares with rv32/); startup.c has the vector
 * table, the startup code and the fault handlers; a warm reset is
 * SYSRESETREQ, which QEMU implements as a system reset that reloads the
 * image's loadable segments (FLASH, and .data's load image) but keeps RAM.
 */
#include "../common/platform.h"
#include "semihost.h"

void plat_write(const char *s)
{
    sh_write(s);
}

void plat_exit(uint32_t code)
{
    sh_exit(code);
}

int plat_cmdline(char *buf, uint32_t size)
{
    return sh_get_cmdline(buf, size);
}

uint32_t plat_semihost(uint32_t op, const void *arg)
{
    return sh_call(op, arg);
}

void plat_reset(void)
{
    /* SCB->AIRCR = VECTKEY | SYSRESETREQ */
    __asm__ volatile("dsb" ::: "memory");
    *(volatile uint32_t *)0xE000ED0Cu = 0x05FA0004u;
    __asm__ volatile("dsb" ::: "memory");
}

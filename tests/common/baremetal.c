/*
 * What the bare-metal platform layers (cortexm/, rv32/) share: host files
 * through semihosting, which both speak with their own trap instruction
 * (plat_semihost), the idle loop, and the RAM regions their linker
 * scripts name alike (mps2.ld, m0/microbit.ld, m33/an505.ld, virt.ld).
 */
#include "platform.h"

/* Linker-script symbols. */
extern uint8_t __ram_start__[];
extern uint8_t __ram_end__[];
extern uint8_t __noinit_start__[];
extern uint8_t __noinit_end__[];
extern uint8_t __data_start__[];
extern uint8_t __data_end__[];
extern uint8_t __StackLimit[];
extern uint8_t __StackTop[];

/* Semihosting SYS_OPEN (mode 0: "r"), SYS_FLEN and SYS_READ. */
#define SH_SYS_OPEN 0x01u
#define SH_SYS_READ 0x06u
#define SH_SYS_FLEN 0x0cu

int plat_file_open(const char *name)
{
    uint32_t len = 0;
    while (name[len]) {
        len++;
    }
    volatile uint32_t block[3] = {(uint32_t)(uintptr_t)name, 0, len};
    int handle = (int)plat_semihost(SH_SYS_OPEN, (const void *)block);
    if (handle < 0) {
        return -1;
    }
    volatile uint32_t flen[1] = {(uint32_t)handle};
    if ((int32_t)plat_semihost(SH_SYS_FLEN, (const void *)flen) < 0) {
        return -1; /* not a file the host can read */
    }
    return handle;
}

int32_t plat_file_read(int handle, void *buf, uint32_t n)
{
    volatile uint32_t block[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, n};
    uint32_t left = plat_semihost(SH_SYS_READ, (const void *)block); /* bytes NOT read */
    return left > n ? -1 : (int32_t)(n - left);
}

void plat_hang(void)
{
    for (;;) {
        __asm__ volatile("wfi");
    }
}

uint32_t plat_regions(struct plat_region *r, uint32_t max)
{
    const struct plat_region all[] = {
        {".data", (uintptr_t)__data_start__, (uintptr_t)__data_end__},
        {".noinit", (uintptr_t)__noinit_start__, (uintptr_t)__noinit_end__},
        {"stack", (uintptr_t)__StackLimit, (uintptr_t)__StackTop},
    };
    uint32_t n = 0;
    for (; n < max && n < sizeof all / sizeof all[0]; n++) {
        r[n] = all[n];
    }
    return n;
}

int plat_ram_layout(struct plat_ram *ram)
{
    ram->start = (uintptr_t)__ram_start__;
    ram->end = (uintptr_t)__ram_end__;
    ram->noinit_start = (uintptr_t)__noinit_start__;
    ram->noinit_end = (uintptr_t)__noinit_end__;
    return 1;
}

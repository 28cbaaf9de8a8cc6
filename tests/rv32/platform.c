/*
 * RISC-V RV32 bare-metal platform layer of the contract program (see
 * common/platform.h), for QEMU's virt machine:
 *
 *   0x00001000  reset ROM: jumps to the -kernel ELF's entry point
 *   0x00100000  sifive_test: 0x5555 pass, 0x3333 | code << 16 fail,
 *               0x7777 system reset (warm: RAM is kept, QEMU reloads the
 *               ELF's loadable segments)
 *   0x10000000  ns16550a UART (unused: semihosting does the I/O)
 *   0x80000000  DRAM (virt.ld: FLASH 0x80000000, RAM 0x80400000)
 *
 * Output, the command line, host files and the exit status go through
 * RISC-V semihosting (-semihosting-config enable=on,target=native); a trap
 * prints "TRAP mcause=... mepc=... mtval=..." and exits with status 3.
 * start.S has the entry point, the trap vector and the semihosting call.
 */
#include "../common/platform.h"

/* Linker-script symbols (virt.ld). */
extern uint32_t __data_load__[];
extern uint32_t __data_start__[];
extern uint32_t __data_end__[];
extern uint32_t __bss_start__[];
extern uint32_t __bss_end__[];
extern uint8_t __ram_start__[];
extern uint8_t __ram_end__[];
extern uint8_t __noinit_start__[];
extern uint8_t __noinit_end__[];
extern uint8_t __StackLimit[];
extern uint8_t __StackTop[];

#define SH_SYS_WRITE0 0x04u
#define SH_SYS_GET_CMDLINE 0x15u
#define SH_SYS_EXIT_EXTENDED 0x20u
#define SH_ADP_STOPPED_APPLICATION_EXIT 0x20026u

#define SIFIVE_TEST ((volatile uint32_t *)0x00100000u)

uint32_t rv_semihost(uint32_t op, const void *arg);

__attribute__((section(".noinit"))) uint32_t startup_bss_first_word_at_reset;
__attribute__((section(".noinit"))) uint32_t startup_boot_count;

void plat_write(const char *s)
{
    rv_semihost(SH_SYS_WRITE0, s);
}

void plat_exit(uint32_t code)
{
    uint32_t block[2] = {SH_ADP_STOPPED_APPLICATION_EXIT, code};
    rv_semihost(SH_SYS_EXIT_EXTENDED, block);
    /* No semihosting: the test device can still say pass or fail. */
    *SIFIVE_TEST = code == 0 ? 0x5555u : 0x3333u | (code << 16);
    for (;;) {
        __asm__ volatile("wfi");
    }
}

int plat_cmdline(char *buf, uint32_t size)
{
    volatile uint32_t block[2];
    if (size == 0) {
        return -1;
    }
    block[0] = (uint32_t)(uintptr_t)buf;
    block[1] = size;
    if (rv_semihost(SH_SYS_GET_CMDLINE, (const void *)block) != 0) {
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
    int handle = (int)rv_semihost(SH_SYS_OPEN, (const void *)block);
    if (handle < 0) {
        return -1;
    }
    volatile uint32_t flen[1] = {(uint32_t)handle};
    if ((int32_t)rv_semihost(SH_SYS_FLEN, (const void *)flen) < 0) {
        return -1; /* not a file the host can read */
    }
    return handle;
}

int32_t plat_file_read(int handle, void *buf, uint32_t n)
{
    volatile uint32_t block[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, n};
    uint32_t left = rv_semihost(SH_SYS_READ, (const void *)block); /* bytes NOT read */
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

void plat_reset(void)
{
    __asm__ volatile("fence" ::: "memory");
    *SIFIVE_TEST = 0x7777u;
}

__attribute__((noreturn, used)) void rv_trap(uint32_t mcause, uint32_t mepc, uint32_t mtval);

void rv_trap(uint32_t mcause, uint32_t mepc, uint32_t mtval)
{
    out_write("TRAP ");
    out_kv("mcause", mcause);
    out_kv("mepc", mepc);
    out_kv("mtval", mtval);
    out_write("\n");
    plat_exit(3);
}

__attribute__((noreturn, used)) void rv_start(void);

void rv_start(void)
{
    size_t data_size = (size_t)((uintptr_t)__data_end__ - (uintptr_t)__data_start__);
    size_t bss_size = (size_t)((uintptr_t)__bss_end__ - (uintptr_t)__bss_start__);
    /* Snapshot before .bss is cleared: shows whether RAM survived a reset. */
    if (bss_size >= 4) {
        startup_bss_first_word_at_reset = __bss_start__[0];
    }
    startup_boot_count++;
    memcpy(__data_start__, __data_load__, data_size);
    memset(__bss_start__, 0, bss_size);
    plat_exit((uint32_t)main());
}

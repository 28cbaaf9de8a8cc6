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
 * start.S has the entry point, the trap vector and the semihosting call;
 * common/baremetal.c has what this layer shares with cortexm/.
 */
#include "../common/platform.h"

/* Linker-script symbols (virt.ld). */
extern uint32_t __data_load__[];
extern uint32_t __data_start__[];
extern uint32_t __data_end__[];
extern uint32_t __bss_start__[];
extern uint32_t __bss_end__[];

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

uint32_t plat_semihost(uint32_t op, const void *arg)
{
    return rv_semihost(op, arg);
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

/*
 * What the portable contract program (contract.c) needs from a platform.
 *
 * Each target family implements this interface in its own directory:
 *
 *   cortexm/  Cortex-M (m0, m3, m33) under qemu-system-arm: Arm semihosting,
 *             vector table and fault handlers, startup copies .data and
 *             zeroes .bss, warm reset through SCB->AIRCR
 *   rv32/     RISC-V RV32 bare metal on qemu-system-riscv32 -M virt: RISC-V
 *             semihosting, mtvec trap handler, startup copies .data and
 *             zeroes .bss, warm reset through the sifive_test device
 *   linux/    Linux user mode (r5 under qemu-arm, aarch64 under
 *             qemu-aarch64, x86_64 natively): raw system calls, arguments
 *             from the initial stack, rt_sigaction trap handlers
 *
 * Outcomes are the same everywhere: exit status 0 pass, 1 a check failed
 * ("FAIL ..."), 2 the mode is not supported here ("UNSUPPORTED ..."), 3 a
 * trap ("HARDFAULT ..." on M-profile, "TRAP ..." elsewhere), 4 the
 * program's own __cabi_arena_exhausted ran ("EXHAUSTED").
 */
#ifndef ELFPATCH_TESTS_PLATFORM_H
#define ELFPATCH_TESTS_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* Writes a NUL-terminated string where the harness reads the output. */
void plat_write(const char *s);

/* Ends the program with exactly this status (the harness sees code & 0xff). */
__attribute__((noreturn)) void plat_exit(uint32_t code);

/*
 * The command line, NUL-terminated: the program's name (QEMU's -kernel file
 * name, or argv[0]) followed by its words, separated by spaces.  Returns the
 * length, or -1 if there is none.
 */
int plat_cmdline(char *buf, uint32_t size);

/*
 * Host files, read-only (the differential driver's input): a relative name
 * is relative to the directory the harness runs the program in.
 * plat_file_open returns a handle (>= 0) or -1; plat_file_read reads up to
 * n bytes and returns how many (0 at the end of the file), or -1.
 */
int plat_file_open(const char *name);
int32_t plat_file_read(int handle, void *buf, uint32_t n);

/* Waits forever without spinning hard (the "hang" mode). */
__attribute__((noreturn)) void plat_hang(void);

/*
 * Bare-metal platforms only (common/baremetal.c builds the host files,
 * plat_hang, plat_regions and plat_ram_layout on it): one semihosting
 * call, with the platform's trap instruction.
 */
uint32_t plat_semihost(uint32_t op, const void *arg);

/* Memory the arena must not overlap, besides the program's own objects. */
struct plat_region {
    const char *name;
    uintptr_t from, to; /* [from, to) */
};

/* Fills up to max regions and returns how many there are. */
uint32_t plat_regions(struct plat_region *r, uint32_t max);

/*
 * Warm reset with RAM kept, where the platform has one.  plat_ram_layout
 * returns 0 if it has none; otherwise it describes RAM: the harness fills
 * all of it but .noinit and the live stack with garbage before calling
 * plat_reset, which resets the system (startup code runs again) and does
 * not return if it works.
 */
struct plat_ram {
    uintptr_t start, end;               /* all of RAM */
    uintptr_t noinit_start, noinit_end; /* survives the reset */
};
int plat_ram_layout(struct plat_ram *ram);
void plat_reset(void);

/*
 * Left by the startup code in .noinit (garbage at power-up): the first
 * word of .bss as the startup code found it before clearing .bss, and a
 * count of startups since the program last set it.
 */
extern uint32_t startup_bss_first_word_at_reset;
extern uint32_t startup_boot_count;

/* The program's entry point, called by the platform's startup code. */
int main(void);

/* The current stack pointer. */
static inline uintptr_t plat_sp(void)
{
    uintptr_t sp;
#if defined(__x86_64__)
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
#elif defined(__riscv)
    __asm__ volatile("mv %0, sp" : "=r"(sp));
#else /* Arm (A32, Thumb) and AArch64 */
    __asm__ volatile("mov %0, sp" : "=r"(sp));
#endif
    return sp;
}

/* Output helpers (print.c), built on plat_write. */
void out_write(const char *s);
/* s and a newline */
void out_puts(const char *s);
/* "0x" and exactly 8 lower-case hex digits */
void out_hex(uint32_t v);
/* decimal */
void out_dec(uint32_t v);
/* "label=0x........ " */
void out_kv(const char *label, uint32_t v);
/* "label=0x........ " with as many digits as a pointer has (8 or 16) */
void out_kvp(const char *label, uintptr_t v);

/* Freestanding memory primitives (mem.c). */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif

/*
 * Minimal ARM semihosting client for the Cortex-M test harness (QEMU
 * mps2-an385, microbit and mps2-an505, -semihosting-config
 * enable=on,target=native).
 *
 * Also declares the libc memory primitives that -ffreestanding code may
 * still be compiled into calls to (memcpy/memset/memcmp/memmove and the
 * __aeabi_mem* helpers that clang emits for ARM EABI targets); semihost.c
 * includes their definitions from common/mem.c.
 */
#ifndef ELFPATCH_TESTS_SEMIHOST_H
#define ELFPATCH_TESTS_SEMIHOST_H

#include <stddef.h>
#include <stdint.h>

/* Semihosting operation numbers (Arm "Semihosting for AArch32 and AArch64"). */
#define SH_SYS_WRITE0 0x04u
#define SH_SYS_GET_CMDLINE 0x15u
#define SH_SYS_EXIT 0x18u
#define SH_SYS_EXIT_EXTENDED 0x20u
#define SH_ADP_STOPPED_APPLICATION_EXIT 0x20026u

/* Raw semihosting call: BKPT 0xAB with r0 = op, r1 = arg. Returns r0. */
uint32_t sh_call(uint32_t op, const void *arg);

/* Writes a NUL-terminated string (SYS_WRITE0). */
void sh_write(const char *s);
/* Writes s and a newline. */
void sh_puts(const char *s);
/* Writes v as "0x" followed by exactly 8 lower-case hex digits. */
void sh_hex(uint32_t v);
/* Writes v in decimal. */
void sh_dec(uint32_t v);
/* Writes "label=0x........ " (label, '=', hex value, one space). */
void sh_kv(const char *label, uint32_t v);

/*
 * Ends the emulation with exactly this status (SYS_EXIT_EXTENDED with
 * ADP_Stopped_ApplicationExit and the status as subcode; QEMU's own
 * process exit status is then the low 8 bits of code).
 */
__attribute__((noreturn)) void sh_exit(uint32_t code);

/*
 * Reads the semihosting command line into buf (NUL-terminated).
 * Returns its length, or -1 if the host reported an error (for example
 * because it does not fit).  QEMU returns "KERNEL-FILE ARGS...", i.e. the
 * -kernel file name (as given on QEMU's command line) followed by the
 * -append words joined by single spaces.
 */
int sh_get_cmdline(char *buf, uint32_t size);

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif

/* Values the startup code leaves for the test program (see startup.c). */
#ifndef ELFPATCH_TESTS_STARTUP_H
#define ELFPATCH_TESTS_STARTUP_H

#include <stdint.h>

/*
 * Both live in .noinit, so they survive a warm reset and are garbage at
 * power-up: the first word of .bss as Reset_Handler found it before
 * clearing .bss, and a count of resets since the last time the program
 * cleared it.
 */
extern uint32_t startup_bss_first_word_at_reset;
extern uint32_t startup_boot_count;

#endif

/*
 * Cortex-M startup for the elfpatch test harness: Cortex-M3 (QEMU
 * mps2-an385), Cortex-M0 (ARMv6-M, QEMU microbit) and Cortex-M33 (ARMv8-M
 * Mainline, Secure state, QEMU mps2-an505).
 *
 * The vector table lives in .isr_vector (KEEP in the linker scripts so it
 * survives --gc-sections and pins everything reachable from it).
 * Reset_Handler copies .data from its load address, zeroes .bss, calls
 * main and exits through semihosting with main's return value.  Every
 * fault handler prints "HARDFAULT" (plus the fault status registers where
 * the core has them, and the stacked PC) and exits with status 3.
 */
#include <stdint.h>

#include "semihost.h"
#include "startup.h"

/* Linker-script symbols (mps2.ld / mps2-far.ld). */
extern uint32_t __StackTop[];
extern uint32_t __data_load__[];
extern uint32_t __data_start__[];
extern uint32_t __data_end__[];
extern uint32_t __bss_start__[];
extern uint32_t __bss_end__[];

int main(void);

void Reset_Handler(void);
void NMI_Handler(void);
void HardFault_Handler(void);
void MemManage_Handler(void);
void BusFault_Handler(void);
void UsageFault_Handler(void);
void SVC_Handler(void);
void DebugMon_Handler(void);
void PendSV_Handler(void);
void SysTick_Handler(void);
#if defined(__ARM_ARCH_8M_MAIN__)
void SecureFault_Handler(void);
#endif

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used)) const vector_t startup_vectors[16] = {
    (vector_t)(uintptr_t)__StackTop, /* initial MSP */
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    MemManage_Handler,
    BusFault_Handler,
    UsageFault_Handler,
#if defined(__ARM_ARCH_8M_MAIN__)
    SecureFault_Handler,
#else
    0,
#endif
    0,
    0,
    0,
    SVC_Handler,
    DebugMon_Handler,
    0,
    PendSV_Handler,
    SysTick_Handler,
};

/* See startup.h. */
__attribute__((section(".noinit"))) uint32_t startup_bss_first_word_at_reset;
__attribute__((section(".noinit"))) uint32_t startup_boot_count;

void Reset_Handler(void)
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
    sh_exit((uint32_t)main());
}

/* Prints the fault and exits with status 3; frame is the stacked context. */
__attribute__((used, noreturn)) void startup_fault_report(const uint32_t *frame, uint32_t exc_return)
{
    volatile const uint32_t *scb = (volatile const uint32_t *)0xE000ED00u;
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    sh_write("HARDFAULT ");
    sh_kv("exception", ipsr & 0x1ffu);
#if defined(__ARM_ARCH_6M__)
    (void)scb; /* ARMv6-M has no configurable fault status registers */
#else
    sh_kv("cfsr", scb[0x28 / 4]);
    sh_kv("hfsr", scb[0x2c / 4]);
    sh_kv("mmfar", scb[0x34 / 4]);
    sh_kv("bfar", scb[0x38 / 4]);
#endif
    sh_kv("exc_return", exc_return);
    sh_kv("lr", frame[5]);
    sh_kv("pc", frame[6]);
    sh_write("\n");
    sh_exit(3);
}

#if defined(__ARM_ARCH_6M__)
/* ARMv6-M: no IT blocks and no B.W; the other handlers are aliases. */
__attribute__((naked)) void HardFault_Handler(void)
{
    __asm__ volatile(
        "movs r0, #4\n\t"
        "mov r1, lr\n\t"
        "tst r0, r1\n\t"
        "bne 1f\n\t"
        "mrs r0, msp\n\t"
        "b 2f\n"
        "1:\n\t"
        "mrs r0, psp\n"
        "2:\n\t"
        "bl startup_fault_report\n\t");
}

#define STARTUP_LIKE_HARDFAULT(name) void name(void) __attribute__((alias("HardFault_Handler")));
STARTUP_LIKE_HARDFAULT(NMI_Handler)
STARTUP_LIKE_HARDFAULT(MemManage_Handler)
STARTUP_LIKE_HARDFAULT(BusFault_Handler)
STARTUP_LIKE_HARDFAULT(UsageFault_Handler)
STARTUP_LIKE_HARDFAULT(SVC_Handler)
STARTUP_LIKE_HARDFAULT(DebugMon_Handler)
STARTUP_LIKE_HARDFAULT(PendSV_Handler)
STARTUP_LIKE_HARDFAULT(SysTick_Handler)
#else
__attribute__((naked)) void HardFault_Handler(void)
{
    __asm__ volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "mov r1, lr\n\t"
        "b.w startup_fault_report\n\t");
}

/* The other faults (and NMI, and any unexpected exception) report alike. */
__attribute__((naked)) void NMI_Handler(void) { __asm__ volatile("b.w HardFault_Handler"); }
__attribute__((naked)) void MemManage_Handler(void) { __asm__ volatile("b.w HardFault_Handler"); }
__attribute__((naked)) void BusFault_Handler(void) { __asm__ volatile("b.w HardFault_Handler"); }
__attribute__((naked)) void UsageFault_Handler(void) { __asm__ volatile("b.w HardFault_Handler"); }
__attribute__((naked)) void SVC_Handler(void) { __asm__ volatile("b.w HardFault_Handler"); }
__attribute__((naked)) void DebugMon_Handler(void) { __asm__ volatile("b.w HardFault_Handler"); }
__attribute__((naked)) void PendSV_Handler(void) { __asm__ volatile("b.w HardFault_Handler"); }
__attribute__((naked)) void SysTick_Handler(void) { __asm__ volatile("b.w HardFault_Handler"); }
#if defined(__ARM_ARCH_8M_MAIN__)
__attribute__((naked)) void SecureFault_Handler(void) { __asm__ volatile("b.w HardFault_Handler"); }
#endif
#endif

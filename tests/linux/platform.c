/*
 * Linux user-mode platform layer of the contract program (see
 * common/platform.h): r5 (A32, qemu-arm -cpu cortex-r5), aarch64
 * (qemu-aarch64) and x86_64 (native).  Static, no libc: raw system calls.
 *
 *   output     write(1, ...)
 *   files      openat(AT_FDCWD, name, O_RDONLY) and read (the differential
 *              driver's input)
 *   exit       exit_group(status)
 *   arguments  argv from the initial stack, joined with spaces (argv[0]
 *              first, as QEMU's semihosting command line has the kernel
 *              file name first)
 *   traps      SIGILL, SIGSEGV, SIGBUS, SIGTRAP and SIGFPE handlers
 *              (rt_sigaction, SA_SIGINFO) print "TRAP ..." with the signal,
 *              its si_code and si_addr and the interrupted pc, and exit 3
 *   regions    the file-backed part of every PT_LOAD segment (from the
 *              auxiliary vector's AT_PHDR/AT_PHNUM), so that it works with
 *              the linkers' default scripts too, and the initial stack
 *   reset      none: the reset mode reports UNSUPPORTED
 *
 * The loader maps .data and zeroes .bss; there is no startup copy.
 */
#include "../common/platform.h"

#if defined(__arm__)
#define SYS_read 3
#define SYS_openat 322
#define SYS_write 4
#define SYS_exit_group 248
#define SYS_rt_sigaction 174
#define SYS_nanosleep 162
#elif defined(__aarch64__)
#define SYS_read 63
#define SYS_openat 56
#define SYS_write 64
#define SYS_exit_group 94
#define SYS_rt_sigaction 134
#define SYS_nanosleep 101
#elif defined(__x86_64__)
#define SYS_read 0
#define SYS_openat 257
#define SYS_write 1
#define SYS_exit_group 231
#define SYS_rt_sigaction 13
#define SYS_nanosleep 35
#else
#error "no Linux system calls for this architecture"
#endif

static long linux_syscall(long n, long a, long b, long c, long d)
{
#if defined(__arm__)
    register long r0 __asm__("r0") = a;
    register long r1 __asm__("r1") = b;
    register long r2 __asm__("r2") = c;
    register long r3 __asm__("r3") = d;
    register long r7 __asm__("r7") = n;
    __asm__ volatile("svc #0" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r3), "r"(r7) : "memory");
    return r0;
#elif defined(__aarch64__)
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x8 __asm__("x8") = n;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x3), "r"(x8) : "memory");
    return x0;
#elif defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
#endif
}

/* See platform.h; never set here (there is no reset). */
uint32_t startup_bss_first_word_at_reset;
uint32_t startup_boot_count;

static int linux_argc;
static const char *const *linux_argv;
static uintptr_t linux_initial_sp;
static const void *linux_phdr;
static uintptr_t linux_phnum, linux_phent;

void plat_write(const char *s)
{
    size_t n = 0;
    while (s[n]) {
        n++;
    }
    while (n > 0) {
        long w = linux_syscall(SYS_write, 1, (long)(uintptr_t)s, (long)n, 0);
        if (w <= 0) {
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

void plat_exit(uint32_t code)
{
    for (;;) {
        linux_syscall(SYS_exit_group, (long)code, 0, 0, 0);
    }
}

int plat_cmdline(char *buf, uint32_t size)
{
    uint32_t n = 0;
    if (size == 0 || linux_argv == 0) {
        return -1;
    }
    for (int i = 0; i < linux_argc; i++) {
        const char *a = linux_argv[i];
        if (i > 0) {
            if (n + 1 >= size) {
                return -1;
            }
            buf[n++] = ' ';
        }
        for (; *a; a++) {
            if (n + 1 >= size) {
                return -1;
            }
            buf[n++] = *a;
        }
    }
    buf[n] = 0;
    return (int)n;
}

#define AT_FDCWD (-100)
#define O_RDONLY 0

int plat_file_open(const char *name)
{
    long fd = linux_syscall(SYS_openat, AT_FDCWD, (long)(uintptr_t)name, O_RDONLY, 0);
    return fd < 0 ? -1 : (int)fd;
}

int32_t plat_file_read(int handle, void *buf, uint32_t n)
{
    long r = linux_syscall(SYS_read, handle, (long)(uintptr_t)buf, (long)n, 0);
    return r < 0 ? -1 : (int32_t)r;
}

void plat_hang(void)
{
    static const long one_second[2] = {1, 0};
    for (;;) {
        linux_syscall(SYS_nanosleep, (long)(uintptr_t)one_second, 0, 0, 0);
    }
}

#if UINTPTR_MAX > 0xffffffffu
struct linux_phdr {
    uint32_t p_type, p_flags;
    uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};
#else
struct linux_phdr {
    uint32_t p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align;
};
#endif
#define PT_LOAD 1

uint32_t plat_regions(struct plat_region *r, uint32_t max)
{
    uint32_t n = 0;
    if (n < max) {
        /* The stack the kernel set up, and room below it for ours. */
        r[n].name = "stack";
        r[n].from = linux_initial_sp - (1u << 20);
        r[n].to = linux_initial_sp + (1u << 16);
        n++;
    }
    if (linux_phdr != 0 && linux_phent == sizeof(struct linux_phdr)) {
        const struct linux_phdr *ph = linux_phdr;
        for (uintptr_t i = 0; i < linux_phnum && n < max; i++) {
            if (ph[i].p_type == PT_LOAD && ph[i].p_filesz != 0) {
                r[n].name = "loaded segment";
                r[n].from = (uintptr_t)ph[i].p_vaddr;
                r[n].to = (uintptr_t)(ph[i].p_vaddr + ph[i].p_filesz);
                n++;
            }
        }
    }
    return n;
}

int plat_ram_layout(struct plat_ram *ram)
{
    (void)ram;
    return 0;
}

void plat_reset(void)
{
}

/* ---------------------------------------------------------------- traps */

#define SIGILL 4
#define SIGTRAP 5
#define SIGBUS 7
#define SIGFPE 8
#define SIGSEGV 11
#define SA_SIGINFO 0x4u
#define SA_RESTORER 0x04000000u

struct linux_sigaction {
    void (*handler)(int, void *, void *);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};

void linux_sigreturn(void);

/* The interrupted pc in the signal's ucontext_t. */
static uintptr_t trap_pc(const void *uc)
{
#if defined(__arm__)
    /* uc_flags, uc_link, uc_stack (12), then sigcontext: trap_no, error_code, oldmask, r0-r10, fp, ip, sp, lr, pc */
    return *(const uint32_t *)(const void *)((const char *)uc + 20 + 18 * 4);
#elif defined(__aarch64__)
    /* uc_flags, uc_link, uc_stack (24), uc_sigmask (8 + 120), then sigcontext at 176: fault_address, regs[31], sp, pc */
    return *(const uint64_t *)(const void *)((const char *)uc + 176 + 8 + 31 * 8 + 8);
#elif defined(__x86_64__)
    /* uc_flags, uc_link, uc_stack (24), then gregs[23]; REG_RIP is 16 */
    return *(const uint64_t *)(const void *)((const char *)uc + 40 + 16 * 8);
#endif
}

static void on_trap(int sig, void *info, void *uc)
{
    /* siginfo: si_signo, si_errno, si_code, then (pointer-aligned) si_addr */
    const int *si = info;
    uintptr_t addr = *(const uintptr_t *)(const void *)((const char *)info + (sizeof(void *) == 8 ? 16 : 12));
    const char *name = sig == SIGILL    ? "SIGILL"
                       : sig == SIGTRAP ? "SIGTRAP"
                       : sig == SIGBUS  ? "SIGBUS"
                       : sig == SIGFPE  ? "SIGFPE"
                       : sig == SIGSEGV ? "SIGSEGV"
                                        : "signal";
    out_write("TRAP ");
    out_write(name);
    out_write(" ");
    out_kv("signal", (uint32_t)sig);
    out_kv("code", (uint32_t)si[2]);
    out_kvp("addr", addr);
    out_kvp("pc", trap_pc(uc));
    out_write("\n");
    plat_exit(3);
}

static void install_trap_handlers(void)
{
    static const int sigs[] = {SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV};
    struct linux_sigaction sa;
    sa.handler = on_trap;
    sa.flags = SA_SIGINFO | SA_RESTORER;
    sa.restorer = linux_sigreturn;
    sa.mask = 0;
    for (uint32_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        if (linux_syscall(SYS_rt_sigaction, sigs[i], (long)(uintptr_t)&sa, 0, sizeof sa.mask) != 0) {
            out_puts("FAIL rt_sigaction");
            plat_exit(1);
        }
    }
}

/* ---------------------------------------------------------------- entry */

#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5

__attribute__((noreturn, used)) void linux_start(uintptr_t *sp);

void linux_start(uintptr_t *sp)
{
    linux_initial_sp = (uintptr_t)sp;
    linux_argc = (int)sp[0];
    linux_argv = (const char *const *)(sp + 1);
    const uintptr_t *p = sp + 1 + linux_argc + 1; /* envp */
    while (*p != 0) {
        p++;
    }
    for (p++; p[0] != AT_NULL; p += 2) {
        switch (p[0]) {
        case AT_PHDR: linux_phdr = (const void *)p[1]; break;
        case AT_PHENT: linux_phent = p[1]; break;
        case AT_PHNUM: linux_phnum = p[1]; break;
        }
    }
    install_trap_handlers();
    plat_exit((uint32_t)main());
}

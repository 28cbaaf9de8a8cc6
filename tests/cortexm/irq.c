/*
 * Interrupt-safety test program for the M-profile allocator (Cortex-M3,
 * Cortex-M0, Cortex-M33 under QEMU with -icount; see irq_test.go): an
 * interrupt handler that allocates must never tear the bump (load the
 * cursor, compute, store the cursor) of the code it interrupted.
 *
 * The main loop allocates blocks (sizes 1..32, alignments 1..16, and now
 * and then a grow of its most recent block) through the import
 *
 *   void *__cabi_arena_realloc(void *old, uint32_t old_len,
 *                              uint32_t align, uint32_t new_len);
 *
 * which it never defines: elfpatch binds it.  Before every call it arms
 * SysTick to fire once, a few ticks later; the SysTick handler allocates
 * too, through the kebab spelling ("cabi-arena-realloc": both spellings
 * must reach the same bump), and grows its own most recent block now and
 * then.  The delay walks 1..span ticks, span being what arming, the call
 * and its return take (measured on a first call), and a busy-loop before
 * the call walks 0..IRQ_PADS rounds, while the requests vary: the
 * interrupt lands at every instruction of the call in turn.
 *
 * Every block's bytes carry a pattern of its owner and id.  Both sides
 * record every block handed out (start, length, alignment, and whether
 * it is still live: a moved grow leaves the old block behind, dead).
 * After every interleaving, with SysTick quiet, main checks the two bumps
 * of the arena it saw (main's block and the handler's, or what a grow in
 * place added): both lie at or above the cursor as it was before ("FAIL
 * stale"), they do not overlap ("FAIL overlap: main's block and the
 * handler's"), and the cursor is where the higher one ends ("FAIL lost
 * allocation" when it lies below, "FAIL cursor" otherwise).  A round ends
 * before the arena could run out; then
 *
 *   - all blocks of the round, sorted by address, tile the arena from its
 *     start: none overlaps the one below ("FAIL overlap: a block ..."),
 *     none starts past the end of the one below aligned up ("FAIL gap"),
 *     and the cursor (__elfpatch_state, documented: the offset of the
 *     first free byte) is where the last one ends: the sum of what was
 *     handed out and its alignment padding;
 *   - every live block still carries its pattern ("FAIL tag"), and a grown
 *     block started with the old block's bytes ("FAIL prefix", checked at
 *     once);
 *
 * and the program empties the arena (__elfpatch_state = 0) for the next.
 *
 * The handler reads the interrupted PC from its exception frame and
 * classifies it against the bump's window (lo, hi], found in the
 * allocator's code:
 *
 *   Thumb-2  lo = the LDREX, hi = the STREX.  A PC in the window ("window"
 *            hit) means the LDREX ran and the STREX did not: since the
 *            handler has allocated meanwhile, the STREX must fail and the
 *            bump be retried, so main's block lies above the handler's
 *            ("retried"; "torn" otherwise).  "covered=HIT/ALL" counts the
 *            window's instruction boundaries that interrupts landed at.
 *   Thumb-1  lo = the CPSID I, hi = the MSR PRIMASK that unmasks: no
 *            interrupt may land in the masked part ("window" stays 0), and
 *            one that came due there is taken right after the MSR
 *            ("held": the interrupted PC is the MSR's successor).
 *
 * Built with -DIRQ_WINDOW_SYMBOLS the window is the symbols irq_window_lo
 * (the load of the cursor) and irq_window_hi (its store) instead, which
 * irq_test.go's deliberately non-atomic control allocator defines.
 *
 * Modes (the first word of the command line that is one):
 *
 *   irq N [v]  N interleavings -> "PASS irq iterations=N rounds=... window=
 *              ... covered=... retried=... torn=0 held=...", 0; with v it
 *              also prints where in the allocator interrupts landed
 *   monitor    Thumb-2: what an exception between LDREX and STREX does to
 *              the STREX -> "monitor no-irq=S idle-irq=S exclusive-irq=S
 *              relock-irq=S", S the STREX status (0 stored, 1 failed); see
 *              mode_monitor
 *
 * It links with the Cortex-M platform layer (startup.c, semihost.c,
 * platform.c), irq.o first: its vector table, startup.c's with its own
 * SysTick handler, must be the one at the start of FLASH.  Exit status as
 * in platform.h: 0 pass, 1 "FAIL ...", 2 "UNSUPPORTED ...", 3 a fault.
 */
#include <stdint.h>

#include "platform.h"

/* The import, snake spelling (main) and kebab spelling (the handler). */
void *__cabi_arena_realloc(void *old, uint32_t old_len, uint32_t align, uint32_t new_len);
#ifdef __clang__
#define IRQ_KEBAB_NAME "cabi-arena-realloc"
#else
#define IRQ_KEBAB_NAME "\"cabi-arena-realloc\""
#endif
void *irq_kebab_realloc(void *old, uint32_t old_len, uint32_t align, uint32_t new_len) __asm__(IRQ_KEBAB_NAME);

/* elfpatch's documented region symbols. */
extern uint8_t __elfpatch_arena_start[], __elfpatch_arena_end[];
extern volatile uint32_t __elfpatch_state;

#ifdef IRQ_WINDOW_SYMBOLS
extern const uint8_t irq_window_lo[], irq_window_hi[];
#endif

/* SysTick (ARMv6-M and ARMv7-M alike). */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_ENABLE 1u
#define SYST_TICKINT 2u
#define SYST_CLKSOURCE 4u /* the processor clock */
#define ICSR (*(volatile uint32_t *)0xE000ED04u)
#define ICSR_PENDSTCLR (1u << 25)

/* Busy-loop rounds before the call, walked through with the delays. */
#define IRQ_PADS 3u

#define MAX_RECS 96u   /* blocks per side and round */
#define MAX_LEN 96u    /* no block grows beyond this */
#define HEADROOM 256u  /* a round ends with less than this left */
#define MAX_BOUNDS 32u /* instruction boundaries in the window */

struct rec {
    uint32_t start, len, align;
    uint16_t id;
    uint8_t live;
};

/* main's blocks, and the handler's: each side writes only its own. */
static struct rec mrec[MAX_RECS];
static uint32_t nm;
static volatile struct rec irec[MAX_RECS];
static volatile uint32_t ni;
/* Block ids, per round: main's from 0, the handler's from IRQ_IDS. */
#define IRQ_IDS 0x8000u
static uint32_t main_ids, irq_ids = IRQ_IDS;

/* Left by the handler for main. */
static volatile uint32_t irq_count;      /* handler runs */
static volatile uint32_t irq_hit;        /* the last run landed in the window */
static volatile uint32_t irq_lo, irq_hi; /* what it took from the arena */

/* Statistics. */
static uint32_t retried, torn, rounds, blocks_total;
static volatile uint32_t win_hits, held_hits;
static uint32_t arena_lo, arena_hi;

/* The window (lo, hi], its instruction boundaries, and the PC right after an MSR PRIMASK window. */
static uint32_t win_lo, win_hi, held_pc;
static uint32_t bounds[MAX_BOUNDS];
static volatile uint32_t bound_hits[MAX_BOUNDS];
static uint32_t nbounds;

/* Where interrupts landed in the allocator, per halfword (verbose mode). */
#define HIST 160u
static volatile uint32_t hist[HIST];
static uint32_t alloc_lo;

/* 0: the allocation test; 1..3: what the handler does in mode_monitor. */
static volatile uint32_t irq_mode;
#if !defined(__ARM_ARCH_6M__)
static volatile uint32_t monitor_word;
#endif

/* Set by the first step: the SysTick count when the allocator returned. */
static uint32_t calibrating, t_returned;

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static int parse_u32(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    if (!s || !*s) {
        return 0;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 100000000u) {
            return 0;
        }
        v = v * 10u + (uint32_t)(*s - '0');
    }
    *out = v;
    return 1;
}

static void stats(void)
{
    out_write("iterations=");
    out_dec(irq_count);
    out_write(" rounds=");
    out_dec(rounds);
    out_write(" blocks=");
    out_dec(blocks_total);
    out_write(" window=");
    out_dec(win_hits);
    out_write(" covered=");
    uint32_t c = 0;
    for (uint32_t i = 0; i < nbounds; i++) {
        c += bound_hits[i] != 0;
    }
    out_dec(c);
    out_write("/");
    out_dec(nbounds);
    out_write(" retried=");
    out_dec(retried);
    out_write(" torn=");
    out_dec(torn);
    out_write(" held=");
    out_dec(held_hits);
}

static __attribute__((noreturn)) void fail(const char *what, uint32_t a, uint32_t b)
{
    SYST_CSR = 0;
    out_write("FAIL ");
    out_write(what);
    out_write(" ");
    out_kv("a", a);
    out_kv("b", b);
    stats();
    out_write("\n");
    plat_exit(1);
}

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* A block's bytes; the handler's differ from main's in bit 7. */
static uint8_t pattern(uint32_t id, uint32_t off)
{
    return (uint8_t)((id * 37u) ^ (off * 11u) ^ ((id >> 8) * 0x6du) ^ 0x5au);
}

static uint32_t align_up(uint32_t v, uint32_t a)
{
    return (v + a - 1u) & ~(a - 1u);
}

static const uint8_t aligns[8] = {1, 2, 4, 8, 16, 4, 8, 1};

/*
 * One request of one side: a fresh block, or a grow of the side's most
 * recent live block.  Checks the result's alignment, bounds and the grown
 * block's prefix, tags the new bytes and records the block.  [*lo, *hi)
 * is what the request took from the arena: the block, or what a grow in
 * place added to it.
 */
static void side_alloc(volatile struct rec *recs, volatile uint32_t *n, uint32_t *ids, uint32_t *rng, int kebab,
                       uint32_t *lo, uint32_t *hi)
{
    uint32_t r = xorshift(rng);
    uint32_t k = *n;
    volatile struct rec *last = k ? &recs[k - 1] : 0;
    uint32_t old = 0, old_len = 0, align, len, id;
    if (last && last->live && (r & 3u) == 0 && last->len + 16u <= MAX_LEN) {
        old = last->start;
        old_len = last->len;
        align = last->align;
        len = old_len + 1u + ((r >> 2) & 15u);
        id = last->id;
    } else {
        align = aligns[(r >> 2) & 7u];
        len = 1u + ((r >> 5) & 31u);
        id = (*ids)++;
        last = 0;
    }
    void *res = kebab ? irq_kebab_realloc((void *)(uintptr_t)old, old_len, align, len)
                      : __cabi_arena_realloc((void *)(uintptr_t)old, old_len, align, len);
    if (calibrating) {
        t_returned = SYST_CVR;
    }
    uint32_t p = (uint32_t)(uintptr_t)res;
    if ((p & (align - 1u)) != 0) {
        fail("misaligned block", p, align);
    }
    if (p < arena_lo || p > arena_hi || len > arena_hi - p) {
        fail("block outside the arena", p, len);
    }
    volatile uint8_t *b = (volatile uint8_t *)(uintptr_t)p;
    for (uint32_t i = 0; i < old_len; i++) {
        if (b[i] != pattern(id, i)) {
            fail("prefix of a grown block", p + i, b[i]);
        }
    }
    for (uint32_t i = old_len; i < len; i++) {
        b[i] = pattern(id, i);
    }
    *lo = p;
    *hi = p + len;
    if (last && p == old) {
        last->len = len; /* in place */
        *lo = p + old_len;
    } else {
        if (last) {
            last->live = 0; /* moved: the old block stays behind, dead */
        }
        if (k >= MAX_RECS) {
            fail("too many blocks in a round", k, MAX_RECS);
        }
        recs[k].start = p;
        recs[k].len = len;
        recs[k].align = align;
        recs[k].id = (uint16_t)id;
        recs[k].live = 1;
        *n = k + 1u;
    }
}

static uint32_t irq_rng = 0x9e3779b9u;

/* The SysTick handler proper; frame is the stacked context (r0-r3, r12, lr, pc, xpsr). */
__attribute__((used)) void irq_systick(const uint32_t *frame)
{
    SYST_CSR = 0; /* once per arming: stop, and forget a second expiry */
    ICSR = ICSR_PENDSTCLR;
    uint32_t pc = frame[6];
    if (irq_mode != 0) { /* mode_monitor */
#if !defined(__ARM_ARCH_6M__)
        static volatile uint32_t other;
        uint32_t v, st;
        if (irq_mode == 2) {
            __asm__ volatile("ldrex %0, [%1]" : "=r"(v) : "r"(&other) : "memory");
            __asm__ volatile("strex %0, %2, [%1]" : "=&r"(st) : "r"(&other), "r"(v + 1u) : "memory");
            (void)st;
        }
        if (irq_mode == 3) {
            __asm__ volatile("ldrex %0, [%1]" : "=r"(v) : "r"(&monitor_word) : "memory");
        }
#endif
        irq_count++;
        return;
    }
    int in = pc > win_lo && pc <= win_hi;
    if (in) {
        win_hits++;
        for (uint32_t i = 0; i < nbounds; i++) {
            if (bounds[i] == pc) {
                bound_hits[i]++;
            }
        }
    }
    if (pc == held_pc) {
        held_hits++;
    }
    if (pc >= alloc_lo && pc < alloc_lo + 2u * HIST) {
        hist[(pc - alloc_lo) >> 1]++;
    }
    uint32_t lo, hi;
    side_alloc(irec, &ni, &irq_ids, &irq_rng, 1, &lo, &hi);
    irq_lo = lo;
    irq_hi = hi;
    irq_hit = (uint32_t)in;
    irq_count++;
}

/* The SysTick vector: irq_systick with the exception frame (main runs on MSP, and so does the handler). */
__attribute__((naked)) void irq_systick_handler(void)
{
    __asm__ volatile("mov r0, sp\n\t"
                     "push {r0, lr}\n\t"
                     "bl irq_systick\n\t"
                     "pop {r0, pc}\n\t");
}

/*
 * The program's vector table: startup.c's, but for SysTick.  Linked
 * before startup.o (irq_test.go puts irq.o first), this .isr_vector is the
 * one the linker scripts place at the start of FLASH, where the core reads
 * its vectors; startup.c's own table follows it, unused.
 */
extern uint32_t __StackTop[];
void Reset_Handler(void);
void NMI_Handler(void);
void HardFault_Handler(void);
void MemManage_Handler(void);
void BusFault_Handler(void);
void UsageFault_Handler(void);
void SVC_Handler(void);
void DebugMon_Handler(void);
void PendSV_Handler(void);
void SecureFault_Handler(void);

__attribute__((section(".isr_vector"), used)) void (*const irq_vectors[16])(void) = {
    (void (*)(void))(uintptr_t)__StackTop,
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
    irq_systick_handler,
};

/* Size of the Thumb instruction whose first halfword is hw. */
static uint32_t insn_size(uint16_t hw)
{
    return (hw >> 11) >= 0x1du ? 4u : 2u;
}

/* Finds the window in the allocator's code (or takes it from the symbols). */
static void find_window(void)
{
    alloc_lo = (uint32_t)(uintptr_t)&__cabi_arena_realloc & ~1u;
#ifdef IRQ_WINDOW_SYMBOLS
    win_lo = (uint32_t)(uintptr_t)irq_window_lo & ~1u;
    win_hi = (uint32_t)(uintptr_t)irq_window_hi & ~1u;
#else
    const volatile uint16_t *code = (const volatile uint16_t *)(uintptr_t)alloc_lo;
    for (uint32_t k = 0; k < 2u * HIST && win_hi == 0;) {
        uint16_t hw = code[k];
        uint32_t a = alloc_lo + 2u * k;
#if defined(__ARM_ARCH_6M__)
        if (hw == 0xb672u) { /* cpsid i */
            win_lo = a;
        }
        if (win_lo && (hw & 0xfff0u) == 0xf380u && code[k + 1] == 0x8810u) { /* msr primask, rN */
            win_hi = a;
        }
#else
        if ((hw & 0xfff0u) == 0xe850u) { /* ldrex */
            win_lo = a;
        }
        if (win_lo && (hw & 0xfff0u) == 0xe840u) { /* strex */
            win_hi = a;
        }
#endif
        k += insn_size(hw) / 2u;
    }
    if (win_hi == 0) {
        fail("no bump window found in the allocator", alloc_lo, win_lo);
    }
#if defined(__ARM_ARCH_6M__)
    held_pc = win_hi + 4u; /* after the MSR */
#endif
#endif
    /* The PCs an interrupt can find in (lo, hi]: every instruction's successor. */
    const volatile uint16_t *lo = (const volatile uint16_t *)(uintptr_t)win_lo;
    uint32_t a = win_lo;
    while (a < win_hi) {
        a += insn_size(lo[(a - win_lo) / 2u]);
        if (nbounds == MAX_BOUNDS) {
            fail("bump window too long", win_lo, win_hi);
        }
        bounds[nbounds++] = a;
    }
}

/* Arms SysTick to fire once, delay ticks from now. */
static void arm_systick(uint32_t delay)
{
    SYST_CSR = 0;
    SYST_RVR = delay;
    SYST_CVR = 0;
    SYST_CSR = SYST_ENABLE | SYST_TICKINT | SYST_CLKSOURCE;
}

static uint8_t order[2u * MAX_RECS];

static volatile struct rec *rec_at(uint32_t i)
{
    return i < MAX_RECS ? (volatile struct rec *)&mrec[i] : &irec[i - MAX_RECS];
}

/* The end-of-round checks (SysTick stopped), then an empty arena. */
static void end_round(void)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < nm; i++) {
        order[n++] = (uint8_t)i;
    }
    for (uint32_t i = 0; i < ni; i++) {
        order[n++] = (uint8_t)(MAX_RECS + i);
    }
    for (uint32_t i = 1; i < n; i++) { /* by address */
        uint8_t x = order[i];
        uint32_t s = rec_at(x)->start;
        uint32_t j = i;
        for (; j > 0 && rec_at(order[j - 1])->start > s; j--) {
            order[j] = order[j - 1];
        }
        order[j] = x;
    }
    uint32_t next = arena_lo;
    for (uint32_t i = 0; i < n; i++) {
        volatile struct rec *r = rec_at(order[i]);
        if (r->start < next) {
            fail("overlap: a block starts before the one below it ends", r->start, next);
        }
        if (r->start != align_up(next, r->align)) {
            fail("gap: a block starts past the aligned end of the one below it", r->start, next);
        }
        next = r->start + r->len;
    }
    uint32_t cursor = arena_lo + __elfpatch_state;
    if (cursor < next) {
        fail("lost allocation: a block handed out lies beyond the cursor", cursor, next);
    }
    if (cursor != next) {
        fail("cursor: not where the last block handed out ends", cursor, next);
    }
    for (uint32_t i = 0; i < n; i++) {
        volatile struct rec *r = rec_at(order[i]);
        const volatile uint8_t *b = (const volatile uint8_t *)(uintptr_t)r->start;
        for (uint32_t k = 0; r->live && k < r->len; k++) {
            if (b[k] != pattern(r->id, k)) {
                fail("tag: a live block's bytes changed", r->start + k, b[k]);
            }
        }
    }
    blocks_total += n;
    rounds++;
    nm = 0;
    ni = 0;
    main_ids = 0;
    irq_ids = IRQ_IDS;
    __elfpatch_state = 0;
    __asm__ volatile("" ::: "memory");
}

static int mode_irq(uint32_t iterations, int verbose)
{
    arena_lo = (uint32_t)(uintptr_t)__elfpatch_arena_start;
    arena_hi = (uint32_t)(uintptr_t)__elfpatch_arena_end;
    if (arena_hi - arena_lo < 4u * HEADROOM) {
        fail("arena too small", arena_lo, arena_hi);
    }
    uintptr_t vectors = (uintptr_t)irq_vectors;
    __asm__("" : "+r"(vectors)); /* an object's address may well be 0 here */
#if defined(__ARM_ARCH_6M__)
    uintptr_t active = 0; /* no VTOR: the vectors are read at address 0 */
#else
    uintptr_t active = *(volatile uint32_t *)0xE000ED08u; /* VTOR */
#endif
    if (vectors != active) {
        fail("irq.c's vector table is not the active one (link irq.o first)", vectors, active);
    }
    find_window();
    out_write("irq ");
    out_kv("allocator", alloc_lo);
    out_kv("window_lo", win_lo);
    out_kv("window_hi", win_hi);
    __elfpatch_state = 0;
    uint32_t rng = 0x2545f491u, delay = 0, pad = 0, lo, hi;

    /*
     * The delays walk 1..span: span is how many SysTick ticks a step of
     * the main loop takes from arming to the allocator's return, measured
     * on a first step without the interrupt.
     */
    SYST_CSR = 0;
    SYST_RVR = 0xffffffu;
    SYST_CVR = 0;
    SYST_CSR = SYST_ENABLE | SYST_CLKSOURCE;
    while (SYST_CVR == 0) {
    }
    uint32_t t0 = SYST_CVR;
    calibrating = 1;
    side_alloc(mrec, &nm, &main_ids, &rng, 0, &lo, &hi);
    calibrating = 0;
    uint32_t span = t0 - t_returned;
    SYST_CSR = 0;
    out_write("span=");
    out_dec(span);
    out_write("\n");
    if (span < 2u || span > 100000u) {
        fail("SysTick span of one step", span, 0);
    }
    for (uint32_t it = 0; it < iterations; it++) {
        if (arena_lo + __elfpatch_state > arena_hi - HEADROOM || nm >= MAX_RECS - 1u || ni >= MAX_RECS - 1u) {
            end_round();
        }
        if (++delay > span) {
            delay = 1;
            if (++pad > IRQ_PADS) {
                pad = 0;
            }
        }
        uint32_t seen = irq_count, top = arena_lo + __elfpatch_state;
        arm_systick(delay);
        for (uint32_t k = pad; k != 0; k--) {
            __asm__ volatile("");
        }
        side_alloc(mrec, &nm, &main_ids, &rng, 0, &lo, &hi);
        while (irq_count == seen) {
        }
        /*
         * Two bumps since top: main's took [lo, hi), the handler's
         * [irq_lo, irq_hi).  Both lie above top, apart, and the cursor is
         * where the higher one ends.
         */
        uint32_t ilo = irq_lo, ihi = irq_hi, cursor = arena_lo + __elfpatch_state;
        if (irq_hit) {
            if (lo >= ihi) {
                retried++; /* main's bump came after the handler's */
            } else {
                torn++;
            }
        }
        if (lo < top || ilo < top) {
            fail("stale: a block below the cursor as it was before the step", lo < top ? lo : ilo, top);
        }
        if (lo < ihi && ilo < hi) {
            fail("overlap: main's block and the handler's", lo, ilo);
        }
        uint32_t max = hi > ihi ? hi : ihi;
        if (cursor < max) {
            fail("lost allocation: a block handed out lies beyond the cursor", cursor, max);
        }
        if (cursor != max) {
            fail("cursor: not where the last block handed out ends", cursor, max);
        }
    }
    SYST_CSR = 0;
    end_round();
    if (verbose) {
        for (uint32_t i = 0; i < HIST; i++) {
            if (hist[i]) {
                out_write("landed +");
                out_dec(2u * i);
                out_write(" ");
                out_dec(hist[i]);
                if (alloc_lo + 2u * i > win_lo && alloc_lo + 2u * i <= win_hi) {
                    out_write(" window");
                }
                out_write("\n");
            }
        }
    }
    out_write("PASS irq ");
    stats();
    out_write("\n");
    return 0;
}

/*
 * What an exception between LDREX and STREX does to the STREX, with a
 * handler that: 1 touches nothing; 2 makes an exclusive access of its own
 * (LDREX/STREX of another word); 3 leaves an LDREX of the same word open.
 * 0 is the same pair without an exception.  Case 3 tells whether the
 * exception return clears the monitor (the handler's LDREX set it again).
 */
static int mode_monitor(void)
{
#if defined(__ARM_ARCH_6M__)
    out_puts("UNSUPPORTED monitor: ARMv6-M has no LDREX/STREX");
    return 2;
#else
    static const char *const names[4] = {"no-irq", "idle-irq", "exclusive-irq", "relock-irq"};
    for (uint32_t c = 0; c < 4u; c++) {
        uint32_t seen = irq_count, v, st;
        irq_mode = c;
        if (c != 0) {
            arm_systick(20);
        }
        __asm__ volatile("ldrex %0, [%1]" : "=r"(v) : "r"(&monitor_word) : "memory");
        if (c != 0) {
            while (irq_count == seen) {
            }
        } else {
            for (volatile uint32_t k = 0; k < 50u; k++) {
            }
        }
        __asm__ volatile("strex %0, %2, [%1]" : "=&r"(st) : "r"(&monitor_word), "r"(v + 1u) : "memory");
        out_write(c == 0 ? "monitor " : " ");
        out_write(names[c]);
        out_write("=");
        out_dec(st);
    }
    irq_mode = 0;
    out_write("\n");
    return 0;
#endif
}

static char cmdline[128];

int main(void)
{
    const char *w[4] = {0, 0, 0, 0};
    uint32_t nw = 0;
    if (plat_cmdline(cmdline, sizeof cmdline) < 0) {
        out_puts("FAIL no command line");
        return 1;
    }
    for (char *s = cmdline; *s && nw < 4u;) {
        while (*s == ' ') {
            *s++ = 0;
        }
        if (*s == 0) {
            break;
        }
        w[nw++] = s;
        while (*s && *s != ' ') {
            s++;
        }
    }
    uint32_t first = 0;
    while (first < nw && !streq(w[first], "irq") && !streq(w[first], "monitor")) {
        first++;
    }
    const char *mode = first < nw ? w[first] : "";
    uint32_t n;
    if (streq(mode, "irq") && first + 1u < nw && parse_u32(w[first + 1u], &n)) {
        return mode_irq(n, first + 2u < nw && streq(w[first + 2u], "v"));
    }
    if (streq(mode, "monitor")) {
        return mode_monitor();
    }
    out_puts("FAIL usage: irq N [v] | monitor");
    return 1;
}

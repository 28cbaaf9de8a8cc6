/*
 * Allocator contract test program for elfpatch (Cortex-M3, QEMU mps2-an385).
 *
 * The program imports the canonical-ABI allocator
 *
 *   void *__cabi_arena_realloc(void *old, uint32_t old_len,
 *                              uint32_t align, uint32_t new_len);
 *
 * under both ELF spellings, "__cabi_arena_realloc" and "cabi-arena-realloc",
 * and never defines it: elfpatch binds it after linking (the harness
 * self-test links refalloc.c instead).  It must not, and does not, refer to
 * any allocator-internal symbol; it learns the arena start from its first
 * allocation.
 *
 * Every way code can reach the import is used, for both spellings:
 *
 *   form      how                                   relocation (gcc 12.2 / clang 14)
 *   direct    call whose result is used afterwards  R_ARM_THM_CALL (BL)
 *   tail      noinline wrapper "return import(..)"  R_ARM_THM_JUMP24 (B.W)
 *   dataptr   function pointer initialised in .data R_ARM_ABS32 (in .data)
 *   codeaddr  address taken in C                    clang: R_ARM_THM_MOVW_ABS_NC +
 *                                                   R_ARM_THM_MOVT_ABS; gcc: R_ARM_ABS32
 *                                                   in a literal pool (MOVW/MOVT with
 *                                                   -mslow-flash-data or -mpure-code)
 *   movw      inline asm movw/movt #:lower16:/#:upper16:
 *                                                   R_ARM_THM_MOVW_ABS_NC + R_ARM_THM_MOVT_ABS
 *   rel32     ".word import - ." in rel32.S         R_ARM_REL32
 *
 * All of these were confirmed with "llvm-objdump -dr contract.o rel32.o"
 * for arm-none-eabi-gcc 12.2 and clang 14 (-O2 -ffunction-sections
 * -fdata-sections -mcpu=cortex-m3 -mthumb), against both spellings, and
 * harness_selftest_test.go checks them on every run.  Each form is
 * exercised so that its result proves it reached the allocator: the
 * pointers it returns continue the bump sequence, and it resizes the most
 * recent block in place.
 *
 * The mode is the first word of the semihosting command line (QEMU puts the
 * -kernel file name first; a first word that is not a mode is skipped):
 *
 *   contract SIZE  every non-trapping rule for an arena of SIZE bytes
 *                  (decimal, >= 4096; alignments 1..4096 are checked, up to
 *                  SIZE/8 if that is smaller) -> "PASS contract", 0
 *   fill N         N bytes at align 1, "filled", 1 more byte, "survived", 0
 *   badalign       "badalign", realloc(0,0,3,8): must trap
 *   wrap [KIND]    KIND len (default): realloc(0,0,1,0xfffffff0);
 *                  align: realloc(0,0,0x80000000,0x80000000);
 *                  grow: the most recent block grown by 0xffffffff bytes.
 *                  Prints "wrap KIND" first; must trap
 *   exhaust        "exhaust", 1 KiB blocks until the allocator traps
 *   reset          warm-reset test.  First boot (marker in .noinit unset):
 *                  set the marker, allocate, keep the first block's address
 *                  in .noinit, fill all RAM but .noinit and the live stack
 *                  with 0xA5, SCB->AIRCR = 0x05FA0004 (SYSRESETREQ).  Second
 *                  boot: the startup code ran again, RAM was kept (the first
 *                  .bss word was 0xA5A5A5A5 before it was cleared), .data and
 *                  .bss hold their initial values, and the first allocation
 *                  returns the same address -> "PASS reset", 0
 *   args           prints the words it was given (harness check)
 *   exit N         exits with status N (harness check)
 *   hang           prints "hang" and sleeps forever (harness timeout check)
 *
 * Any failure prints "FAIL ..." with the values in hex and exits 1; a trap
 * ends in HardFault ("HARDFAULT", status 3).  Built with
 * -DCONTRACT_EXHAUSTED_HOOK the program defines __cabi_arena_exhausted(),
 * which prints "EXHAUSTED" and exits with status 4.
 */
#include <stddef.h>
#include <stdint.h>

#include "semihost.h"
#include "startup.h"

typedef void *(*realloc_fn)(void *old, uint32_t old_len, uint32_t align, uint32_t new_len);

/* The import, snake spelling. */
extern void *__cabi_arena_realloc(void *old, uint32_t old_len, uint32_t align, uint32_t new_len);

/* The import, kebab spelling: GCC needs a quoted GAS symbol name. */
#ifdef __clang__
#define CONTRACT_KEBAB_ASM "cabi-arena-realloc"
#else
#define CONTRACT_KEBAB_ASM "\"cabi-arena-realloc\""
#endif
extern void *contract_kebab(void *old, uint32_t old_len, uint32_t align, uint32_t new_len) __asm__(CONTRACT_KEBAB_ASM);

#ifdef CONTRACT_EXHAUSTED_HOOK
__attribute__((noreturn)) void __cabi_arena_exhausted(void);
void __cabi_arena_exhausted(void)
{
    sh_puts("EXHAUSTED");
    sh_exit(4);
}
#endif

/* ---------------------------------------------------------------- forms */

enum { SNAKE = 0, KEBAB = 1, NSPELLINGS = 2 };
enum { F_DIRECT, F_TAIL, F_DATAPTR, F_CODEADDR, F_MOVW, F_REL32, NFORMS };

static const char *const spelling_names[NSPELLINGS] = {"snake", "kebab"};
static const char *const form_names[NFORMS] = {"direct", "tail", "dataptr", "codeaddr", "movw", "rel32"};

/* R_ARM_ABS32 in .data. */
realloc_fn volatile contract_dataptr_snake = __cabi_arena_realloc;
realloc_fn volatile contract_dataptr_kebab = contract_kebab;

/* R_ARM_REL32 words, rel32.S. */
extern const int32_t contract_rel32_snake;
extern const int32_t contract_rel32_kebab;

/* Calls counted per spelling and form (also keeps direct calls out of tail position). */
static volatile uint32_t form_calls[NSPELLINGS][NFORMS];

/* R_ARM_THM_JUMP24: a sibling call, "b.w import". */
__attribute__((noinline)) static void *tail_snake(void *o, uint32_t ol, uint32_t a, uint32_t nl)
{
    return __cabi_arena_realloc(o, ol, a, nl);
}

__attribute__((noinline)) static void *tail_kebab(void *o, uint32_t ol, uint32_t a, uint32_t nl)
{
    return contract_kebab(o, ol, a, nl);
}

/* Address materialised by the compiler (clang: movw/movt; gcc: literal pool). */
__attribute__((noinline)) static void *codeaddr_snake(void *o, uint32_t ol, uint32_t a, uint32_t nl)
{
    realloc_fn volatile f = __cabi_arena_realloc;
    return f(o, ol, a, nl);
}

__attribute__((noinline)) static void *codeaddr_kebab(void *o, uint32_t ol, uint32_t a, uint32_t nl)
{
    realloc_fn volatile f = contract_kebab;
    return f(o, ol, a, nl);
}

/* R_ARM_THM_MOVW_ABS_NC / R_ARM_THM_MOVT_ABS whatever the compiler flags. */
__attribute__((noinline)) static void *movw_snake(void *o, uint32_t ol, uint32_t a, uint32_t nl)
{
    realloc_fn f;
    __asm__("movw %0, #:lower16:__cabi_arena_realloc\n\t"
            "movt %0, #:upper16:__cabi_arena_realloc"
            : "=r"(f));
    return f(o, ol, a, nl);
}

__attribute__((noinline)) static void *movw_kebab(void *o, uint32_t ol, uint32_t a, uint32_t nl)
{
    realloc_fn f;
    __asm__("movw %0, #:lower16:\"cabi-arena-realloc\"\n\t"
            "movt %0, #:upper16:\"cabi-arena-realloc\""
            : "=r"(f));
    return f(o, ol, a, nl);
}

static realloc_fn rel32_target(const int32_t *word)
{
    /* Hide the provenance from the optimiser: this is a code address. */
    uintptr_t w = (uintptr_t)word;
    __asm__("" : "+r"(w));
    return (realloc_fn)(w + (uintptr_t)(uint32_t)*word);
}

__attribute__((noinline)) static void *call_form(int sp, int form, void *o, uint32_t ol, uint32_t a, uint32_t nl)
{
    void *r;
    switch (sp * NFORMS + form) {
    case SNAKE * NFORMS + F_DIRECT: r = __cabi_arena_realloc(o, ol, a, nl); break;
    case KEBAB * NFORMS + F_DIRECT: r = contract_kebab(o, ol, a, nl); break;
    case SNAKE * NFORMS + F_TAIL: r = tail_snake(o, ol, a, nl); break;
    case KEBAB * NFORMS + F_TAIL: r = tail_kebab(o, ol, a, nl); break;
    case SNAKE * NFORMS + F_DATAPTR: r = contract_dataptr_snake(o, ol, a, nl); break;
    case KEBAB * NFORMS + F_DATAPTR: r = contract_dataptr_kebab(o, ol, a, nl); break;
    case SNAKE * NFORMS + F_CODEADDR: r = codeaddr_snake(o, ol, a, nl); break;
    case KEBAB * NFORMS + F_CODEADDR: r = codeaddr_kebab(o, ol, a, nl); break;
    case SNAKE * NFORMS + F_MOVW: r = movw_snake(o, ol, a, nl); break;
    case KEBAB * NFORMS + F_MOVW: r = movw_kebab(o, ol, a, nl); break;
    case SNAKE * NFORMS + F_REL32: r = rel32_target(&contract_rel32_snake)(o, ol, a, nl); break;
    case KEBAB * NFORMS + F_REL32: r = rel32_target(&contract_rel32_kebab)(o, ol, a, nl); break;
    default:
        sh_puts("FAIL internal: bad call form");
        sh_exit(1);
    }
    form_calls[sp][form]++;
    return r;
}

/* ------------------------------------------------ data the arena must spare */

/* Initialised data and zeroed arrays around everything else. */
uint32_t contract_data_head[4] = {0x11111111u, 0x22222222u, 0x33333333u, 0x44444444u};
uint32_t contract_bss_head[4];
uint8_t contract_data_bytes[7] = {1, 2, 3, 4, 5, 6, 7};
uint8_t contract_bss_bytes[13];
uint32_t contract_data_tail[4] = {0xdeadbeefu, 0xcafef00du, 0x0badc0deu, 0x5eed5eedu};
uint32_t contract_bss_tail[4];
/* A common symbol is placed by *(COMMON), i.e. at the very end of .bss. */
__attribute__((common)) uint32_t contract_bss_common[4];

static const uint32_t data_head_init[4] = {0x11111111u, 0x22222222u, 0x33333333u, 0x44444444u};
static const uint32_t data_tail_init[4] = {0xdeadbeefu, 0xcafef00du, 0x0badc0deu, 0x5eed5eedu};

struct guard {
    const char *name;
    volatile uint8_t *addr;
    uint32_t len;
};

static const struct guard guards[] = {
    {"data_head", (volatile uint8_t *)contract_data_head, sizeof contract_data_head},
    {"bss_head", (volatile uint8_t *)contract_bss_head, sizeof contract_bss_head},
    {"data_bytes", (volatile uint8_t *)contract_data_bytes, sizeof contract_data_bytes},
    {"bss_bytes", (volatile uint8_t *)contract_bss_bytes, sizeof contract_bss_bytes},
    {"data_tail", (volatile uint8_t *)contract_data_tail, sizeof contract_data_tail},
    {"bss_tail", (volatile uint8_t *)contract_bss_tail, sizeof contract_bss_tail},
    {"bss_common", (volatile uint8_t *)contract_bss_common, sizeof contract_bss_common},
};
#define NGUARDS (sizeof guards / sizeof guards[0])

/* .noinit: survives a warm reset. */
#define RESET_MAGIC 0x5e75e7a5u
__attribute__((section(".noinit"))) uint32_t contract_reset_marker;
__attribute__((section(".noinit"))) uint32_t contract_reset_first_block;

extern uint8_t __ram_start__[];
extern uint8_t __ram_end__[];
extern uint8_t __noinit_start__[];
extern uint8_t __noinit_end__[];
extern uint8_t __data_start__[];
extern uint8_t __data_end__[];
extern uint8_t __StackLimit[];
extern uint8_t __StackTop[];

/* ------------------------------------------------------------ reporting */

static __attribute__((noreturn)) void fail_exit(void)
{
    sh_write("\n");
    sh_exit(1);
}

static void fail_begin(const char *what)
{
    sh_write("FAIL ");
    sh_write(what);
    sh_write(": ");
}

static void check_eq(const char *what, uint32_t got, uint32_t want)
{
    if (got != want) {
        fail_begin(what);
        sh_kv("got", got);
        sh_kv("want", want);
        fail_exit();
    }
}

static uint32_t read_sp(void)
{
    uint32_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

/* Values the program's own .data/.bss must hold at all times. */
static void check_guards(const char *when)
{
    for (uint32_t i = 0; i < 4; i++) {
        if (contract_data_head[i] != data_head_init[i] || contract_data_tail[i] != data_tail_init[i] ||
            contract_bss_head[i] != 0 || contract_bss_tail[i] != 0 || contract_bss_common[i] != 0) {
            fail_begin("program data clobbered");
            sh_write(when);
            sh_write(" ");
            sh_kv("index", i);
            sh_kv("data_head", contract_data_head[i]);
            sh_kv("data_tail", contract_data_tail[i]);
            sh_kv("bss_head", contract_bss_head[i]);
            sh_kv("bss_tail", contract_bss_tail[i]);
            sh_kv("bss_common", contract_bss_common[i]);
            fail_exit();
        }
    }
    for (uint32_t i = 0; i < sizeof contract_data_bytes; i++) {
        if (contract_data_bytes[i] != i + 1) {
            fail_begin("program data clobbered");
            sh_write(when);
            sh_write(" ");
            sh_kv("data_bytes_index", i);
            sh_kv("value", contract_data_bytes[i]);
            fail_exit();
        }
    }
    for (uint32_t i = 0; i < sizeof contract_bss_bytes; i++) {
        if (contract_bss_bytes[i] != 0) {
            fail_begin("program data clobbered");
            sh_write(when);
            sh_write(" ");
            sh_kv("bss_bytes_index", i);
            sh_kv("value", contract_bss_bytes[i]);
            fail_exit();
        }
    }
}

/* ---------------------------------------------------------------- model */

#define CONTRACT_MIN_SIZE 4096u
#define CONTRACT_MAX_ALIGN 4096u
#define MAX_BLOCKS 96

struct block {
    uint32_t ptr;
    uint32_t len;
    uint32_t id;
};

static uint32_t arena_start, arena_end;
static uint32_t max_align; /* CONTRACT_MAX_ALIGN, or SIZE/8 rounded down to a power of two if smaller */
static uint32_t model_next;                  /* where a bump allocator puts the next byte */
static uint32_t model_last_ptr, model_last_len; /* the most recent block */
static struct block blocks[MAX_BLOCKS];
static uint32_t nblocks;
static uint32_t next_id = 1;

static uint8_t pattern(uint32_t id, uint32_t off)
{
    uint32_t x = id * 0x9e3779b1u + off * 0x85ebca77u;
    return (uint8_t)(x ^ (x >> 13) ^ (x >> 24));
}

static uint32_t align_up(uint32_t v, uint32_t a)
{
    return (v + (a - 1u)) & ~(a - 1u);
}

static void fill_pattern(uint32_t id, uint32_t ptr, uint32_t from, uint32_t to)
{
    volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)ptr;
    for (uint32_t i = from; i < to; i++) {
        p[i] = pattern(id, i);
    }
}

static void check_pattern(const char *what, uint32_t id, uint32_t ptr, uint32_t len)
{
    volatile const uint8_t *p = (volatile const uint8_t *)(uintptr_t)ptr;
    for (uint32_t i = 0; i < len; i++) {
        if (p[i] != pattern(id, i)) {
            fail_begin(what);
            sh_kv("block", ptr);
            sh_kv("offset", i);
            sh_kv("got", p[i]);
            sh_kv("want", pattern(id, i));
            fail_exit();
        }
    }
}

static void check_all_blocks(const char *when)
{
    for (uint32_t i = 0; i < nblocks; i++) {
        check_pattern(when, blocks[i].id, blocks[i].ptr, blocks[i].len);
    }
}

static int overlaps(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
    return a < b + blen && b < a + alen;
}

/* Rule 3/5 checks for a fresh (or moved) block: aligned, in the arena, disjoint. */
static void check_new_block(const char *what, uint32_t p, uint32_t len, uint32_t align, int skip)
{
    if ((p & (align - 1u)) != 0) {
        fail_begin(what);
        sh_write("misaligned ");
        sh_kv("ptr", p);
        sh_kv("align", align);
        fail_exit();
    }
    if (p < arena_start || p > arena_end || len > arena_end - p) {
        fail_begin(what);
        sh_write("outside the arena ");
        sh_kv("ptr", p);
        sh_kv("len", len);
        sh_kv("arena_start", arena_start);
        sh_kv("arena_end", arena_end);
        fail_exit();
    }
    for (uint32_t i = 0; i < nblocks; i++) {
        if ((int)i != skip && overlaps(p, len, blocks[i].ptr, blocks[i].len)) {
            fail_begin(what);
            sh_write("overlaps a live block ");
            sh_kv("ptr", p);
            sh_kv("len", len);
            sh_kv("live_ptr", blocks[i].ptr);
            sh_kv("live_len", blocks[i].len);
            fail_exit();
        }
    }
}

static void describe_call(const char *what, int sp, int form, uint32_t o, uint32_t ol, uint32_t a, uint32_t nl)
{
    fail_begin(what);
    sh_write("via ");
    sh_write(spelling_names[sp]);
    sh_write("/");
    sh_write(form_names[form]);
    sh_write(" ");
    sh_kv("old", o);
    sh_kv("old_len", ol);
    sh_kv("align", a);
    sh_kv("new_len", nl);
}

/* New block of len bytes; it must be exactly where the bump model says. Returns its index. */
static uint32_t alloc_new(const char *what, int sp, int form, uint32_t align, uint32_t len)
{
    uint32_t want = align_up(model_next, align);
    uint32_t p = (uint32_t)(uintptr_t)call_form(sp, form, 0, 0, align, len);
    if (p != want) {
        describe_call(what, sp, form, 0, 0, align, len);
        sh_kv("got", p);
        sh_kv("want", want);
        fail_exit();
    }
    check_new_block(what, p, len, align, -1);
    if (nblocks == MAX_BLOCKS) {
        sh_puts("FAIL internal: too many blocks");
        sh_exit(1);
    }
    struct block *b = &blocks[nblocks];
    b->ptr = p;
    b->len = len;
    b->id = next_id++;
    fill_pattern(b->id, p, 0, len);
    model_next = p + len;
    model_last_ptr = p;
    model_last_len = len;
    return nblocks++;
}

/*
 * Resizes block i to new_len bytes (new_len != 0).  If it is the most recent
 * block and suitably aligned it must stay in place; otherwise a bump
 * allocator moves it to the next free aligned address (a shrink of an older
 * block may also stay where it is).  The prefix must be preserved.
 */
static void resize(const char *what, int sp, int form, uint32_t i, uint32_t align, uint32_t new_len)
{
    struct block *b = &blocks[i];
    uint32_t old = b->ptr, old_len = b->len;
    int recent = old == model_last_ptr && old_len == model_last_len && (old & (align - 1u)) == 0;
    uint32_t moved_to = align_up(model_next, align);
    uint32_t p = (uint32_t)(uintptr_t)call_form(sp, form, (void *)(uintptr_t)old, old_len, align, new_len);
    uint32_t keep = old_len < new_len ? old_len : new_len;

    if (recent) {
        if (p != old) {
            describe_call(what, sp, form, old, old_len, align, new_len);
            sh_write("most recent block not resized in place ");
            sh_kv("got", p);
            fail_exit();
        }
        check_new_block(what, p, new_len, align, (int)i);
        model_next = p + new_len;
        model_last_len = new_len;
    } else if (p == old && new_len <= old_len) {
        check_new_block(what, p, new_len, align, (int)i);
    } else {
        if (p != moved_to) {
            describe_call(what, sp, form, old, old_len, align, new_len);
            sh_kv("got", p);
            sh_kv("want", moved_to);
            fail_exit();
        }
        check_new_block(what, p, new_len, align, (int)i);
        model_next = p + new_len;
        model_last_ptr = p;
        model_last_len = new_len;
    }
    check_pattern(what, b->id, p, keep); /* prefix preserved */
    b->ptr = p;
    b->len = new_len;
    fill_pattern(b->id, p, keep, new_len);
}

/* Rule 1/2: a zero-length request returns align and changes nothing. */
static void zero_len(const char *what, int sp, int form, uint32_t old, uint32_t old_len, uint32_t align)
{
    uint32_t p = (uint32_t)(uintptr_t)call_form(sp, form, (void *)(uintptr_t)old, old_len, align, 0);
    if (p != align) {
        describe_call(what, sp, form, old, old_len, align, 0);
        sh_kv("got", p);
        sh_kv("want", align);
        fail_exit();
    }
}

/* ------------------------------------------------------------- contract */

static int parse_u32(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    if (s == 0 || *s == 0) {
        return 0;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return 0;
        }
        uint32_t d = (uint32_t)(*s - '0');
        if (v > (UINT32_MAX - d) / 10u) {
            return 0;
        }
        v = v * 10u + d;
    }
    *out = v;
    return 1;
}

static int mode_contract(uint32_t size)
{
    if (size < CONTRACT_MIN_SIZE) {
        sh_write("FAIL contract needs SIZE >= ");
        sh_dec(CONTRACT_MIN_SIZE);
        sh_write(", got ");
        sh_dec(size);
        fail_exit();
    }
    check_guards("at start");

    /* The first align-1 allocation of a fresh bump allocator is the arena start. */
    void *first = __cabi_arena_realloc(0, 0, 1, 1);
    arena_start = (uint32_t)(uintptr_t)first;
    if (arena_start == 0 || arena_start > UINT32_MAX - size) {
        fail_begin("first allocation");
        sh_kv("ptr", arena_start);
        sh_kv("size", size);
        fail_exit();
    }
    arena_end = arena_start + size;
    max_align = CONTRACT_MAX_ALIGN;
    while (max_align * 8u > size) {
        max_align >>= 1;
    }
    sh_write("arena ");
    sh_kv("start", arena_start);
    sh_kv("end", arena_end);
    sh_kv("max_align", max_align);
    sh_write("\n");
    blocks[0].ptr = arena_start;
    blocks[0].len = 1;
    blocks[0].id = next_id++;
    nblocks = 1;
    fill_pattern(blocks[0].id, arena_start, 0, 1);
    model_next = arena_start + 1;
    model_last_ptr = arena_start;
    model_last_len = 1;

    /* The arena must not overlap the program's own data or the stack. */
    for (uint32_t i = 0; i < NGUARDS; i++) {
        if (overlaps(arena_start, size, (uint32_t)(uintptr_t)guards[i].addr, guards[i].len)) {
            fail_begin("arena overlaps program data");
            sh_write(guards[i].name);
            sh_write(" ");
            sh_kv("addr", (uint32_t)(uintptr_t)guards[i].addr);
            sh_kv("arena_start", arena_start);
            sh_kv("arena_end", arena_end);
            fail_exit();
        }
    }
    struct {
        const char *name;
        uint32_t from, to;
    } regions[] = {
        {".data", (uint32_t)(uintptr_t)__data_start__, (uint32_t)(uintptr_t)__data_end__},
        {".noinit", (uint32_t)(uintptr_t)__noinit_start__, (uint32_t)(uintptr_t)__noinit_end__},
        {"stack", (uint32_t)(uintptr_t)__StackLimit, (uint32_t)(uintptr_t)__StackTop},
        {"live stack", read_sp() - 1024u, read_sp()},
    };
    for (uint32_t i = 0; i < sizeof regions / sizeof regions[0]; i++) {
        if (overlaps(arena_start, size, regions[i].from, regions[i].to - regions[i].from)) {
            fail_begin("arena overlaps");
            sh_write(regions[i].name);
            sh_write(" ");
            sh_kv("from", regions[i].from);
            sh_kv("to", regions[i].to);
            sh_kv("arena_start", arena_start);
            sh_kv("arena_end", arena_end);
            fail_exit();
        }
    }

    /* Rule 1: realloc(_, 0, align, 0) == align for every power of two, every form. */
    for (uint32_t k = 0; k < 32; k++) {
        int s = (int)(k % NSPELLINGS), f = (int)((k / NSPELLINGS) % NFORMS);
        zero_len("rule 1 (0,0,align,0)", s, f, 0, 0, 1u << k);
    }

    /* Rule 2: new_len 0 with a live block returns align; state unchanged. */
    uint32_t b2 = alloc_new("rule 2 setup", SNAKE, F_DIRECT, 4, 16);
    for (uint32_t k = 0; k < 13; k++) {
        int s = (int)(k % NSPELLINGS), f = (int)(k % NFORMS);
        zero_len("rule 2 (old,len,align,0)", s, f, blocks[b2].ptr, blocks[b2].len, 1u << k);
    }
    alloc_new("rule 2: next allocation unchanged", KEBAB, F_DIRECT, 4, 8);
    check_pattern("rule 2: block changed", blocks[b2].id, blocks[b2].ptr, blocks[b2].len);

    /* Alignment 1..max_align (odd lengths keep the next address misaligned). */
    for (uint32_t k = 0; (1u << k) <= max_align; k++) {
        int s = (int)(k % NSPELLINGS), f = (int)((k + 1) % NFORMS);
        alloc_new("alignment", s, f, 1u << k, 3);
        alloc_new("alignment (after odd)", SNAKE, F_DIRECT, 1, 1);
    }

    /* Grow and shrink a block that is not the most recent: copied, prefix kept. */
    uint32_t x = alloc_new("copy setup", SNAKE, F_DIRECT, 4, 40);
    alloc_new("copy setup (later block)", KEBAB, F_TAIL, 8, 8);
    resize("grow older block", SNAKE, F_DATAPTR, x, 4, 100);
    alloc_new("copy setup (later block 2)", KEBAB, F_DIRECT, 2, 6);
    resize("shrink older block", KEBAB, F_CODEADDR, x, 4, 30);
    alloc_new("copy setup (later block 3)", SNAKE, F_REL32, 1, 5);
    resize("grow older block, larger align", SNAKE, F_MOVW, x, 64, 70);
    alloc_new("copy setup (later block 4)", SNAKE, F_DIRECT, 1, 3);
    resize("grow older block, align 1", KEBAB, F_REL32, x, 1, 77);

    /* Grow and shrink the most recent block: in place, next allocation follows it. */
    uint32_t w = alloc_new("in-place setup", KEBAB, F_DIRECT, 8, 24);
    resize("grow most recent block", SNAKE, F_DIRECT, w, 8, 200);
    resize("shrink most recent block", KEBAB, F_TAIL, w, 8, 50);
    resize("shrink most recent block, smaller align", SNAKE, F_DATAPTR, w, 2, 49);
    resize("grow most recent block, align 1", KEBAB, F_MOVW, w, 1, 333);
    uint32_t after = alloc_new("allocation after in-place resize", SNAKE, F_DIRECT, 1, 1);
    check_eq("allocation after in-place resize is right after the new end", blocks[after].ptr,
             blocks[w].ptr + blocks[w].len);
    /* Most recent block, but the new alignment forces a move. */
    uint32_t m = alloc_new("misaligned recent setup", KEBAB, F_DIRECT, 1, 5);
    if ((blocks[m].ptr & (max_align - 1u)) == 0) {
        alloc_new("misaligned recent setup (pad)", KEBAB, F_DIRECT, 1, 1);
        m = alloc_new("misaligned recent setup (again)", KEBAB, F_DIRECT, 1, 5);
    }
    {
        uint32_t old = blocks[m].ptr;
        uint32_t p = (uint32_t)(uintptr_t)call_form(SNAKE, F_DIRECT, (void *)(uintptr_t)old, 5, max_align, 9);
        if ((p & (max_align - 1u)) != 0 || p == old) {
            describe_call("resize most recent block to a stricter align", SNAKE, F_DIRECT, old, 5, max_align, 9);
            sh_kv("got", p);
            fail_exit();
        }
        check_new_block("resize most recent block to a stricter align", p, 9, max_align, (int)m);
        check_eq("resize most recent block to a stricter align: bump", p, align_up(model_next, max_align));
        check_pattern("resize most recent block to a stricter align: prefix", blocks[m].id, p, 5);
        blocks[m].ptr = p;
        blocks[m].len = 9;
        fill_pattern(blocks[m].id, p, 5, 9);
        model_next = p + 9;
        model_last_ptr = p;
        model_last_len = 9;
    }

    /* Every spelling and form reaches the same allocator. */
    for (int s = 0; s < NSPELLINGS; s++) {
        for (int f = 0; f < NFORMS; f++) {
            uint32_t i = alloc_new("call form: allocate", s, f, 4, 12);
            resize("call form: grow in place", s, f, i, 4, 20);
            resize("call form: shrink in place", s, f, i, 4, 16);
            zero_len("call form: rule 1", s, f, 0, 0, 16);
            zero_len("call form: rule 2", s, f, blocks[i].ptr, blocks[i].len, 8);
        }
    }
    for (int s = 0; s < NSPELLINGS; s++) {
        for (int f = 0; f < NFORMS; f++) {
            if (form_calls[s][f] == 0) {
                fail_begin("call form never used");
                sh_write(spelling_names[s]);
                sh_write("/");
                sh_write(form_names[f]);
                fail_exit();
            }
        }
    }

    check_all_blocks("live block changed");
    check_guards("after allocating");

    /* Fill the arena exactly to SIZE. */
    if (model_next >= arena_end) {
        fail_begin("contract used up the arena before the fill step");
        sh_kv("next", model_next);
        sh_kv("arena_end", arena_end);
        fail_exit();
    }
    uint32_t rest = alloc_new("fill the arena to SIZE", KEBAB, F_DIRECT, 1, arena_end - model_next);
    check_eq("fill the arena to SIZE: end", blocks[rest].ptr + blocks[rest].len, arena_end);

    check_all_blocks("live block changed after filling");
    check_guards("after filling the arena");
    sh_puts("PASS contract");
    return 0;
}

/* ------------------------------------------------------------ trap modes */

static int mode_fill(uint32_t n)
{
    volatile uint8_t *p = __cabi_arena_realloc(0, 0, 1, n);
    if (n != 0) {
        p[0] = 0x5a;
        p[n - 1] = 0xa5;
    }
    sh_puts("filled");
    volatile uint8_t *q = __cabi_arena_realloc(0, 0, 1, 1);
    q[0] = 0x3c;
    sh_write("survived ");
    sh_kv("first", (uint32_t)(uintptr_t)p);
    sh_kv("second", (uint32_t)(uintptr_t)q);
    sh_write("\n");
    return 0;
}

static int mode_badalign(void)
{
    sh_puts("badalign");
    void *p = __cabi_arena_realloc(0, 0, 3, 8);
    fail_begin("badalign: realloc(0,0,3,8) returned");
    sh_kv("ptr", (uint32_t)(uintptr_t)p);
    fail_exit();
}

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static int mode_wrap(const char *kind)
{
    void *p;
    if (kind == 0 || streq(kind, "len")) {
        sh_puts("wrap len");
        p = __cabi_arena_realloc(0, 0, 1, 0xfffffff0u);
    } else if (streq(kind, "align")) {
        sh_puts("wrap align");
        p = __cabi_arena_realloc(0, 0, 0x80000000u, 0x80000000u);
    } else if (streq(kind, "grow")) {
        void *b = __cabi_arena_realloc(0, 0, 1, 1);
        sh_puts("wrap grow");
        p = __cabi_arena_realloc(b, 1, 1, 0xffffffffu);
    } else {
        fail_begin("wrap: unknown kind (len, align, grow)");
        sh_write(kind);
        fail_exit();
    }
    fail_begin("wrap: the request returned");
    sh_write(kind ? kind : "len");
    sh_write(" ");
    sh_kv("ptr", (uint32_t)(uintptr_t)p);
    fail_exit();
}

static int mode_exhaust(void)
{
    sh_puts("exhaust");
    for (uint32_t i = 0; i < 8192; i++) { /* 8 MiB: more than all RAM */
        volatile uint8_t *p = __cabi_arena_realloc(0, 0, 8, 1024);
        p[0] = 1;
    }
    sh_puts("FAIL exhaust: 8 MiB allocated without a trap");
    return 1;
}

/* ------------------------------------------------------------ warm reset */

/* Fills [from, to) with 0xA5 without calling anything (no stack use). */
static void scribble(uint32_t from, uint32_t to)
{
    from = align_up(from, 4);
    to &= ~3u;
    for (volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)from; (uint32_t)(uintptr_t)p < to; p++) {
        *p = 0xa5a5a5a5u;
    }
}

static int mode_reset(void)
{
    if (contract_reset_marker != RESET_MAGIC) {
        /* First boot. */
        contract_reset_marker = RESET_MAGIC;
        startup_boot_count = 1;
        volatile uint8_t *a = __cabi_arena_realloc(0, 0, 1, 24);
        volatile uint8_t *b = contract_kebab(0, 0, 8, 100);
        volatile uint8_t *c = __cabi_arena_realloc(0, 0, 4, 7);
        a[0] = 1;
        b[0] = 2;
        c[0] = 3;
        contract_reset_first_block = (uint32_t)(uintptr_t)a;
        sh_write("reset: first boot ");
        sh_kv("first_block", contract_reset_first_block);
        sh_write("\n");
        /* Garbage everywhere except .noinit and the live stack. */
        uint32_t sp = read_sp();
        scribble((uint32_t)(uintptr_t)__ram_start__, (uint32_t)(uintptr_t)__noinit_start__);
        scribble((uint32_t)(uintptr_t)__noinit_end__, sp - 64u);
        /* SYSRESETREQ */
        __asm__ volatile("dsb" ::: "memory");
        *(volatile uint32_t *)0xE000ED0Cu = 0x05FA0004u;
        __asm__ volatile("dsb" ::: "memory");
        for (volatile uint32_t i = 0; i < 10000000u; i++) {
        }
        /* .data and .bss are garbage now; only constants and the stack are usable. */
        sh_puts("FAIL reset: SYSRESETREQ did not reset the system");
        sh_exit(1);
    }

    /* Second boot. */
    contract_reset_marker = 0;
    sh_write("reset: second boot ");
    sh_kv("boots", startup_boot_count);
    sh_kv("bss_word_at_reset", startup_bss_first_word_at_reset);
    sh_write("\n");
    check_eq("reset: the startup code ran once more (boot count)", startup_boot_count, 2);
    check_eq("reset: RAM kept across the reset (first .bss word before clearing)",
             startup_bss_first_word_at_reset, 0xa5a5a5a5u);
    check_guards("after reset");
    uint32_t a = (uint32_t)(uintptr_t)__cabi_arena_realloc(0, 0, 1, 24);
    check_eq("reset: first allocation after reset", a, contract_reset_first_block);
    sh_puts("PASS reset");
    return 0;
}

/* ------------------------------------------------------------------ main */

#define MAX_WORDS 8

static const char *const modes[] = {"contract", "fill", "badalign", "wrap", "exhaust", "reset", "args", "exit", "hang"};

static int is_mode(const char *w)
{
    for (uint32_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (streq(w, modes[i])) {
            return 1;
        }
    }
    return 0;
}

static char cmdline[256];

int main(void)
{
    const char *argv[MAX_WORDS];
    int argc = 0;
    if (sh_get_cmdline(cmdline, sizeof cmdline) < 0) {
        sh_puts("FAIL SYS_GET_CMDLINE failed");
        return 1;
    }
    for (char *s = cmdline; *s && argc < MAX_WORDS;) {
        while (*s == ' ') {
            *s++ = 0;
        }
        if (*s == 0) {
            break;
        }
        argv[argc++] = s;
        while (*s && *s != ' ') {
            s++;
        }
    }
    int first = 0;
    if (argc > 0 && !is_mode(argv[0])) {
        first = 1; /* QEMU's kernel file name */
    }
    const char *mode = first < argc ? argv[first] : "";
    const char *arg = first + 1 < argc ? argv[first + 1] : 0;
    uint32_t n = 0;

    if (streq(mode, "contract")) {
        if (!parse_u32(arg, &n)) {
            sh_puts("FAIL usage: contract SIZE");
            return 1;
        }
        return mode_contract(n);
    }
    if (streq(mode, "fill")) {
        if (!parse_u32(arg, &n)) {
            sh_puts("FAIL usage: fill N");
            return 1;
        }
        return mode_fill(n);
    }
    if (streq(mode, "badalign")) {
        return mode_badalign();
    }
    if (streq(mode, "wrap")) {
        return mode_wrap(arg);
    }
    if (streq(mode, "exhaust")) {
        return mode_exhaust();
    }
    if (streq(mode, "reset")) {
        return mode_reset();
    }
    if (streq(mode, "args")) {
        sh_write("argc=");
        sh_dec((uint32_t)argc);
        sh_write("\n");
        for (int i = 0; i < argc; i++) {
            sh_write("arg=");
            sh_write(argv[i]);
            sh_write("\n");
        }
        return 0;
    }
    if (streq(mode, "exit")) {
        if (!parse_u32(arg, &n)) {
            sh_puts("FAIL usage: exit N");
            return 1;
        }
        return (int)n;
    }
    if (streq(mode, "hang")) {
        sh_puts("hang");
        for (;;) {
            __asm__ volatile("wfi");
        }
    }
    sh_write("FAIL unknown mode \"");
    sh_write(mode);
    sh_puts("\" (contract SIZE, fill N, badalign, wrap [len|align|grow], exhaust, reset, args, exit N, hang)");
    return 1;
}

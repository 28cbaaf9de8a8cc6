/*
 * Allocator contract test program for elfpatch: the portable core, the same
 * on every target (see platform.h for the platform layers and how each
 * target runs it).
 *
 * The program imports the canonical-ABI allocator
 *
 *   void *__cabi_arena_realloc(void *old, uint32_t old_len,
 *                              uint32_t align, uint32_t new_len);
 *
 * under both ELF spellings, "__cabi_arena_realloc" and "cabi-arena-realloc",
 * and never defines it: elfpatch binds it after linking (the harness
 * self-test links refalloc.c, or an allocator object, instead).  It must
 * not, and does not, refer to any allocator-internal symbol; it learns the
 * arena start from its first allocation.  On 64-bit targets the allocator
 * returns a 32-bit pointer zero-extended (elfpatch keeps the arena below
 * 4 GiB); every result is checked for that.
 *
 * Every way code can reach the import on the ISA is used, for both
 * spellings (harness_test.go lists the relocation types per target and
 * compiler, and harness_selftest_test.go checks them on every run):
 *
 *   form      how                                   Thumb-2 (gcc 12 / clang 14)
 *   direct    call whose result is used afterwards  R_ARM_THM_CALL (BL)
 *   tail      noinline wrapper "return import(..)"  R_ARM_THM_JUMP24 (B.W)
 *   dataptr   function pointer initialised in .data R_ARM_ABS32 (in .data)
 *   codeaddr  address taken in C                    clang: R_ARM_THM_MOVW_ABS_NC +
 *                                                   R_ARM_THM_MOVT_ABS; gcc: R_ARM_ABS32
 *                                                   in a literal pool
 *   asm       inline asm (isa.h): movw/movt         R_ARM_THM_MOVW_ABS_NC + R_ARM_THM_MOVT_ABS
 *   rel32     ".4byte import - ." in rel32.S        R_ARM_REL32
 *
 * and likewise BL/B (R_ARM_CALL, R_ARM_JUMP24) and A32 MOVW/MOVT on A32;
 * call/tail (R_RISCV_CALL or R_RISCV_CALL_PLT), lui/addi and auipc/addi on
 * RISC-V; bl/b, adrp/add and movz/movk on AArch64; call/jmp, mov $imm32,
 * lea and movabs on x86-64.  ARMv6-M has no B.W (neither compiler makes a
 * tail call there) and no MOVW/MOVT (addresses come from literal pools).
 * Each form is exercised so that its result proves it reached the
 * allocator: the pointers it returns continue the bump sequence, and it
 * resizes the most recent block in place.
 *
 * The mode is the first word of the command line (QEMU's semihosting
 * command line starts with the -kernel file name, a Linux one with argv[0];
 * a first word that is not a mode is skipped):
 *
 *   contract SIZE  every non-trapping rule for an arena of SIZE bytes
 *                  (decimal, >= 4096; alignments 1..4096 are checked, up to
 *                  SIZE/8 if that is smaller) -> "PASS contract", 0
 *   fill N         N bytes at align 1, "filled", 1 more byte, "survived", 0
 *                  (a NULL result is a FAIL, not a store to address 0)
 *   badalign       "badalign", realloc(0,0,3,8): must trap
 *   wrap [KIND]    KIND len (default): realloc(0,0,1,0xfffffff0);
 *                  align: realloc(0,0,0x80000000,0x80000000);
 *                  grow: the most recent block grown by 0xffffffff bytes.
 *                  Prints "wrap KIND" first; must trap
 *   exhaust        "exhaust", 1 KiB blocks until the allocator traps
 *   reset          warm-reset test, where the platform has a warm reset
 *                  that keeps RAM (else "UNSUPPORTED reset", 2).  First
 *                  boot (marker in .noinit unset): set the marker,
 *                  allocate, keep the first block's address in .noinit,
 *                  fill all RAM but .noinit and the live stack with 0xA5,
 *                  reset (SCB->AIRCR SYSRESETREQ on Cortex-M, the
 *                  sifive_test device on RISC-V virt).  Second boot: the
 *                  startup code ran again, RAM was kept (the first .bss
 *                  word was 0xA5A5A5A5 before it was cleared), .data and
 *                  .bss hold their initial values, and the first
 *                  allocation returns the same address -> "PASS reset", 0
 *   args           prints the words it was given (harness check)
 *   exit N         exits with status N (harness check)
 *   hang           prints "hang" and sleeps forever (harness timeout check)
 *
 * Any failure prints "FAIL ..." with the values in hex and exits 1; a trap
 * ends in the platform's fault or trap handler ("HARDFAULT ..." on
 * Cortex-M, "TRAP ..." elsewhere; status 3).  Built with
 * -DCONTRACT_EXHAUSTED_HOOK the program defines __cabi_arena_exhausted(),
 * which prints "EXHAUSTED" and exits with status 4.
 *
 * Pointer-base build (-DCONTRACT_POINTER_BASE, with common/linmem.S): the
 * import speaks synth's default ABI, pointers as 32-bit OFFSETS from
 * __linear_memory_base (elfpatch --pointer-base __linear_memory_base,
 * SPEC rule 9):
 *
 *   uintptr_t __cabi_arena_realloc(uint32_t old, uint32_t old_len,
 *                                  uint32_t align, uint32_t new_len);
 *
 * old is an offset, and so is the result (zero-extended on 64-bit
 * targets, which is checked as above); a zero-length request still
 * returns align itself.  Every form above calls the import with offsets
 * directly, as code synth emits does: no wrapper translates.  The program
 * translates where it touches memory (mem(): __linear_memory_base +
 * offset) and where it hands back a pointer it holds (cabi_of(): pointer -
 * __linear_memory_base).  Every mode works the same way; what they print
 * and check ("arena start=... end=...", the reset mode's first block, fill's
 * first and second) are offsets.  The contract mode also prints the linear
 * memory ("linear memory base=... size=...") and fails unless the arena
 * lies inside it: [0, linmem_size), linmem.S's copy of
 * __linear_memory_base's st_size.
 */
#include <stddef.h>
#include <stdint.h>

#include "isa.h"
#include "platform.h"

#ifdef CONTRACT_POINTER_BASE
/* old_ptr: an offset from __linear_memory_base. */
typedef uint32_t cabi_ptr;
/* The result: an offset, in a whole register (zero-extended on 64-bit targets). */
typedef uintptr_t cabi_result;
/* common/linmem.S: the linear memory's first byte, and its size. */
extern uint8_t __linear_memory_base[];
extern const uint32_t linmem_size;
#else
typedef void *cabi_ptr;
typedef void *cabi_result;
#endif

typedef cabi_result (*realloc_fn)(cabi_ptr old, uint32_t old_len, uint32_t align, uint32_t new_len);

/* The import, snake spelling. */
extern cabi_result __cabi_arena_realloc(cabi_ptr old, uint32_t old_len, uint32_t align, uint32_t new_len);

/* The import, kebab spelling: GCC needs a quoted GAS symbol name. */
#ifdef __clang__
#define CONTRACT_KEBAB_ASM "cabi-arena-realloc"
#else
#define CONTRACT_KEBAB_ASM "\"cabi-arena-realloc\""
#endif
extern cabi_result contract_kebab(cabi_ptr old, uint32_t old_len, uint32_t align, uint32_t new_len)
    __asm__(CONTRACT_KEBAB_ASM);

/*
 * Pointer values: what the import takes and returns (a native address, or
 * an offset in the pointer-base build) as the program keeps them, uintptr_t
 * (the model: uint32_t), and the memory they designate.
 */
#define CABI(v) ((cabi_ptr)(uintptr_t)(v))

/* The bytes a pointer value designates: base + offset, or the address itself. */
static volatile uint8_t *mem(uintptr_t v)
{
#ifdef CONTRACT_POINTER_BASE
    return (volatile uint8_t *)((uintptr_t)__linear_memory_base + v);
#else
    return (volatile uint8_t *)v;
#endif
}

/* The pointer value to pass for a block the program holds a pointer to: pointer - base, or the pointer. */
static cabi_ptr cabi_of(volatile uint8_t *p)
{
#ifdef CONTRACT_POINTER_BASE
    return (cabi_ptr)((uintptr_t)p - (uintptr_t)__linear_memory_base);
#else
    return (cabi_ptr)(uintptr_t)p;
#endif
}

#ifdef CONTRACT_EXHAUSTED_HOOK
__attribute__((noreturn)) void __cabi_arena_exhausted(void);
void __cabi_arena_exhausted(void)
{
    out_puts("EXHAUSTED");
    plat_exit(4);
}
#endif

/* ---------------------------------------------------------------- forms */

enum { SNAKE = 0, KEBAB = 1, NSPELLINGS = 2 };
enum { F_DIRECT, F_TAIL, F_DATAPTR, F_CODEADDR, F_ASM, F_REL32, NFORMS };

static const char *const spelling_names[NSPELLINGS] = {"snake", "kebab"};
static const char *const form_names[NFORMS] = {"direct", "tail", "dataptr", "codeaddr", "asm", "rel32"};

/*
 * On 64-bit targets the allocator returns a 32-bit pointer zero-extended
 * (SPEC: "returns a zero-extended pointer in x0").
 */
static void check_zero_extended(int sp, int form, uintptr_t r)
{
#if UINTPTR_MAX > 0xffffffffu
    if (r >> 32 != 0) {
        out_write("FAIL result not a zero-extended 32-bit pointer via ");
        out_write(spelling_names[sp]);
        out_write("/");
        out_write(form_names[form]);
        out_write(" ");
        out_kvp("got", r);
        out_write("\n");
        plat_exit(1);
    }
#else
    (void)sp;
    (void)form;
    (void)r;
#endif
}

/* In .data: R_ARM_ABS32, R_RISCV_32, R_AARCH64_ABS64, R_X86_64_64. */
realloc_fn volatile contract_dataptr_snake = __cabi_arena_realloc;
realloc_fn volatile contract_dataptr_kebab = contract_kebab;

/* PC-relative words, rel32.S: R_ARM_REL32, R_RISCV_ADD32/SUB32, R_AARCH64_PREL32, R_X86_64_PC32. */
extern const int32_t contract_rel32_snake;
extern const int32_t contract_rel32_kebab;

/* Calls counted per spelling and form (also keeps direct calls out of tail position). */
static volatile uint32_t form_calls[NSPELLINGS][NFORMS];

/* A sibling call: "b.w import", "b import", "tail import", "jmp import". */
__attribute__((noinline)) static cabi_result tail_snake(cabi_ptr o, uint32_t ol, uint32_t a, uint32_t nl)
{
    return __cabi_arena_realloc(o, ol, a, nl);
}

__attribute__((noinline)) static cabi_result tail_kebab(cabi_ptr o, uint32_t ol, uint32_t a, uint32_t nl)
{
    return contract_kebab(o, ol, a, nl);
}

/* Address materialised by the compiler (movw/movt or a literal pool, lui/addi, adrp/add, mov $imm32). */
__attribute__((noinline)) static cabi_result codeaddr_snake(cabi_ptr o, uint32_t ol, uint32_t a, uint32_t nl)
{
    realloc_fn volatile f = __cabi_arena_realloc;
    return f(o, ol, a, nl);
}

__attribute__((noinline)) static cabi_result codeaddr_kebab(cabi_ptr o, uint32_t ol, uint32_t a, uint32_t nl)
{
    realloc_fn volatile f = contract_kebab;
    return f(o, ol, a, nl);
}

static __attribute__((noreturn)) void asm_mismatch(const char *spelling, uintptr_t a, uintptr_t b)
{
    out_write("FAIL asm form: the two address sequences disagree for ");
    out_write(spelling);
    out_write(" ");
    out_kvp("first", a);
    out_kvp("second", b);
    out_write("\n");
    plat_exit(1);
}

/* The address built by inline assembly, whatever the compiler flags (isa.h). */
__attribute__((noinline)) static cabi_result asm_snake(cabi_ptr o, uint32_t ol, uint32_t a, uint32_t nl)
{
    uintptr_t x, y;
    ISA_ASM_ADDR(x, y, "__cabi_arena_realloc");
    if (x != y) {
        asm_mismatch("snake", x, y);
    }
    return ((realloc_fn)x)(o, ol, a, nl);
}

__attribute__((noinline)) static cabi_result asm_kebab(cabi_ptr o, uint32_t ol, uint32_t a, uint32_t nl)
{
    uintptr_t x, y;
    ISA_ASM_ADDR(x, y, "\"cabi-arena-realloc\"");
    if (x != y) {
        asm_mismatch("kebab", x, y);
    }
    return ((realloc_fn)x)(o, ol, a, nl);
}

static realloc_fn rel32_target(const int32_t *word)
{
    /* Hide the provenance from the optimiser: this is a code address. */
    uintptr_t w = (uintptr_t)word;
    __asm__("" : "+r"(w));
    /* The word is signed: sign-extend it on 64-bit targets. */
    return (realloc_fn)(w + (uintptr_t)(intptr_t)*word);
}

/*
 * One call of the import through a spelling and a form: o and the result
 * are pointer values (offsets in the pointer-base build), passed and
 * returned untranslated.
 */
__attribute__((noinline)) static uint32_t call_form(int sp, int form, uint32_t ov, uint32_t ol, uint32_t a, uint32_t nl)
{
    cabi_result r;
    cabi_ptr o = CABI(ov);
    switch (sp * NFORMS + form) {
    case SNAKE * NFORMS + F_DIRECT: r = __cabi_arena_realloc(o, ol, a, nl); break;
    case KEBAB * NFORMS + F_DIRECT: r = contract_kebab(o, ol, a, nl); break;
    case SNAKE * NFORMS + F_TAIL: r = tail_snake(o, ol, a, nl); break;
    case KEBAB * NFORMS + F_TAIL: r = tail_kebab(o, ol, a, nl); break;
    case SNAKE * NFORMS + F_DATAPTR: r = contract_dataptr_snake(o, ol, a, nl); break;
    case KEBAB * NFORMS + F_DATAPTR: r = contract_dataptr_kebab(o, ol, a, nl); break;
    case SNAKE * NFORMS + F_CODEADDR: r = codeaddr_snake(o, ol, a, nl); break;
    case KEBAB * NFORMS + F_CODEADDR: r = codeaddr_kebab(o, ol, a, nl); break;
    case SNAKE * NFORMS + F_ASM: r = asm_snake(o, ol, a, nl); break;
    case KEBAB * NFORMS + F_ASM: r = asm_kebab(o, ol, a, nl); break;
    case SNAKE * NFORMS + F_REL32: r = rel32_target(&contract_rel32_snake)(o, ol, a, nl); break;
    case KEBAB * NFORMS + F_REL32: r = rel32_target(&contract_rel32_kebab)(o, ol, a, nl); break;
    default:
        out_puts("FAIL internal: bad call form");
        plat_exit(1);
    }
    check_zero_extended(sp, form, (uintptr_t)r);
    form_calls[sp][form]++;
    return (uint32_t)(uintptr_t)r;
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

/* ------------------------------------------------------------ reporting */

static __attribute__((noreturn)) void fail_exit(void)
{
    out_write("\n");
    plat_exit(1);
}

static void fail_begin(const char *what)
{
    out_write("FAIL ");
    out_write(what);
    out_write(": ");
}

static void check_eq(const char *what, uint32_t got, uint32_t want)
{
    if (got != want) {
        fail_begin(what);
        out_kv("got", got);
        out_kv("want", want);
        fail_exit();
    }
}

/* Values the program's own .data/.bss must hold at all times. */
static void check_guards(const char *when)
{
    for (uint32_t i = 0; i < 4; i++) {
        if (contract_data_head[i] != data_head_init[i] || contract_data_tail[i] != data_tail_init[i] ||
            contract_bss_head[i] != 0 || contract_bss_tail[i] != 0 || contract_bss_common[i] != 0) {
            fail_begin("program data clobbered");
            out_write(when);
            out_write(" ");
            out_kv("index", i);
            out_kv("data_head", contract_data_head[i]);
            out_kv("data_tail", contract_data_tail[i]);
            out_kv("bss_head", contract_bss_head[i]);
            out_kv("bss_tail", contract_bss_tail[i]);
            out_kv("bss_common", contract_bss_common[i]);
            fail_exit();
        }
    }
    for (uint32_t i = 0; i < sizeof contract_data_bytes; i++) {
        if (contract_data_bytes[i] != i + 1) {
            fail_begin("program data clobbered");
            out_write(when);
            out_write(" ");
            out_kv("data_bytes_index", i);
            out_kv("value", contract_data_bytes[i]);
            fail_exit();
        }
    }
    for (uint32_t i = 0; i < sizeof contract_bss_bytes; i++) {
        if (contract_bss_bytes[i] != 0) {
            fail_begin("program data clobbered");
            out_write(when);
            out_write(" ");
            out_kv("bss_bytes_index", i);
            out_kv("value", contract_bss_bytes[i]);
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
    volatile uint8_t *p = mem(ptr);
    for (uint32_t i = from; i < to; i++) {
        p[i] = pattern(id, i);
    }
}

static void check_pattern(const char *what, uint32_t id, uint32_t ptr, uint32_t len)
{
    volatile const uint8_t *p = mem(ptr);
    for (uint32_t i = 0; i < len; i++) {
        if (p[i] != pattern(id, i)) {
            fail_begin(what);
            out_kv("block", ptr);
            out_kv("offset", i);
            out_kv("got", p[i]);
            out_kv("want", pattern(id, i));
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

/* overlaps() for addresses of any width: [a, a_end) and [b, b_end). */
static int overlaps_addr(uintptr_t a, uintptr_t a_end, uintptr_t b, uintptr_t b_end)
{
    return a < b_end && b < a_end;
}

/* Rule 3/5 checks for a fresh (or moved) block: aligned, in the arena, disjoint. */
static void check_new_block(const char *what, uint32_t p, uint32_t len, uint32_t align, int skip)
{
    if ((p & (align - 1u)) != 0) {
        fail_begin(what);
        out_write("misaligned ");
        out_kv("ptr", p);
        out_kv("align", align);
        fail_exit();
    }
    if (p < arena_start || p > arena_end || len > arena_end - p) {
        fail_begin(what);
        out_write("outside the arena ");
        out_kv("ptr", p);
        out_kv("len", len);
        out_kv("arena_start", arena_start);
        out_kv("arena_end", arena_end);
        fail_exit();
    }
    for (uint32_t i = 0; i < nblocks; i++) {
        if ((int)i != skip && overlaps(p, len, blocks[i].ptr, blocks[i].len)) {
            fail_begin(what);
            out_write("overlaps a live block ");
            out_kv("ptr", p);
            out_kv("len", len);
            out_kv("live_ptr", blocks[i].ptr);
            out_kv("live_len", blocks[i].len);
            fail_exit();
        }
    }
}

static void describe_call(const char *what, int sp, int form, uint32_t o, uint32_t ol, uint32_t a, uint32_t nl)
{
    fail_begin(what);
    out_write("via ");
    out_write(spelling_names[sp]);
    out_write("/");
    out_write(form_names[form]);
    out_write(" ");
    out_kv("old", o);
    out_kv("old_len", ol);
    out_kv("align", a);
    out_kv("new_len", nl);
}

/* New block of len bytes; it must be exactly where the bump model says. Returns its index. */
static uint32_t alloc_new(const char *what, int sp, int form, uint32_t align, uint32_t len)
{
    uint32_t want = align_up(model_next, align);
    uint32_t p = call_form(sp, form, 0, 0, align, len);
    if (p != want) {
        describe_call(what, sp, form, 0, 0, align, len);
        out_kv("got", p);
        out_kv("want", want);
        fail_exit();
    }
    check_new_block(what, p, len, align, -1);
    if (nblocks == MAX_BLOCKS) {
        out_puts("FAIL internal: too many blocks");
        plat_exit(1);
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
    uint32_t p = call_form(sp, form, old, old_len, align, new_len);
    uint32_t keep = old_len < new_len ? old_len : new_len;

    if (recent) {
        if (p != old) {
            describe_call(what, sp, form, old, old_len, align, new_len);
            out_write("most recent block not resized in place ");
            out_kv("got", p);
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
            out_kv("got", p);
            out_kv("want", moved_to);
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
    uint32_t p = call_form(sp, form, old, old_len, align, 0);
    if (p != align) {
        describe_call(what, sp, form, old, old_len, align, 0);
        out_kv("got", p);
        out_kv("want", align);
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
        out_write("FAIL contract needs SIZE >= ");
        out_dec(CONTRACT_MIN_SIZE);
        out_write(", got ");
        out_dec(size);
        fail_exit();
    }
    check_guards("at start");

    /* The first align-1 allocation of a fresh bump allocator is the arena start. */
    cabi_result first = __cabi_arena_realloc(0, 0, 1, 1);
    check_zero_extended(SNAKE, F_DIRECT, (uintptr_t)first);
    arena_start = (uint32_t)(uintptr_t)first;
    if (arena_start == 0 || arena_start > UINT32_MAX - size) {
        fail_begin("first allocation");
        out_kv("ptr", arena_start);
        out_kv("size", size);
        fail_exit();
    }
    arena_end = arena_start + size;
    max_align = CONTRACT_MAX_ALIGN;
    while (max_align * 8u > size) {
        max_align >>= 1;
    }
    out_write("arena ");
    out_kv("start", arena_start);
    out_kv("end", arena_end);
    out_kv("max_align", max_align);
    out_write("\n");
#ifdef CONTRACT_POINTER_BASE
    /* Offsets: the arena must lie inside the linear memory (checked before the first byte is touched). */
    out_write("linear memory ");
    out_kvp("base", (uintptr_t)__linear_memory_base);
    out_kv("size", linmem_size);
    out_write("\n");
    if (arena_end > linmem_size) {
        fail_begin("arena outside the linear memory");
        out_kv("arena_start", arena_start);
        out_kv("arena_end", arena_end);
        out_kv("linear_memory_size", linmem_size);
        fail_exit();
    }
#endif
    blocks[0].ptr = arena_start;
    blocks[0].len = 1;
    blocks[0].id = next_id++;
    nblocks = 1;
    fill_pattern(blocks[0].id, arena_start, 0, 1);
    model_next = arena_start + 1;
    model_last_ptr = arena_start;
    model_last_len = 1;

    /* The arena must not overlap the program's own data or the stack. */
    uintptr_t a_from = (uintptr_t)mem(arena_start), a_to = a_from + size;
    for (uint32_t i = 0; i < NGUARDS; i++) {
        uintptr_t g = (uintptr_t)guards[i].addr;
        if (overlaps_addr(a_from, a_to, g, g + guards[i].len)) {
            fail_begin("arena overlaps program data");
            out_write(guards[i].name);
            out_write(" ");
            out_kvp("addr", g);
            out_kv("arena_start", arena_start);
            out_kv("arena_end", arena_end);
            fail_exit();
        }
    }
    /* The platform's regions (.data, .noinit, the stack, the loaded image) and the live stack. */
    struct plat_region regions[8];
    uint32_t nregions = plat_regions(regions, sizeof regions / sizeof regions[0] - 1);
    uintptr_t sp = plat_sp();
    regions[nregions].name = "live stack";
    regions[nregions].from = sp - 1024u;
    regions[nregions].to = sp;
    nregions++;
    for (uint32_t i = 0; i < nregions; i++) {
        if (overlaps_addr(a_from, a_to, regions[i].from, regions[i].to)) {
            fail_begin("arena overlaps");
            out_write(regions[i].name);
            out_write(" ");
            out_kvp("from", regions[i].from);
            out_kvp("to", regions[i].to);
            out_kv("arena_start", arena_start);
            out_kv("arena_end", arena_end);
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
    resize("grow older block, larger align", SNAKE, F_ASM, x, 64, 70);
    alloc_new("copy setup (later block 4)", SNAKE, F_DIRECT, 1, 3);
    resize("grow older block, align 1", KEBAB, F_REL32, x, 1, 77);

    /* Grow and shrink the most recent block: in place, next allocation follows it. */
    uint32_t w = alloc_new("in-place setup", KEBAB, F_DIRECT, 8, 24);
    resize("grow most recent block", SNAKE, F_DIRECT, w, 8, 200);
    resize("shrink most recent block", KEBAB, F_TAIL, w, 8, 50);
    resize("shrink most recent block, smaller align", SNAKE, F_DATAPTR, w, 2, 49);
    resize("grow most recent block, align 1", KEBAB, F_ASM, w, 1, 333);
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
        uint32_t p = call_form(SNAKE, F_DIRECT, old, 5, max_align, 9);
        if ((p & (max_align - 1u)) != 0 || p == old) {
            describe_call("resize most recent block to a stricter align", SNAKE, F_DIRECT, old, 5, max_align, 9);
            out_kv("got", p);
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
                out_write(spelling_names[s]);
                out_write("/");
                out_write(form_names[f]);
                fail_exit();
            }
        }
    }

    check_all_blocks("live block changed");
    check_guards("after allocating");

    /* Fill the arena exactly to SIZE. */
    if (model_next >= arena_end) {
        fail_begin("contract used up the arena before the fill step");
        out_kv("next", model_next);
        out_kv("arena_end", arena_end);
        fail_exit();
    }
    uint32_t rest = alloc_new("fill the arena to SIZE", KEBAB, F_DIRECT, 1, arena_end - model_next);
    check_eq("fill the arena to SIZE: end", blocks[rest].ptr + blocks[rest].len, arena_end);

    check_all_blocks("live block changed after filling");
    check_guards("after filling the arena");
    out_puts("PASS contract");
    return 0;
}

/* ------------------------------------------------------------ trap modes */

/*
 * Rule 5: nothing returns null (checked before the pointer is used: a store
 * to null traps on some platforms).  In the pointer-base build, offset 0.
 */
static void check_not_null(const char *what, uintptr_t p)
{
    if (p == 0) {
        fail_begin(what);
        out_write("the allocator returned NULL");
        fail_exit();
    }
}

static int mode_fill(uint32_t n)
{
    uintptr_t p = (uintptr_t)__cabi_arena_realloc(0, 0, 1, n);
    if (n != 0) {
        check_not_null("fill", p);
        mem(p)[0] = 0x5a;
        mem(p)[n - 1] = 0xa5;
    }
    out_puts("filled");
    uintptr_t q = (uintptr_t)__cabi_arena_realloc(0, 0, 1, 1);
    check_not_null("fill", q);
    mem(q)[0] = 0x3c;
    out_write("survived ");
    out_kv("first", (uint32_t)p);
    out_kv("second", (uint32_t)q);
    out_write("\n");
    return 0;
}

static int mode_badalign(void)
{
    out_puts("badalign");
    cabi_result p = __cabi_arena_realloc(0, 0, 3, 8);
    fail_begin("badalign: realloc(0,0,3,8) returned");
    out_kv("ptr", (uint32_t)(uintptr_t)p);
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
    cabi_result p;
    if (kind == 0 || streq(kind, "len")) {
        out_puts("wrap len");
        p = __cabi_arena_realloc(0, 0, 1, 0xfffffff0u);
    } else if (streq(kind, "align")) {
        out_puts("wrap align");
        p = __cabi_arena_realloc(0, 0, 0x80000000u, 0x80000000u);
    } else if (streq(kind, "grow")) {
        uintptr_t b = (uintptr_t)__cabi_arena_realloc(0, 0, 1, 1);
        check_not_null("wrap grow", b);
        volatile uint8_t *bp = mem(b);
        bp[0] = 1;
        out_puts("wrap grow");
        p = __cabi_arena_realloc(cabi_of(bp), 1, 1, 0xffffffffu);
    } else {
        fail_begin("wrap: unknown kind (len, align, grow)");
        out_write(kind);
        fail_exit();
    }
    fail_begin("wrap: the request returned");
    out_write(kind ? kind : "len");
    out_write(" ");
    out_kv("ptr", (uint32_t)(uintptr_t)p);
    fail_exit();
}

static int mode_exhaust(void)
{
    out_puts("exhaust");
    for (uint32_t i = 0; i < 8192; i++) { /* 8 MiB: more than all RAM */
        uintptr_t p = (uintptr_t)__cabi_arena_realloc(0, 0, 8, 1024);
        check_not_null("exhaust", p);
        mem(p)[0] = 1;
    }
    out_puts("FAIL exhaust: 8 MiB allocated without a trap");
    return 1;
}

/* ------------------------------------------------------------ warm reset */

/* Fills [from, to) with 0xA5 without calling anything (no stack use). */
static void scribble(uintptr_t from, uintptr_t to)
{
    from = (from + 3u) & ~(uintptr_t)3u;
    to &= ~(uintptr_t)3u;
    for (volatile uint32_t *p = (volatile uint32_t *)from; (uintptr_t)p < to; p++) {
        *p = 0xa5a5a5a5u;
    }
}

static int mode_reset(void)
{
    struct plat_ram ram;
    if (!plat_ram_layout(&ram)) {
        out_puts("UNSUPPORTED reset: this platform has no warm reset that keeps RAM");
        plat_exit(2);
    }
    if (contract_reset_marker != RESET_MAGIC) {
        /* First boot. */
        contract_reset_marker = RESET_MAGIC;
        startup_boot_count = 1;
        uintptr_t a = (uintptr_t)__cabi_arena_realloc(0, 0, 1, 24);
        uintptr_t b = (uintptr_t)contract_kebab(0, 0, 8, 100);
        uintptr_t c = (uintptr_t)__cabi_arena_realloc(0, 0, 4, 7);
        mem(a)[0] = 1;
        mem(b)[0] = 2;
        mem(c)[0] = 3;
        contract_reset_first_block = (uint32_t)a;
        out_write("reset: first boot ");
        out_kv("first_block", contract_reset_first_block);
        out_write("\n");
        /* Garbage everywhere except .noinit and the live stack. */
        uintptr_t sp = plat_sp();
        scribble(ram.start, ram.noinit_start);
        scribble(ram.noinit_end, sp - 64u);
        plat_reset();
        for (volatile uint32_t i = 0; i < 10000000u; i++) {
        }
        /* .data and .bss are garbage now; only constants and the stack are usable. */
        out_puts("FAIL reset: the reset request did not reset the system");
        plat_exit(1);
    }

    /* Second boot. */
    contract_reset_marker = 0;
    out_write("reset: second boot ");
    out_kv("boots", startup_boot_count);
    out_kv("bss_word_at_reset", startup_bss_first_word_at_reset);
    out_write("\n");
    check_eq("reset: the startup code ran once more (boot count)", startup_boot_count, 2);
    check_eq("reset: RAM kept across the reset (first .bss word before clearing)",
             startup_bss_first_word_at_reset, 0xa5a5a5a5u);
    check_guards("after reset");
    uint32_t a = (uint32_t)(uintptr_t)__cabi_arena_realloc(0, 0, 1, 24);
    check_eq("reset: first allocation after reset", a, contract_reset_first_block);
    out_puts("PASS reset");
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
    if (plat_cmdline(cmdline, sizeof cmdline) < 0) {
        out_puts("FAIL no command line (semihosting SYS_GET_CMDLINE failed?)");
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
            out_puts("FAIL usage: contract SIZE");
            return 1;
        }
        return mode_contract(n);
    }
    if (streq(mode, "fill")) {
        if (!parse_u32(arg, &n)) {
            out_puts("FAIL usage: fill N");
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
        out_write("argc=");
        out_dec((uint32_t)argc);
        out_write("\n");
        for (int i = 0; i < argc; i++) {
            out_write("arg=");
            out_write(argv[i]);
            out_write("\n");
        }
        return 0;
    }
    if (streq(mode, "exit")) {
        if (!parse_u32(arg, &n)) {
            out_puts("FAIL usage: exit N");
            return 1;
        }
        return (int)n;
    }
    if (streq(mode, "hang")) {
        out_puts("hang");
        plat_hang();
    }
    out_write("FAIL unknown mode \"");
    out_write(mode);
    out_puts("\" (contract SIZE, fill N, badalign, wrap [len|align|grow], exhaust, reset, args, exit N, hang)");
    return 1;
}

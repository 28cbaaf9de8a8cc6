/*
 * Differential driver: runs sequences of allocator calls through the real
 * allocator of a patched image and prints what it observes, for
 * tests/differential_test.go to compare with the model (model/, model/seq).
 *
 * Built like the contract program (a platform layer, print.c) plus
 * diffjmp.S, linked through elfpatch-ld so that elfpatch binds
 * __cabi_arena_realloc; with -DDIFF_POINTER_BASE (and common/linmem.S)
 * for an image patched with --pointer-base __linear_memory_base, where
 * pointers are offsets from __linear_memory_base.
 *
 * Unlike the contract program it uses the allocator's documented symbols:
 * __elfpatch_arena_start and __elfpatch_arena_end (the arena's bounds) and
 * __elfpatch_state (the allocator's one word of state).  Zeroing the state
 * word empties the arena, so one run holds many sequences.
 *
 * Command line: the last word names the input, a host file (read through
 * plat_file_open/plat_file_read: semihosting, or Linux system calls),
 * little-endian 32-bit words:
 *
 *   "EPDS" (0x53445045)  1 (version)  COUNT
 *   COUNT times:  ID  NOPS  then NOPS times:  REF VAL OLD_LEN ALIGN NEW_LEN
 *
 * REF says what old_ptr is (model/seq.RefKind): 0 VAL itself, 1 the
 * arena's start plus VAL, 2 the result of operation VAL of the same
 * sequence (0 if it trapped).  Pointers are 32-bit on every target.
 *
 * Output, one line per sequence after a header:
 *
 *   diffdrive start=0x........ end=0x........ base=0x........
 *   sID TOKEN... hHASH
 *   ...
 *   end COUNT
 *
 * One TOKEN per operation:
 *
 *   T      the call trapped: the allocator called __cabi_arena_exhausted,
 *          which this program defines and leaves with dd_longjmp (the
 *          sequence goes on: a trap must change nothing)
 *   =HEX   new_len was 0: the value returned (align, untranslated)
 *   HEX    the result, as an offset from the arena's start (in the
 *          caller's pointers), then flags:
 *            W     (64-bit targets) the result was not zero-extended
 *            X     the block is not inside the arena: not filled, not kept
 *            P     its first min(old_len, new_len) bytes differ from what
 *                  old_ptr held before the call (checked where old_ptr's
 *                  bytes lie within the arena or the 64 bytes below it)
 *            ON    it overlaps the live block of operation N, which is
 *                  dropped
 *          every block returned is then filled with a pattern of (ID, op)
 *          and kept as live; the block old_ptr named by REF 2, if live, is
 *          dropped first (it was reallocated)
 *   then, after any operation:
 *            CN    the live block of operation N no longer holds its
 *                  pattern, and is dropped
 *
 * HASH is the FNV-1a hash of the whole arena after the sequence (zeroed
 * before it).  HEX and HASH are lower-case hex, N decimal.  Any other
 * failure prints "FAIL ..." and exits 1.
 */
#include <stddef.h>
#include <stdint.h>

#include "platform.h"

/* The allocator and its documented symbols. */
extern uintptr_t __cabi_arena_realloc(uint32_t old_ptr, uint32_t old_len, uint32_t align, uint32_t new_len);
extern uint8_t __elfpatch_arena_start[];
extern uint8_t __elfpatch_arena_end[];
extern volatile uint32_t __elfpatch_state;
#ifdef DIFF_POINTER_BASE
extern uint8_t __linear_memory_base[];
#endif

/* diffjmp.S: setjmp/longjmp for the trap hook, on every ISA and compiler. */
typedef struct {
    uintptr_t regs[24];
} dd_jmpbuf;
__attribute__((returns_twice)) int dd_setjmp(dd_jmpbuf *buf);
__attribute__((noreturn)) void dd_longjmp(dd_jmpbuf *buf);

#define MAGIC 0x53445045u
#define VERSION 1u
#define MAX_OPS 64u  /* model/seq.MaxOps */
#define MARGIN 64u   /* model/seq.ReadMargin */
#define REF_ABS 0u
#define REF_ARENA 1u
#define REF_RESULT 2u

/* Readable bytes below the arena, which nothing writes: .data lies right
 * below it (the linker scripts put .arena before .bss), so .data of at
 * least MARGIN bytes makes [start - MARGIN, start) .data.  (Above the
 * arena lies .bss, this program's variables and the allocator's state,
 * which change during a call: copies from there are never asked for.) */
volatile uint8_t diff_margin_below[MARGIN] = {1};

static uint32_t arena_start, arena_end; /* addresses, 32-bit */
static uint32_t base;                   /* the pointer base, 0 for addresses */
static uint32_t ptr_start, ptr_end;     /* the arena in the caller's pointers */

static __attribute__((noreturn)) void fail(const char *what, uint32_t v)
{
    out_write("\nFAIL ");
    out_write(what);
    out_write(" ");
    out_hex(v);
    out_write("\n");
    plat_exit(1);
}

/* ---------------------------------------------------------------- output */

static char obuf[512];
static uint32_t olen;

static void flush(void)
{
    if (olen != 0) {
        obuf[olen] = 0;
        plat_write(obuf);
        olen = 0;
    }
}

static void put(char c)
{
    if (olen + 2 > sizeof obuf) {
        flush();
    }
    obuf[olen++] = c;
}

static void put_hex(uint32_t v, int digits) /* digits 0: as few as needed */
{
    static const char hex[] = "0123456789abcdef";
    int n = 8;
    if (digits == 0) {
        for (n = 1; n < 8 && (v >> (4 * n)) != 0; n++) {
        }
    }
    for (int i = n - 1; i >= 0; i--) {
        put(hex[(v >> (4 * i)) & 0xfu]);
    }
}

static void put_dec(uint32_t v)
{
    char buf[10];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    while (n > 0) {
        put(buf[--n]);
    }
}

/* ----------------------------------------------------------------- input */

static int input;
static uint8_t ibuf[256];
static uint32_t ipos, ilen;

static uint32_t read_word(void)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        if (ipos == ilen) {
            int32_t n = plat_file_read(input, ibuf, sizeof ibuf);
            if (n <= 0) {
                fail("input ends early or cannot be read", (uint32_t)n);
            }
            ilen = (uint32_t)n;
            ipos = 0;
        }
        v |= (uint32_t)ibuf[ipos++] << (8 * i);
    }
    return v;
}

/* ---------------------------------------------------------------- memory */

/* The bytes a caller's pointer designates (32-bit arithmetic, as the shim's). */
static uint8_t *mem(uint32_t ptr)
{
    return (uint8_t *)(uintptr_t)(uint32_t)(ptr + base);
}

/* Do n bytes at the caller's pointer ptr lie in [start - MARGIN, end)
 * (model/seq: Env.readable)? */
static int readable(uint32_t ptr, uint32_t n)
{
    uint32_t from = ptr + base;
    return from >= arena_start - MARGIN && from <= arena_end && n <= arena_end - from;
}

static uint32_t fnv(const uint8_t *p, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

/* The pattern of operation op of sequence id: byte i of its block. */
static uint32_t pattern_seed(uint32_t id, uint32_t op)
{
    return id * 0x9e3779b1u + op * 0x7f4a7c15u;
}

static uint8_t pattern_byte(uint32_t x)
{
    return (uint8_t)(x ^ (x >> 13) ^ (x >> 24));
}

static void fill(uint8_t *p, uint32_t n, uint32_t seed)
{
    uint32_t x = seed;
    for (uint32_t i = 0; i < n; i++, x += 0x85ebca77u) {
        p[i] = pattern_byte(x);
    }
}

static int holds(const uint8_t *p, uint32_t n, uint32_t seed)
{
    uint32_t x = seed;
    for (uint32_t i = 0; i < n; i++, x += 0x85ebca77u) {
        if (p[i] != pattern_byte(x)) {
            return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------ the calls */

static dd_jmpbuf trap_jmp;
static volatile int trap_armed;

__attribute__((noreturn)) void __cabi_arena_exhausted(void);
void __cabi_arena_exhausted(void)
{
    if (!trap_armed) {
        fail("__cabi_arena_exhausted called outside a call", 0);
    }
    trap_armed = 0;
    dd_longjmp(&trap_jmp);
}

/* One call: 1 and the result, or 0 if it trapped. */
__attribute__((noinline)) static int call(uint32_t o, uint32_t ol, uint32_t a, uint32_t nl, uintptr_t *result)
{
    if (dd_setjmp(&trap_jmp) != 0) {
        return 0;
    }
    trap_armed = 1;
    uintptr_t r = __cabi_arena_realloc(o, ol, a, nl);
    trap_armed = 0;
    *result = r;
    return 1;
}

/* ------------------------------------------------------------ sequences */

struct live {
    uint32_t op, ptr, len;
};

static uint32_t results[MAX_OPS];
static struct live live[MAX_OPS];
static uint32_t nlive;

static void drop(uint32_t i)
{
    for (; i + 1 < nlive; i++) {
        live[i] = live[i + 1];
    }
    nlive--;
}

static void run_op(uint32_t id, uint32_t k)
{
    uint32_t ref = read_word(), val = read_word();
    uint32_t old_len = read_word(), align = read_word(), new_len = read_word();
    uint32_t old;
    switch (ref) {
    case REF_ABS: old = val; break;
    case REF_ARENA: old = ptr_start + val; break;
    case REF_RESULT:
        if (val >= k) {
            fail("reference to a later operation", val);
        }
        old = results[val];
        break;
    default: fail("bad reference kind", ref);
    }

    uint32_t n = old_len < new_len ? old_len : new_len;
    int check = n != 0 && readable(old, n);
    uint32_t before = check ? fnv(mem(old), n) : 0;
    uintptr_t r;
    put(' ');
    if (!call(old, old_len, align, new_len, &r)) {
        results[k] = 0;
        put('T');
    } else if (new_len == 0) {
        results[k] = (uint32_t)r;
        put('=');
        put_hex((uint32_t)r, 0);
#if UINTPTR_MAX > 0xffffffffu
        if (r >> 32 != 0) {
            put('W');
        }
#endif
    } else {
        uint32_t p = (uint32_t)r;
        results[k] = p;
        put_hex(p - ptr_start, 0);
#if UINTPTR_MAX > 0xffffffffu
        if (r >> 32 != 0) {
            put('W');
        }
#endif
        if (p < ptr_start || p > ptr_end || new_len > ptr_end - p) {
            put('X');
        } else {
            if (check && fnv(mem(p), n) != before) {
                put('P');
            }
            if (ref == REF_RESULT) {
                for (uint32_t i = 0; i < nlive; i++) {
                    if (live[i].op == val) {
                        drop(i);
                        break;
                    }
                }
            }
            for (uint32_t i = 0; i < nlive;) {
                if (p < live[i].ptr + live[i].len && live[i].ptr < p + new_len) {
                    put('O');
                    put_dec(live[i].op);
                    drop(i);
                } else {
                    i++;
                }
            }
            fill(mem(p), new_len, pattern_seed(id, k));
            live[nlive].op = k;
            live[nlive].ptr = p;
            live[nlive].len = new_len;
            nlive++;
        }
    }
    for (uint32_t i = 0; i < nlive;) {
        if (!holds(mem(live[i].ptr), live[i].len, pattern_seed(id, live[i].op))) {
            put('C');
            put_dec(live[i].op);
            drop(i);
        } else {
            i++;
        }
    }
}

static void run_sequence(void)
{
    uint32_t id = read_word(), nops = read_word();
    if (nops > MAX_OPS) {
        fail("too many operations", nops);
    }
    __elfpatch_state = 0;
    for (uint8_t *p = mem(ptr_start); p != mem(ptr_end); p++) {
        *p = 0;
    }
    nlive = 0;
    put('s');
    put_dec(id);
    for (uint32_t k = 0; k < nops; k++) {
        run_op(id, k);
    }
    put(' ');
    put('h');
    put_hex(fnv(mem(ptr_start), ptr_end - ptr_start), 8);
    put('\n');
    flush(); /* a line per sequence: a crash shows which sequence it was in */
}

static char cmdline[256];

int main(void)
{
    if (plat_cmdline(cmdline, sizeof cmdline) < 0) {
        fail("no command line", 0);
    }
    const char *name = cmdline;
    for (char *s = cmdline; *s; s++) {
        if (*s == ' ') {
            *s = 0;
            if (s[1] != 0 && s[1] != ' ') {
                name = s + 1;
            }
        }
    }
    input = plat_file_open(name);
    if (input < 0) {
        out_write("FAIL cannot open ");
        out_puts(name);
        plat_exit(1);
    }

    uintptr_t s = (uintptr_t)__elfpatch_arena_start, e = (uintptr_t)__elfpatch_arena_end;
#ifdef DIFF_POINTER_BASE
    uintptr_t b = (uintptr_t)__linear_memory_base;
#else
    uintptr_t b = 0;
#endif
    if ((uint32_t)s != s || (uint32_t)e != e || (uint32_t)b != b || s < MARGIN || e < s) {
        fail("arena not below 4 GiB", (uint32_t)s);
    }
    arena_start = (uint32_t)s;
    arena_end = (uint32_t)e;
    base = (uint32_t)b;
    ptr_start = arena_start - base;
    ptr_end = arena_end - base;
    out_write("diffdrive ");
    out_kv("start", arena_start);
    out_kv("end", arena_end);
    out_kv("base", base);
    out_write("\n");

    if (read_word() != MAGIC || read_word() != VERSION) {
        fail("not a sequence file", 0);
    }
    uint32_t count = read_word();
    for (uint32_t i = 0; i < count; i++) {
        run_sequence();
    }
    out_write("end ");
    out_dec(count);
    out_write("\n");
    return 0;
}

/* workloads.c - the CPU work of the CPU lessons (see workloads.h).
 *
 * Four workloads, each from one of the articles:
 *   sumsq   sum(j*j for j in range(size+i)): the Real Python example, exact
 *           in 128 bits. Default size 5_000_000, as there.
 *   fib     fib(size) by naive recursion, as in the "simple concurrency"
 *           post. Default 35, as in the 2024 Real Python article: about
 *           20 ms a task in C, where CPython takes seconds.
 *   sha256  a chain of `size` SHA-256 hashes of a 32-byte block, as in the
 *           2021 talk. Default 500_000, as there.
 *   prime   is 2^(size+i) - 1 prime? Trial division, as in the by-example
 *           post. Default 42: the 20 exponents 42..61 end on the Mersenne
 *           prime 2^61-1, which alone needs 7.6e8 divisions (1.5 s or
 *           so), while every composite there has a factor below 200_000.
 *           One task dwarfs the rest: no model can split it.
 *
 * Two things keep the measurements honest:
 * [1] The work must really run. A compiler that sees a loop adding j*j can
 *     replace it by the closed form (clang's scalar evolution does, at
 *     -O2), so sumsq hides its counter behind an empty asm statement: the
 *     loop stays a loop, and time grows with size under every compiler.
 * [2] A long task must notice a signal. Each loop runs in chunks of 20 to
 *     150 microseconds and calls keep_going() between them: the one place a
 *     task looks up from its work, and so where cpu_threads --gil hooks in
 *     the emulated GIL's "please let go" (task_context_on_chunk). CPython
 *     looks every few hundred nanoseconds; looking every millisecond, as
 *     this file once did, made the emulated holder serve most drop requests
 *     late at a 200 us switch interval (README: CPython's GIL beside the
 *     emulated one).
 * [3] The same loop must run at the same speed in every lesson. Where the
 *     linker happens to place sumsq's 21-byte loop differs from program to
 *     program; placed across two 64-byte lines, it ran 1.5x slower on a
 *     core whose sibling was busy, which made cpu_threads look slower than
 *     cpu_multiprocessing for no reason of its own. A 64-byte-aligned
 *     function holding just the loop pins its place within the line.
 */
#include "workloads.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Iterations between two looks at the stop flag [2]: about 44 us of sumsq,
 * 28 us of sha256, 33 us of fib, 140 us of prime's divisions (each look
 * costs a call and a load). */
#define CHUNK (1u << 16)
#define SHA256_CHUNK (1u << 8)
#define FIB_LOOK_FROM 21            /* fib(21) is about 35_000 calls */

enum workload { SUMSQ, FIB, SHA256, PRIME };
static const char *const names[] = { "sumsq", "fib", "sha256", "prime" };
static const long long default_sizes[] = { 5000000, 35, 500000, 42 };

/* Chosen once by workload_prepare, read-only while the workers run. */
static enum workload chosen;
static uint64_t size;
static EVP_MD *sha256_md;           /* fetched once, shared by every worker */

struct task_context {
    EVP_MD_CTX *md_ctx;             /* sha256 only: one per worker, reused */
    void (*on_chunk)(void *);       /* cpu_threads --gil: the GIL's check */
    void *on_chunk_arg;
};

static bool keep_going(const struct task_context *c)           /* [2] */
{
    if (c->on_chunk)
        c->on_chunk(c->on_chunk_arg);
    return !lab_stop_signal;
}

/* ---- The four workloads -------------------------------------------------- */

/* One chunk of sumsq: j*j for from <= j < to, added to sum. Out of line
 * and on a cache line of its own, so the loop sits at its start [3]. */
__attribute__((noinline, aligned(64)))
static unsigned __int128 squares(uint64_t from, uint64_t to,
                                 unsigned __int128 sum)
{
    for (uint64_t j = from; j < to; j++) {
        __asm__ volatile("" : "+r"(j));                         /* [1] */
        sum += (unsigned __int128)j * j;
    }
    return sum;
}

static bool sum_of_squares(const struct task_context *c, uint64_t n,
                           unsigned __int128 *out)
{
    unsigned __int128 sum = 0;
    for (uint64_t j = 0; j < n; j += CHUNK) {
        sum = squares(j, n - j > CHUNK ? j + CHUNK : n, sum);
        if (!keep_going(c))
            return false;
    }
    *out = sum;
    return true;
}

/* Naive on purpose: fib(n) makes 2 fib(n+1) - 1 calls. Only the few calls
 * high in the tree look at the flag; a stopped task's sum is thrown away. */
static uint64_t fib(const struct task_context *c, unsigned n)
{
    if (n < 2)
        return n;
    if (n >= FIB_LOOK_FROM && !keep_going(c))
        return 0;
    return fib(c, n - 1) + fib(c, n - 2);
}

static bool sha256_chain(struct task_context *c, long long i, uint64_t rounds,
                         unsigned char block[32])
{
    memset(block, 0, 32);
    for (int b = 0; b < 8; b++)     /* i, big-endian, in the last 8 bytes */
        block[31 - b] = (unsigned char)((uint64_t)i >> (8 * b));
    for (uint64_t r = 0; r < rounds; r++) {
        if (r % SHA256_CHUNK == 0 && !keep_going(c))
            return false;
        /* Init_ex2 resets the context without freeing it: no allocation
         * per hash, unlike the one-shot EVP_Digest(). */
        if (!EVP_DigestInit_ex2(c->md_ctx, sha256_md, NULL)
            || !EVP_DigestUpdate(c->md_ctx, block, 32)
            || !EVP_DigestFinal_ex(c->md_ctx, block, NULL))
            lab_die("SHA-256: %s", ERR_reason_error_string(ERR_get_error()));
    }
    return true;
}

/* Trial division, odd divisors only (2^e - 1 is odd), up to sqrt(n).
 * n / x and n % x come from one division instruction. */
static bool mersenne_is_prime(const struct task_context *c, unsigned exponent,
                              bool *prime)
{
    uint64_t n = (UINT64_C(1) << exponent) - 1;
    *prime = n >= 2;
    uint64_t x = 3;
    while (*prime && x <= n / x) {
        uint64_t end = x + 2 * (uint64_t)CHUNK;
        for (; x < end && x <= n / x; x += 2) {
            if (n % x == 0) {
                *prime = false;
                break;
            }
        }
        if (!keep_going(c))
            return false;
    }
    return true;
}

/* ---- What the lessons call ----------------------------------------------- */

void workload_prepare(struct lab_cpu *o)
{
    size_t n = sizeof names / sizeof names[0];
    size_t w = 0;
    while (w < n && strcmp(o->workload, names[w]) != 0)
        w++;
    if (w == n)
        lab_usage_error("--workload: '%s' is not one of sumsq, fib, sha256, "
                        "prime", o->workload);
    chosen = (enum workload)w;
    if (o->size == 0)
        o->size = default_sizes[chosen];
    size = (uint64_t)o->size;

    long double last = (long double)(o->size + o->tasks - 1);
    if (chosen == SUMSQ && (long double)o->tasks * last * last * last / 3
                           >= 0x1p128L)
        lab_usage_error("--size %lld with --tasks %lld: the sumsq total would "
                        "not fit in 128 bits", o->size, o->tasks);
    if (chosen == FIB && o->size > 92)
        lab_usage_error("--size %lld: fib(%lld) does not fit in 64 bits "
                        "(at most 92)", o->size, o->size);
    if (chosen == PRIME && o->size + o->tasks - 1 > 63)
        lab_usage_error("--size %lld with --tasks %lld: prime tests "
                        "2^(size+i)-1 in 64 bits, so size + tasks - 1 must "
                        "be at most 63", o->size, o->tasks);
    if (chosen == SHA256) {
        sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
        if (!sha256_md)
            lab_die("EVP_MD_fetch(SHA256): %s",
                    ERR_reason_error_string(ERR_get_error()));
    }
}

void workload_release(void)
{
    EVP_MD_free(sha256_md);         /* NULL is fine */
    sha256_md = NULL;
}

struct task_context *task_context_open(void)
{
    struct task_context *c = calloc(1, sizeof *c);
    if (!c)
        lab_die("out of memory");
    if (chosen == SHA256 && !(c->md_ctx = EVP_MD_CTX_new()))
        lab_die("EVP_MD_CTX_new: %s",
                ERR_reason_error_string(ERR_get_error()));
    return c;
}

void task_context_on_chunk(struct task_context *c, void (*fn)(void *),
                           void *arg)
{
    c->on_chunk = fn;
    c->on_chunk_arg = arg;
}

void task_context_close(struct task_context *c)
{
    EVP_MD_CTX_free(c->md_ctx);     /* NULL is fine */
    free(c);
}

bool task_run(struct task_context *c, long long i, struct task_result *r)
{
    bool prime = false;
    *r = (struct task_result){ 0 };
    switch (chosen) {
    case SUMSQ:
        return sum_of_squares(c, size + (uint64_t)i, &r->sum);
    case FIB:
        r->sum = fib(c, (unsigned)size);
        return keep_going(c);
    case SHA256:
        return sha256_chain(c, i, size, r->block);
    case PRIME:
        if (!mersenne_is_prime(c, (unsigned)(size + (uint64_t)i), &prime))
            return false;
        r->sum = prime;
        return true;
    }
    return false;
}

void task_result_add(struct task_result *total, const struct task_result *r)
{
    total->sum += r->sum;
    for (int b = 0; b < 32; b++)
        total->block[b] ^= r->block[b];
}

const char *task_result_text(const struct task_result *total,
                             char buf[static 65])
{
    if (chosen != SHA256)
        return lab_u128(total->sum, buf);
    for (int b = 0; b < 32; b++)
        snprintf(buf + 2 * b, 3, "%02x", total->block[b]);
    return buf;
}

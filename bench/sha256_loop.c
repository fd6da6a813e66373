/* sha256_loop.c - the floor under the sha256 workload: a bare loop over
 * OpenSSL's EVP interface.
 *
 * What it shows: what one SHA-256 of a 32-byte block costs with nothing
 * around it: the digest fetched once, one context reused, no task loop, no
 * stop flag, no workers. make bench divides the CPU lessons' time per hash
 * by this one's; what is left above 1 is what the lessons add.
 *
 * It computes the chain of task TASK of the sha256 workload (workloads.c):
 * a 32-byte block, zero but for TASK as a big-endian 64-bit integer in its
 * last 8 bytes, replaced ROUNDS times by its SHA-256. So for TASK 0 its
 * result equals `cpu_sync --workload sha256 --tasks 1 --size ROUNDS`'s.
 *
 * Usage: sha256_loop ROUNDS [TASK]
 *   build/bench/sha256_loop 5000000
 *
 * Expect, as the last line (the lab's record line):
 *   experiment=sha256_loop workload=sha256 tasks=1 size=5000000 seconds=0.6... ns_per_hash=1xx.x result=...
 *
 * See also: lab/workloads.c (the same chain, inside the lessons),
 * and `openssl speed -bytes 32 sha256` (OpenSSL's own measure).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void die(const char *what)
{
    fprintf(stderr, "sha256_loop: %s: %s\n", what,
            ERR_reason_error_string(ERR_get_error()));
    exit(1);
}

/* A whole number, strictly: digits only, within [min, max]; else exit 2. */
static unsigned long long number(const char *text, unsigned long long min,
                                 unsigned long long max)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end || errno || n < min || n > max) {
        fprintf(stderr, "sha256_loop: '%s' is not a number from %llu to %llu\n",
                text, min, max);
        exit(2);
    }
    return n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || strcmp(argv[1], "--help") == 0) {
        fprintf(argc == 2 ? stdout : stderr, "Usage: sha256_loop ROUNDS [TASK]\n");
        return argc == 2 ? 0 : 2;
    }
    unsigned long long rounds = number(argv[1], 1, 1000000000000ULL);
    unsigned long long task = argc == 3 ? number(argv[2], 0, UINT64_MAX) : 0;

    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);   /* once */
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();                /* reused */
    if (!md || !ctx)
        die("EVP_MD_fetch/EVP_MD_CTX_new");
    unsigned char block[32] = { 0 };
    for (int b = 0; b < 8; b++)
        block[31 - b] = (unsigned char)(task >> (8 * b));

    double start = now();
    for (unsigned long long r = 0; r < rounds; r++)
        if (!EVP_DigestInit_ex2(ctx, md, NULL) || !EVP_DigestUpdate(ctx, block, 32)
            || !EVP_DigestFinal_ex(ctx, block, NULL))
            die("SHA-256");
    double seconds = now() - start;

    char hex[65];
    for (int b = 0; b < 32; b++)
        snprintf(hex + 2 * b, 3, "%02x", block[b]);
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
    printf("experiment=sha256_loop workload=sha256 tasks=1 size=%llu seconds=%.6f "
           "ns_per_hash=%.1f result=%s\n",
           rounds, seconds, seconds * 1e9 / (double)rounds, hex);
    return 0;
}

/* fuzz_lab.c - libFuzzer target for the parts of lab_options.c that read outside
 * input: the number parser and the option parser.
 *
 * The first byte picks what to fuzz; the rest is the input.
 *   0: lab_number on the text, checked against an independent oracle: it
 *      must accept exactly the texts of the form -?D+(_D+)* whose value is
 *      within range, and return that value.
 *   1: lab_io_options on an argv made of the NUL-separated pieces;
 *   2: lab_cpu_options likewise. Either the parse ends in a usage error
 *      (or --help), or what it returns must hold the contract.
 * lab_exit longjmps back here instead of ending the process.
 *
 * Build and run: make fuzz FUZZ_SECONDS=60 (needs clang).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "trace.h"

static jmp_buf back;
static int exit_status;

static void exit_to_fuzzer(int status)
{
    exit_status = status;
    longjmp(back, 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc; (void)argv;
    lab_exit = exit_to_fuzzer;
    setenv("LAB_URL", "http://127.0.0.1:9/", 1);
    return 0;
}

/* The oracle: what a strict decimal with '_' separators means. */
static int oracle(const char *text, long long min, long long max, long long *value)
{
    char digits[64];
    size_t n = 0;
    const char *p = text + (text[0] == '-');
    if (*p < '0' || *p > '9')
        return 0;
    for (; *p; p++) {
        if (*p == '_') {
            if (p[1] < '0' || p[1] > '9')
                return 0;
            continue;
        }
        if (*p < '0' || *p > '9')
            return 0;
        if (n == 0 && *p == '0')
            continue;           /* leading zeros add nothing */
        if (n >= sizeof digits - 2)
            return 0;           /* far too many digits: out of range */
        digits[n++] = *p;
    }
    if (n == 0)
        digits[n++] = '0';
    digits[n] = '\0';
    errno = 0;
    long long v = strtoll(digits, NULL, 10);
    if (errno == ERANGE)
        return 0;
    if (text[0] == '-')
        v = -v;
    *value = v;
    return v >= min && v <= max;
}

static void fuzz_number(const char *text)
{
    static const long long ranges[][2] = {
        { 1, 10000000 }, { 0, 20 }, { -5, 5 }, { 1, 9223372036854775807LL },
    };
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++) {
        long long expect = 0;
        int valid = oracle(text, ranges[r][0], ranges[r][1], &expect);
        if (setjmp(back) == 0) {
            long long got = lab_number("n", text, ranges[r][0], ranges[r][1]);
            if (!valid || got != expect)
                abort();        /* accepted what it should refuse */
        } else if (valid || exit_status != LAB_EXIT_USAGE) {
            abort();            /* refused what it should accept */
        }
    }
}

static void fuzz_options(int which, char *args, size_t len)
{
    char *argv[32] = { "lesson" };
    int argc = 1;
    for (size_t i = 0; i < len && argc < 31; argc++) {
        argv[argc] = args + i;
        i += strlen(args + i) + 1;
    }
    argv[argc] = NULL;
    if (setjmp(back) != 0) {
        if (exit_status != LAB_EXIT_USAGE && exit_status != 0)
            abort();
        return;
    }
    /* An accepted --trace FILE made a temporary file and a buffer: drop both. */
    if (which == 1) {
        struct lab_io o = { .workers = 5 };
        lab_io_options(argc, argv, "fuzz", &o, 4096, LAB_ACCEPT_GIL);
        if (o.requests < 1 || o.workers < 1 || o.workers > o.requests ||
            o.n_urls < 1 || o.n_urls > LAB_MAX_URLS ||
            strncmp(o.urls[0], "http", 4) != 0)
            abort();
    } else {
        struct lab_cpu o;
        lab_cpu_options(argc, argv, "fuzz", &o, LAB_ACCEPT_GIL);
        if (o.tasks < 1 || o.workers < 1 || o.workers > o.tasks ||
            o.size < 0 || !o.workload)
            abort();
    }
    trace_abandon();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 512)
        return 0;
    char *text = malloc(size + 1);      /* argv strings must stay put */
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (data[0] % 3 == 0)
        fuzz_number(text);
    else
        fuzz_options(data[0] % 3, text, size - 1);
    free(text);
    return 0;
}

/* lab_options.c - the lessons' options (see lab.h): decimal numbers read
 * strictly, the option table, and the options every I/O and every CPU
 * lesson takes. Bad input is one line on stderr and exit 2. */
#define _GNU_SOURCE
#include "lab.h"
#include "trace.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- Numbers ------------------------------------------------------------ */

long long lab_number(const char *option, const char *text,
                     long long min, long long max)
{
    const char *p = text;
    bool negative = (*p == '-');
    unsigned long long v = 0;
    int digits = 0;

    if (negative)
        p++;
    for (; *p; p++) {
        if (*p == '_' && digits > 0 && p[1] >= '0' && p[1] <= '9')
            continue;           /* a separator between digits */
        if (*p < '0' || *p > '9')
            lab_usage_error("--%s: '%s' is not a whole number", option, text);
        if (v > (9223372036854775807ULL - (unsigned)(*p - '0')) / 10)
            lab_usage_error("--%s: '%s' is too large (at most %lld)",
                            option, text, max);
        v = v * 10 + (unsigned)(*p - '0');
        digits++;
    }
    if (digits == 0)
        lab_usage_error("--%s: '%s' is not a whole number", option, text);
    long long n = negative ? -(long long)v : (long long)v;
    if (n < min)
        lab_usage_error("--%s: %s is below the least allowed, %lld",
                        option, text, min);
    if (n > max)
        lab_usage_error("--%s: %s is above the most allowed, %lld",
                        option, text, max);
    return n;
}

/* ---- The option table -------------------------------------------------- */

/* The options every program takes, beside its own (and --help). */
static const char *trace_path;
static bool progress, no_progress;
static const struct lab_opt common[] = {
    { "trace", LAB_TEXT, "FILE", "write a trace of every unit of work to FILE "
      "(Perfetto, chrome://tracing)", .text = &trace_path },
    { "progress", LAB_FLAG, NULL, "draw a progress bar on stderr (default "
      "when stderr is a terminal)", .flag = &progress },
    { "no-progress", LAB_FLAG, NULL, "never draw the progress bar",
      .flag = &no_progress },
    { 0 }
};

static void print_options(const struct lab_opt *opts)
{
    for (const struct lab_opt *o = opts; o->name; o++) {
        char left[48];
        snprintf(left, sizeof left, "--%s%s%s", o->name,
                 o->arg ? " " : "", o->arg ? o->arg : "");
        printf("  %-26s %s\n", left, o->help);
    }
}

static void print_usage(const char *summary, const struct lab_opt *opts)
{
    printf("%s\n\nUsage: %s [options]\n\n", summary, program_invocation_short_name);
    print_options(opts);
    print_options(common);
    printf("  %-26s %s\n", "--help", "print this help and exit");
}

static void take(const struct lab_opt *o, const char *arg)
{
    switch (o->kind) {
    case LAB_NUMBER:
        *o->number = lab_number(o->name, arg, o->min, o->max);
        break;
    case LAB_FLAG:
        *o->flag = true;
        break;
    case LAB_TEXT:
        *o->text = arg;
        break;
    case LAB_LIST:
        if (*o->count >= LAB_MAX_URLS)
            lab_usage_error("--%s: at most %d may be given", o->name,
                            LAB_MAX_URLS);
        o->list[(*o->count)++] = arg;
        break;
    }
}

/* A program started with stdin, stdout or stderr closed would hand that
 * number to the next file it opens (the trace, a pipe, a socket), and its
 * output would land there. Hold each closed one open on /dev/null, read
 * only: a write to it still fails (EBADF), as to a closed descriptor. */
static void hold_standard_fds(void)
{
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF
            && open("/dev/null", O_RDONLY) < 0)
            lab_die("open /dev/null: %s", strerror(errno));
}

void lab_parse(int argc, char **argv, const char *summary,
               const struct lab_opt *opts)
{
    enum { MOST = 64, COMMON = 3 };
    struct option longopts[MOST];
    const struct lab_opt *all[MOST];    /* the table entry behind each */
    size_t n = 0;

    lab_main_pid = getpid();
    hold_standard_fds();
    /* A reader that has gone (`| head -n 0`) must not kill us by SIGPIPE in
     * the middle of a printf: that left --trace's temporary file behind and
     * no trace. Ignored, the write fails (EPIPE) and lab_finish says so and
     * exits 1, as for a full disk. A forked child that writes to a parent
     * gone sees EPIPE too, and exits. */
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; opts[i].name; i++) {
        if (n >= MOST - COMMON - 2)
            lab_die("too many options in the lesson's table");
        all[n++] = &opts[i];
    }
    for (size_t i = 0; common[i].name; i++)
        all[n++] = &common[i];
    for (size_t i = 0; i < n; i++)
        longopts[i] = (struct option){ all[i]->name,
            all[i]->kind == LAB_FLAG ? no_argument : required_argument,
            NULL, (int)i + 256 };
    longopts[n] = (struct option){ "help", no_argument, NULL, 'h' };
    longopts[n + 1] = (struct option){ 0, 0, 0, 0 };

    opterr = 0;                 /* we say what went wrong, in one line */
    optind = 0;                 /* start afresh, should we be called again */
    trace_path = NULL;
    progress = no_progress = false;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'h') {
            print_usage(summary, opts);
            lab_exit(lab_flush_stdout() ? 0 : 1);
            abort();
        } else if (c == ':') {
            lab_usage_error("%s needs a value (see --help)", argv[optind - 1]);
        } else if (c == '?') {
            lab_usage_error("unknown option '%s' (see --help)",
                            argv[optind - 1]);
        }
        take(all[c - 256], optarg);
    }
    if (optind < argc)
        lab_usage_error("unexpected argument '%s' (see --help)", argv[optind]);
    lab_progress_show(!no_progress && (progress || isatty(STDERR_FILENO)));
    if (trace_path)
        trace_start(trace_path);    /* last: a usage error after it removes the file */
}

/* ---- The I/O and CPU lessons' options ----------------------------------- */

/* The host and port of a URL (what lies between "//" and the first / ? #),
 * as libcurl would take them: a user@ first, then a name of letters,
 * digits, - . _ ~ % (or non-ASCII: an international name), or an IPv6
 * address in brackets; then, after a ':', a port from 1 to 65535 (or none:
 * the default). */
static bool authority_ok(const char *a, size_t n)
{
    const char *at = memrchr(a, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    const char *end = a + n;
    const char *port;
    if (n > 0 && *a == '[') {
        const char *close = memchr(a, ']', n);
        if (!close || close == a + 1)
            return false;
        for (const char *p = a + 1; p < close; p++)
            if (!isxdigit((unsigned char)*p) && *p != ':' && *p != '.')
                return false;
        port = close + 1;
        if (port < end && *port != ':')
            return false;
    } else {
        port = memchr(a, ':', n);
        if (!port)
            port = end;
        if (port == a)
            return false;           /* no host */
        for (const char *p = a; p < port; p++)
            if (!isalnum((unsigned char)*p) && !strchr("-._~%", *p)
                && (unsigned char)*p < 0x80)
                return false;
    }
    if (port == end || port + 1 == end)
        return true;                /* no port, or "host:": the default */
    long number = 0;
    for (const char *p = port + 1; p < end; p++) {
        if (!isdigit((unsigned char)*p))
            return false;
        number = number * 10 + (*p - '0');
        if (number > 65535)
            return false;
    }
    return number >= 1;
}

/* Refuse here, once, what libcurl would refuse at every request (a port of
 * 99999, an unclosed [, a control character): else each request would
 * fail on its own, counted as an error, and the run would look like a
 * server's fault. `from` names where the URL came from. */
static void check_url(const char *from, const char *url)
{
    const char *host = NULL;
    if (strncmp(url, "http://", 7) == 0)
        host = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        host = url + 8;
    /* Not echoed whole: a line break in it would make the message two lines. */
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            lab_usage_error("%s: a URL holds no space or control character "
                            "(one follows '%.*s')", from, (int)(p - url), url);
    if (!host || !authority_ok(host, strcspn(host, "/?#")))
        lab_usage_error("%s: '%s' is not an http:// or https:// URL", from, url);
}

/* The last two entries of a threaded lesson's table. Without
 * LAB_ACCEPT_GIL the name is NULL, which ends the table there. */
#define GIL_OPTIONS(o, flags)                                               \
    { ((flags) & LAB_ACCEPT_GIL) ? "gil" : NULL, LAB_FLAG, NULL,            \
      "hold an emulated global interpreter lock", .flag = &(o)->gil },      \
    { "switch-interval-us", LAB_NUMBER, "US",                               \
      "the lock's switch interval (default 5000)",                          \
      .number = &(o)->switch_interval_us, .min = 1, .max = 10000000 }

void lab_io_options(int argc, char **argv, const char *summary,
                    struct lab_io *o, long long max_workers, unsigned flags)
{
    long long default_workers = o->workers;
    *o = (struct lab_io){ .requests = 160, .workers = default_workers,
                          .timeout_ms = 10000, .switch_interval_us = 5000 };
    const struct lab_opt opts[] = {
        { "url", LAB_LIST, "URL", "download this URL; repeat to cycle over "
          "several (default: $LAB_URL)", .list = o->urls, .count = &o->n_urls },
        { "requests", LAB_NUMBER, "N", "how many downloads (default 160)",
          .number = &o->requests, .min = 1, .max = 10000000 },
        { "workers", LAB_NUMBER, "W", "how many at once (the lesson's default "
          "is in its summary)", .number = &o->workers, .min = 1,
          .max = max_workers },
        { "timeout-ms", LAB_NUMBER, "MS", "give up on one download after MS "
          "(default 10000)", .number = &o->timeout_ms, .min = 1,
          .max = 86400000 },
        { "retries", LAB_NUMBER, "N", "retry a 429 or 503 answer up to N times, "
          "backing off (default 0)", .number = &o->retries, .min = 0, .max = 20 },
        GIL_OPTIONS(o, flags),
        { 0 }
    };
    lab_parse(argc, argv, summary, opts);

    const char *from = "--url";
    if (o->n_urls == 0) {
        const char *env = getenv("LAB_URL");
        from = "LAB_URL";
        if (!env || !*env)
            lab_usage_error("no URL: give --url or set LAB_URL "
                            "(scripts/labserver url prints one)");
        o->urls[o->n_urls++] = env;
    }
    for (size_t i = 0; i < o->n_urls; i++)
        check_url(from, o->urls[i]);
    if (o->workers == 0 || o->workers > o->requests)
        o->workers = o->requests;   /* no idle workers */
}

void lab_cpu_options(int argc, char **argv, const char *summary,
                     struct lab_cpu *o, unsigned flags)
{
    *o = (struct lab_cpu){ .workload = "sumsq", .tasks = 20,
                           .workers = (flags & LAB_WORKERS_AS_GIVEN)
                                      ? 0 : lab_online_cpus(),
                           .switch_interval_us = 5000 };
    const struct lab_opt opts[] = {
        { "workload", LAB_TEXT, "NAME", "sumsq, fib, sha256 or prime "
          "(default sumsq)", .text = &o->workload },
        { "tasks", LAB_NUMBER, "N", "how many tasks (default 20)",
          .number = &o->tasks, .min = 1, .max = 1000000 },
        { "size", LAB_NUMBER, "S", "the size of one task (default: the "
          "workload's)", .number = &o->size, .min = 1,
          .max = 4000000000000LL },
        { "workers", LAB_NUMBER, "W", (flags & LAB_WORKERS_AS_GIVEN)
          ? "how many workers (default: as many as were started)"
          : "threads or processes (default: the online CPUs)",
          .number = &o->workers, .min = 1, .max = 4096 },
        GIL_OPTIONS(o, flags),
        { 0 }
    };
    lab_parse(argc, argv, summary, opts);
    if (o->workers > o->tasks && !(flags & LAB_WORKERS_AS_GIVEN))
        o->workers = o->tasks;      /* no idle workers */
}

void lab_manager_options(int argc, char **argv, const char *summary,
                         struct lab_manager *o, long long max_chunks)
{
    *o = (struct lab_manager){ .numbers = 100, .chunks = 4 };
    const struct lab_opt opts[] = {
        { "numbers", LAB_NUMBER, "N", "sum 1..N (default 100, at most 10^12)",
          .number = &o->numbers, .min = 1, .max = 1000000000000LL },
        { "chunks", LAB_NUMBER, "K", "in K chunks, a child process each "
          "(default 4)", .number = &o->chunks, .min = 1, .max = max_chunks },
        { "ops", LAB_NUMBER, "N", "store each part N more times (default 0)",
          .number = &o->ops, .max = 1000000000 },
        { "spin", LAB_NUMBER, "US", "tuning: poll up to US microseconds before "
          "sleeping (default 0: sleep at once)", .number = &o->spin_us, .max = 1000000 },
        { "shared-memory", LAB_FLAG, NULL, "keep the dict in shared memory, "
          "not in a manager", .flag = &o->shared_memory },
        { 0 }
    };
    lab_parse(argc, argv, summary, opts);
    if (o->chunks > o->numbers)
        lab_usage_error("--chunks %lld: more than the %lld numbers", o->chunks, o->numbers);
}

/* The option of the table named by arg ("--name" or "--name=value"), with
 * *value pointing at "value" for the second form, or NULL. */
static const struct lab_opt *find(const struct lab_opt *more, const char *arg,
                                  const char **value)
{
    if (strncmp(arg, "--", 2) != 0)
        return NULL;
    for (const struct lab_opt *m = more; m->name; m++) {
        size_t n = strlen(m->name);
        if (strncmp(arg + 2, m->name, n) != 0)
            continue;
        if (arg[2 + n] == '\0') {
            *value = NULL;
            return m;
        }
        if (arg[2 + n] == '=') {
            *value = arg + 3 + n;
            return m;
        }
    }
    return NULL;
}

void lab_io_options_more(int argc, char **argv, const char *summary,
                         struct lab_io *o, long long max_workers,
                         unsigned flags, const struct lab_opt *more)
{
    char **rest = calloc((size_t)argc + 3, sizeof *rest);
    char requests[24];
    size_t size = strlen(summary) + 64;
    for (const struct lab_opt *m = more; m->name; m++)
        size += strlen(m->name) + strlen(m->arg) + strlen(m->help) + 40;
    char *text = malloc(size);
    if (!rest || !text)
        lab_die("out of memory for the options");
    /* --help prints the summary first: the lesson's own options go there. */
    int used = snprintf(text, size, "%s\n\nThis lesson's own options:", summary);
    for (const struct lab_opt *m = more; m->name; m++) {
        char left[48];
        snprintf(left, sizeof left, "--%s %s", m->name, m->arg);
        used += snprintf(text + used, size - (size_t)used, "\n  %-26s %s", left, m->help);
    }
    int n = 0;
    rest[n++] = argv[0];
    if (o->requests > 0) {          /* the lesson's default; a later one wins */
        snprintf(requests, sizeof requests, "%lld", o->requests);
        rest[n++] = "--requests";
        rest[n++] = requests;
    }
    for (int i = 1; i < argc; i++) {
        const char *value = NULL;
        const struct lab_opt *m = find(more, argv[i], &value);
        if (strcmp(argv[i], "--") == 0) {       /* the end of the options */
            while (i < argc)
                rest[n++] = argv[i++];
            break;
        }
        if (!m) {
            rest[n++] = argv[i];
            continue;
        }
        if (!value && i + 1 >= argc)
            lab_usage_error("%s needs a value (see --help)", argv[i]);
        if (!value)
            value = argv[++i];
        if (m->kind == LAB_NUMBER)
            *m->number = lab_number(m->name, value, m->min, m->max);
        else
            *m->text = value;
    }
    rest[n] = NULL;
    lab_io_options(n, rest, text, o, max_workers, flags);
    free(rest);                 /* the option values point into argv */
    free(text);
}

/* io_hybrid.c - processes of threads: each process runs whole iterations,
 * each iteration fetches its requests on a pool of threads.
 *
 * The model: the by-example post's plan. --iterations I independent
 * iterations run on --processes P forked workers [1] (multiprocessing.Pool),
 * each process taking the next iteration number from a counter in shared
 * memory. An iteration fetches --requests R answers on --threads T threads
 * [2] (a ThreadPoolExecutor inside each process: threads for the waiting,
 * processes for what is independent), writes them and its letter counts to
 * one file under --out [3], and the parent, once every child is reaped,
 * adds the counts up and names the most common letter.
 *
 * The file is written whole or not at all [3]: to a temporary name beside
 * it, flushed to disk, then renamed (rename is atomic): no reader ever sees
 * half a file, even after a Ctrl-C. Fork hygiene [4]: stdout is flushed
 * before fork (or the child's copy of the buffer is printed twice), each
 * child makes its own easy handles and ends with _exit (no atexit handler).
 * Request k of iteration i is number i x R + k, and "{n}" in the URL
 * becomes it: the lab server's /letters?n={n} answers each with its own
 * 100 letters, the same on every run, so the letter counts are exact.
 *
 * What to watch: `seconds` near ceil(I / P) x ceil(R / T) x latency: the
 * threads overlap the waits within an iteration, the processes overlap the
 * iterations. Compare io_sync's I x R x latency for the same requests.
 *
 * Usage: io_hybrid [--url URL] [--iterations I] [--processes P] [--requests R] [--threads T] [--out DIR]
 *   scripts/labserver start
 *   bin/io_hybrid --url "$(scripts/labserver url)/letters?n={n}" --processes 2 --threads 10
 *
 * Expect: "Downloaded 150 of 150 (15000 bytes, 0 errors) in 0.0x s", the
 * letter line, then
 *   experiment=io_hybrid requests=150 workers=10 seconds=0.0... bytes=15000 errors=0 done=150 iterations=5 processes=2 threads=10 letter=x count=...
 *
 * See also: io_threads.c (the threads alone), io_multiprocessing.c (the
 * processes alone), fetch.c (one download).
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fetch.h"
#include "lab.h"
#include "lab_more.h"
#include "trace.h"

enum { MAX_PROCESSES = 256, MAX_THREADS = 1024, MAX_ITERATIONS = 100000 };

static const char summary[] =
    "io_hybrid: run I iterations (default 5) on P processes (default 2), "
    "each fetching R requests (default 30) on T threads (default 5), each "
    "writing its file under --out; the most common letter over all.";

/* In memory every process shares (mapped before the forks). */
struct shared {
    atomic_llong next_iteration, requests_done;
    struct result {                 /* one per iteration, its child fills */
        atomic_int ready;           /* 1: finished and its file written */
        atomic_llong done, failed, bytes;
        long long letters[26];
    } results[];
};

/* One iteration inside one child: its requests and what came back. */
struct iteration {
    const struct lab_io *opt;
    struct shared *sh;
    long long first;                /* the first request's number */
    atomic_llong next;              /* the threads' queue */
    char **bodies;                  /* R answers, NULL when failed */
    struct result *r;
};

struct worker {
    struct fetch_kept k;            /* its handle, keeping the bodies */
    long lane;
    struct iteration *it;
};

static void *thread_main(void *arg)                                 /* [2] */
{
    struct worker *w = arg;
    struct iteration *it = w->it;
    long long k;
    while (!lab_stop_signal && (k = atomic_fetch_add(&it->next, 1)) < it->opt->requests) {
        long long n = it->first + k, bytes = 0;
        double t0 = trace_clock();
        bool ok = fetch_kept_run(&w->k, n, &bytes);
        if (!ok && lab_stop_signal)
            break;                  /* cut short by a signal: not counted */
        it->bodies[k] = ok ? strdup(w->k.body ? w->k.body : "") : NULL;
        atomic_fetch_add(&it->r->failed, !ok);
        atomic_fetch_add(&it->r->bytes, bytes);
        atomic_fetch_add(&it->r->done, 1);
        atomic_fetch_add(&it->sh->requests_done, 1);
        trace_span("request", w->lane, t0, n, "\"request\":%lld,\"bytes\":%lld,\"ok\":%s",
                   n, bytes, ok ? "true" : "false");
    }
    return NULL;
}

/* [3] Write the iteration's file whole, or leave nothing behind. */
static bool write_result(const char *dir, long long i, struct iteration *it)
{
    char path[4096], tmp[4096];
    snprintf(path, sizeof path, "%s/iteration-%lld.txt", dir, i);
    snprintf(tmp, sizeof tmp, "%s/.iteration-%lld.txt.tmp", dir, i);
    FILE *out = fopen(tmp, "w");
    if (!out)
        return false;
    fprintf(out, "iteration %lld: %lld requests, %lld failed\n", i, it->opt->requests,
            (long long)it->r->failed);
    for (long long k = 0; k < it->opt->requests; k++)
        fprintf(out, "request %lld %s\n", it->first + k, it->bodies[k] ? it->bodies[k] : "(failed)");
    for (int c = 0; c < 26; c++)
        fprintf(out, "%s%c=%lld", c ? " " : "letters ", 'a' + c, it->r->letters[c]);
    fprintf(out, "\n");
    bool ok = fflush(out) == 0 && fsync(fileno(out)) == 0;
    ok = fclose(out) == 0 && ok;
    if (!ok || lab_stop_signal || rename(tmp, path) != 0) {
        unlink(tmp);
        return false;
    }
    return true;
}

/* One iteration: T threads over R requests, then count, write, report. */
static void run_iteration(long long i, struct worker *ws, long long threads,
                          const struct lab_io *o, struct shared *sh, const char *dir)
{
    struct iteration it = { .opt = o, .sh = sh, .first = i * o->requests, .r = &sh->results[i],
                            .bodies = calloc((size_t)o->requests, sizeof(char *)) };
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    if (!it.bodies || !tids)
        lab_die("out of memory for iteration %lld", i);
    long long started = 0;
    for (int err = 0; started < threads && !err; started += !err) {
        ws[started].it = &it;
        err = pthread_create(&tids[started], NULL, thread_main, &ws[started]);
    }
    for (long long t = 0; t < started; t++)
        lab_check("pthread_join", pthread_join(tids[t], NULL));
    if (started < threads)
        lab_die("pthread_create: only %lld of %lld threads", started, threads);
    for (long long k = 0; k < o->requests; k++)   /* the letters, a to z */
        for (const char *p = it.bodies[k]; p && *p; p++)
            if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')
                it.r->letters[(*p | 0x20) - 'a']++;
    if (!lab_stop_signal && !write_result(dir, i, &it) && !lab_stop_signal)
        lab_die("iteration %lld: cannot write its file in %s: %s", i, dir, strerror(errno));
    atomic_store(&it.r->ready, !lab_stop_signal);
    for (long long k = 0; k < o->requests; k++)
        free(it.bodies[k]);
    free(it.bodies);
    free(tids);
}

static _Noreturn void child_main(long long index, long long iterations, long long threads,
                                 const struct lab_io *o, struct shared *sh, const char *dir)
{                                                                    /* [1] */
    trace_process("child %lld", index);
    struct worker *ws = calloc((size_t)threads, sizeof *ws);
    if (!ws)
        lab_die("out of memory for %lld threads", threads);
    for (long long t = 0; t < threads; t++) {
        fetch_kept_init(&ws[t].k, o);   /* [4] made after the fork */
        ws[t].lane = (long)t + 1;
        trace_lane(ws[t].lane, "thread %ld", ws[t].lane);
    }
    long long i;
    while (!lab_stop_signal && (i = atomic_fetch_add(&sh->next_iteration, 1)) < iterations)
        run_iteration(i, ws, threads, o, sh, dir);
    for (long long t = 0; t < threads; t++)
        fetch_kept_cleanup(&ws[t].k);
    free(ws);
    _exit(0);                       /* [4] */
}

int main(int argc, char **argv)
{
    long long iterations = 5, processes = 2, threads = 5;
    const char *dir = "results/io_hybrid", *workers = NULL;
    const struct lab_opt more[] = {
        { "iterations", LAB_NUMBER, "I", "independent iterations (default 5)",
          .number = &iterations, .min = 1, .max = MAX_ITERATIONS },
        { "processes", LAB_NUMBER, "P", "forked workers running them (default 2)",
          .number = &processes, .min = 1, .max = MAX_PROCESSES },
        { "threads", LAB_NUMBER, "T", "threads per iteration (default 5)",
          .number = &threads, .min = 1, .max = MAX_THREADS },
        { "out", LAB_TEXT, "DIR", "the iterations' files (default results/io_hybrid)",
          .text = &dir },
        { "workers", LAB_TEXT, "W", "not here: --threads and --processes",
          .text = &workers },
        { 0 }
    };
    struct lab_io o = { .requests = 30 };
    lab_io_options_more(argc, argv, summary, &o, 1, 0, more);
    if (workers)
        lab_usage_error("--workers: this lesson takes --threads T and --processes P");
    lab_out_folder("out", dir);
    o.workers = threads < o.requests ? threads : o.requests;
    threads = o.workers;
    processes = processes < iterations ? processes : iterations;
    lab_reserve_files(threads, "threads", threads);    /* a socket each, per child */
    lab_catch_signals();
    fetch_global_init();

    size_t size = sizeof(struct shared) + (size_t)iterations * sizeof(struct result);
    struct shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t *pids = calloc((size_t)processes, sizeof *pids);
    if (sh == MAP_FAILED || !pids)
        lab_die("no memory for %lld iterations: %s", iterations, strerror(errno));

    double start = lab_now();
    long long running = 0, died = 0, total = iterations * o.requests;
    for (long long k = 0; k < processes; k++) {
        fflush(stdout);             /* [4] */
        pid_t pid = fork();
        if (pid == 0)
            child_main(k, iterations, threads, &o, sh, dir);
        if (pid < 0 && ++died)      /* stop those started: no orphans */
            fprintf(stderr, "io_hybrid: fork: %s\n", strerror(errno));
        if (pid < 0)
            break;
        pids[running++] = pid;
    }
    died += lab_wait_children(pids, running, died > 0, &sh->requests_done, total);
    double seconds = lab_now() - start;
    lab_progress_end();

    long long done = 0, failed = 0, bytes = 0, letters[26] = { 0 };
    for (long long i = 0; i < iterations; i++) {
        struct result *r = &sh->results[i];
        if (!atomic_load(&r->ready))
            continue;
        done += r->done;
        failed += r->failed;
        bytes += r->bytes;
        for (int c = 0; c < 26; c++)
            letters[c] += r->letters[c];
    }
    int best = 0;
    for (int c = 1; c < 26; c++)
        if (letters[c] > letters[best])
            best = c;               /* a tie goes to the earlier letter */
    munmap(sh, size);
    free(pids);
    curl_global_cleanup();
    printf("The most common letter over %lld iterations: '%c', %lld times\n",
           iterations, 'a' + best, letters[best]);
    struct lab_io all = o;          /* the record counts every iteration's requests */
    all.requests = total;
    char extra[160];
    snprintf(extra, sizeof extra, "iterations=%lld processes=%lld threads=%lld letter=%c count=%lld",
             iterations, processes, threads, 'a' + best, letters[best]);
    fetch_report("io_hybrid", &all, threads, seconds, bytes, failed, done, extra);
    lab_finish(failed + died);
}

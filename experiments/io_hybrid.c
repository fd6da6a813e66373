/* io_hybrid.c - processes of threads: the by-example post's plan.
 *
 * The model: --iterations I independent iterations run on --processes P
 * forked workers [1] (multiprocessing.Pool), each taking the next iteration
 * from a counter in shared memory. An iteration fetches --requests R
 * answers on --threads T threads [2] (a ThreadPoolExecutor in each process:
 * threads for the waits, processes for what is independent) and writes
 * them and its letter counts to a file under --out [3], whole or not at all
 * (a temporary name, then rename), so no reader sees half a file, even
 * after a Ctrl-C. The parent adds the counts up: the most common letter.
 * Fork hygiene [4] (procs.c): stdout is flushed before fork (or a child's
 * copy of the buffer prints twice), each child makes its own easy handles
 * and ends by lab_child_exit (no atexit handler runs). Request k of iteration i
 * is number i x R + k, put for "{n}" in the URL: the lab server's /letters?n=
 * gives each 100 letters of its own, the same on every run.
 *
 * What to watch: `seconds` near ceil(I / P) x ceil(R / T) x latency, where
 * io_sync takes I x R x latency for the same requests.
 *
 * Usage: io_hybrid [--url URL] [--iterations I] [--processes P] [--requests R]
 *                  [--threads T] [--out DIR]
 *   bin/io_hybrid --url "$(scripts/labserver url)/letters?n={n}" --threads 10
 *
 * Expect: "The most common letter over 5 iterations: 'v', 608 times",
 * "Downloaded 150 of 150 (15000 bytes, 0 errors) in 0.0x s", then
 *   experiment=io_hybrid requests=150 workers=10 seconds=0.0... bytes=15000 errors=0 done=150 iterations=5 processes=2 threads=10 letter=v count=608
 *
 * See also: io_threads.c (threads alone), io_multiprocessing.c (processes alone).
 */
#define _GNU_SOURCE
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
#include "outfile.h"
#include "procs.h"
#include "trace.h"

enum { MAX_PROCESSES = 256, MAX_THREADS = 512, MAX_ITERATIONS = 100000 };

static const char summary[] = "io_hybrid: I iterations on P processes, each fetching R "
    "requests (default 30) on T threads and writing a file; the most common letter.";

/* In memory every process shares (mapped before the forks). */
struct shared {
    const struct lab_io *opt;
    const char *dir;
    long long iterations, threads;  /* T: the threads of each iteration */
    atomic_llong next_iteration, requests_done;
    struct result {                 /* one per iteration, its child fills */
        atomic_int ready;           /* 1: finished, its file written */
        atomic_llong next;          /* its threads' queue of requests */
        atomic_llong failed, bytes;
        atomic_llong letters[26];
        char **bodies;              /* R answers (NULL: failed), child-only */
    } results[];
};

struct worker {
    struct fetch_kept k;            /* its handle, keeping the bodies */
    pthread_t thread;
    struct shared *sh;
    struct result *r;               /* the iteration under way */
};

static void *thread_main(void *arg)                                 /* [2] */
{
    struct worker *w = arg;
    struct result *r = w->r;
    long long k, first = (r - w->sh->results) * w->sh->opt->requests;
    while (!lab_stop_signal && (k = atomic_fetch_add(&r->next, 1)) < w->sh->opt->requests) {
        long long bytes = 0;
        bool ok = fetch_kept_run(&w->k, first + k, &bytes);  /* traced on w->k.f.lane */
        if (!ok && lab_stop_signal)
            break;                  /* cut short by a signal: not counted */
        r->bodies[k] = ok ? strdup(w->k.body ? w->k.body : "") : NULL;
        for (const char *p = r->bodies[k]; p && *p; p++)     /* the letters, a to z */
            if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')
                atomic_fetch_add(&r->letters[(*p | 0x20) - 'a'], 1);
        atomic_fetch_add(&r->failed, !ok);
        atomic_fetch_add(&r->bytes, bytes);
        atomic_fetch_add(&w->sh->requests_done, 1);
    }
    return NULL;
}

/* What an iteration's file holds: each answer ("-": failed), the counts. */
static void fill(FILE *out, void *arg)
{
    struct worker *w = arg;         /* any of the iteration's workers */
    long long requests = w->sh->opt->requests;
    long long first = (w->r - w->sh->results) * requests;
    for (long long k = 0; k < requests; k++)
        fprintf(out, "request %lld %s\n", first + k, w->r->bodies[k] ? w->r->bodies[k] : "-");
    for (int c = 0; c < 26; c++)
        fprintf(out, "%s%c=%lld%s", c ? " " : "letters ", 'a' + c, (long long)w->r->letters[c],
                c == 25 ? "\n" : "");
}

/* One iteration: T threads over its R requests, then count and write. */
static void run_iteration(struct shared *sh, long long i, struct worker *ws)
{
    struct result *r = &sh->results[i];
    long long requests = sh->opt->requests;
    if (!(r->bodies = calloc((size_t)requests, sizeof(char *))))
        lab_die("out of memory for iteration %lld", i);
    for (long long t = 0; t < sh->threads; t++) {   /* a failure ends this child */
        ws[t].r = r;
        ws[t].sh = sh;
        lab_check("pthread_create",
                  pthread_create(&ws[t].thread, NULL, thread_main, &ws[t]));
    }
    for (long long t = 0; t < sh->threads; t++)
        lab_check("pthread_join", pthread_join(ws[t].thread, NULL));
    char path[4096];                /* [3] whole, or not at all */
    snprintf(path, sizeof path, "%s/iteration-%lld.txt", sh->dir, i);
    if (!lab_stop_signal && !outfile_write_whole(path, fill, &ws[0]) && !lab_stop_signal)
        lab_die("iteration %lld: cannot write %s: %s", i, path, strerror(errno));
    atomic_store(&r->ready, !lab_stop_signal);
    while (requests-- > 0)
        free(r->bodies[requests]);
    free(r->bodies);
}

static _Noreturn void child_main(struct shared *sh, long long index)     /* [1] */
{
    static struct worker ws[MAX_THREADS];   /* each child's own copy */
    trace_process("child %lld", index);
    lab_catch_signals();            /* a stop ends the file under way whole, or none */
    for (long long t = 0; t < sh->threads; t++) {
        fetch_kept_init(&ws[t].k, sh->opt);     /* [4] made after the fork */
        ws[t].k.f.lane = (long)t + 1;          /* fetch_run traces each request here */
        trace_lane(ws[t].k.f.lane, "thread %ld", ws[t].k.f.lane);
    }
    long long i;
    while (!lab_stop_signal && (i = atomic_fetch_add(&sh->next_iteration, 1)) < sh->iterations)
        run_iteration(sh, i, ws);
    for (long long t = 0; t < sh->threads; t++)
        fetch_kept_cleanup(&ws[t].k);
    lab_child_exit(0);              /* [4]; dies of an outside SIGTERM: not a success */
}

static struct shared *shown;    /* what show_progress draws */

static void show_progress(void)
{
    lab_progress(shown->requests_done, shown->iterations * shown->opt->requests);
}

int main(int argc, char **argv)
{
    long long iterations = 5, processes = 2, threads = 0;
    const char *dir = "results/io_hybrid";
    const struct lab_opt more[] = {
        { "iterations", LAB_NUMBER, "I", "iterations (default 5)",
          .number = &iterations, .min = 1, .max = MAX_ITERATIONS },
        { "processes", LAB_NUMBER, "P", "processes (default 2)",
          .number = &processes, .min = 1, .max = MAX_PROCESSES },
        { "threads", LAB_NUMBER, "T", "threads per iteration (default 5; or --workers T)",
          .number = &threads, .min = 1, .max = MAX_THREADS },
        { "out", LAB_TEXT, "DIR", "the files (default results/io_hybrid)", .text = &dir },
        { 0 }
    };
    struct lab_io o = { .requests = 30, .workers = 5 };
    lab_io_options_more(argc, argv, summary, &o, MAX_THREADS, 0, more);
    outfile_folder("out", dir);
    if (threads)                    /* --threads, the name here for --workers */
        o.workers = threads < o.requests ? threads : o.requests;
    processes = processes < iterations ? processes : iterations;
    lab_reserve_files(o.workers, "threads", o.workers);    /* a socket each, per child */
    lab_catch_signals();
    fetch_global_init();
    size_t size = sizeof(struct shared) + (size_t)iterations * sizeof(struct result);
    struct shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t pids[MAX_PROCESSES];
    if (sh == MAP_FAILED)
        lab_die("no memory for %lld iterations: %s", iterations, strerror(errno));
    *sh = (struct shared){ .opt = &o, .dir = dir, .iterations = iterations, .threads = o.workers };
    shown = sh;
    double start = lab_now();
    long long died = 0, total = iterations * o.requests;
    for (long long k = 0; k < processes; k++) {
        pids[k] = procs_fork();     /* [4]; if one fails, those started stop */
        if (pids[k] == 0)
            child_main(sh, k);
    }
    for (long long k = 0; k < processes; k++)
        died += !procs_join(&pids[k], "child", k, show_progress);
    double seconds = lab_now() - start;
    lab_progress_end();
    long long done = sh->requests_done, failed = 0, bytes = 0, letters[26] = { 0 };
    for (struct result *r = sh->results; r < sh->results + iterations; r++) {
        for (int c = 0; c < 26 && r->ready; c++)    /* only whole iterations */
            letters[c] += r->letters[c];
        failed += r->failed;
        bytes += r->bytes;
    }
    int best = 0;
    for (int c = 1; c < 26; c++)    /* a tie goes to the earlier letter */
        best = letters[c] > letters[best] ? c : best;
    munmap(sh, size);
    curl_global_cleanup();
    printf("The most common letter over %lld iterations: '%c', %lld times\n",
           iterations, 'a' + best, letters[best]);
    o.requests = total;             /* the record counts every iteration's */
    char extra[160];
    snprintf(extra, sizeof extra, "iterations=%lld processes=%lld threads=%lld letter=%c "
             "count=%lld", iterations, processes, o.workers, 'a' + best, letters[best]);
    fetch_report("io_hybrid", &o, o.workers, seconds, bytes, failed, done, extra);
    lab_finish(failed + died);
}

/* io_threads.c - I/O on a pool of threads: the waits overlap.
 *
 * The model: --workers W threads (like concurrent.futures.ThreadPoolExecutor
 * with max_workers=5), each taking the next request number from one shared
 * atomic counter [1] and downloading it with an easy handle of its own [2]
 * (the Python version keeps one requests.Session per thread in a
 * threading.local for the same reason: a handle must never be used by two
 * threads at once). Each thread adds its bytes and failures into its own
 * totals [3], so nothing but the counters is written by two threads; main
 * combines the totals after joining them.
 *
 * What to watch: while one thread waits for its answer the others wait for
 * theirs, so `seconds` comes out near ceil(requests / W) x latency instead
 * of requests x latency. time(1) still shows almost no CPU time: the threads
 * sleep in poll(), W at a time, with a few voluntary context switches per
 * request. Raise W until it reaches requests and the time stops falling:
 * one round trip is the floor. Each thread has its own stack, so W costs
 * memory (kept small here: 256 KiB each) and a thread creation. With --gil
 * the time hardly changes: the lock is let go around every wait [4], which
 * is why threads help Python's I/O but not its CPU work. --trace shows W
 * lanes, each a row of requests one after another.
 *
 * Usage: io_threads [--url URL]... [--requests N] [--workers W] [--timeout-ms MS] [--gil]
 *   scripts/labserver start
 *   bin/io_threads --url "$(scripts/labserver url)/delay?s=0.05&bytes=17" --requests 40
 *
 * Expect: "Downloaded 40 of 40 (680 bytes, 0 errors) in 0.4x s" and then
 *   experiment=io_threads requests=40 workers=5 seconds=0.40... bytes=680 errors=0 done=40 gil=0
 *
 * See also: io_sync.c (the same loop, one request at a time),
 * io_multiprocessing.c (processes instead of threads), io_async.c (one
 * thread, no pool), cpu_threads.c (the same pool for CPU work), fetch.c
 * (one download), gil.c (--gil).
 */
#include <curl/curl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "fetch.h"
#include "gil.h"
#include "lab.h"
#include "trace.h"

enum {
    DEFAULT_WORKERS = 5,            /* as in the Real Python article */
    MAX_WORKERS = 4096,
    STACK_BYTES = 256 * 1024,       /* libcurl needs far less than 8 MiB */
};

static const char summary[] =
    "io_threads: download the URLs on a pool of threads (default 5), one "
    "easy handle each.";

/* What every thread shares. Only the counters are written by more than one
 * (and, with --gil, the lock, which guards itself). */
struct pool {
    const struct lab_io *opt;
    atomic_llong next_request;      /* the work queue: just a number */
    atomic_llong done;              /* finished, for the progress bar */
    struct gil gil;                 /* used with --gil only */
};

struct worker {
    pthread_t thread;
    struct pool *pool;
    long me;                        /* this thread's lane, and its GIL name */
    long long bytes, failed;        /* [3] this thread's requests, added up */
};

/* One request, start to end. It blocks in the network for the whole
 * latency; only this thread waits, the others carry on. With --gil the
 * thread holds the emulated lock while it "runs Python" and lets go around
 * the blocking transfer [4], as CPython does around a socket call: that is
 * why Python threads still overlap their waits. */
static bool download_one(struct worker *w, struct fetch *f, long long request)
{
    if (w->pool->opt->gil)
        gil_drop(&w->pool->gil, w->me);
    bool ok = fetch_run(f, request, &w->bytes);
    if (w->pool->opt->gil)
        gil_take(&w->pool->gil, w->me);
    return ok;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct pool *p = w->pool;
    struct fetch f;
    fetch_init(&f, p->opt);         /* [2] this thread's own handle */
    f.lane = w->me;                 /* its requests' spans go on our lane */
    trace_lane(w->me, "thread %ld", w->me);
    if (p->opt->gil)
        gil_take(&p->gil, w->me);
    while (!lab_stop_signal) {
        long long i = atomic_fetch_add(&p->next_request, 1);   /* [1] */
        if (i >= p->opt->requests)
            break;                  /* the queue is empty */
        bool ok = download_one(w, &f, i);
        if (f.stopped)
            break;                  /* cut short by a signal: not counted */
        if (!ok)
            w->failed++;
        lab_progress(atomic_fetch_add(&p->done, 1) + 1, p->opt->requests);
    }
    if (p->opt->gil)
        gil_drop(&p->gil, w->me);
    fetch_cleanup(&f);
    return NULL;
}

/* The concurrency step: start W threads on the shared counter, then wait
 * for every one of them. A signal makes each stop at once: fetch_run wakes
 * on it and cuts the transfer short. If a thread cannot be made, the queue
 * is emptied, those started end after their request, and we stop there. */
static void download_all(struct worker *workers, long long n, struct pool *p)
{
    pthread_attr_t attr;
    lab_check("pthread_attr_init", pthread_attr_init(&attr));
    size_t stack = STACK_BYTES < PTHREAD_STACK_MIN ? PTHREAD_STACK_MIN
                                                   : STACK_BYTES;
    lab_check("pthread_attr_setstacksize",
              pthread_attr_setstacksize(&attr, stack));
    long long started = 0;
    int err = 0;
    for (; started < n; started++) {
        workers[started].pool = p;
        workers[started].me = (long)started + 1;
        err = pthread_create(&workers[started].thread, &attr, worker_main,
                             &workers[started]);
        if (err != 0)
            break;
    }
    if (err != 0)                   /* empty the queue: those started end */
        atomic_store(&p->next_request, p->opt->requests);
    for (long long k = 0; k < started; k++)
        lab_check("pthread_join", pthread_join(workers[k].thread, NULL));
    lab_check("pthread_create", err);
    lab_check("pthread_attr_destroy", pthread_attr_destroy(&attr));
}

int main(int argc, char **argv)
{
    struct lab_io o = { .workers = DEFAULT_WORKERS };
    lab_io_options(argc, argv, summary, &o, MAX_WORKERS, LAB_ACCEPT_GIL);
    /* Three files a thread: its connection and libcurl's wake-up pair. */
    lab_reserve_files(3 * o.workers, "workers", o.workers);
    lab_catch_signals();
    fetch_global_init();            /* before any thread: not thread-safe */

    struct worker *workers = calloc((size_t)o.workers, sizeof *workers);
    if (!workers)
        lab_die("out of memory for %lld threads", o.workers);
    struct pool p = { .opt = &o };
    gil_init(&p.gil, o.switch_interval_us);
    double start = lab_now();
    download_all(workers, o.workers, &p);
    double seconds = lab_now() - start;
    gil_destroy(&p.gil);
    lab_progress_end();

    long long bytes = 0;
    long long failed = 0;
    for (long long k = 0; k < o.workers; k++) {
        bytes += workers[k].bytes;
        failed += workers[k].failed;
    }
    free(workers);
    curl_global_cleanup();
    fetch_report("io_threads", &o, o.workers, seconds, bytes, failed,
                 atomic_load(&p.done), o.gil ? "gil=1" : "gil=0");
    lab_finish(failed);
}

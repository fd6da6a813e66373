/* io_threads.c - I/O on a pool of threads: the waits overlap.
 *
 * The model: --workers W threads (like concurrent.futures.ThreadPoolExecutor
 * with max_workers=5), each taking the next request number from one shared
 * atomic counter [1] and downloading it with an easy handle of its own [2]
 * (the Python version keeps one requests.Session per thread in a
 * threading.local for the same reason: a handle must never be used by two
 * threads at once).
 *
 * What to watch: while one thread waits for its answer the others wait for
 * theirs, so `seconds` comes out near ceil(requests / W) x latency instead
 * of requests x latency. time(1) still shows almost no CPU time: the threads
 * sleep in poll(), W at a time, with a few voluntary context switches per
 * request. Raise W until it reaches requests and the time stops falling:
 * one round trip is the floor. Each thread has its own stack [3], so W
 * costs memory (kept small here: 256 KiB each) and a thread creation.
 * With --gil the time hardly changes: the lock is let go around every
 * wait [4], which is why threads help Python's I/O but not its CPU work.
 *
 * Usage: io_threads [--url URL]... [--requests N] [--workers W] [--timeout-ms MS] [--gil]
 *   scripts/labserver start
 *   bin/io_threads --url "$(scripts/labserver url)/delay?s=0.05&bytes=17" --requests 40
 *
 * Expect: "Downloaded 40 of 40 (680 bytes, 0 errors) in 0.4x s" and then
 *   experiment=io_threads requests=40 workers=5 seconds=0.40... bytes=680 errors=0 done=40
 *
 * See also: io_sync.c (the same loop, one request at a time),
 * io_multiprocessing.c (processes instead of threads), io_async.c (one
 * thread, no pool), fetch.c (one download), gil.c (--gil).
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

enum {
    DEFAULT_WORKERS = 5,            /* as in the Real Python article */
    MAX_WORKERS = 4096,
    STACK_BYTES = 256 * 1024,       /* libcurl needs far less than 8 MiB */
};

static const char summary[] =
    "io_threads: download the URLs on a pool of threads (default 5), one "
    "easy handle each.";

/* What every thread shares. Only atomics are written by more than one. */
struct pool {
    const struct lab_io *opt;
    atomic_llong next_request;      /* the work queue: just a number */
    atomic_llong done, failed, bytes;
    atomic_long threads_started;    /* names each thread for the GIL */
    struct gil gil;                 /* used with --gil only */
};

/* One request, start to end. It blocks in the network for the whole
 * latency; only this thread waits, the others carry on. With --gil the
 * thread holds the emulated lock while it "runs Python" and lets go around
 * the blocking transfer [4], as CPython does around a socket call: that is
 * why Python threads still overlap their waits. */
static bool download_one(struct pool *p, long me, struct fetch *f,
                         long long request, long long *bytes)
{
    if (p->opt->gil)
        gil_drop(&p->gil, me);
    bool ok = fetch_run(f, request, bytes);
    if (p->opt->gil)
        gil_take(&p->gil, me);
    return ok;
}

static void *worker_main(void *arg)
{
    struct pool *p = arg;
    struct fetch f;
    fetch_init(&f, p->opt);         /* [2] this thread's own handle */
    long me = atomic_fetch_add(&p->threads_started, 1) + 1;
    if (p->opt->gil)
        gil_take(&p->gil, me);
    while (!lab_stop_signal) {
        long long i = atomic_fetch_add(&p->next_request, 1);   /* [1] */
        if (i >= p->opt->requests)
            break;                  /* the queue is empty */
        long long bytes = 0;
        bool ok = download_one(p, me, &f, i, &bytes);
        if (!ok && lab_stop_signal)
            break;                  /* cut short by a signal: not counted */
        if (!ok)
            atomic_fetch_add(&p->failed, 1);
        atomic_fetch_add(&p->bytes, bytes);
        lab_progress(atomic_fetch_add(&p->done, 1) + 1, p->opt->requests);
    }
    if (p->opt->gil)
        gil_drop(&p->gil, me);
    fetch_cleanup(&f);
    return NULL;
}

/* The concurrency step: start W threads on the shared counter, then wait
 * for every one of them. A signal makes each stop after its transfer (the
 * transfer itself is cut short by fetch.c's progress callback). */
static void download_all(struct pool *p, long long workers)
{
    pthread_t *threads = calloc((size_t)workers, sizeof *threads);
    if (!threads)
        lab_die("out of memory for %lld threads", workers);
    pthread_attr_t attr;
    lab_check("pthread_attr_init", pthread_attr_init(&attr));
    size_t stack = STACK_BYTES < PTHREAD_STACK_MIN ? PTHREAD_STACK_MIN
                                                   : STACK_BYTES;
    lab_check("pthread_attr_setstacksize",          /* [3] */
              pthread_attr_setstacksize(&attr, stack));
    long long started = 0;
    int err = 0;
    while (started < workers &&
           (err = pthread_create(&threads[started], &attr, worker_main, p)) == 0)
        started++;
    if (err)                        /* empty the queue: those started end */
        atomic_store(&p->next_request, p->opt->requests);
    for (long long t = 0; t < started; t++)
        lab_check("pthread_join", pthread_join(threads[t], NULL));
    lab_check("pthread_create", err);
    lab_check("pthread_attr_destroy", pthread_attr_destroy(&attr));
    free(threads);
}

int main(int argc, char **argv)
{
    struct lab_io o = { .workers = DEFAULT_WORKERS };
    lab_io_options(argc, argv, summary, &o, MAX_WORKERS, LAB_ACCEPT_GIL);
    lab_reserve_files(o.workers, "workers", o.workers);  /* a socket each */
    lab_catch_signals();
    /* Once, before any thread exists: it is not thread-safe. */
    fetch_global_init();

    struct pool p = { .opt = &o };
    gil_init(&p.gil, o.switch_interval_us);
    double start = lab_now();
    download_all(&p, o.workers);
    double seconds = lab_now() - start;
    gil_destroy(&p.gil);
    lab_progress_end();
    curl_global_cleanup();

    long long done = p.done, failed = p.failed, bytes = p.bytes;
    fetch_report("io_threads", &o, o.workers, seconds, bytes, failed, done,
                 o.gil ? "gil=1" : "gil=0");
    lab_finish(failed);
}

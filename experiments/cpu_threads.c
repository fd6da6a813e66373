/* cpu_threads.c - CPU work on a pool of threads: in C, they run in parallel.
 *
 * The model: --workers W threads (like concurrent.futures.ThreadPoolExecutor;
 * default: one per online CPU), each taking the next task number from one
 * shared atomic counter [1] and running it with a task context of its own
 * [2] (sha256 needs a hashing context per thread). Each thread adds its
 * results into its own total [3], so nothing but the counters is written by
 * two threads; main combines the totals after joining them.
 *
 * What to watch: this is what the Python articles cannot show. Their
 * threads run CPU work one at a time under the GIL (the global interpreter
 * lock), so threading makes it slower than the plain loop. C has no GIL:
 * these threads run at once on every core, so this lesson scales like
 * cpu_multiprocessing does, about seconds / W on W free cores, with time(1)
 * showing user time about W x wall time. Threads cost less than processes
 * (no fork, no pipe, one address space) but share everything: one stray
 * write and every thread sees it. --gil puts Python's lock back (gil.c):
 * each thread must hold it to compute [4], so W threads take as long as
 * one, plus the hand-overs (gil_switches in the record). --trace shows W
 * lanes of tasks side by side, and under --gil the lock changing hands.
 *
 * Usage: cpu_threads [--workload sumsq|fib|sha256|prime] [--tasks N] [--size S] [--workers W] [--gil]
 *   bin/cpu_threads --workload sha256 --tasks 20 --size 500_000 --workers 2
 *   bin/cpu_threads --workload sha256 --workers 2 --gil    (as slow as cpu_sync)
 *
 * Expect: on 2 free cores, about half cpu_sync's time and the same result:
 *   "Ran 20 of 20 sha256 tasks (size 500000) on 2 threads in 0.5x s: result 2092a0fc..."
 *   experiment=cpu_threads workload=sha256 tasks=20 size=500000 workers=2 seconds=0.5... result=2092a0fc... done=20 failed=0 gil=0 gil_switches=0
 *
 * See also: cpu_sync.c (the same loop on one thread), cpu_multiprocessing.c
 * (processes instead of threads), io_threads.c (the same pool for I/O),
 * workloads.c (the tasks), gil.c (the lock Python threads run under).
 */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "gil.h"
#include "lab.h"
#include "trace.h"
#include "workloads.h"

enum {
    STACK_BYTES = 256 * 1024,       /* the deepest task needs a few KiB */
};

static const char summary[] =
    "cpu_threads: run the tasks on a pool of threads (default: one per "
    "CPU), in parallel.";

/* What every thread shares. Only the counters are written by more than one
 * (and, with --gil, the lock, which guards itself). */
struct pool {
    const struct lab_cpu *opt;
    atomic_llong next_task;         /* the work queue: just a number */
    atomic_llong done;              /* finished, for the progress bar */
    struct gil gil;                 /* used with --gil only */
};

struct worker {
    pthread_t thread;
    struct pool *pool;
    long me;                        /* this thread's lane, and its GIL name */
    struct task_result total;       /* [3] this thread's tasks, combined */
};

/* With --gil, called between chunks of every task [4]: the back-edge where
 * CPython's loop checks whether another thread has asked for the lock. */
static void let_others_run(void *arg)
{
    struct worker *w = arg;
    gil_check(&w->pool->gil, w->me);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct pool *p = w->pool;
    struct task_context *c = task_context_open();      /* [2] */
    if (p->opt->gil)                /* "run Python" only while holding it */
        task_context_on_chunk(c, let_others_run, w);
    trace_lane(w->me, "thread %ld", w->me);
    if (p->opt->gil)
        gil_take(&p->gil, w->me);
    while (!lab_stop_signal) {
        long long i = atomic_fetch_add(&p->next_task, 1);   /* [1] */
        if (i >= p->opt->tasks)
            break;                  /* the queue is empty */
        struct task_result r;
        double t0 = trace_clock();
        if (!task_run(c, i, &r))
            break;                  /* cut short by a signal: not counted */
        trace_span("task", w->me, t0, i, "\"task\":%lld,\"workload\":\"%s\"",
                   i, p->opt->workload);
        task_result_add(&w->total, &r);
        lab_progress(atomic_fetch_add(&p->done, 1) + 1, p->opt->tasks);
    }
    if (p->opt->gil)
        gil_drop(&p->gil, w->me);
    task_context_close(c);
    return NULL;
}

/* The concurrency step: start W threads on the shared counter, then wait
 * for every one of them. A signal makes each stop within about a
 * millisecond: the tasks look at lab_stop_signal between chunks. If a
 * thread cannot be made, the queue is emptied, those started end after
 * their task, and we stop there. */
static void run_all(struct worker *workers, long long n, struct pool *p)
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
        atomic_store(&p->next_task, p->opt->tasks);
    for (long long k = 0; k < started; k++)
        lab_check("pthread_join", pthread_join(workers[k].thread, NULL));
    lab_check("pthread_create", err);
    lab_check("pthread_attr_destroy", pthread_attr_destroy(&attr));
}

int main(int argc, char **argv)
{
    struct lab_cpu o;
    lab_cpu_options(argc, argv, summary, &o, LAB_ACCEPT_GIL);
    workload_prepare(&o);           /* before any thread: fetched once */
    lab_catch_signals();

    struct worker *workers = calloc((size_t)o.workers, sizeof *workers);
    if (!workers)
        lab_die("out of memory for %lld threads", o.workers);
    struct pool p = { .opt = &o };
    gil_init(&p.gil, o.switch_interval_us);
    double start = lab_now();
    run_all(workers, o.workers, &p);
    double seconds = lab_now() - start;
    unsigned long switches = o.gil ? gil_switches(&p.gil) : 0;
    gil_destroy(&p.gil);
    lab_progress_end();

    struct task_result total = { 0 };
    for (long long k = 0; k < o.workers; k++)
        task_result_add(&total, &workers[k].total);
    free(workers);
    long long done = atomic_load(&p.done);
    char text[65];
    task_result_text(&total, text);
    workload_release();
    printf("Ran %lld of %lld %s tasks (size %lld) on %lld threads in %.3f s: "
           "result %s\n", done, o.tasks, o.workload, o.size, o.workers,
           seconds, text);
    lab_record("experiment=cpu_threads workload=%s tasks=%lld size=%lld "
               "workers=%lld seconds=%.6f result=%s done=%lld failed=0 "
               "gil=%d gil_switches=%lu", o.workload, o.tasks, o.size,
               o.workers, seconds, text, done, o.gil, switches);
    lab_finish(0);
}

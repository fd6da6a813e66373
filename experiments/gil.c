/* gil.c - a global interpreter lock you can switch on, to see why Python
 * threads make CPU work slower while C threads make it faster.
 *
 * How CPython 3 does it (Python/ceval_gil.c), and so how this file does it:
 *
 * [1] The lock is a plain flag, `locked`, guarded by a mutex, with a
 *     condition variable, `released`, signalled whenever it is let go.
 * [2] A thread that wants it waits on `released`, but only for the switch
 *     interval (sys.getswitchinterval(), 5 ms by default). If it is still
 *     waiting then, and nobody else took the lock meanwhile, it sets
 *     `drop_request`: "holder, please let go".
 * [3] The holder runs the interpreter loop, which looks at `drop_request` at
 *     every back-edge (gil_check). Seeing it set, it lets go and queues up
 *     again behind the others.
 * [4] Forced switching: having let go on request, the old holder waits on
 *     `taken` until another thread really holds the lock. Without this, the
 *     thread that just let go usually takes it straight back (it is already
 *     running; the waiter must first be woken), and the waiter starves.
 * [5] Blocking I/O releases the lock around the wait (Py_BEGIN_ALLOW_THREADS)
 *     and takes it again after: that is why Python threads do help I/O.
 *
 * What it costs, and what to watch: with the lock on, only one thread runs
 * Python code at a time, however many cores there are, so two CPU-bound
 * threads take as long as one doing both tasks, plus the switches. And an
 * I/O thread whose answer has arrived must wait for a CPU-bound holder to
 * notice [2]: up to one switch interval per request (the convoy effect).
 * With --trace, each thread's lane shows when it held the lock ("gil"),
 * when it waited ("gil-wait"), its drop requests, and each wake-up that
 * found the lock taken (Beazley's failed acquisitions).
 *
 * Usage: not a program; the threaded lessons take it with --gil:
 *   bin/cpu_threads --workload sumsq --tasks 4 --size 500_000_000 --workers 2 --gil --trace gil.json
 *   (then open gil.json in ui.perfetto.dev: two lanes taking turns)
 * Expect: about cpu_sync's seconds, and in the record's gil_switches a
 *   hand-over every one to three switch intervals (a waiter asks after one
 *   interval; the holder lets go at its next check). Measured, 2 cores:
 *   experiment=cpu_threads workload=sumsq tasks=4 size=500000000 workers=2
 *   seconds=2.79 ... gil=1 gil_switches=206
 *
 * See also: cpu_threads.c --gil, io_threads.c --gil, io_convoy.c, and
 * David Beazley's "Understanding the Python GIL" (2010).
 */
#define _GNU_SOURCE
#include "gil.h"

#include <errno.h>
#include <time.h>

#include "lab.h"
#include "trace.h"

void gil_init(struct gil *g, long interval_us)
{
    pthread_condattr_t attr;
    int err = pthread_condattr_init(&attr);
    lab_check("pthread_condattr_init", err);
    /* Time out on the monotonic clock: a clock change must not stall us. */
    err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    lab_check("pthread_condattr_setclock", err);
    lab_check("pthread_mutex_init", pthread_mutex_init(&g->mutex, NULL));
    lab_check("pthread_cond_init", pthread_cond_init(&g->released, &attr));
    lab_check("pthread_mutex_init",
              pthread_mutex_init(&g->switch_mutex, NULL));
    lab_check("pthread_cond_init", pthread_cond_init(&g->taken, NULL));
    pthread_condattr_destroy(&attr);
    g->locked = false;
    g->takes = 0;
    g->last_holder = 0;
    g->handovers = 0;
    g->held_since = 0;
    atomic_init(&g->holder, 0);
    atomic_init(&g->drop_request, 0);
    g->interval_us = interval_us;
}

void gil_destroy(struct gil *g)
{
    pthread_mutex_destroy(&g->mutex);
    pthread_cond_destroy(&g->released);
    pthread_mutex_destroy(&g->switch_mutex);
    pthread_cond_destroy(&g->taken);
}

static struct timespec after_interval(const struct gil *g)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long ns = t.tv_nsec + (g->interval_us % 1000000) * 1000;
    t.tv_sec += g->interval_us / 1000000 + ns / 1000000000;
    t.tv_nsec = ns % 1000000000;
    return t;
}

void gil_take(struct gil *g, long me)
{
    double asked = trace_clock();
    lab_check("pthread_mutex_lock", pthread_mutex_lock(&g->mutex));
    bool waited = g->locked;
    while (g->locked) {
        unsigned long seen = g->takes;
        struct timespec deadline = after_interval(g);
        int err = pthread_cond_timedwait(&g->released, &g->mutex, &deadline);
        if (err != 0 && err != ETIMEDOUT)
            lab_die("pthread_cond_timedwait: %s", lab_strerror(err));
        if (err == ETIMEDOUT && g->locked && g->takes == seen) {
            atomic_store(&g->drop_request, 1);              /* [2] */
            trace_instant("gil", me, "drop request");
        } else if (g->locked) {
            trace_instant("gil-wait", me, "woke, lock taken");
        }
    }
    g->locked = true;
    g->takes++;
    if (g->last_holder != me)
        g->handovers++;
    g->last_holder = me;
    /* Tell a holder waiting in gil_drop that the lock changed hands [4]. */
    lab_check("pthread_mutex_lock", pthread_mutex_lock(&g->switch_mutex));
    atomic_store(&g->holder, me);
    lab_check("pthread_cond_signal", pthread_cond_signal(&g->taken));
    lab_check("pthread_mutex_unlock", pthread_mutex_unlock(&g->switch_mutex));
    atomic_store(&g->drop_request, 0);      /* the request is served */
    g->held_since = trace_clock();
    double got = g->held_since;
    lab_check("pthread_mutex_unlock", pthread_mutex_unlock(&g->mutex));
    if (trace_on && waited)
        trace_span_to("gil-wait", me, asked, got, -1, NULL);
}

void gil_drop(struct gil *g, long me)
{
    /* Both read while still holding it: the next holder's span starts later. */
    double held_since = g->held_since;
    double let_go = trace_clock();
    lab_check("pthread_mutex_lock", pthread_mutex_lock(&g->mutex));
    g->locked = false;                                      /* [1] */
    lab_check("pthread_cond_signal", pthread_cond_signal(&g->released));
    lab_check("pthread_mutex_unlock", pthread_mutex_unlock(&g->mutex));
    if (trace_on)
        trace_span_to("gil", me, held_since, let_go, -1, NULL);

    if (!atomic_load(&g->drop_request))
        return;             /* nobody asked: no need to wait for them */
    lab_check("pthread_mutex_lock", pthread_mutex_lock(&g->switch_mutex));
    while (atomic_load(&g->holder) == me)                   /* [4] */
        lab_check("pthread_cond_wait",
                  pthread_cond_wait(&g->taken, &g->switch_mutex));
    lab_check("pthread_mutex_unlock", pthread_mutex_unlock(&g->switch_mutex));
}

unsigned long gil_switches(struct gil *g)
{
    lab_check("pthread_mutex_lock", pthread_mutex_lock(&g->mutex));
    unsigned long n = g->handovers;
    lab_check("pthread_mutex_unlock", pthread_mutex_unlock(&g->mutex));
    return n;
}

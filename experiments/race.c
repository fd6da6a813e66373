/* race.c - a race condition: threads add to one counter and updates vanish.
 *
 * The model: Real Python's warning about threads. --workers W threads each
 * add 1 to one shared counter --increments N times, so the counter should
 * end at W x N. With --mode plain it does not: `counter++` is three steps,
 * a load, an add and a store [1], and another thread may run between them:
 *
 *     thread 1: load  counter       (reads 41)
 *     thread 2: load  counter       (reads 41 too)
 *     thread 1: store 41 + 1        (counter is 42)
 *     thread 2: store 41 + 1        (counter is 42 again: one update lost)
 *
 * On two cores the threads really run at once, so this happens thousands of
 * times a second. Python's `x += 1` is the same three steps as bytecodes
 * (LOAD, BINARY_OP, STORE), and the GIL may pass to another thread between
 * any two of them, so Python threads lose updates too; more rarely, as only
 * one runs at a time. The cures: --mode mutex, a lock around the three
 * steps [2] (threading.Lock), or --mode atomic, one indivisible
 * read-modify-write instruction [3] (Python has none; C has <stdatomic.h>).
 *
 * Why `volatile` [1]: with a plain variable the compiler may keep the
 * counter in a register and add N once at the end, which hides the race.
 * volatile makes it load and store memory on every increment, in order,
 * but does nothing to keep the three steps together. It is a real data race
 * (undefined behaviour in C; a relaxed atomic load then a relaxed atomic
 * store would be defined and lose updates the same way), so ThreadSanitizer
 * reports it: tests/tsan.supp names plain_increments, the one deliberate race.
 *
 * What to watch: lost= with --mode plain and W >= 2 (never with W = 1, nor
 * with the cures); ns_per_increment= is the price of being correct: the
 * lock costs most, the atomic less, both more when threads contend.
 *
 * Usage: race [--mode plain|mutex|atomic] [--workers W] [--increments N]
 *   bin/race --mode plain --workers 2
 *   bin/race --mode atomic --workers 2
 *
 * Expect: on 2 cores, "Counted 1234567 of 2000000: 765433 updates lost ..."
 *   experiment=race mode=plain workers=2 increments=1000000 expected=2000000 counted=1234567 lost=765433 seconds=0.00... ns_per_increment=2.1...
 *
 * See also: cpu_threads.c (threads that share only an atomic counter),
 * gil.c (the lock Python threads run under).
 */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"
#include "trace.h"

enum { CHUNK = 1 << 16 };   /* increments between looks at the stop flag */

static const char summary[] =
    "race: W threads each add 1 to one shared counter N times, with a plain "
    "increment (updates get lost), a mutex or an atomic add.";

/* What every thread shares: the counter, in the form each mode uses. */
struct shared {
    const char *mode;
    long long increments;
    volatile long long plain;       /* [1] a load and a store every time */
    long long guarded;              /* [2] only touched under the lock */
    pthread_mutex_t lock;
    atomic_llong atomic;            /* [3] */
    atomic_llong progress;
    long long expected;
    atomic_long ready;              /* threads waiting at the start line */
    long workers;
};

struct worker {
    pthread_t thread;
    struct shared *s;
    long lane;
    long long done;                 /* this thread's increments */
    double began, ended;            /* when it started and stopped adding */
};

/* The deliberate race (tests/tsan.supp names this function). */
static void plain_increments(struct shared *s, long long n)
{
    for (long long i = 0; i < n; i++)
        s->plain++;                 /* load, add, store: not one step */
}

static void mutex_increments(struct shared *s, long long n)
{
    for (long long i = 0; i < n; i++) {
        lab_check("pthread_mutex_lock", pthread_mutex_lock(&s->lock));
        s->guarded++;
        lab_check("pthread_mutex_unlock", pthread_mutex_unlock(&s->lock));
    }
}

static void atomic_increments(struct shared *s, long long n)
{
    for (long long i = 0; i < n; i++)
        atomic_fetch_add_explicit(&s->atomic, 1, memory_order_relaxed);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    void (*increments)(struct shared *, long long) =
        s->mode[0] == 'p' ? plain_increments
        : s->mode[0] == 'm' ? mutex_increments : atomic_increments;
    trace_lane(w->lane, "thread %ld", w->lane);
    /* Start together: wait on the core (not asleep) until all are here. */
    atomic_fetch_add(&s->ready, 1);
    while (atomic_load(&s->ready) < s->workers && !lab_stop_signal)
        sched_yield();
    w->began = lab_now();
    while (w->done < s->increments && !lab_stop_signal) {
        long long n = s->increments - w->done;
        n = n < CHUNK ? n : CHUNK;
        increments(s, n);
        w->done += n;
        lab_progress(atomic_fetch_add(&s->progress, n) + n, s->expected);
    }
    w->ended = lab_now();
    trace_span_to("task", w->lane, w->began, w->ended, w->lane - 1,
               "\"task\":%ld,\"workload\":\"%s\"", w->lane - 1, s->mode);
    return NULL;
}

/* The concurrency step: start W threads, wait for them all. The time is
 * from the first thread's start to the last one's end. */
static double run_all(struct worker *workers, long long n, struct shared *s)
{
    for (long long k = 0; k < n; k++) {
        workers[k] = (struct worker){ .s = s, .lane = (long)k + 1 };
        lab_check("pthread_create", pthread_create(&workers[k].thread, NULL,
                                                   worker_main, &workers[k]));
    }
    double first = 0, last = 0;
    for (long long k = 0; k < n; k++) {
        lab_check("pthread_join", pthread_join(workers[k].thread, NULL));
        if (k == 0 || workers[k].began < first)
            first = workers[k].began;
        if (workers[k].ended > last)
            last = workers[k].ended;
    }
    double seconds = last - first;
    return seconds;
}

int main(int argc, char **argv)
{
    const char *mode = "plain";
    long long workers = 2, increments = 1000000;
    const struct lab_opt opts[] = {
        { "mode", LAB_TEXT, "MODE", "plain (counter++), mutex or atomic "
          "(default plain)", .text = &mode },
        { "workers", LAB_NUMBER, "W", "threads adding at once (default 2)",
          .number = &workers, .min = 1, .max = 1024 },
        { "increments", LAB_NUMBER, "N", "additions per thread (default "
          "1_000_000)", .number = &increments, .min = 1,
          .max = 10000000000LL },
        { 0 }
    };
    lab_parse(argc, argv, summary, opts);
    if (strcmp(mode, "plain") && strcmp(mode, "mutex") && strcmp(mode, "atomic"))
        lab_usage_error("--mode: '%s' is not plain, mutex or atomic", mode);
    lab_catch_signals();

    struct shared s = { .mode = mode, .increments = increments,
                        .expected = workers * increments, .workers = (long)workers };
    lab_check("pthread_mutex_init", pthread_mutex_init(&s.lock, NULL));
    struct worker *w = calloc((size_t)workers, sizeof *w);
    if (!w)
        lab_die("out of memory for %lld threads", workers);
    double seconds = run_all(w, workers, &s);
    lab_progress_end();
    lab_check("pthread_mutex_destroy", pthread_mutex_destroy(&s.lock));

    long long expected = 0;         /* what was added, had none been lost */
    for (long long k = 0; k < workers; k++)
        expected += w[k].done;
    free(w);
    long long counted = mode[0] == 'p' ? s.plain
                      : mode[0] == 'm' ? s.guarded : atomic_load(&s.atomic);
    double ns = expected > 0 ? seconds * 1e9 / (double)expected : 0;
    printf("Counted %lld of %lld: %lld updates lost (%s, %lld threads, "
           "%.2f ns per increment)\n", counted, expected, expected - counted,
           mode, workers, ns);
    lab_record("experiment=race mode=%s workers=%lld increments=%lld "
               "expected=%lld counted=%lld lost=%lld seconds=%.6f "
               "ns_per_increment=%.3f", mode, workers, increments, expected,
               counted, expected - counted, seconds, ns);
    lab_finish(0);
}

/* io_convoy.c - the convoy effect: an I/O thread stuck behind a CPU thread.
 *
 * The model: two threads under an emulated GIL (gil.c). One only computes;
 * the other downloads, one request after another, releasing the lock while
 * it waits on the network and taking it back to "handle" each answer, as
 * every Python thread does around blocking I/O.
 *
 * What to watch: first the downloads run alone, then beside the CPU thread.
 * Without --gil the two phases take the same time per request (there are
 * two cores). With --gil each answer, once in, waits for the CPU thread to
 * notice a drop request, which it is only sent after a whole switch
 * interval: every request pays about --switch-interval-us extra. A fast
 * server makes it plain: 1 ms requests become 6 ms requests. (The wait must
 * be real, as network waits are, for the CPU thread to take the lock
 * meanwhile: against a 0.05 ms answer it often has not woken up yet.)
 * --trace draws it: on the I/O thread's lane each request, then the wait
 * for the lock ("gil-wait"); on the CPU thread's lane its one long
 * "compute" and the slices of it that held the lock.
 *
 * Usage: io_convoy [--url URL]... [--requests N] [--gil] [--switch-interval-us US]
 *   scripts/labserver start
 *   bin/io_convoy --url "$(scripts/labserver url)/delay?s=0.001&bytes=100" --requests 200 --gil
 *
 * Expect: "Per request: 1.16 ms alone, 6.6 ms beside a CPU-bound thread (GIL
 *   on)": alone_ms near 1.1, beside_cpu_ms near 6 (1 ms + the interval):
 *   experiment=io_convoy requests=200 workers=1 gil=1 switch_interval_us=5000 seconds=1.5... bytes=40000 errors=0 done=400 alone_ms=1.16 beside_cpu_ms=6.6
 *
 * See also: gil.c (how the lock works), cpu_threads.c --gil, io_threads.c.
 */
#include <curl/curl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>

#include "fetch.h"
#include "gil.h"
#include "lab.h"
#include "trace.h"

static const char summary[] =
    "io_convoy: per-request time of an I/O thread, alone and beside a "
    "CPU-bound thread, with or without an emulated GIL.";

enum { IO_THREAD = 1, CPU_THREAD = 2 };     /* the GIL's names, and lanes */

struct lab_state {
    struct lab_io opt;
    struct gil gil;
    atomic_bool cpu_running, cpu_stop;
    long long bytes, failed, done;
};

static void take(struct lab_state *s, long me)
{
    if (s->opt.gil)
        gil_take(&s->gil, me);
}

static void drop(struct lab_state *s, long me)
{
    if (s->opt.gil)
        gil_drop(&s->gil, me);
}

/* The CPU-bound thread: pure computation, checking for drop requests at its
 * loop's back-edge the way the interpreter loop does. */
static void *cpu_main(void *arg)
{
    struct lab_state *s = arg;
    unsigned long sum = 0;
    double t0 = trace_clock();
    take(s, CPU_THREAD);
    atomic_store(&s->cpu_running, true);
    for (unsigned long i = 0; !atomic_load(&s->cpu_stop); i++) {
        sum += i * i;
        __asm__ volatile("" : "+r"(sum));   /* keep the work: no shortcut */
        if (s->opt.gil && (i & 255) == 0)
            gil_check(&s->gil, CPU_THREAD);
    }
    drop(s, CPU_THREAD);
    trace_span("compute", CPU_THREAD, t0, -1, NULL);  /* not a task: it is stopped */
    return NULL;
}

/* Download requests one by one; the lock is released around each wait, as
 * Py_BEGIN_ALLOW_THREADS does, and must be won back to handle the answer.
 * Returns the mean milliseconds per request. */
static double timed_downloads(struct lab_state *s, struct fetch *f)
{
    double start = lab_now();
    long long n = 0;
    take(s, IO_THREAD);
    for (; n < s->opt.requests && !lab_stop_signal; n++) {
        drop(s, IO_THREAD);
        double t0 = trace_clock();
        long long bytes = 0;
        bool ok = fetch_run(f, n, &bytes);
        double t1 = trace_clock();
        take(s, IO_THREAD);             /* [the convoy: wait here] */
        if (!ok && lab_stop_signal)
            break;                      /* cut short by a signal */
        s->bytes += bytes;
        s->failed += !ok;
        s->done++;
        trace_span_to("request", IO_THREAD, t0, t1, s->done - 1,
                      "\"request\":%lld,\"bytes\":%lld,\"ok\":%s",
                      s->done - 1, bytes, ok ? "true" : "false");
    }
    drop(s, IO_THREAD);
    return n ? (lab_now() - start) * 1000 / (double)n : 0;
}

int main(int argc, char **argv)
{
    static struct lab_state s = { .opt.workers = 1 };
    lab_io_options(argc, argv, summary, &s.opt, 1, LAB_ACCEPT_GIL);
    lab_catch_signals();
    fetch_global_init();
    gil_init(&s.gil, s.opt.switch_interval_us);
    struct fetch f;
    fetch_init(&f, &s.opt);
    trace_lane(IO_THREAD, "I/O thread");
    trace_lane(CPU_THREAD, "CPU thread");

    double start = lab_now();
    double alone_ms = timed_downloads(&s, &f);
    pthread_t cpu;
    lab_check("pthread_create", pthread_create(&cpu, NULL, cpu_main, &s));
    /* Time the second phase only once the CPU thread computes (and, with
     * --gil, holds the lock): on a busy machine it may start late. */
    while (!atomic_load(&s.cpu_running))
        sched_yield();
    double beside_ms = timed_downloads(&s, &f);
    atomic_store(&s.cpu_stop, true);
    lab_check("pthread_join", pthread_join(cpu, NULL));
    double seconds = lab_now() - start;

    fetch_cleanup(&f);
    gil_destroy(&s.gil);
    curl_global_cleanup();
    printf("Per request: %.3f ms alone, %.3f ms beside a CPU-bound thread "
           "(%s)\n", alone_ms, beside_ms, s.opt.gil ? "GIL on" : "no GIL");
    lab_record("experiment=io_convoy requests=%lld workers=1 gil=%d "
               "switch_interval_us=%lld seconds=%.6f bytes=%lld errors=%lld "
               "done=%lld alone_ms=%.4f beside_cpu_ms=%.4f",
               s.opt.requests, s.opt.gil, s.opt.switch_interval_us, seconds,
               s.bytes, s.failed, s.done, alone_ms, beside_ms);
    lab_finish(s.failed);
}

/* cpu_sync.c - CPU work one task after another: the baseline.
 *
 * The model: one thread runs the tasks in order, like the articles' plain
 * loop `for number in numbers: cpu_bound(number)`. The work itself
 * (sumsq, fib, sha256 or prime) is in workloads.c, the same code every CPU
 * lesson runs.
 *
 * What to watch: one core is busy and the others idle, so `seconds` is the
 * sum of the task times, and time(1) shows user time close to the wall
 * time. The other CPU lessons divide the same work among W workers; on W
 * free cores they can come close to seconds / W, never below it. C does the
 * sumsq default in about 0.06 s, where the Real Python article's loop took
 * 7.83 s (21.7 s in the notes that retell it), so measure with sizes that
 * run 1 to 3 s here (see the README). --trace shows one lane of tasks.
 *
 * Usage: cpu_sync [--workload sumsq|fib|sha256|prime] [--tasks N] [--size S]
 *   bin/cpu_sync --workload sha256 --tasks 20 --size 500_000
 *
 * Expect: "Ran 20 of 20 sha256 tasks (size 500000) in 0.9x s: result 2092a0fc..."
 *   and then
 *   experiment=cpu_sync workload=sha256 tasks=20 size=500000 workers=1 seconds=0.9... result=2092a0fc... done=20 failed=0
 *
 * See also: cpu_threads.c and cpu_multiprocessing.c (the same tasks on W
 * workers), workloads.c (the four workloads), io_sync.c (the I/O baseline).
 */
#include <stdio.h>

#include "lab.h"
#include "trace.h"
#include "workloads.h"

static const char summary[] =
    "cpu_sync: run the tasks one after another, on one thread "
    "(--workers is ignored).";

struct tally {
    struct task_result total;
    long long done;
};

/* The whole lesson: a plain loop, each task starting when the one before it
 * ends. A signal stops the task in hand within about a millisecond. */
static void run_all(const struct lab_cpu *o, struct tally *t)
{
    struct task_context *c = task_context_open();
    trace_lane(1, "main thread");
    for (long long i = 0; i < o->tasks && !lab_stop_signal; i++) {
        struct task_result r;
        double t0 = trace_clock();
        if (!task_run(c, i, &r))
            break;                  /* cut short by a signal: not counted */
        trace_span("task", 1, t0, i, "\"task\":%lld,\"workload\":\"%s\"",
                   i, o->workload);
        task_result_add(&t->total, &r);
        t->done++;
        lab_progress(t->done, o->tasks);
    }
    task_context_close(c);
}

int main(int argc, char **argv)
{
    struct lab_cpu o;
    lab_cpu_options(argc, argv, summary, &o, 0);
    o.workers = 1;
    workload_prepare(&o);
    lab_catch_signals();

    struct tally t = { 0 };
    double start = lab_now();
    run_all(&o, &t);
    double seconds = lab_now() - start;
    lab_progress_end();

    char text[65];
    task_result_text(&t.total, text);
    workload_release();
    printf("Ran %lld of %lld %s tasks (size %lld) in %.3f s: result %s\n",
           t.done, o.tasks, o.workload, o.size, seconds, text);
    lab_record("experiment=cpu_sync workload=%s tasks=%lld size=%lld "
               "workers=1 seconds=%.6f result=%s done=%lld failed=0",
               o.workload, o.tasks, o.size, seconds, text, t.done);
    lab_finish(0);
}

/* cpu_mpi.c - CPU work on MPI ranks: the pool that can span machines.
 *
 * The model: `mpirun -np N` starts N copies of this program, the ranks,
 * which could be on N hosts (like mpi4py, Ray or Celery workers) and share
 * nothing but messages. Rank 0 coordinates; ranks 1..N-1 work, so --workers
 * is N - 1 (left out, or given and agreeing). A worker asks rank 0 for work
 * [1], sending its last task's result along; rank 0 answers with the next
 * task number, or the STOP tag once none is left [2], and adds up results.
 *
 * What to watch: on W free cores, about cpu_sync's time / W, as with
 * processes; what a rank pays instead of a shared counter is a round trip
 * per task (roundtrip_us in the record, as the workers timed it): a few
 * microseconds over shared memory (Open MPI's default on one host), near a
 * hundred with `--mca btl self,tcp`: TCP, as if on separate hosts.
 * Small tasks show it; long tasks hide it. Rank 0 polls instead of
 * blocking [3]: Open MPI's blocking receive spins, taking a worker's core.
 * With --trace, the workers' tasks travel to rank 0 in the asks [4].
 *
 * Usage: mpirun -np N cpu_mpi [--workload sumsq|fib|sha256|prime] [--tasks N] [--size S] [--workers N-1]
 *   scripts/mpirun -np 3 bin/cpu_mpi --workload sha256 --tasks 20 --size 500_000
 *   scripts/mpirun --tcp -np 2 bin/cpu_mpi --workload sha256 --tasks 20_000 --size 1
 *
 * Expect: on 2 free cores, about half cpu_sync's time and the same result:
 *   "Ran 20 of 20 sha256 tasks (size 500000) on 2 worker ranks in 0.5x s: result 2092a0fc..."
 *   experiment=cpu_mpi workload=sha256 tasks=20 size=500000 workers=2 seconds=0.5... result=2092a0fc... done=20 failed=0 mode=shm roundtrip_us=...
 *
 * See also: cpu_multiprocessing.c (the same pool on one machine, a shared
 * counter), sum_chunks_manager.c (round trips to one process), scripts/mpirun.
 */
#define _GNU_SOURCE
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"
#include "trace.h"
#include "workloads.h"

static const char summary[] =
    "cpu_mpi: run the tasks on MPI ranks (start with mpirun -np N: rank 0 "
    "hands out the tasks, the N-1 others run them; --workers must be N-1).";

enum { COORDINATOR = 0, TAG_ASK = 1, TAG_TASK = 2, TAG_STOP = 3 };

/* A worker's request: "here is my last task's result; give me another".
 * Sent as bytes, which is right between hosts of one architecture (a mixed
 * cluster would need an MPI datatype). The times are the worker's clock. */
struct ask {
    long long task;                 /* the task done, or -1: none yet */
    double waited_s;                /* the round trip that handed it out */
    double started, ended, sent;    /* the task, and this message [4] */
    struct task_result result;
};

struct tally {
    struct task_result total;
    long long done;
    double waited_s;                /* the workers' round trips, summed */
};

/* The worker: ask, run, ask again with the result, until told to stop [1]. */
static void worker_main(void)
{
    struct task_context *c = task_context_open();
    struct ask a = { .task = -1 };
    for (;;) {
        double asked = a.sent = lab_now();
        MPI_Send(&a, sizeof a, MPI_BYTE, COORDINATOR, TAG_ASK, MPI_COMM_WORLD);
        long long task;
        MPI_Status st;
        MPI_Recv(&task, 1, MPI_LONG_LONG, COORDINATOR, MPI_ANY_TAG,
                 MPI_COMM_WORLD, &st);
        if (st.MPI_TAG == TAG_STOP)
            break;
        a.task = task;
        a.started = lab_now();
        a.waited_s = a.started - asked;
        if (!task_run(c, task, &a.result))
            break;                  /* a signal: mpirun is ending the job */
        a.ended = lab_now();
    }
    task_context_close(c);
}

/* Wait for the next request without spinning a core [3]: look, spin for
 * 50 us (the next request is often that close), then nap between looks,
 * twice as long each time up to 1 ms. False when a signal came instead. */
static bool wait_for_ask(MPI_Status *st)
{
    double spin_until = lab_now() + 50e-6;
    long nap_ns = 10000;
    for (;;) {
        int ready = 0;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &ready, st);
        if (ready)
            return true;
        if (lab_stop_signal)
            return false;
        if (lab_now() < spin_until)
            continue;
        nanosleep(&(struct timespec){ .tv_nsec = nap_ns }, NULL);
        nap_ns = nap_ns < 500000 ? nap_ns * 2 : 1000000;
    }
}

/* --trace: rank 0 writes every worker's task as a span on its lane [4],
 * shifted by the gap from sending to receipt (two hosts' clocks differ). */
static void trace_task(const struct ask *a, int worker)
{
    double shift = lab_now() - a->sent;
    trace_span_to("task", worker, a->started + shift, a->ended + shift,
                  a->task, "\"task\":%lld,\"rank\":%d", a->task, worker);
}

/* The coordinator: a task number to whoever asks, STOP once they are all
 * out [2], until every worker has been told to stop. */
static void coordinate(const struct lab_cpu *o, struct tally *t)
{
    long long next = 0, stopped = 0;
    MPI_Status st;
    while (stopped < o->workers && wait_for_ask(&st)) {
        struct ask a;
        MPI_Recv(&a, sizeof a, MPI_BYTE, st.MPI_SOURCE, TAG_ASK,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (a.task >= 0) {
            task_result_add(&t->total, &a.result);
            t->done++;
            t->waited_s += a.waited_s;
            trace_task(&a, st.MPI_SOURCE);
            lab_progress(t->done, o->tasks);
        }
        bool more = next < o->tasks;
        MPI_Send(&next, more, MPI_LONG_LONG, st.MPI_SOURCE,
                 more ? TAG_TASK : TAG_STOP, MPI_COMM_WORLD);
        next += more;
        stopped += !more;
    }
}

/* Only rank 0 speaks: the other ranks parse the same argv and fail the
 * same way, so their copies of a usage line would only repeat it. */
static int rank;
static void end_usage(int status)   /* a usage error or --help: every rank */
{
    MPI_Finalize();
    exit(status);
}

static void parse(int argc, char **argv, struct lab_cpu *o, int ranks)
{
    int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
    if (rank != COORDINATOR && (!freopen("/dev/null", "w", stdout)
                                || !freopen("/dev/null", "w", stderr)))
        lab_die("/dev/null: cannot open");
    lab_exit = end_usage;
    lab_cpu_options(argc, argv, summary, o, LAB_WORKERS_AS_GIVEN);
    if (ranks < 2)
        lab_usage_error("needs 2 ranks or more: start it with mpirun -np N");
    if (o->workers == 0)
        o->workers = ranks - 1;
    if (o->workers != ranks - 1)
        lab_usage_error("--workers %lld does not match mpirun -np %d (one "
                        "coordinator and %d workers)", o->workers, ranks,
                        ranks - 1);
    workload_prepare(o);            /* checks --size: may end here too */
    if (rank != COORDINATOR)
        trace_abandon();            /* rank 0 writes the one trace file */
    lab_exit = exit;
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
}

int main(int argc, char **argv)
{
    int ranks;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    struct lab_cpu o;
    parse(argc, argv, &o, ranks);
    MPI_Barrier(MPI_COMM_WORLD);    /* all set up: the clock starts now */
    if (rank != COORDINATOR) {      /* mpirun's SIGTERM just ends a worker */
        worker_main();
        workload_release();
        MPI_Finalize();
        return 0;
    }
    lab_catch_signals();            /* rank 0 reports what it gathered */
    for (int k = 1; k < ranks; k++)
        trace_lane(k, "worker rank %d", k);
    struct tally t = { 0 };
    double start = lab_now();
    coordinate(&o, &t);
    double seconds = lab_now() - start;
    lab_progress_end();
    char text[65];
    task_result_text(&t.total, text);
    workload_release();
    /* mpirun --mca btl X gives every rank OMPI_MCA_btl=X; "vader" is shm. */
    const char *btl = getenv("OMPI_MCA_btl");
    bool tcp = btl && !strstr(btl, "vader") && !strstr(btl, "sm");
    printf("Ran %lld of %lld %s tasks (size %lld) on %lld worker ranks in "
           "%.3f s: result %s\n", t.done, o.tasks, o.workload, o.size,
           o.workers, seconds, text);
    lab_record("experiment=cpu_mpi workload=%s tasks=%lld size=%lld "
               "workers=%lld seconds=%.6f result=%s done=%lld failed=%lld "
               "mode=%s roundtrip_us=%.1f", o.workload, o.tasks, o.size,
               o.workers, seconds, text, t.done, lab_stop_signal ? 0 :
               o.tasks - t.done, tcp ? "tcp" : "shm",
               t.done ? t.waited_s / (double)t.done * 1e6 : 0.0);
    if (!lab_stop_signal)           /* else the job is being ended */
        MPI_Finalize();
    lab_finish(o.tasks - t.done);
}

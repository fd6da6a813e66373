/* cpu_multiprocessing.c - CPU work on a pool of processes.
 *
 * The model: multiprocessing.Pool(): --workers W forked processes (default:
 * one per online CPU). Each child makes its own task context after the
 * fork [1], takes the next task number from a counter in memory all the
 * processes share [2], and sends one message per task up a pipe of its own
 * [3], as raw bytes where Python pickles. The parent only collects, and
 * learns that a child has ended when its pipe closes [4].
 *
 * What to watch: the tasks run at once on every core, as in Python: near
 * cpu_sync's seconds / W on W free cores. C threads do as well (no GIL),
 * so what processes buy is isolation: kill -9 one child and the parent
 * reports it, counts its task failed, and the others finish the rest. The
 * cost: a fork per worker, a pipe write per task. --trace: a row per child.
 *
 * Usage: cpu_multiprocessing [--workload sumsq|fib|sha256|prime] [--tasks N] [--size S] [--workers W]
 *   bin/cpu_multiprocessing --workload sha256 --tasks 20 --size 500_000 --workers 2
 *
 * Expect: on 2 free cores, about half cpu_sync's time and the same result:
 *   "Ran 20 of 20 sha256 tasks (size 500000) on 2 processes in 0.5x s: result 2092a0fc..."
 *   experiment=cpu_multiprocessing workload=sha256 tasks=20 size=500000 workers=2 seconds=0.5... result=2092a0fc... done=20 failed=0
 *
 * See also: cpu_threads.c (the same pool, with threads), cpu_sync.c,
 * io_multiprocessing.c (the same pool for I/O), workloads.c (the tasks).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lab.h"
#include "trace.h"
#include "workloads.h"

static const char summary[] =
    "cpu_multiprocessing: run the tasks on a pool of processes (one per CPU).";

/* The queue is a counter in a MAP_SHARED page [2]: atomic across processes. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "a lock-free counter");

struct message {                    /* one per task, child -> parent [3] */
    long long task;
    struct task_result result;
};
_Static_assert(sizeof(struct message) <= PIPE_BUF, "a write arrives whole");

/* The pool as the parent sees it: child k is pids[k] and sends up pipes[k],
 * which ppoll watches as it is (a closed pipe's fd is -1: skipped). */
struct pool {
    long long n;                    /* children started */
    pid_t *pids;
    struct pollfd *pipes;
    struct task_result total;       /* what has come back so far */
    long long done, died;
};

/* The child: runs until the queue is empty or a stop signal comes; ends in
 * lab_child_exit, never exit() (its handlers and buffers are the parent's). */
static _Noreturn void worker_main(atomic_llong *next_task,
                                  const struct lab_cpu *o, int results_fd)
{
    struct task_context *c = task_context_open();      /* [1] */
    while (!lab_stop_signal) {
        long long i = atomic_fetch_add(next_task, 1);   /* [2] */
        if (i >= o->tasks)
            break;                  /* the queue is empty */
        struct message m = { .task = i };
        double t0 = trace_clock();
        if (!task_run(c, i, &m.result))
            break;                  /* cut short by a signal: not sent */
        trace_span("task", 1, t0, i, "\"task\":%lld,\"workload\":\"%s\"",
                   i, o->workload);
        if (write(results_fd, &m, sizeof m) != (ssize_t)sizeof m)  /* [3] */
            lab_child_exit(1);      /* the parent is gone */
    }
    task_context_close(c);
    workload_release();
    lab_child_exit(0);
}

/* Fork the children, each with a pipe of its own. Returns 0, or the error
 * of the pipe or fork that failed; p->n says how many were started. */
static int start_workers(struct pool *p, long long n,
                         atomic_llong *next_task, const struct lab_cpu *o)
{
    for (p->n = 0; p->n < n; p->n++) {
        long long k = p->n;
        int fds[2];
        if (pipe(fds) != 0)
            return errno;
        fflush(NULL);               /* or what sits in stdout's buffer is */
        pid_t pid = fork();         /* copied, and printed twice */
        if (pid < 0) {
            int err = errno;
            close(fds[0]);
            close(fds[1]);
            return err;
        }
        if (pid == 0) {             /* the child */
            trace_process("child %lld", k + 1);
            trace_lane(1, "worker");
            lab_catch_signals();    /* a stop flag and pipe of its own */
            for (long long j = 0; j < k; j++)
                close(p->pipes[j].fd);      /* the children before it */
            close(fds[0]);
            free(p->pids);          /* the parent's lists, copied: unused */
            free(p->pipes);
            worker_main(next_task, o, fds[1]);
        }
        close(fds[1]);              /* or the pipe would never close [4] */
        p->pids[k] = pid;
        p->pipes[k] = (struct pollfd){ .fd = fds[0], .events = POLLIN };
    }
    return 0;
}

/* Child k's pipe has closed [4]: reap it; count it if it died on its own. */
static void reap(struct pool *p, long long k)
{
    bool ours = lab_stop_signal != 0;
    if (!lab_reap(p->pids[k], "worker", k + 1, ours) && !ours)
        p->died++;
    close(p->pipes[k].fd);
    p->pipes[k].fd = -1;
}

/* The concurrency step, the parent's side: wait on every child's pipe at
 * once. SIGINT/SIGTERM stay blocked but inside ppoll, so one cannot slip
 * in between the test of lab_stop_signal and the wait. */
static void collect(struct pool *p, const struct lab_cpu *o)
{
    sigset_t while_waiting;
    lab_block_signals(&while_waiting);
    bool stopping = false;
    for (long long running = p->n; running > 0;) {
        if (lab_stop_signal && !stopping) {
            /* Each ends in a millisecond or so; read on till all close. */
            for (long long k = 0; k < p->n; k++)
                if (p->pipes[k].fd >= 0 && kill(p->pids[k], SIGTERM) != 0)
                    lab_die("kill %d: %s", (int)p->pids[k], strerror(errno));
            stopping = true;
        }
        if (ppoll(p->pipes, (nfds_t)p->n, NULL, &while_waiting) < 0) {
            if (errno == EINTR)
                continue;
            lab_die("ppoll: %s", strerror(errno));
        }
        for (long long k = 0; k < p->n; k++) {
            if (p->pipes[k].fd < 0 || !p->pipes[k].revents)
                continue;
            struct message m;
            ssize_t got = read(p->pipes[k].fd, &m, sizeof m);
            if (got == (ssize_t)sizeof m
                && m.task >= 0 && m.task < o->tasks) {
                task_result_add(&p->total, &m.result);
                p->done++;
                lab_progress(p->done, o->tasks);
            } else if (got == 0) {  /* end of file: the child is gone */
                reap(p, k);
                running--;
            } else {
                lab_die("worker %lld's results: %s", k + 1,
                        got < 0 ? strerror(errno) : "a malformed message");
            }
        }
    }
    if (sigprocmask(SIG_SETMASK, &while_waiting, NULL) != 0)
        lab_die("sigprocmask: %s", strerror(errno));
}

int main(int argc, char **argv)
{
    struct lab_cpu o;
    lab_cpu_options(argc, argv, summary, &o, 0);
    workload_prepare(&o);           /* before fork: every child inherits it */
    lab_reserve_files(o.workers, "workers", o.workers);  /* a pipe each */
    lab_catch_signals();

    atomic_llong *next_task = mmap(NULL, sizeof *next_task,
        PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct pool p = { .pids = calloc((size_t)o.workers, sizeof *p.pids),
                      .pipes = calloc((size_t)o.workers, sizeof *p.pipes) };
    if (next_task == MAP_FAILED || !p.pids || !p.pipes)
        lab_die("no memory for the pool: %s", strerror(errno));
    atomic_init(next_task, 0);

    double start = lab_now();
    int err = start_workers(&p, o.workers, next_task, &o);
    if (err != 0)                   /* empty the queue: those started end */
        atomic_store(next_task, o.tasks);
    collect(&p, &o);
    double seconds = lab_now() - start;
    lab_progress_end();
    if (err != 0)
        lab_die("pipe or fork: %s", strerror(err));
    /* A task a dead child had taken never sent its result: failed. */
    long long lost = lab_stop_signal ? 0 : o.tasks - p.done;
    munmap(next_task, sizeof *next_task);
    free(p.pids);
    free(p.pipes);
    char text[65];
    task_result_text(&p.total, text);
    workload_release();
    printf("Ran %lld of %lld %s tasks (size %lld) on %lld processes in %.3f s: "
           "result %s\n", p.done, o.tasks, o.workload, o.size, o.workers,
           seconds, text);
    lab_record("experiment=cpu_multiprocessing workload=%s tasks=%lld "
               "size=%lld workers=%lld seconds=%.6f result=%s done=%lld "
               "failed=%lld", o.workload, o.tasks, o.size, o.workers, seconds,
               text, p.done, lost);
    lab_finish(lost + p.died);
}

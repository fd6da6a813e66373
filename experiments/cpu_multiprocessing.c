/* cpu_multiprocessing.c - CPU work on a pool of processes.
 *
 * The model: --workers W forked processes (like multiprocessing.Pool(), one
 * per online CPU by default). Each child makes its own task context after
 * the fork [1], takes the next task number from a counter in memory all
 * the processes share [2], and sends each result up a pipe of its own as
 * raw bytes, where Python pickles [3]. The parent collects, and notices a
 * child's end when its pipe closes [4].
 *
 * What to watch: the tasks run at once on every core, as in Python, so
 * `seconds` comes near cpu_sync's / W on W free cores. C threads do as well
 * (there is no GIL), so what processes buy here is isolation: kill -9 one
 * child and the parent reports it, counts its task failed, and the others
 * finish the rest. The cost: a fork per worker, a pipe write per task.
 *
 * Usage: cpu_multiprocessing [--workload sumsq|fib|sha256|prime] [--tasks N] [--size S] [--workers W]
 *   bin/cpu_multiprocessing --workload sha256 --tasks 20 --size 500_000 --workers 2
 *
 * Expect: on 2 free cores, about half cpu_sync's time and the same result:
 *   "Ran 20 of 20 sha256 tasks (size 500000) on 2 processes in 0.5x s: result 2092a0fc..."
 *   experiment=cpu_multiprocessing workload=sha256 tasks=20 size=500000 workers=2 seconds=0.5... result=2092a0fc... done=20 failed=0
 *
 * See also: cpu_threads.c (the same pool with threads), cpu_sync.c,
 * io_multiprocessing.c (the same pool for I/O), workloads.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lab.h"
#include "workloads.h"

static const char summary[] =
    "cpu_multiprocessing: run the tasks on a pool of processes (one per CPU).";

/* The work queue is one counter in a MAP_SHARED page [2]. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "lock-free: shared by processes");

struct message {                    /* one per task, child -> parent */
    long long task;
    struct task_result result;
};
/* A write of at most PIPE_BUF bytes arrives whole, never torn. */
_Static_assert(sizeof(struct message) <= PIPE_BUF, "one message, one write");

/* The pool as the parent sees it: child k is pids[k] and sends its results
 * up pipes[k], an array ppoll watches as it is (a closed pipe's fd is set
 * to -1, which ppoll skips). */
struct pool {
    long long n;
    pid_t *pids;
    struct pollfd *pipes;
    struct task_result total;       /* what has come back so far */
    long long done, died;
};

/* The child: runs until the queue is empty, then _exit (no atexit
 * handlers, no second flush of the parent's stdio buffers). */
static _Noreturn void worker_main(atomic_llong *next_task,
                                  const struct lab_cpu *o, int results_fd)
{
    struct task_context *c = task_context_open();      /* [1] */
    for (;;) {
        long long i = atomic_fetch_add(next_task, 1);   /* [2] */
        if (i >= o->tasks)
            break;
        struct message m = { .task = i };
        if (!task_run(c, i, &m.result)                              /* [3] */
            || write(results_fd, &m, sizeof m) != (ssize_t)sizeof m)
            _exit(1);               /* stopped, or the parent is gone */
    }
    task_context_close(c);
    workload_release();
    _exit(0);
}

/* End the children still running (a signal, or a fork that failed) and
 * reap every one: none is left behind, none is waited on forever. */
static void stop_workers(struct pool *p, long long started)
{
    for (long long k = 0; k < started; k++)
        if (p->pipes[k].fd >= 0 && kill(p->pids[k], SIGTERM) != 0)
            lab_die("kill %d: %s", (int)p->pids[k], strerror(errno));
    for (long long k = 0; k < started; k++)
        if (p->pipes[k].fd >= 0) {
            lab_reap(p->pids[k], "worker", k, true);    /* we ended it */
            close(p->pipes[k].fd);
            p->pipes[k].fd = -1;
        }
}

static void start_workers(struct pool *p, atomic_llong *next_task,
                          const struct lab_cpu *o)
{
    for (long long k = 0; k < p->n; k++) {
        int fds[2];
        pid_t pid = pipe(fds) == 0 ? fork() : -1;
        if (pid < 0) {
            int err = errno;
            stop_workers(p, k);     /* no orphan keeps computing */
            lab_die("pipe or fork: %s", strerror(err));
        }
        if (pid == 0) {             /* the child */
            lab_default_signals();
            close(fds[0]);
            free(p->pids);          /* copies of the parent's lists, */
            free(p->pipes);         /* which the child never uses */
            worker_main(next_task, o, fds[1]);
        }
        close(fds[1]);              /* else the pipe never reads as closed */
        p->pids[k] = pid;
        p->pipes[k] = (struct pollfd){ .fd = fds[0], .events = POLLIN };
    }
}

/* Child k's pipe closed [4]: reap it, and say so if it did not end well. */
static void reap(struct pool *p, long long k)
{
    p->died += !lab_reap(p->pids[k], "worker", k, false);
    close(p->pipes[k].fd);
    p->pipes[k].fd = -1;
}

/* The concurrency step, the parent's side: wait on every child's pipe at
 * once. SIGINT/SIGTERM are blocked but inside ppoll, so a signal cannot
 * slip in between the check of lab_stop_signal and the wait. */
static void collect(struct pool *p, const struct lab_cpu *o)
{
    sigset_t while_waiting;
    lab_block_signals(&while_waiting);

    for (long long running = p->n; running > 0 && !lab_stop_signal;) {
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
            if (got == (ssize_t)sizeof m && m.task >= 0 && m.task < o->tasks) {
                task_result_add(&p->total, &m.result);
                p->done++;
            } else if (got == 0) {  /* end of file: the child is gone */
                reap(p, k);
                running--;
            } else {
                lab_die("reading worker %lld's results: %s", k,
                        got < 0 ? strerror(errno) : "a malformed message");
            }
        }
    }
    sigprocmask(SIG_SETMASK, &while_waiting, NULL);   /* cannot fail here */
}

int main(int argc, char **argv)
{
    struct lab_cpu o;
    lab_cpu_options(argc, argv, summary, &o, 0);
    workload_prepare(&o);           /* before fork: every child inherits it */
    lab_reserve_files(o.workers, "workers", o.workers);   /* a pipe each */
    lab_catch_signals();

    atomic_llong *next_task = mmap(NULL, sizeof *next_task,
                                   PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct pool p = { .n = o.workers };
    p.pids = calloc((size_t)p.n, sizeof *p.pids);
    p.pipes = calloc((size_t)p.n, sizeof *p.pipes);
    if (next_task == MAP_FAILED || !p.pids || !p.pipes)
        lab_die("no memory for the pool: %s", strerror(errno));
    atomic_init(next_task, 0);      /* [2] */
    fflush(NULL);                   /* nothing buffered gets copied */
    double start = lab_now();
    start_workers(&p, next_task, &o);
    collect(&p, &o);
    stop_workers(&p, p.n);          /* only after a signal */
    double seconds = lab_now() - start;
    /* A task a dead child had taken never sent its result: failed. */
    long long failed = lab_stop_signal ? 0 : o.tasks - p.done;
    char text[65];
    task_result_text(&p.total, text);
    munmap(next_task, sizeof *next_task);
    free(p.pids);
    free(p.pipes);
    workload_release();
    printf("Ran %lld of %lld %s tasks (size %lld) on %lld processes in %.3f s: "
           "result %s\n", p.done, o.tasks, o.workload, o.size, o.workers,
           seconds, text);
    lab_record("experiment=cpu_multiprocessing workload=%s tasks=%lld "
               "size=%lld workers=%lld seconds=%.6f result=%s done=%lld "
               "failed=%lld", o.workload, o.tasks, o.size, o.workers, seconds,
               text, p.done, failed);
    lab_finish(failed + p.died);
}

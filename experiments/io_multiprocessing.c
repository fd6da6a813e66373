/* io_multiprocessing.c - I/O on a pool of processes.
 *
 * The model: multiprocessing.Pool(): --workers W forked processes (default:
 * one per online CPU). Each child makes its own easy handle after the fork
 * [1] (as the Pool's initializer= makes a requests.Session per process: a
 * connection must not be shared across a fork), takes the next request
 * number from a counter in memory all the processes share [2], and sends
 * one message per request up a pipe of its own [3]. The parent only
 * collects, and learns that a child has ended when its pipe closes [4].
 *
 * What to watch: the waits overlap as with threads, so `seconds` is near
 * ceil(requests / W) x latency; but each worker is a whole process with its
 * own memory and connection, and the pool costs a fork per worker. The
 * default W (the CPUs) suits CPU work: here more waiting helps, more CPUs
 * do not. Compare time(1)'s max RSS and context switches with io_threads.
 *
 * Usage: io_multiprocessing [--url URL]... [--requests N] [--workers W] [--timeout-ms MS]
 *   scripts/labserver start
 *   bin/io_multiprocessing --url "$(scripts/labserver url)/delay?s=0.05&bytes=17" --requests 40 --workers 5
 *
 * Expect: "Downloaded 40 of 40 (680 bytes, 0 errors) in 0.4x s" and then
 *   experiment=io_multiprocessing requests=40 workers=5 seconds=0.40... bytes=680 errors=0 done=40
 *
 * See also: io_threads.c (the same pool, with threads), io_sync.c,
 * cpu_multiprocessing.c (the same pool for CPU work), fetch.c (one download).
 */
#define _GNU_SOURCE
#include <curl/curl.h>
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

#include "fetch.h"
#include "lab.h"
#include "trace.h"

enum { MAX_WORKERS = 1024 };

static const char summary[] =
    "io_multiprocessing: download the URLs on a pool of processes "
    "(default: one per CPU).";

/* The queue is a counter in a MAP_SHARED page [2]: atomic across processes. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "a lock-free counter");

struct message {                    /* one per request, child -> parent [3] */
    long long request;
    long long bytes;
    bool ok;
};
_Static_assert(sizeof(struct message) <= PIPE_BUF, "a write arrives whole");

/* The pool as the parent sees it: child k is pids[k] and sends up pipes[k],
 * which ppoll watches as it is (a closed pipe's fd is -1: skipped). */
struct pool {
    long long n;                    /* children started */
    pid_t *pids;
    struct pollfd *pipes;
    long long bytes, failed;        /* what has come back so far */
    long long done, died;
};

/* The child: runs until the queue is empty or a stop signal comes; ends in
 * lab_child_exit, never exit() (its handlers and buffers are the parent's). */
static _Noreturn void worker_main(atomic_llong *next_request,
                                  const struct lab_io *o, int results_fd)
{
    struct fetch f;
    fetch_init(&f, o);              /* [1] made after the fork */
    while (!lab_stop_signal) {
        long long i = atomic_fetch_add(next_request, 1);   /* [2] */
        if (i >= o->requests)
            break;                  /* the queue is empty */
        struct message m = { .request = i };
        m.ok = fetch_run(&f, i, &m.bytes);  /* traced on lane 1 */
        if (f.stopped)
            break;                  /* cut short by a signal: not sent */
        if (write(results_fd, &m, sizeof m) != (ssize_t)sizeof m)  /* [3] */
            lab_child_exit(1);      /* the parent is gone */
    }
    fetch_cleanup(&f);
    lab_child_exit(0);
}

/* Fork the children, each with a pipe of its own. Returns 0, or the error
 * of the pipe or fork that failed; p->n says how many were started. */
static int start_workers(struct pool *p, long long n,
                         atomic_llong *next_request, const struct lab_io *o)
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
            worker_main(next_request, o, fds[1]);
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
static void collect(struct pool *p, const struct lab_io *o)
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
                && m.request >= 0 && m.request < o->requests) {
                p->bytes += m.bytes;
                if (!m.ok)
                    p->failed++;
                p->done++;
                lab_progress(p->done, o->requests);
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
    struct lab_io o = { .workers = lab_online_cpus() };
    lab_io_options(argc, argv, summary, &o, MAX_WORKERS, 0);
    lab_reserve_files(o.workers, "workers", o.workers);  /* a pipe each */
    lab_catch_signals();
    fetch_global_init();            /* before fork: every child inherits it */

    atomic_llong *next_request = mmap(NULL, sizeof *next_request,
        PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct pool p = { .pids = calloc((size_t)o.workers, sizeof *p.pids),
                      .pipes = calloc((size_t)o.workers, sizeof *p.pipes) };
    if (next_request == MAP_FAILED || !p.pids || !p.pipes)
        lab_die("no memory for the pool: %s", strerror(errno));
    atomic_init(next_request, 0);

    double start = lab_now();
    int err = start_workers(&p, o.workers, next_request, &o);
    if (err != 0)                   /* empty the queue: those started end */
        atomic_store(next_request, o.requests);
    collect(&p, &o);
    double seconds = lab_now() - start;
    lab_progress_end();
    if (err != 0)
        lab_die("pipe or fork: %s", strerror(err));
    /* A request a dead child had taken never sent its result: failed. */
    long long lost = lab_stop_signal ? 0 : o.requests - p.done;
    munmap(next_request, sizeof *next_request);
    free(p.pids);
    free(p.pipes);
    curl_global_cleanup();
    fetch_report("io_multiprocessing", &o, o.workers, seconds, p.bytes,
                 p.failed + lost, p.done + lost, "");
    lab_finish(p.failed + lost + p.died);
}

/* io_multiprocessing.c - I/O on a pool of processes.
 *
 * The model: multiprocessing.Pool(): --workers W forked processes (default:
 * one per online CPU). Each child makes its own easy handle after the fork
 * [1] (as the Pool's initializer= makes a requests.Session per process: a
 * connection must not be shared across a fork), takes the next request
 * number from a counter in memory the processes share [2], and sends one
 * result per request up a pipe of its own [3]. The parent only collects,
 * and learns that a child has ended when its pipe closes [4].
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
 * io_async.c, fetch.c (one download).
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
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

enum { MAX_WORKERS = 1024 };

static const char summary[] =
    "io_multiprocessing: download the URLs on a pool of processes "
    "(default: one per CPU).";

/* The work queue is one counter in a MAP_SHARED page: all processes see
 * the same one, and an atomic add on it works across them, lock-free. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "a lock-free counter");

struct pool {
    pid_t *pids;
    struct pollfd *pipes;           /* each child's results; fd -1: closed */
    long long done, failed, bytes, died;
};

/* The child: runs until the queue is empty, then _exit (no atexit
 * handlers, no second flush of stdio buffers copied from the parent). */
static _Noreturn void worker_main(atomic_llong *next_request,
                                  const struct lab_io *o, int results_fd)
{
    struct fetch f;
    fetch_init(&f, o);              /* [1] made after the fork */
    for (;;) {
        long long i = atomic_fetch_add(next_request, 1);   /* [2] */
        if (i >= o->requests)
            break;
        long long bytes = 0;        /* the result: bytes, or -1 failed */
        if (!fetch_run(&f, i, &bytes))
            bytes = -1;
        if (write(results_fd, &bytes, sizeof bytes) != sizeof bytes)  /* [3] */
            _exit(1);               /* the parent is gone */
    }
    fetch_cleanup(&f);
    _exit(0);
}

/* Reap child k, whose pipe has closed [4] or whom we ended; say so if it
 * died on its own. */
static void reap(struct pool *p, long long k, bool ended_by_us)
{
    if (!lab_reap(p->pids[k], "worker", k, ended_by_us) && !ended_by_us)
        p->died++;
    close(p->pipes[k].fd);
    p->pipes[k].fd = -1;
}

/* End the first n children if still running (after a signal, or a failed
 * fork) and reap them: none is left behind, none is waited on forever. */
static void stop_workers(struct pool *p, long long n)
{
    for (long long k = 0; k < n; k++) {
        if (p->pipes[k].fd < 0)
            continue;
        if (kill(p->pids[k], SIGTERM) != 0)
            lab_die("kill %d: %s", (int)p->pids[k], strerror(errno));
        reap(p, k, true);
    }
}

static void start_workers(struct pool *p, long long n,
                          atomic_llong *next_request, const struct lab_io *o)
{
    for (long long k = 0; k < n; k++) {
        int fds[2];
        const char *failed = pipe2(fds, O_CLOEXEC) != 0 ? "pipe" : NULL;
        pid_t pid = failed ? -1 : fork();
        if (pid < 0) {
            int err = errno;
            stop_workers(p, k);     /* no orphan goes on downloading */
            lab_die("%s: %s", failed ? failed : "fork", strerror(err));
        }
        if (pid == 0) {             /* the child */
            lab_default_signals();
            close(fds[0]);
            worker_main(next_request, o, fds[1]);
        }
        close(fds[1]);              /* or the pipe would never close [4] */
        p->pids[k] = pid;
        p->pipes[k] = (struct pollfd){ .fd = fds[0], .events = POLLIN };
    }
}

/* The concurrency step, the parent's side: wait on every child's pipe at
 * once. SIGINT/SIGTERM stay blocked but inside ppoll, so one cannot slip
 * in between the test of lab_stop_signal and the wait. */
static void collect(struct pool *p, long long n, const struct lab_io *o)
{
    sigset_t while_waiting;
    lab_block_signals(&while_waiting);
    for (long long running = n; running > 0 && !lab_stop_signal;) {
        if (ppoll(p->pipes, (nfds_t)n, NULL, &while_waiting) < 0) {
            if (errno == EINTR)
                continue;
            lab_die("ppoll: %s", strerror(errno));
        }
        for (long long k = 0; k < n; k++) {
            if (p->pipes[k].fd < 0 || !p->pipes[k].revents)
                continue;
            long long bytes;
            ssize_t got = read(p->pipes[k].fd, &bytes, sizeof bytes);
            if (got == sizeof bytes) {
                p->failed += bytes < 0;
                p->bytes += bytes < 0 ? 0 : bytes;
                lab_progress(++p->done, o->requests);
            } else if (got == 0) {  /* end of file: the child is gone */
                reap(p, k, false);
                running--;
            } else {
                lab_die("worker %lld's results: %s", k,
                        got < 0 ? strerror(errno) : "a partial record");
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
    fetch_global_init();   /* before fork */

    atomic_llong *next_request = mmap(NULL, sizeof *next_request,
        PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct pool p = { .pids = calloc((size_t)o.workers, sizeof *p.pids),
                      .pipes = calloc((size_t)o.workers, sizeof *p.pipes) };
    if (next_request == MAP_FAILED || !p.pids || !p.pipes)
        lab_die("no memory for the pool: %s", strerror(errno));
    atomic_init(next_request, 0);

    double start = lab_now();
    start_workers(&p, o.workers, next_request, &o);
    collect(&p, o.workers, &o);
    stop_workers(&p, o.workers);    /* those left after a signal */
    double seconds = lab_now() - start;
    lab_progress_end();
    /* The request a dead child had taken never sent its result: failed. */
    long long lost = lab_stop_signal ? 0 : o.requests - p.done;
    p.done += lost;
    p.failed += lost;
    munmap(next_request, sizeof *next_request);
    free(p.pids);
    free(p.pipes);
    curl_global_cleanup();

    fetch_report("io_multiprocessing", &o, o.workers, seconds, p.bytes, p.failed,
                 p.done, "");
    lab_finish(p.failed + p.died);
}

/* sum_chunks_manager.c - children fill a dict that a manager process owns.
 *
 * The model: Python's multiprocessing.Manager. K children each sum one chunk
 * of 1..N and store it under "part-<i>" in a dict that a manager process owns:
 * a request over a Unix-domain socket, then a wait for the answer [1]. The
 * parent gets the parts back in order (not in the order the children ended),
 * prints them and the total, stops the manager and reaps everyone.
 * --shared-memory keeps the dict in a mmap'd table under a mutex instead [2].
 *
 * What to watch: ops_per_s. --ops N makes each child store its part N more
 * times: each a round trip through the one manager that serves all in turn,
 * or a lock, a store and an unlock in shared memory (the sums are closed
 * forms: the talking is timed, not the adding). Every wait sleeps in poll()
 * at once, as Python's does; --spin US is the tuning [3]. --trace: a "set"
 * span per round trip on each child's lane; the manager's, each it served.
 *
 * Usage: sum_chunks_manager [--numbers N] [--chunks K] [--ops N] [--spin US] [--shared-memory]
 *   bin/sum_chunks_manager
 *   bin/sum_chunks_manager --chunks 2 --ops 200_000 --spin 50
 * Expect: "part-0 325", "part-1 950", "part-2 1575", "part-3 2200", "total 5050", then
 *   experiment=sum_chunks_manager numbers=100 chunks=4 mode=manager ops=0 spin_us=0 seconds=0.00... total=5050 ops_per_s=0 failed=0
 * See also: cpu_multiprocessing.c (processes that share nothing), procs.c (fork, join).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dict.h"
#include "lab.h"
#include "procs.h"
#include "trace.h"

/* The dict (dict.c): dict_items, a key and its 128-bit value, each also the
 * message that asks the manager to set or get one [1]. In shared memory a
 * mutex guards it, not atomics (a key and its value change as one, which no
 * lock-free instruction does); a robust one, so that a child killed holding
 * it is no hang [2]. */
static struct lab_manager o;            /* the options (lab_options.c) */
static struct dict *shared_dict;        /* --shared-memory, else NULL */
static struct procs_counter *sets_done; /* per child, shared: --progress */
static struct link { int user, manager; } links[DICT_MAX + 1];  /* [chunks]: the parent's */
static pid_t child_pids[DICT_MAX], manager_pid;     /* 0: reaped, or none */

/* Lock the shared dict. EOWNERDEAD: we have it, but its last holder died in
 * it, maybe half-way through a store: undo that (each store notes first what
 * it overwrites), then mark the state consistent. Other errors end us. */
static void lock_dict(struct dict *d)
{
    int err = pthread_mutex_lock(&d->lock);
    if (err == EOWNERDEAD) {
        bool undone = dict_undo(d);
        fprintf(stderr, "sum_chunks_manager: a process died holding the lock%s\n",
                undone ? "; its store undone" : "");
        err = pthread_mutex_consistent(&d->lock);
    }
    lab_check("pthread_mutex_lock", err);
}

/* Wait until one of the n sockets in p is ready. At once in poll(), unless
 * --spin [3]: waking a process asleep on another CPU takes tens of
 * microseconds, more than a round trip's work, so look without sleeping
 * for up to US microseconds first, yielding the CPU in between. */
static int await_ready(struct pollfd *p, int n)
{
    double give_up = lab_now() + (double)o.spin_us / 1e6;
    while (o.spin_us > 0 && lab_now() < give_up) {
        int ready = poll(p, (nfds_t)n, 0);
        if (ready != 0)
            return ready;
        sched_yield();
    }
    return poll(p, (nfds_t)n, -1);
}

/* Set or get "part-<i>", whichever way this run goes. */
static bool call(int fd, bool set, long long i, unsigned __int128 *value)
{
    struct dict_item m = { .value = *value, .set = set };
    snprintf(m.key, sizeof m.key, "part-%lld", i);
    if (shared_dict) {                                          /* [2] */
        lock_dict(shared_dict);
        dict_apply(shared_dict, &m);
        lab_check("pthread_mutex_unlock", pthread_mutex_unlock(&shared_dict->lock));
    } else if (send(fd, &m, sizeof m, MSG_NOSIGNAL) != sizeof m  /* [1] */
               || await_ready(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1) < 0
               || recv(fd, &m, sizeof m, 0) != sizeof m) {
        return false;           /* 0 bytes: the manager is gone */
    }
    *value = m.value;
    return m.found;
}

/* A child: sum chunk i, store it (1 + ops times) and _exit. */
static _Noreturn void child_main(long long i)
{
    trace_process("child %lld", i);
    trace_lane(1, "worker");
    /* The later children's ends and the parent's: else hang-ups would not show. */
    for (long long j = i + 1; !shared_dict && j <= o.chunks; j++)
        close(links[j].user);
    unsigned long long first = i * o.numbers / o.chunks + 1, last = (i + 1) * o.numbers / o.chunks;
    unsigned __int128 part = (unsigned __int128)(first + last) * (last - first + 1) / 2;
    bool ok = true;
    for (long long j = 0; ok && j <= o.ops; j++) {
        double t0 = trace_clock();
        ok = call(links[i].user, true, i, &part);
        if (ok)
            trace_span("set", 1, t0, j, "\"child\":%lld,\"op\":%lld", i, j);
        procs_count(&sets_done[i], j + 1);
    }
    _exit(ok ? 0 : 1);          /* the parent reports a failure */
}

/* The manager: poll() on every connection, serving each request as it comes.
 * Only this process touches its dict, so it takes no lock; serving one child
 * until it hung up would make the children take turns. The parent's end of
 * file is the stop request (and covers a parent that died). */
static _Noreturn void manager_main(void)
{
    static struct dict dict;
    struct pollfd p[DICT_MAX + 1];    /* the children's, then the parent's */
    int parent = (int)o.chunks;
    trace_process("manager");
    trace_lane(1, "serving");
    for (int i = 0; i <= parent; i++) {
        close(links[i].user);           /* else no hang-up would show */
        p[i] = (struct pollfd){ .fd = links[i].manager, .events = POLLIN };
    }
    while (await_ready(p, parent + 1) > 0) {
        for (int i = 0; i <= parent; i++) {
            struct dict_item m;
            if (p[i].revents == 0)
                continue;
            double t0 = trace_clock();
            bool served = recv(p[i].fd, &m, sizeof m, 0) == sizeof m;
            if (served) {
                dict_apply(&dict, &m);
                served = send(p[i].fd, &m, sizeof m, MSG_NOSIGNAL) == sizeof m;
            }
            if (!served && i == parent)
                _exit(0);       /* the parent hung up: the run is over */
            if (!served)
                p[i].fd = -1;   /* a child, done or dead: poll skips it now */
            else
                trace_span("serve", 1, t0, i < parent ? i : -1, "\"for\":\"%s\",\"set\":%s",
                           i < parent ? m.key : "parent", m.set ? "true" : "false");
        }
    }
    _exit(1);
}

/* The concurrency step: a shared dict [2] or a manager [1], then the children. */
static void start_processes(bool shared_memory)
{
    if (shared_memory) {
        shared_dict = procs_shared(sizeof *shared_dict);     /* mmap, MAP_SHARED */
        procs_robust_mutex(&shared_dict->lock);     /* process-shared, robust */
    } else {
        for (long long i = 0; i <= o.chunks; i++)     /* AF_UNIX, SOCK_SEQPACKET */
            procs_socketpair(&links[i].user, &links[i].manager);
        manager_pid = procs_fork();
        if (manager_pid == 0)
            manager_main();
        for (long long i = 0; i <= o.chunks; i++)     /* only the manager's now */
            close(links[i].manager);
    }
    for (long long i = 0; i < o.chunks && !lab_stop_signal; i++) {
        child_pids[i] = procs_fork();
        if (child_pids[i] == 0)
            child_main(i);
        if (!shared_dict)
            close(links[i].user);
    }
}

static void show_progress(void)
{
    lab_progress(procs_counted(sets_done, o.chunks), o.chunks * (o.ops + 1));
}

int main(int argc, char **argv)
{
    lab_manager_options(argc, argv, "sum_chunks_manager: children sum 1..N into a manager's dict.",
                        &o, DICT_MAX);
    lab_reserve_files(2 * o.chunks + 2, "chunks", o.chunks);   /* two sockets a chunk */
    sets_done = procs_shared((size_t)o.chunks * sizeof *sets_done);
    lab_catch_signals();
    procs_block_signals();
    double start = lab_now();
    start_processes(o.shared_memory);
    long long failed = 0;
    unsigned __int128 total = 0;
    char buf[40];
    for (long long i = 0; i < o.chunks; i++) {    /* join child i, get its part */
        unsigned __int128 part = 0;
        failed += !procs_join(&child_pids[i], "child", i, show_progress);
        bool got = !lab_stop_signal && call(links[o.chunks].user, false, i, &part);
        printf("part-%lld %s\n", i, got ? lab_u128(part, buf) : "missing");
        total += part;
        failed += !got;
    }
    show_progress();            /* the last count: all done, or where it stopped */
    lab_progress_end();
    if (!shared_dict)           /* our end of file tells the manager to stop */
        close(links[o.chunks].user);
    failed += !procs_join(&manager_pid, "manager", 0, NULL);   /* (shared memory: none) */
    double seconds = lab_now() - start;
    printf("total %s\n", lab_u128(total, buf));
    lab_record("experiment=sum_chunks_manager numbers=%lld chunks=%lld mode=%s ops=%lld "
               "spin_us=%lld seconds=%.6f total=%s ops_per_s=%.0f failed=%lld", o.numbers,
               o.chunks, shared_dict ? "shared-memory" : "manager", o.ops, o.spin_us, seconds, buf,
               failed ? 0 : (double)(o.chunks * o.ops) / seconds, failed);
    lab_finish(failed);
}

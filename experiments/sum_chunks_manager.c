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
 * or a lock, a store and an unlock in shared memory. The sums are closed
 * forms: the lesson times the talking, not the adding. Every wait sleeps in
 * poll() at once, as Python's does; --spin US is the tuning [3] (the README
 * says what it gains). --trace: a "set" span per round trip on each child's
 * lane, and on the manager's lane each request it served.
 *
 * Usage: sum_chunks_manager [--numbers N] [--chunks K] [--ops N] [--spin US] [--shared-memory]
 *   bin/sum_chunks_manager
 *   bin/sum_chunks_manager --chunks 2 --ops 200_000 --spin 50
 * Expect: "part-0 325", "part-1 950", "part-2 1575", "part-3 2200", "total 5050", then
 *   experiment=sum_chunks_manager numbers=100 chunks=4 mode=manager ops=0 spin_us=0 seconds=0.00... total=5050 ops_per_s=0 failed=0
 * See also: cpu_multiprocessing.c (processes that share nothing).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lab.h"
#include "procs.h"
#include "trace.h"

enum { MAX_CHUNKS = 1024 };     /* a sane number of processes */

/* A request, which the manager turns into its answer. Fixed size (48 bytes,
 * no padding), and SOCK_SEQPACKET makes one send one message: no framing. */
struct message { unsigned __int128 value; char key[30]; bool set, found; };

/* The dict, keys searched in order. In shared memory a mutex guards it, not
 * atomics (a key and its 128-bit value change as one, which no lock-free
 * instruction does); a robust one, so a child killed holding it is no hang.
 * Each store notes first what it overwrites, so that the next holder can
 * undo a store its dead owner left half-done. */
struct dict {
    pthread_mutex_t lock;
    int used;
    struct message slots[MAX_CHUNKS];
    _Atomic int undo_slot;      /* the slot being written, or -1 */
    int undo_used;              /* used before that store */
    struct message undo;        /* the slot before that store */
};

struct link { int user, manager; };     /* a socketpair's two ends */
struct counter { _Alignas(64) atomic_llong sets; };    /* a cache line each */

static long long numbers = 100, chunks = 4, ops, spin_us;
static struct dict *shared_dict;        /* --shared-memory, else NULL */
static struct counter *sets_done;       /* per child, shared: --progress */
static struct link child_links[MAX_CHUNKS], parent_link;
static pid_t child_pids[MAX_CHUNKS], manager_pid;     /* 0: reaped, or none */

/* Set or get m->key: the same code in the manager and in shared memory. */
static void dict_apply(struct dict *d, struct message *m)
{
    int i = 0;
    while (i < d->used && memcmp(d->slots[i].key, m->key, sizeof m->key) != 0)
        i++;
    if (m->set && i < MAX_CHUNKS) {
        d->undo = d->slots[i];
        d->undo_used = d->used;
        atomic_store_explicit(&d->undo_slot, i, memory_order_release);
        d->slots[i] = *m;
        if (i == d->used)
            d->used++;
        atomic_store_explicit(&d->undo_slot, -1, memory_order_release);
    }
    m->found = i < d->used;
    m->value = m->found ? d->slots[i].value : 0;
}

/* Lock the shared dict. EOWNERDEAD: we have it, but its last holder died
 * holding it, maybe half-way through a store: undo that, then say the
 * state is consistent again. Any other error ends this process. */
static void lock_dict(struct dict *d)
{
    int err = pthread_mutex_lock(&d->lock);
    if (err == EOWNERDEAD) {
        int slot = atomic_load(&d->undo_slot);
        if (slot >= 0) {
            d->slots[slot] = d->undo;
            d->used = d->undo_used;
            atomic_store(&d->undo_slot, -1);
        }
        fprintf(stderr, "sum_chunks_manager: a process died holding the lock%s\n",
                slot >= 0 ? "; its store undone" : "");
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
    if (spin_us > 0) {
        double give_up = lab_now() + (double)spin_us / 1e6;
        while (lab_now() < give_up) {
            int ready = poll(p, (nfds_t)n, 0);
            if (ready != 0)
                return ready;
            sched_yield();
        }
    }
    return poll(p, (nfds_t)n, -1);
}

/* Set or get "part-<i>", whichever way this run goes. */
static bool call(int fd, bool set, long long i, unsigned __int128 *value)
{
    struct message m = { .value = *value, .set = set };
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
    for (long long j = i + 1; !shared_dict && j <= chunks; j++)
        close(j < chunks ? child_links[j].user : parent_link.user);
    unsigned long long first = i * numbers / chunks + 1, last = (i + 1) * numbers / chunks;
    unsigned __int128 part = (unsigned __int128)(first + last) * (last - first + 1) / 2;
    bool ok = true;
    for (long long j = 0; ok && j <= ops; j++) {
        double t0 = trace_clock();
        ok = call(child_links[i].user, true, i, &part);
        if (ok)
            trace_span("set", 1, t0, j, "\"child\":%lld,\"op\":%lld", i, j);
        atomic_store_explicit(&sets_done[i].sets, j + 1, memory_order_relaxed);
    }
    _exit(ok ? 0 : 1);          /* the parent reports a failure */
}

/* The manager: poll() on every connection, serving each request as it comes.
 * Only this process touches its dict, so it takes no lock; serving one child
 * until it hung up would make the children take turns. The parent's end of
 * file is the stop request (and covers a parent that died). */
static _Noreturn void manager_main(void)
{
    static struct dict dict = { .undo_slot = -1 };
    struct pollfd p[MAX_CHUNKS + 1];    /* the children's, then the parent's */
    int n = (int)chunks + 1;
    trace_process("manager");
    trace_lane(1, "serving");
    for (int i = 0; i < n - 1; i++) {
        close(child_links[i].user);     /* else no child's hang-up would show */
        p[i] = (struct pollfd){ .fd = child_links[i].manager, .events = POLLIN };
    }
    close(parent_link.user);
    p[n - 1] = (struct pollfd){ .fd = parent_link.manager, .events = POLLIN };
    while (await_ready(p, n) > 0) {
        for (int i = 0; i < n; i++) {
            struct message m;
            if (p[i].revents == 0)
                continue;
            double t0 = trace_clock();
            bool served = recv(p[i].fd, &m, sizeof m, 0) == sizeof m;
            if (served) {
                dict_apply(&dict, &m);
                served = send(p[i].fd, &m, sizeof m, MSG_NOSIGNAL) == sizeof m;
            }
            if (!served && i == n - 1)
                _exit(0);       /* the parent hung up: the run is over */
            if (!served)
                p[i].fd = -1;   /* a child, done or dead: poll skips it now */
            else
                trace_span("serve", 1, t0, i < n - 1 ? i : -1, "\"for\":\"%s\","
                           "\"set\":%s", i < n - 1 ? m.key : "parent", m.set ? "true" : "false");
        }
    }
    _exit(1);
}

/* The concurrency step: a shared dict [2] or a manager [1], then the children. */
static void start_processes(bool shared_memory)
{
    if (shared_memory) {
        pthread_mutexattr_t attr;
        shared_dict = procs_shared(sizeof *shared_dict);     /* mmap, MAP_SHARED */
        atomic_init(&shared_dict->undo_slot, -1);
        lab_check("pthread_mutexattr_init", pthread_mutexattr_init(&attr));
        lab_check("pthread_mutexattr_setpshared",
                  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED));
        lab_check("pthread_mutexattr_setrobust",
                  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST));
        lab_check("pthread_mutex_init", pthread_mutex_init(&shared_dict->lock, &attr));
        pthread_mutexattr_destroy(&attr);
    } else {
        for (long long i = 0; i <= chunks; i++) {
            int ends[2];
            if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ends) != 0)
                lab_die("socketpair: %s", strerror(errno));
            struct link *l = i < chunks ? &child_links[i] : &parent_link;
            *l = (struct link){ .user = ends[0], .manager = ends[1] };
        }
        manager_pid = procs_fork();
        if (manager_pid == 0)
            manager_main();
        for (long long i = 0; i <= chunks; i++)     /* only the manager */
            close(i < chunks ? child_links[i].manager : parent_link.manager);
    }
    for (long long i = 0; i < chunks && !lab_stop_signal; i++) {
        child_pids[i] = procs_fork();
        if (child_pids[i] == 0)
            child_main(i);
        if (!shared_dict)
            close(child_links[i].user);
    }
}

static void show_progress(void)
{
    long long sets = 0;
    for (long long i = 0; i < chunks; i++)
        sets += atomic_load_explicit(&sets_done[i].sets, memory_order_relaxed);
    lab_progress(sets, chunks * (ops + 1));
}

int main(int argc, char **argv)
{
    bool shared_memory = false;
    const struct lab_opt opts[] = {
        { "numbers", LAB_NUMBER, "N", "sum 1..N (default 100, at most 10^12)",
          .number = &numbers, .min = 1, .max = 1000000000000LL },
        { "chunks", LAB_NUMBER, "K", "in K chunks, a child process each "
          "(default 4)", .number = &chunks, .min = 1, .max = MAX_CHUNKS },
        { "ops", LAB_NUMBER, "N", "store each part N more times (default 0)",
          .number = &ops, .max = 1000000000 },
        { "spin", LAB_NUMBER, "US", "tuning: poll up to US microseconds before "
          "sleeping (default 0: sleep at once)", .number = &spin_us, .max = 1000000 },
        { "shared-memory", LAB_FLAG, NULL, "keep the dict in shared memory, "
          "not in a manager", .flag = &shared_memory },
        { 0 }
    };
    lab_parse(argc, argv, "sum_chunks_manager: children sum 1..N into a manager's dict.", opts);
    if (chunks > numbers)
        lab_usage_error("--chunks %lld: more than the %lld numbers", chunks, numbers);
    lab_reserve_files(2 * chunks + 2, "chunks", chunks);   /* two sockets a chunk */
    sets_done = procs_shared((size_t)chunks * sizeof *sets_done);
    lab_catch_signals();
    procs_block_signals();
    double start = lab_now();
    start_processes(shared_memory);
    long long failed = 0;
    unsigned __int128 total = 0;
    char buf[40];
    for (long long i = 0; i < chunks; i++) {    /* join child i, get its part */
        unsigned __int128 part = 0;
        failed += !procs_join(&child_pids[i], "child", i, show_progress);
        bool got = !lab_stop_signal && call(parent_link.user, false, i, &part);
        printf("part-%lld %s\n", i, got ? lab_u128(part, buf) : "missing");
        total += part;
        failed += !got;
    }
    show_progress();            /* the last count: all done, or where it stopped */
    lab_progress_end();
    if (!shared_dict)           /* our end of file tells the manager to stop */
        close(parent_link.user);
    failed += !procs_join(&manager_pid, "manager", 0, NULL);   /* (shared memory: none) */
    double seconds = lab_now() - start;
    printf("total %s\n", lab_u128(total, buf));
    lab_record("experiment=sum_chunks_manager numbers=%lld chunks=%lld mode=%s ops=%lld "
               "spin_us=%lld seconds=%.6f total=%s ops_per_s=%.0f failed=%lld", numbers,
               chunks, shared_dict ? "shared-memory" : "manager", ops, spin_us, seconds, buf,
               failed ? 0 : (double)(chunks * ops) / seconds, failed);
    lab_finish(failed);
}

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
 * forms: the lesson times the talking, not the adding. --spin 0 makes every
 * wait a sleep [3]: on two cores, ops_per_s drops about 4x (wake-ups).
 *
 * Usage: sum_chunks_manager [--numbers N] [--chunks K] [--ops N] [--spin US] [--shared-memory]
 *   bin/sum_chunks_manager
 *   bin/sum_chunks_manager --chunks 2 --ops 200_000 --spin 0
 * Expect: part-0 325, part-1 950, part-2 1575, part-3 2200, total 5050, then
 *   experiment=sum_chunks_manager numbers=100 chunks=4 mode=manager ops=0 spin_us=50 seconds=0.00... total=5050 ops_per_s=0 failed=0
 * See also: cpu_multiprocessing.c (processes that share nothing).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"

enum { MAX_CHUNKS = 1024 };     /* a sane number of processes */

/* A request, which the manager turns into its answer. Fixed size (48 bytes,
 * no padding), and SOCK_SEQPACKET makes one send one message: no framing. */
struct message { unsigned __int128 value; char key[30]; bool set, found; };

/* The dict, keys searched in order. In shared memory a mutex guards it, not
 * atomics (a key and its 128-bit value change as one, which no lock-free
 * instruction does); a robust one, so a child killed holding it is no hang. */
struct dict { pthread_mutex_t lock; int used; struct message slots[MAX_CHUNKS]; };

static long long numbers = 100, chunks = 4, ops, spin_us = 50;
static struct dict *shared_dict;    /* --shared-memory, else NULL */
static int ends[MAX_CHUNKS + 1][2]; /* per child, then the parent's; [1] the manager's */
static pid_t pids[MAX_CHUNKS + 1];  /* the children, then the manager; 0: reaped */

/* Set or get m->key: the same code in the manager and in shared memory. */
static void dict_apply(struct dict *d, struct message *m)
{
    int i = 0;
    while (i < d->used && memcmp(d->slots[i].key, m->key, sizeof m->key) != 0)
        i++;
    if (m->set && i < MAX_CHUNKS)
        d->slots[i] = *m, d->used += i == d->used;
    m->found = i < d->used;
    m->value = m->found ? d->slots[i].value : 0;
}

/* Wait until one of the n sockets in p is ready [3]. Not at once in poll():
 * waking a process asleep on another CPU takes tens of microseconds, more
 * than a round trip's work. So look without sleeping for up to --spin us,
 * yielding the CPU in between: an answer that soon costs no wake-up. */
static int await_ready(struct pollfd *p, int n)
{
    double give_up = lab_now() + (double)spin_us / 1e6;
    int ready = 0;
    while (spin_us && (ready = poll(p, (nfds_t)n, 0)) == 0 && lab_now() < give_up)
        sched_yield();
    return ready == 0 ? poll(p, (nfds_t)n, -1) : ready;
}

/* Set or get "part-<i>", whichever way this run goes. */
static bool call(int fd, bool set, long long i, unsigned __int128 *value)
{
    struct message m = { .value = *value, .set = set };
    snprintf(m.key, sizeof m.key, "part-%d", (int)i);
    if (shared_dict) {                                          /* [2] */
        if (pthread_mutex_lock(&shared_dict->lock) == EOWNERDEAD)  /* its holder */
            pthread_mutex_consistent(&shared_dict->lock);  /* died: go on */
        dict_apply(shared_dict, &m);
        pthread_mutex_unlock(&shared_dict->lock);
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
    lab_default_signals();
    for (long long j = i + 1; !shared_dict && j <= chunks; j++)
        close(ends[j][0]);      /* else a dead parent's hang-up would not show */
    unsigned long long first = i * numbers / chunks + 1, last = (i + 1) * numbers / chunks;
    unsigned __int128 part = (unsigned __int128)(first + last) * (last - first + 1) / 2;
    bool ok = true;
    for (long long j = 0; ok && j <= ops; j++)
        ok = call(ends[i][0], true, i, &part);
    _exit(ok ? 0 : 1);          /* the parent reports a failure */
}

/* The manager: poll() on every connection, serving each request as it comes.
 * Only this process touches its dict, so it takes no lock; serving one child
 * until it hung up would make the children take turns. The parent's end of
 * file is the stop request (and covers a parent that died). */
static _Noreturn void manager_main(int n)
{
    static struct dict dict;
    struct pollfd p[MAX_CHUNKS + 1];
    lab_default_signals();
    for (int i = 0; i < n; i++) {
        close(ends[i][0]);      /* else no child's hang-up would show */
        p[i] = (struct pollfd){ .fd = ends[i][1], .events = POLLIN };
    }
    while (await_ready(p, n) > 0) {
        for (int i = 0; i < n; i++) {
            struct message m;
            if (p[i].revents == 0)
                continue;
            if (recv(p[i].fd, &m, sizeof m, 0) != sizeof m) {   /* a hang-up */
                if (i == n - 1)
                    _exit(0);   /* the parent's: the run is over */
                p[i].fd = -1;   /* a child's, done or dead: poll skips it now */
                continue;
            }
            dict_apply(&dict, &m);  /* a failed send: its hang-up comes next */
            (void)!send(p[i].fd, &m, sizeof m, MSG_NOSIGNAL);
        }
    }
    _exit(1);
}

/* The concurrency step: a shared dict [2] or a manager [1], then the children. */
static void start_processes(bool shared_memory)
{
    pthread_mutexattr_t attr;
    if (shared_memory) {
        shared_dict = mmap(NULL, sizeof *shared_dict, PROT_READ | PROT_WRITE,
                           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared_dict == MAP_FAILED)
            lab_die("mmap: %s", strerror(errno));
        pthread_mutexattr_init(&attr);  /* these only check their arguments */
        pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
        lab_check("pthread_mutex_init", pthread_mutex_init(&shared_dict->lock, &attr));
    }
    for (long long i = 0; !shared_dict && i <= chunks; i++)
        if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ends[i]) != 0)
            lab_die("socketpair: %s", strerror(errno));
    if (!shared_dict && (pids[chunks] = fork()) == 0)
        manager_main((int)chunks + 1);
    for (long long i = 0; !shared_dict && i <= chunks; i++)
        close(ends[i][1]);      /* only the manager holds these now */
    for (long long i = 0; i < chunks && !lab_stop_signal; i++) {
        if (pids[chunks] < 0 || (pids[i] = fork()) < 0)  /* the ones started */
            lab_die("fork: %s", strerror(errno));        /* end on their own */
        if (pids[i] == 0)
            child_main(i);
        if (!shared_dict)
            close(ends[i][0]);
    }
}

/* Reap process i (the manager is the last); once interrupted, end them all. */
static bool reap(long long i)
{
    int status = 0;
    for (;;) {
        for (long long j = 0; lab_stop_signal && j <= chunks; j++)
            if (pids[j] > 0)
                kill(pids[j], SIGTERM);
        if (pids[i] <= 0 || waitpid(pids[i], &status, 0) == pids[i])
            break;
        if (errno != EINTR)
            lab_die("waitpid: %s", strerror(errno));
    }
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok && !lab_stop_signal)
        fprintf(stderr, "sum_chunks_manager: the %s (pid %d) failed: %s\n",
                i < chunks ? "child" : "manager", (int)pids[i], WIFSIGNALED(status)
                ? strsignal(WTERMSIG(status)) : "exit status not 0");
    pids[i] = 0;
    return ok || lab_stop_signal;   /* ending them was our doing */
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
        { "spin", LAB_NUMBER, "US", "poll up to US microseconds before sleeping "
          "(default 50; 0: sleep at once)", .number = &spin_us, .max = 1000000 },
        { "shared-memory", LAB_FLAG, NULL, "keep the dict in shared memory, "
          "not in a manager", .flag = &shared_memory },
        { 0 }
    };
    lab_parse(argc, argv, "sum_chunks_manager: children sum 1..N into a manager's dict.", opts);
    if (chunks > numbers)
        lab_usage_error("--chunks %lld: more than the %lld numbers", chunks, numbers);
    lab_reserve_files(2 * chunks + 2, "chunks", chunks);   /* two sockets a chunk */
    lab_catch_signals();
    double start = lab_now();
    start_processes(shared_memory);
    long long failed = 0;
    unsigned __int128 total = 0, part = 0;
    char buf[40];
    for (long long i = 0; i < chunks; i++) {    /* join child i, get its part */
        failed += !reap(i);
        bool got = !lab_stop_signal && call(ends[chunks][0], false, i, &part);
        printf("part-%lld %s\n", i, got ? lab_u128(part, buf) : "missing");
        total += got ? part : 0, failed += !got;
    }
    if (!shared_dict)           /* our end of file tells the manager to stop */
        close(ends[chunks][0]);
    failed += !reap(chunks);    /* (with shared memory, there is none) */
    double seconds = lab_now() - start;
    printf("total %s\n", lab_u128(total, buf));
    lab_record("experiment=sum_chunks_manager numbers=%lld chunks=%lld mode=%s ops=%lld "
               "spin_us=%lld seconds=%.6f total=%s ops_per_s=%.0f failed=%lld", numbers,
               chunks, shared_dict ? "shared-memory" : "manager", ops, spin_us, seconds, buf,
               failed ? 0 : (double)(chunks * ops) / seconds, failed);
    lab_finish(failed);
}

/* procs.c - forking and joining processes with care (see procs.h). */
#define _GNU_SOURCE
#include "procs.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab.h"

enum { MAX_PROCS = 4096 };

static sigset_t unblocked;      /* the mask from before procs_block_signals */
static bool blocked;            /* procs_block_signals was called */
static pid_t started[MAX_PROCS];        /* by procs_fork; 0: reaped */
static int n_started;

void procs_block_signals(void)
{
    lab_block_signals(&unblocked);
    blocked = true;
}

/* SIGTERM to every process started and not reaped yet. */
static void stop_started(void)
{
    for (int i = 0; i < n_started; i++)
        if (started[i] > 0)
            kill(started[i], SIGTERM);
}

pid_t procs_fork(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int err = errno;
        stop_started();
        for (int i = 0; i < n_started; i++)
            if (started[i] > 0)
                waitpid(started[i], NULL, 0);
        lab_die("fork: %s", strerror(err));
    }
    if (pid == 0) {
        lab_default_signals();
        if (blocked)
            sigprocmask(SIG_SETMASK, &unblocked, NULL);
    } else if (n_started < MAX_PROCS) {
        started[n_started++] = pid;
    }
    return pid;
}

/* Wait for pid to end (true) or a signal (false), ticking every 100 ms. */
static bool wait_for(pid_t pid, void (*tick)(void))
{
    struct timespec every = { 0, 100 * 1000000 };
    int fd = pidfd_open(pid, 0);
    if (fd < 0)
        lab_die("pidfd_open %d: %s", (int)pid, strerror(errno));
    int ready = 0;
    while (ready == 0 && !lab_stop_signal) {
        if (tick)
            tick();
        ready = ppoll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1,
                      &every, blocked ? &unblocked : NULL);
        if (ready < 0 && errno != EINTR)
            lab_die("ppoll: %s", strerror(errno));
    }
    close(fd);
    return ready > 0;
}

bool procs_join(pid_t *pid, const char *what, long long index, void (*tick)(void))
{
    if (*pid <= 0)
        return true;
    if (!wait_for(*pid, tick))
        stop_started();
    bool ok = lab_reap(*pid, what, index, lab_stop_signal);
    for (int i = 0; i < n_started; i++)
        if (started[i] == *pid)
            started[i] = 0;
    *pid = 0;
    return ok || lab_stop_signal;
}

void *procs_shared(size_t size)
{
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        lab_die("mmap of %zu bytes: %s", size, strerror(errno));
    return mem;
}

void procs_count(struct procs_counter *c, long long n)
{
    atomic_store_explicit(&c->n, n, memory_order_relaxed);
}

long long procs_counted(const struct procs_counter *c, long long n_counters)
{
    long long sum = 0;
    for (long long i = 0; i < n_counters; i++)
        sum += atomic_load_explicit(&c[i].n, memory_order_relaxed);
    return sum;
}

void procs_robust_mutex(pthread_mutex_t *m)
{
    pthread_mutexattr_t attr;
    lab_check("pthread_mutexattr_init", pthread_mutexattr_init(&attr));
    lab_check("pthread_mutexattr_setpshared",
              pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED));
    lab_check("pthread_mutexattr_setrobust",
              pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST));
    lab_check("pthread_mutex_init", pthread_mutex_init(m, &attr));
    pthread_mutexattr_destroy(&attr);
}

void procs_socketpair(int *one_end, int *other_end)
{
    int ends[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ends) != 0)
        lab_die("socketpair: %s", strerror(errno));
    *one_end = ends[0];
    *other_end = ends[1];
}

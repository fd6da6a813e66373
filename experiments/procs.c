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
#include <unistd.h>

#include "lab.h"

enum { MAX_PROCS = 4096 };

static sigset_t unblocked;      /* the mask from before procs_block_signals */
static pid_t started[MAX_PROCS];        /* by procs_fork; 0: reaped */
static int n_started;

void procs_block_signals(void)
{
    lab_block_signals(&unblocked);
}

pid_t procs_fork(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        lab_die("fork: %s", strerror(errno));
    if (pid == 0) {
        lab_default_signals();
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
                      &every, &unblocked);
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
    if (!wait_for(*pid, tick)) {
        for (int i = 0; i < n_started; i++)
            if (started[i] > 0)
                kill(started[i], SIGTERM);
    }
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

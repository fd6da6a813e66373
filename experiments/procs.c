/* procs.c - forking and joining processes with care (see procs.h). */
#define _GNU_SOURCE
#include "procs.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "lab.h"

static sigset_t unblocked;      /* the mask from before procs_block_signals */

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
    }
    return pid;
}

bool procs_wait(pid_t pid, void (*tick)(void))
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

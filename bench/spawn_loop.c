/* spawn_loop.c - what a program costs to start and end, from outside.
 *
 * What it shows: the wall time of running COMMAND N times, one after
 * another, as a caller sees it (fork, exec, the dynamic loader, the
 * program's own set-up and tear-down, the wait), on the monotonic clock.
 * make bench points it at a lesson doing almost no work, and at
 * scripts/run around one, to see what starting costs. The command's output
 * goes to /dev/null; a command that fails stops the loop (exit 1).
 *
 * Usage: spawn_loop N COMMAND [ARG...]
 *   build/bench/spawn_loop 50 bin/cpu_sync --tasks 1 --size 1
 *
 * Expect, as the last line (the lab's record line):
 *   experiment=spawn_loop runs=50 seconds=0.0... ms_per_run=1.6...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run argv[0] `runs` times, one after another; false at the first failure. */
static bool run_all(long runs, char **argv, const posix_spawn_file_actions_t *quiet)
{
    for (long i = 0; i < runs; i++) {
        pid_t pid;
        int status, err = posix_spawnp(&pid, argv[0], quiet, NULL, argv, environ);
        if (err != 0) {
            fprintf(stderr, "spawn_loop: %s: %s\n", argv[0], strerror(err));
            return false;
        }
        while (waitpid(pid, &status, 0) < 0)
            if (errno != EINTR) {
                fprintf(stderr, "spawn_loop: waitpid: %s\n", strerror(errno));
                return false;
            }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "spawn_loop: run %ld of %s failed (status %d)\n",
                    i + 1, argv[0], status);
            return false;
        }
    }
    return true;
}

int main(int argc, char **argv)
{
    char *end;
    long runs = argc >= 3 ? strtol(argv[1], &end, 10) : 0;
    if (argc < 3 || *end || runs < 1 || runs > 100000) {
        fprintf(stderr, "Usage: spawn_loop N COMMAND [ARG...]   (N from 1 to 100000)\n");
        return 2;
    }
    posix_spawn_file_actions_t quiet;   /* the command's output: /dev/null */
    if (posix_spawn_file_actions_init(&quiet) != 0
        || posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0) != 0
        || posix_spawn_file_actions_adddup2(&quiet, 1, 2) != 0) {
        fprintf(stderr, "spawn_loop: posix_spawn_file_actions: out of memory\n");
        return 1;
    }
    double start = now();
    bool ok = run_all(runs, argv + 2, &quiet);
    double seconds = now() - start;
    posix_spawn_file_actions_destroy(&quiet);
    if (!ok)
        return 1;
    printf("experiment=spawn_loop runs=%ld seconds=%.6f ms_per_run=%.3f\n",
           runs, seconds, seconds * 1000 / (double)runs);
    return 0;
}

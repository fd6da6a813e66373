/* procs.h - forking and joining processes with care: the plumbing under
 * sum_chunks_manager's and io_hybrid's fork and wait (the lessons show the
 * model; the details every process lesson needs are here).
 *
 *   - stdio is flushed before fork, so no child ever writes again what the
 *     parent had buffered;
 *   - a child dies of SIGINT and SIGTERM (the parent catches them; a child
 *     that must finish a file first calls lab_catch_signals again), and it
 *     ends by _exit only: the exit handlers are the parent's (lab_die in a
 *     child _exits too);
 *   - after procs_block_signals, the parent keeps SIGINT and SIGTERM blocked
 *     but while it waits in ppoll(), so a signal never slips in between a
 *     check and a wait;
 *   - it waits on a pidfd, readable once the process has ended (Python's
 *     Process.sentinel), waking every 100 ms for a progress bar;
 *   - a fork that fails stops and reaps those started, then dies: no orphans.
 *
 * Then what the manager lesson's processes share: memory, counters, a
 * robust mutex, and a socket pair a message at a time.
 */
#ifndef PROCS_H
#define PROCS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

/* In the parent, before the first procs_fork (optional). */
void procs_block_signals(void);

/* fork() with stdio flushed; in the child, the signals as they were. */
pid_t procs_fork(void);

/* Wait until process *pid has ended or SIGINT or SIGTERM arrived, calling
 * tick(), if not NULL, every 100 ms; once a signal came, send SIGTERM to
 * every process procs_fork started and nobody reaped yet. Then reap *pid
 * (lab_reap: says on stderr how it died, unless the run was stopped) and
 * set it to 0 (0 already: nothing to do). True if it exited 0, or if the
 * run was stopped (ending them was our doing). */
bool procs_join(pid_t *pid, const char *what, long long index, void (*tick)(void));

/* size bytes of zeroed memory shared with every child forked after. */
void *procs_shared(size_t size);

/* A count one process keeps and another reads: a cache line each, so that
 * children counting at the same time do not slow each other down. */
struct procs_counter { _Alignas(64) atomic_llong n; };
void procs_count(struct procs_counter *c, long long n);
long long procs_counted(const struct procs_counter *c, long long n_counters);  /* the sum */

/* A mutex in shared memory, for every process (PTHREAD_PROCESS_SHARED)
 * and robust (PTHREAD_MUTEX_ROBUST): when its owner dies holding it, the
 * next pthread_mutex_lock returns EOWNERDEAD instead of waiting forever. */
void procs_robust_mutex(pthread_mutex_t *m);

/* A connected pair of Unix-domain sockets (AF_UNIX, SOCK_SEQPACKET: each
 * send arrives as one message, whole, so no framing is needed). */
void procs_socketpair(int *one_end, int *other_end);

#endif

/* procs.h - forking and joining processes with care: the plumbing under
 * sum_chunks_manager's fork and wait (the lesson shows the model; the
 * details every process lesson needs are here).
 *
 *   - stdio is flushed before fork, so no child ever writes again what the
 *     parent had buffered;
 *   - a child dies of SIGINT and SIGTERM (the parent catches them), and it
 *     ends by _exit only: the exit handlers are the parent's (lab_die in a
 *     child _exits too);
 *   - the parent keeps SIGINT and SIGTERM blocked but while it waits in
 *     ppoll(), so a signal never slips in between a check and a wait;
 *   - it waits on a pidfd, readable once the process has ended (Python's
 *     Process.sentinel), waking every 100 ms for a progress bar.
 */
#ifndef PROCS_H
#define PROCS_H

#include <stdbool.h>
#include <sys/types.h>

/* In the parent, before the first procs_fork. */
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

#endif

/* lab.h - the boring parts every lesson shares.
 *
 * Option parsing, the clock, the record line, errors and the stop flag.
 * Nothing here runs work concurrently: every lesson shows its own
 * concurrency mechanism in its own file.
 *
 * The contracts (see the README):
 *   - numbers are decimal, optionally with '_' separators (5_000_000);
 *   - bad usage: one line on stderr, exit 2, before any work starts;
 *   - the last line on stdout is the record: space-separated key=value;
 *   - exit 0 all work done, 1 some failed; interrupted by SIGINT or
 *     SIGTERM, die of that signal (a shell sees 128+signal).
 */
#ifndef LAB_H
#define LAB_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define LAB_EXIT_USAGE 2
#define LAB_MAX_URLS 64

/* ---- Options ---------------------------------------------------------- */

enum lab_opt_kind { LAB_NUMBER, LAB_FLAG, LAB_TEXT, LAB_LIST };

/* One long option. A lesson lists its own in a table ending with {0}. */
struct lab_opt {
    const char *name;       /* long name, without the dashes */
    enum lab_opt_kind kind;
    const char *arg;        /* how usage names the value ("N", "URL") */
    const char *help;       /* one line for --help */
    long long *number;      /* LAB_NUMBER: where to store, within [min, max] */
    long long min, max;
    bool *flag;             /* LAB_FLAG: set to true when given */
    const char **text;      /* LAB_TEXT: the argument as given */
    const char **list;      /* LAB_LIST: repeatable, appended here ... */
    size_t *count;          /* ... with the count here (LAB_MAX_URLS at most) */
};

/* Parse argv against opts; --help prints usage (the lesson's own summary
 * first) and exits 0; anything wrong is a usage error (exit 2). Every
 * program also takes, from here: --trace FILE (trace.h), --progress and
 * --no-progress (the bar on stderr; shown by default on a terminal). */
void lab_parse(int argc, char **argv, const char *summary,
               const struct lab_opt *opts);

/* How usage errors and --help end the program: exit, unless a test (the
 * fuzzer) puts a function here that longjmps back instead. */
extern void (*lab_exit)(int status);

/* The process that parsed the options (the parent of any forked child). */
extern pid_t lab_main_pid;

/* Flush stdout; false (and one line on stderr) if any of what was printed
 * could not be written: a full disk, a closed stdout, a broken pipe. */
bool lab_flush_stdout(void);

/* Strict decimal: digits, '_' only between digits, within [min, max]. */
long long lab_number(const char *option, const char *text,
                     long long min, long long max);

/* The options every I/O lesson takes (--url, --requests, --workers,
 * --timeout-ms, --retries, --gil, --switch-interval-us). */
struct lab_io {
    const char *urls[LAB_MAX_URLS];
    size_t n_urls;
    long long requests, workers, timeout_ms, retries, switch_interval_us;
    bool gil;
};
/* Flags for lab_io_options/lab_cpu_options. LAB_WORKERS_AS_GIVEN (CPU):
 * --workers stays 0 when not given and is not capped at --tasks, for a
 * lesson whose workers are counted by someone else (cpu_mpi: mpirun -np). */
enum { LAB_ACCEPT_GIL = 1, LAB_WORKERS_AS_GIVEN = 2 };

/* Fill o from argv. workers holds the lesson's default on entry (0: as
 * many as requests) and max_workers is the most the lesson can run. */
void lab_io_options(int argc, char **argv, const char *summary,
                    struct lab_io *o, long long max_workers, unsigned flags);

/* lab_io_options for a lesson that takes a few options more (io_coroutines'
 * --block-ms, io_hybrid's --iterations, --processes, --threads and --out),
 * listed in a table of its own as for lab_parse(): LAB_NUMBER and LAB_TEXT
 * only, the table ending with {0}. They are taken out of argv first, shown
 * by --help after the summary, and the rest goes to lab_io_options(). If
 * o->requests is not 0 on entry, it is the lesson's default --requests. */
void lab_io_options_more(int argc, char **argv, const char *summary,
                         struct lab_io *o, long long max_workers,
                         unsigned flags, const struct lab_opt *more);

/* The options every CPU lesson takes. size 0 means the workload's default. */
struct lab_cpu {
    const char *workload;
    long long tasks, size, workers, switch_interval_us;
    bool gil;
};
void lab_cpu_options(int argc, char **argv, const char *summary,
                     struct lab_cpu *o, unsigned flags);

/* The options of the manager lesson (sum_chunks_manager): sum 1..numbers
 * in `chunks` children, each storing its part 1 + ops times; spin_us, the
 * tuning; shared_memory, the dict in shared memory. At most max_chunks. */
struct lab_manager {
    long long numbers, chunks, ops, spin_us;
    bool shared_memory;
};
void lab_manager_options(int argc, char **argv, const char *summary,
                         struct lab_manager *o, long long max_chunks);

/* ---- Errors ------------------------------------------------------------ */

/* Bad usage: "<program>: <message>" on stderr, exit 2. */
_Noreturn void lab_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* A failure the lesson cannot go on from: "<program>: <message>", exit 1.
 * Called from the main thread it runs exit(); from any other thread, or in
 * a forked child, it flushes stdout (not in a child: the buffer there is a
 * copy of the parent's) and ends with _exit(1), so that no exit handler or
 * library destructor runs while other threads are still inside libcurl or
 * OpenSSL. */
_Noreturn void lab_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* Die naming a failed call and its error number (pthreads return it). */
#define lab_check(call, err) \
    do { if ((err) != 0) lab_die("%s: %s", (call), lab_strerror(err)); } while (0)
const char *lab_strerror(int err);

/* ---- Clock, record, progress -------------------------------------------- */

double lab_now(void);                /* monotonic seconds */
long lab_online_cpus(void);

/* Print the record line (the last line on stdout) and flush it. */
void lab_record(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A live bar on stderr when shown (lab_io_options decides, from --progress,
 * --no-progress and whether stderr is a terminal). */
void lab_progress_show(bool on);
void lab_progress(long long done, long long total);
void lab_progress_end(void);

/* ---- Stopping ---------------------------------------------------------- */

/* SIGINT/SIGTERM set lab_stop_signal (no SA_RESTART, so blocking calls
 * return EINTR); lessons poll it, end their workers and report. Atomic
 * (lock-free, so a handler may store it) because other threads read it.
 * Called again in a forked child, lab_catch_signals gives the child a stop
 * flag and a stop pipe of its own. */
extern volatile _Atomic sig_atomic_t lab_stop_signal;
void lab_catch_signals(void);
void lab_default_signals(void);      /* in a forked child: die on signal */
/* The read end of a pipe that turns readable once a stop signal has come
 * (the self-pipe trick): the handler writes a byte to it. A signal is
 * delivered to one thread only; a thread blocked in poll() on sockets of
 * its own polls this fd too, so that the stop wakes it at once, whichever
 * thread the signal reached. -1 before lab_catch_signals. */
int lab_stop_fd(void);
/* The end of a forked child: if a stop signal came, die of it (as the
 * default action would have), else _exit(status). Never exit(): the exit
 * handlers and stdio buffers are copies of the parent's. */
_Noreturn void lab_child_exit(int status);
/* Block SIGINT and SIGTERM; *unblocked gets the mask from before, for a
 * ppoll() that lets them in only while it waits. */
void lab_block_signals(sigset_t *unblocked);

/* Wait for the child pid (through EINTR). True if it exited with status 0;
 * if not, and not quiet, says so on stderr: "<what> <index> (pid N) died:
 * <the signal, or exit>". */
bool lab_reap(pid_t pid, const char *what, long long index, bool quiet);

/* The end of every lesson's main(): write the trace (--trace), check that
 * stdout was written whole (exit 1 with one line if not, as GNU tools do),
 * then, if a signal stopped the run, die of that signal (its default action
 * restored), so that a shell loop or make running the lesson stops too: the
 * status a shell sees is 128+signal. Otherwise exit 1 if any work failed,
 * else 0. */
_Noreturn void lab_finish(long long failures);

/* A 128-bit unsigned integer as decimal into buf (40 bytes suffice). */
char *lab_u128(unsigned __int128 v, char buf[static 40]);

/* ---- Open files ---------------------------------------------------------- */

/* Make room for `files` open files beyond the usual few (one socket or pipe
 * per worker): raise the soft RLIMIT_NOFILE toward the hard limit, or
 * refuse before any work (exit 2): "--<option> <value> needs ...". */
void lab_reserve_files(long long files, const char *option, long long value);

#endif

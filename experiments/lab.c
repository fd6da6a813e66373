/* lab.c - the boring parts every lesson shares (see lab.h): errors, the
 * clock, the record line, the progress bar, stopping on a signal, reaping a
 * child, open files. The options are in lab_options.c. */
#define _GNU_SOURCE
#include "lab.h"
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

volatile _Atomic sig_atomic_t lab_stop_signal;
pid_t lab_main_pid;
void (*lab_exit)(int status) = exit;
static bool progress_on;

static const char *program(void)
{
    return program_invocation_short_name;
}

static void vreport(const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", program());
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void lab_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    trace_abandon();
    lab_exit(LAB_EXIT_USAGE);
    abort();                    /* a test's lab_exit must not return */
}

void lab_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(fmt, ap);
    va_end(ap);
    if (getpid() != lab_main_pid)
        _exit(1);               /* a forked child: its stdio is the parent's copy */
    trace_abandon();
    if (gettid() != lab_main_pid) {
        fflush(stdout);         /* a worker thread: no exit handlers while */
        _exit(1);               /* the others are inside libcurl or OpenSSL */
    }
    exit(1);
}

const char *lab_strerror(int err)
{
    static _Thread_local char buf[128];
    return strerror_r(err, buf, sizeof buf);
}

/* ---- Clock, record, progress -------------------------------------------- */

double lab_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long lab_online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

void lab_record(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

void lab_progress_show(bool on)
{
    progress_on = on;
}

void lab_progress(long long done, long long total)
{
    enum { WIDTH = 40 };
    static _Atomic long long last_drawn_ms;   /* workers may call at once */
    if (!progress_on || total <= 0)
        return;
    long long now_ms = (long long)(lab_now() * 1000);
    if (done < total && now_ms - last_drawn_ms < 50)
        return;                 /* 20 redraws a second are plenty */
    last_drawn_ms = now_ms;
    int filled = (int)(done * WIDTH / total);
    fprintf(stderr, "\r[%.*s%*s] %lld/%lld", filled,
            "########################################", WIDTH - filled, "",
            done, total);
}

void lab_progress_end(void)
{
    if (progress_on)
        fputc('\n', stderr);
}

/* ---- Stopping ---------------------------------------------------------- */

static int stop_pipe[2] = { -1, -1 };     /* read end, write end */

static void on_signal(int sig)
{
    int saved = errno;          /* the interrupted code may be reading it */
    lab_stop_signal = sig;
    if (write(stop_pipe[1], "!", 1) < 0) {
        /* full (a stop is already there to read) or not open: enough */
    }
    errno = saved;
}

static void close_stop_pipe(void)
{
    for (int end = 0; end < 2; end++) {
        if (stop_pipe[end] >= 0)
            close(stop_pipe[end]);
        stop_pipe[end] = -1;
    }
}

void lab_catch_signals(void)
{
    close_stop_pipe();          /* in a forked child: the parent's copy */
    if (pipe2(stop_pipe, O_NONBLOCK) != 0)  /* the handler never blocks */
        lab_die("pipe: %s", strerror(errno));
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
        lab_die("sigaction: %s", strerror(errno));
}

void lab_default_signals(void)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    close_stop_pipe();
}

int lab_stop_fd(void)
{
    return stop_pipe[0];
}

/* Die of sig, as if it had never been caught. */
static _Noreturn void die_of(int sig)
{
    signal(sig, SIG_DFL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    sigprocmask(SIG_UNBLOCK, &only, NULL);
    raise(sig);
    _exit(128 + sig);           /* not reached */
}

void lab_child_exit(int status)
{
    if (lab_stop_signal)
        die_of(lab_stop_signal);
    _exit(status);
}

void lab_block_signals(sigset_t *unblocked)
{
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &stops, unblocked) != 0)
        lab_die("sigprocmask: %s", strerror(errno));
}

bool lab_reap(pid_t pid, const char *what, long long index, bool quiet)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            lab_die("waitpid %d: %s", (int)pid, strerror(errno));
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok && !quiet)
        fprintf(stderr, "%s: %s %lld (pid %d) died: %s\n", program_invocation_short_name,
                what, index, (int)pid,
                WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exit");
    return ok;
}

bool lab_flush_stdout(void)
{
    bool ok = fflush(stdout) == 0 && !ferror(stdout);
    int err = errno;
    if (!ok)
        fprintf(stderr, "%s: write error on standard output: %s\n",
                program(), strerror(err));
    return ok;
}

void lab_finish(long long failures)
{
    bool ok = trace_write();
    ok = lab_flush_stdout() && ok;
    if (lab_stop_signal)
        die_of(lab_stop_signal);
    if (!ok)
        exit(1);
    exit(failures > 0 ? 1 : 0);
}

char *lab_u128(unsigned __int128 v, char buf[static 40])
{
    char *p = buf + 39;
    *p = '\0';
    do {
        *--p = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    return memmove(buf, p, (size_t)(buf + 40 - p));
}

/* ---- Open files ---------------------------------------------------------- */

void lab_reserve_files(long long files, const char *option, long long value)
{
    enum { SPARE = 32 };        /* stdio, an epoll fd, libcurl's own few */
    struct rlimit lim;
    rlim_t need = (rlim_t)files + SPARE;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        lab_die("getrlimit: %s", strerror(errno));
    if (lim.rlim_cur >= need)   /* RLIM_INFINITY is the largest value */
        return;
    if (lim.rlim_max < need)
        lab_usage_error("--%s %lld needs about %llu open files, but the limit "
                        "is %llu (ulimit -Hn): ask for fewer", option, value,
                        (unsigned long long)need,
                        (unsigned long long)lim.rlim_max);
    lim.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
        lab_die("setrlimit: %s", strerror(errno));
}

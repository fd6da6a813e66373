/* trace.c - the events behind --trace FILE (see trace.h): fixed-size slots
 * in memory every process shares, written once as Trace Event Format JSON
 * through a temporary file and a rename. */
#define _GNU_SOURCE
#include "trace.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    SLOTS = 1 << 18,    /* 262,144 events: pages are touched only as used */
    CAT_BYTES = 16,
    NAME_BYTES = 48,
    ARGS_BYTES = 176,
};

struct slot {
    atomic_int ready;   /* set last: a half-filled slot is never written */
    char ph;            /* 'X' span, 'i' instant, 'P' process name, 'L' lane name */
    int pid;
    long lane;
    double start, end;  /* seconds since the epoch below */
    char cat[CAT_BYTES];
    char name[NAME_BYTES];
    char args[ARGS_BYTES];
};

/* Shared by every process of the run (mapped before any fork). */
struct shared {
    atomic_long next;       /* the next free slot */
    atomic_long dropped;    /* events that found no free slot */
    double epoch;           /* lab_now() when the program started tracing */
    struct slot slots[];
};

bool trace_on;
static struct shared *shared;
static char *final_path;
static char *temp_path;
static int temp_fd = -1;
static pid_t owner;         /* the process that writes the file */

_Static_assert(ATOMIC_LONG_LOCK_FREE == 2, "lock-free across processes");

void trace_start(const char *path)
{
    struct stat st;
    if (*path == '\0')
        lab_usage_error("--trace: the file name is empty");
    /* The rename at the end would replace a link itself, not its file:
     * --trace /dev/stdout, run as root with stdout in a file, put the trace
     * in place of the system's /dev/stdout. */
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
        lab_usage_error("--trace: '%s' is a symbolic link: name the file itself", path);
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        lab_usage_error("--trace: '%s' is not a regular file", path);
    /* A temporary file beside the real one: proves the folder can be
     * written, and the rename at the end replaces the file whole. */
    if (asprintf(&temp_path, "%s.XXXXXX", path) < 0)
        lab_die("out of memory");
    temp_fd = mkstemp(temp_path);
    if (temp_fd < 0)
        lab_usage_error("--trace: cannot write '%s': %s", path, strerror(errno));
    /* mkstemp makes it 0600; give the file the mode the caller's umask asks. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(temp_fd, 0666 & ~mask) != 0)
        lab_die("--trace: chmod %s: %s", temp_path, strerror(errno));
    final_path = strdup(path);
    if (!final_path)
        lab_die("out of memory");
    size_t bytes = sizeof *shared + (size_t)SLOTS * sizeof(struct slot);
    void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        lab_die("--trace: mmap of %zu bytes: %s", bytes, strerror(errno));
    shared = mem;
    shared->epoch = lab_now();
    owner = getpid();
    trace_on = true;
    trace_process("%s", program_invocation_short_name);
}

/* Take a slot and fill what every event has; NULL if the buffer is full. */
static struct slot *take_slot(char ph, const char *cat, long lane)
{
    long i = atomic_fetch_add_explicit(&shared->next, 1, memory_order_relaxed);
    if (i >= SLOTS) {
        atomic_fetch_add_explicit(&shared->dropped, 1, memory_order_relaxed);
        return NULL;
    }
    struct slot *s = &shared->slots[i];
    s->ph = ph;
    s->pid = (int)getpid();
    s->lane = lane;
    snprintf(s->cat, sizeof s->cat, "%s", cat);
    return s;
}

static void mark_ready(struct slot *s)
{
    atomic_store_explicit(&s->ready, 1, memory_order_release);
}

static void vspan(const char *cat, long lane, double start, double end,
                  long long number, const char *args_fmt, va_list ap)
{
    struct slot *s = take_slot('X', cat, lane);
    if (!s)
        return;
    s->start = start - shared->epoch;
    s->end = end - shared->epoch;
    if (number >= 0)
        snprintf(s->name, sizeof s->name, "%s %lld", cat, number);
    else
        snprintf(s->name, sizeof s->name, "%s", cat);
    s->args[0] = '\0';
    if (args_fmt)
        vsnprintf(s->args, sizeof s->args, args_fmt, ap);
    mark_ready(s);
}

void trace_span(const char *cat, long lane, double start, long long number,
                const char *args_fmt, ...)
{
    if (!trace_on)
        return;
    double end = lab_now();
    va_list ap;
    va_start(ap, args_fmt);
    vspan(cat, lane, start, end, number, args_fmt, ap);
    va_end(ap);
}

void trace_span_to(const char *cat, long lane, double start, double end,
                   long long number, const char *args_fmt, ...)
{
    if (!trace_on)
        return;
    va_list ap;
    va_start(ap, args_fmt);
    vspan(cat, lane, start, end, number, args_fmt, ap);
    va_end(ap);
}

void trace_instant(const char *cat, long lane, const char *name)
{
    if (!trace_on)
        return;
    struct slot *s = take_slot('i', cat, lane);
    if (!s)
        return;
    s->start = lab_now() - shared->epoch;
    s->end = s->start;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->args[0] = '\0';
    mark_ready(s);
}

static void vname(char ph, long lane, const char *fmt, va_list ap)
{
    struct slot *s = take_slot(ph, "", lane);
    if (!s)
        return;
    vsnprintf(s->name, sizeof s->name, fmt, ap);
    s->args[0] = '\0';
    mark_ready(s);
}

void trace_process(const char *fmt, ...)
{
    if (!trace_on)
        return;
    va_list ap;
    va_start(ap, fmt);
    vname('P', 0, fmt, ap);
    va_end(ap);
}

void trace_lane(long lane, const char *fmt, ...)
{
    if (!trace_on)
        return;
    va_list ap;
    va_start(ap, fmt);
    vname('L', lane, fmt, ap);
    va_end(ap);
}

/* ---- Writing the file ------------------------------------------------------ */

/* A JSON string: the names are the lessons' own, but escape them anyway. */
static void put_string(FILE *f, const char *text)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void put_event(FILE *f, const struct slot *s)
{
    /* Microseconds, with the nanoseconds a short GIL hold needs. */
    double ts = s->start * 1e6;
    double dur = (s->end - s->start) * 1e6;
    if (ts < 0)
        ts = 0;
    if (dur < 0)
        dur = 0;
    switch (s->ph) {
    case 'P':
        fprintf(f, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,"
                "\"tid\":0,\"args\":{\"name\":", s->pid);
        put_string(f, s->name);
        fputs("}}", f);
        break;
    case 'L':
        fprintf(f, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,"
                "\"tid\":%ld,\"args\":{\"name\":", s->pid, s->lane);
        put_string(f, s->name);
        fprintf(f, "}},\n{\"name\":\"thread_sort_index\",\"ph\":\"M\","
                "\"pid\":%d,\"tid\":%ld,\"args\":{\"sort_index\":%ld}}",
                s->pid, s->lane, s->lane);
        break;
    case 'i':
        fputs("{\"name\":", f);
        put_string(f, s->name);
        fputs(",\"cat\":", f);
        put_string(f, s->cat);
        fprintf(f, ",\"ph\":\"i\",\"s\":\"t\",\"ts\":%.3f,\"pid\":%d,"
                "\"tid\":%ld}", ts, s->pid, s->lane);
        break;
    default:
        fputs("{\"name\":", f);
        put_string(f, s->name);
        fputs(",\"cat\":", f);
        put_string(f, s->cat);
        fprintf(f, ",\"ph\":\"X\",\"ts\":%.3f,\"dur\":%.3f,\"pid\":%d,"
                "\"tid\":%ld,\"args\":{%s}}", ts, dur, s->pid, s->lane,
                s->args);
        break;
    }
}

bool trace_write(void)
{
    if (!trace_on || getpid() != owner)
        return true;
    trace_on = false;               /* nothing more is recorded */
    FILE *f = fdopen(temp_fd, "w");
    if (!f) {
        fprintf(stderr, "%s: --trace: %s\n", program_invocation_short_name,
                strerror(errno));
        trace_abandon();
        return false;
    }
    temp_fd = -1;
    long used = atomic_load(&shared->next);
    if (used > SLOTS)
        used = SLOTS;
    fputs("{\"traceEvents\":[\n", f);
    bool first = true;
    for (long i = 0; i < used; i++) {
        const struct slot *s = &shared->slots[i];
        if (!atomic_load_explicit(&s->ready, memory_order_acquire))
            continue;               /* its writer died half-way */
        if (!first)
            fputs(",\n", f);
        first = false;
        put_event(f, s);
    }
    long dropped = atomic_load(&shared->dropped);
    fprintf(f, "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"program\":");
    put_string(f, program_invocation_short_name);
    fprintf(f, ",\"dropped_events\":%ld}}\n", dropped);
    if (dropped > 0)
        fprintf(stderr, "%s: --trace: %ld events did not fit (the first %d "
                "are in the file)\n", program_invocation_short_name, dropped,
                SLOTS);
    bool ok = !ferror(f);
    ok = (fclose(f) == 0) && ok;
    if (ok && rename(temp_path, final_path) != 0)
        ok = false;
    if (!ok) {
        fprintf(stderr, "%s: --trace: cannot write %s: %s\n",
                program_invocation_short_name, final_path, strerror(errno));
        unlink(temp_path);
    }
    free(temp_path);
    free(final_path);
    temp_path = final_path = NULL;
    return ok;
}

void trace_abandon(void)
{
    if (!temp_path || getpid() != owner)
        return;
    trace_on = false;
    if (temp_fd >= 0)
        close(temp_fd);
    temp_fd = -1;
    unlink(temp_path);
    free(temp_path);
    free(final_path);
    temp_path = final_path = NULL;
    munmap(shared, sizeof *shared + (size_t)SLOTS * sizeof(struct slot));
    shared = NULL;
}

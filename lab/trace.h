/* trace.h - `--trace FILE`: who ran what, when, for Perfetto's UI and
 * chrome://tracing.
 *
 * Every program takes --trace FILE (lab_parse() adds it). With it, the
 * lesson marks each unit of work as a span on a lane: a request on the
 * thread, child or transfer slot that did it; a task; a manager round trip;
 * the time a thread held the emulated GIL or waited for it. At the end,
 * lab_finish() writes them all as one JSON file in the Trace Event Format:
 *
 *   {"traceEvents":[
 *     {"name":"request 3","cat":"request","ph":"X","ts":1234,"dur":50210,
 *      "pid":4242,"tid":2,"args":{"request":3,"bytes":17,"ok":true}},
 *     ...],"displayTimeUnit":"ms"}
 *
 * ts and dur are microseconds since the program started, on one monotonic
 * clock for every process; pid is the process, tid the lane within it.
 *
 * How the events travel: they are kept in one buffer of fixed-size slots in
 * memory shared by every process (MAP_SHARED, mapped before any fork). A
 * thread or child takes the next slot with one atomic add, fills it, and
 * marks it ready; nothing is written to the file until the end. A child
 * killed half-way through a slot leaves it unmarked, and it is skipped.
 *
 * Off, tracing costs a branch: trace_clock() reads no clock and the span
 * functions return at once. Use them like this:
 *
 *     double t0 = trace_clock();
 *     bool ok = fetch_run(&f, request, &bytes);
 *     trace_span("request", lane, t0, request,
 *                "\"request\":%lld,\"bytes\":%lld,\"ok\":%s",
 *                request, bytes, ok ? "true" : "false");
 */
#ifndef TRACE_H
#define TRACE_H

#include <stdbool.h>

#include "lab.h"

/* True once --trace was given. Read-only for the lessons. */
extern bool trace_on;

/* The time now for a span's start, or 0 when tracing is off (no clock read). */
static inline double trace_clock(void)
{
    return trace_on ? lab_now() : 0.0;
}

/* Name the calling process ("parent", "child 2", "manager") and a lane of
 * it ("thread 3", "transfer slot 17"). Lanes are numbered by the lesson;
 * the name shows beside the lane in the viewer. */
void trace_process(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void trace_lane(long lane, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One finished interval of category cat on this process's lane, from
 * start (a trace_clock() value) to now. Its name is "<cat> <number>" (just
 * "<cat>" when number < 0); args_fmt, if not NULL, makes the members of its
 * "args" object from the arguments that follow (JSON text, no braces). */
void trace_span(const char *cat, long lane, double start, long long number,
                const char *args_fmt, ...) __attribute__((format(printf, 5, 6)));
/* The same, but ending at end (a lab_now() value) instead of now. */
void trace_span_to(const char *cat, long lane, double start, double end,
                   long long number, const char *args_fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* A moment on the lane: a drop request, a wake-up that found the lock taken. */
void trace_instant(const char *cat, long lane, const char *name);

/* ---- For lab.c ----------------------------------------------------------- */

/* Check that path can be written (a regular file, or none yet, in a folder
 * we may write), open a temporary file beside it, and map the shared buffer.
 * A bad path is a usage error (exit 2) before any work starts. */
void trace_start(const char *path);
/* In the process that called trace_start: write every ready event to the
 * temporary file and rename it over path. False (and one line on stderr)
 * if that failed; the temporary file is then removed. */
bool trace_write(void);
/* Remove the temporary file without writing (a usage error or a failure). */
void trace_abandon(void);

#endif

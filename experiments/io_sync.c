/* io_sync.c - I/O one request after another: the baseline.
 *
 * The model: one thread, one libcurl easy handle reused for every request
 * (like a requests.Session), each download waiting for the one before it.
 *
 * What to watch: the program spends nearly all its time waiting. `seconds`
 * comes out close to requests x latency, and time(1) shows almost no CPU
 * time and one voluntary context switch per wait. Every other I/O lesson
 * overlaps these waits; this one cannot. --trace shows the staircase: one
 * lane, each request starting where the one before it ended.
 *
 * Usage: io_sync [--url URL]... [--requests N] [--timeout-ms MS]
 *   scripts/labserver start
 *   bin/io_sync --url "$(scripts/labserver url)/delay?s=0.05&bytes=17" --requests 40
 *
 * Expect: "Downloaded 40 of 40 (680 bytes, 0 errors) in 2.0x s" and then
 *   experiment=io_sync requests=40 workers=1 seconds=2.01... bytes=680 errors=0 done=40
 *
 * See also: io_threads.c, io_multiprocessing.c, io_async.c (the same work,
 * concurrently), and fetch.c (one download: options, byte count, judging).
 */
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>

#include "fetch.h"
#include "lab.h"
#include "trace.h"

static const char summary[] =
    "io_sync: download the URLs one after another, on one reused connection.";

struct tally {
    long long done, failed, bytes;
};

/* The whole lesson: a plain loop. Each fetch_run blocks until its answer
 * is in, so the waits add up. */
static void download_all(struct fetch *f, const struct lab_io *o,
                         struct tally *t)
{
    for (long long i = 0; i < o->requests && !lab_stop_signal; i++) {
        bool ok = fetch_run(f, i, &t->bytes);  /* traced on lane 1 */
        if (f->stopped)
            break;                  /* cut short by a signal: not counted */
        if (!ok)
            t->failed++;
        t->done++;
        lab_progress(t->done, o->requests);
    }
}

int main(int argc, char **argv)
{
    struct lab_io o = { .workers = 1 };
    lab_io_options(argc, argv, summary, &o, 1, 0);
    lab_catch_signals();
    fetch_global_init();

    struct fetch f;
    struct tally t = { 0 };
    fetch_init(&f, &o);
    trace_lane(1, "main thread");
    double start = lab_now();
    download_all(&f, &o, &t);
    double seconds = lab_now() - start;
    lab_progress_end();
    fetch_cleanup(&f);
    curl_global_cleanup();

    fetch_report("io_sync", &o, 1, seconds, t.bytes, t.failed, t.done, "");
    lab_finish(t.failed);
}

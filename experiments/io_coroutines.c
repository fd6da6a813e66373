/* io_coroutines.c - I/O as coroutines: straight-line code that awaits.
 *
 * The model: what asyncio really is. Each download is one function that
 * reads top to bottom, "start the transfer, await its end, count the bytes,
 * next request" [1], as an `async def` does with `await session.get(...)`.
 * At each AWAIT [2] the function returns to the loop, remembering where it
 * was; the loop resumes it there once what it waits for has happened [3].
 * --workers W such coroutines (default: one per request) share one thread;
 * libcurl's multi interface still does the HTTP underneath, as aiohttp does.
 *
 * Stackless, not stackful: AWAIT is a `return` plus a `case` label (the
 * switch trick of Simon Tatham's "Coroutines in C" and of protothreads).
 * A stackless coroutine keeps no stack while suspended: its state lives in
 * a struct (hence c->request, never a local, across an AWAIT), and it may
 * only await in its own body, not in a function it calls. That is exactly a
 * Python generator, and asyncio's coroutines are generators underneath: the
 * suspended frame is one object, and `await` must be written at every level
 * of the call chain. A stackful one (ucontext's swapcontext, greenlets,
 * gevent) gives each coroutine a whole stack and may suspend anywhere.
 *
 * The loop waits with curl_multi_poll [4], which watches every socket of
 * every transfer: simpler than io_async's epoll bookkeeping, and the
 * coroutines, not the sockets, are this lesson's subject.
 *
 * What to watch: like io_async, `seconds` is about ceil(requests / W) x
 * latency on one thread. Then the hazard: with --block-ms N, coroutine 1
 * computes N ms without awaiting after each of its requests [5]. Nothing
 * else runs meanwhile (the answers wait in the kernel), so every block adds
 * to the total: in the trace, no request ends during a "block" span.
 *
 * Usage: io_coroutines [--url URL]... [--requests N] [--workers W] [--block-ms N]
 *   scripts/labserver start
 *   bin/io_coroutines --url "$(scripts/labserver url)/delay?s=0.05&bytes=17" --requests 40
 *   bin/io_coroutines --url "$(scripts/labserver url)/delay?s=0.05&bytes=17" --requests 40 --block-ms 200
 *
 * Expect: "Downloaded 40 of 40 (680 bytes, 0 errors) in 0.06 s" or so, then
 *   experiment=io_coroutines requests=40 workers=40 seconds=0.06... bytes=680 errors=0 done=40 block_ms=0
 *   (with --block-ms 200: seconds=0.26...)
 *
 * See also: io_async.c (the same loop, written as callbacks), io_threads.c
 * (each download blocks its own thread instead), fetch.c.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

#include "fetch.h"
#include "lab.h"
#include "trace.h"

enum { MAX_WORKERS = 100000, TICK_MS = 20 };   /* a signal is seen within a tick */

static const char summary[] =
    "io_coroutines: download the URLs as W coroutines (default: all) on one "
    "thread, each awaiting its own transfers.";

/* [2] The coroutine machinery: a switch on the line to resume at. AWAIT
 * saves the line, returns false ("not finished") and, when called again,
 * jumps back to just that line to test the condition anew. */
#define CORO_BEGIN(c)   switch ((c)->line) { case 0:
#define AWAIT(c, cond)  do { (c)->line = __LINE__; __attribute__((fallthrough)); \
                             case __LINE__: if (!(cond)) return false; } while (0)
#define CORO_END(c)     } (c)->line = -1; return true

/* One coroutine: what survives an AWAIT lives here, not in locals. */
struct coroutine {
    struct fetch f;                 /* its easy handle, reused */
    int line;                       /* where to resume; 0: the start */
    long lane;
    long long request;
    long wait_ms;                   /* a retry's back-off, or -1 */
    double wake_at;                 /* asleep until then (> 0) */
    bool ended;                     /* set by the loop: the transfer ended */
    CURLcode rc;
    double t0;
};

struct loop {
    CURLM *multi;
    const struct lab_io *opt;
    long long block_ms, next_request, done, failed, bytes, alive, sleeping;
};

#define MCHECK(call) do { CURLMcode mc_ = (call); if (mc_ != CURLM_OK) \
    lab_die("%s: %s", #call, curl_multi_strerror(mc_)); } while (0)

static void start_transfer(struct loop *l, struct coroutine *c)
{
    fetch_prepare(&c->f, c->request);
    c->ended = false;
    MCHECK(curl_multi_add_handle(l->multi, c->f.easy));
}

/* [5] CPU work that never awaits: the whole loop stands still. */
static void compute(struct loop *l, struct coroutine *c)
{
    double t0 = trace_clock(), end = lab_now() + (double)l->block_ms / 1000;
    while (lab_now() < end && !lab_stop_signal)
        continue;
    trace_span("block", c->lane, t0, c->request, "\"request\":%lld", c->request);
}

/* [1] One coroutine's whole life, top to bottom. Returns true when done. */
static bool download(struct loop *l, struct coroutine *c)
{
    CORO_BEGIN(c);
    while (l->next_request < l->opt->requests) {
        c->request = l->next_request++;
        c->t0 = trace_clock();
        do {
            start_transfer(l, c);
            AWAIT(c, c->ended);                         /* await the answer */
            c->wait_ms = c->rc == CURLE_OK ? fetch_retry_after_ms(&c->f) : -1;
            if (c->wait_ms >= 0) {                      /* 429/503: back off */
                c->wake_at = lab_now() + (double)c->wait_ms / 1000;
                l->sleeping++;
                AWAIT(c, lab_now() >= c->wake_at);      /* asyncio.sleep() */
                c->wake_at = 0;
                l->sleeping--;
            }
        } while (c->wait_ms >= 0);
        bool ok = fetch_succeeded(&c->f, c->rc);
        l->bytes += ok ? c->f.bytes : 0;
        l->failed += !ok;
        lab_progress(++l->done, l->opt->requests);
        trace_span("request", c->lane, c->t0, c->request,
                   "\"request\":%lld,\"bytes\":%lld,\"ok\":%s", c->request,
                   ok ? c->f.bytes : 0, ok ? "true" : "false");
        if (l->block_ms > 0 && c->lane == 1)
            compute(l, c);
    }
    CORO_END(c);
}

static void resume(struct loop *l, struct coroutine *c)
{
    if (download(l, c))
        l->alive--;
}

/* [3] The event loop: wait, let libcurl move the transfers on, and resume
 * each coroutine whose transfer ended or whose sleep is over. */
static void run(struct loop *l, struct coroutine *cs, long long n)
{
    l->alive = n;
    for (long long k = 0; k < n; k++)
        resume(l, &cs[k]);          /* each runs to its first AWAIT */
    while (l->alive > 0 && !lab_stop_signal) {
        int ready, running, left;
        MCHECK(curl_multi_poll(l->multi, NULL, 0, l->sleeping ? 5 : TICK_MS,
                               &ready));                            /* [4] */
        MCHECK(curl_multi_perform(l->multi, &running));
        CURLMsg *msg;
        struct fetch *f;
        while ((msg = curl_multi_info_read(l->multi, &left)) && !lab_stop_signal) {
            if (msg->msg != CURLMSG_DONE || curl_easy_getinfo(msg->easy_handle,
                    CURLINFO_PRIVATE, &f) != CURLE_OK)
                continue;
            struct coroutine *c = (struct coroutine *)f;    /* f is its first member */
            c->rc = msg->data.result;
            MCHECK(curl_multi_remove_handle(l->multi, f->easy));
            c->ended = true;
            resume(l, c);
        }
        double now = lab_now();
        for (long long k = 0; l->sleeping > 0 && k < n && !lab_stop_signal; k++)
            if (cs[k].wake_at > 0 && cs[k].wake_at <= now)
                resume(l, &cs[k]);
    }
}

int main(int argc, char **argv)
{
    struct lab_io o = { .workers = 0 };     /* 0: every request in flight */
    long long block_ms = 0;
    const struct lab_opt more[] = {
        { "block-ms", LAB_NUMBER, "MS", "coroutine 1 computes MS after each of "
          "its requests, never awaiting (default 0)", .number = &block_ms,
          .min = 0, .max = 600000 },
        { 0 }
    };
    lab_io_options_more(argc, argv, summary, &o, MAX_WORKERS, 0, more);
    lab_reserve_files(o.workers, "workers", o.workers);  /* a socket each */
    lab_catch_signals();
    fetch_global_init();

    struct loop l = { .multi = curl_multi_init(), .opt = &o, .block_ms = block_ms };
    struct coroutine *cs = calloc((size_t)o.workers, sizeof *cs);
    if (!l.multi || !cs)
        lab_die("no room for %lld coroutines", o.workers);
    MCHECK(curl_multi_setopt(l.multi, CURLMOPT_MAXCONNECTS, (long)o.workers));
    for (long long k = 0; k < o.workers; k++) {
        fetch_init(&cs[k].f, &o);
        FETCH_SET(cs[k].f.easy, CURLOPT_NOPROGRESS, 1L);  /* the loop sees signals */
        cs[k].lane = (long)k + 1;
        trace_lane(cs[k].lane, "coroutine %ld", cs[k].lane);
    }

    double start = lab_now();
    run(&l, cs, o.workers);
    double seconds = lab_now() - start;
    lab_progress_end();
    for (long long k = 0; k < o.workers; k++) {     /* those still in flight */
        MCHECK(curl_multi_remove_handle(l.multi, cs[k].f.easy));
        fetch_cleanup(&cs[k].f);
    }
    MCHECK(curl_multi_cleanup(l.multi));
    free(cs);
    curl_global_cleanup();

    char extra[32];
    snprintf(extra, sizeof extra, "block_ms=%lld", block_ms);
    fetch_report("io_coroutines", &o, o.workers, seconds, l.bytes, l.failed, l.done, extra);
    lab_finish(l.failed);
}

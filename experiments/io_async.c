/* io_async.c - I/O on one thread: an event loop drives every transfer.
 *
 * The model: asyncio with aiohttp. libcurl's multi interface holds up to
 * --workers W transfers (default: all) and one loop drives them: epoll says
 * which sockets are ready [1], libcurl moves just those transfers on [2],
 * and as each finishes [3] its easy handle takes the next request [4], so
 * at most W handles exist and their connections are reused. Nothing runs
 * at once: no locks. (curl_multi_poll, as in curl's 10-at-a-time.c, is
 * simpler but looks at every socket on every turn: costly at thousands.)
 *
 * What to watch: `seconds` is about ceil(requests / W) x latency, one
 * latency with all in flight, until something else runs out: open files
 * (a socket per transfer: the soft limit is raised, or W refused), the
 * server, or the loop's one CPU. time(1) shows one thread, few context
 * switches, and about 17 kB per transfer (io_threads: near 3x that).
 *
 * Usage: io_async [--url URL]... [--requests N] [--workers W] [--timeout-ms MS]
 *   scripts/labserver start
 *   bin/io_async --url "$(scripts/labserver url)/delay?s=0.05&bytes=17" --requests 40
 *
 * Expect: "Downloaded 40 of 40 (680 bytes, 0 errors) in 0.05x s" and then
 *   experiment=io_async requests=40 workers=40 seconds=0.05... bytes=680 errors=0 done=40
 *
 * See also: io_threads.c, io_sync.c, fetch.c, and curl's docs/examples/
 * ephiperfifo.c (the same loop, fed from a FIFO).
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "fetch.h"
#include "lab.h"

enum {
    MAX_WORKERS = 1000000,
    TICK_MS = 100,          /* the longest sleep: how soon a signal is seen */
    EVENTS = 256,           /* ready sockets taken per epoll_wait */
    GROUP = 64,             /* handles per connection cache (see main) */
};

static const char summary[] =
    "io_async: download the URLs from one thread, libcurl's multi interface "
    "keeping W transfers in flight (default: all).";

struct loop {
    CURLM *multi;
    int epoll_fd;
    double timer_at;                /* libcurl wants a turn then; < 0: never */
    const struct lab_io *opt;
    struct fetch *handles;          /* W easy handles, reused */
    double *retry_at;               /* > 0: handle k waits to retry until */
    long long next_request, in_flight, waiting, done, failed, bytes;
};

#define MCHECK(call) do { CURLMcode mc_ = (call); if (mc_ != CURLM_OK) \
    lab_die("%s: %s", #call, curl_multi_strerror(mc_)); } while (0)

/* Hand f a request [4]: a new one, or the same again for a retry. */
static void start(struct loop *l, struct fetch *f, long long request)
{
    fetch_prepare(f, request);
    MCHECK(curl_multi_add_handle(l->multi, f->easy));
    l->in_flight++;
}

/* A transfer ended [3]: judge it, retry it later, or reuse its handle. */
static void finish(struct loop *l, struct fetch *f, CURLcode rc)
{
    MCHECK(curl_multi_remove_handle(l->multi, f->easy));
    l->in_flight--;
    long wait_ms = (rc == CURLE_OK) ? fetch_retry_after_ms(f) : -1;
    if (wait_ms >= 0) {             /* 429/503: not now, a little later */
        l->retry_at[f - l->handles] = lab_now() + (double)wait_ms / 1000;
        l->waiting++;
        return;
    }
    bool ok = fetch_succeeded(f, rc);
    l->bytes += ok ? f->bytes : 0;
    l->failed += !ok;
    lab_progress(++l->done, l->opt->requests);
    if (l->next_request < l->opt->requests && !lab_stop_signal)
        start(l, f, l->next_request++);
}

/* Restart the retries that are due; return how long the loop may sleep:
 * until libcurl's timer, the next retry, or TICK_MS, whichever is first. */
static int restart_due(struct loop *l, long long workers)
{
    double now = lab_now(), wake = now + TICK_MS / 1000.0;
    for (long long k = 0; k < workers && l->waiting > 0; k++) {
        if (l->retry_at[k] > 0 && l->retry_at[k] <= now) {
            l->retry_at[k] = 0;
            l->waiting--;
            start(l, &l->handles[k], l->handles[k].request);
        } else if (l->retry_at[k] > 0 && l->retry_at[k] < wake) {
            wake = l->retry_at[k];
        }
    }
    if (l->timer_at >= 0 && l->timer_at < wake)
        wake = l->timer_at;
    return wake <= now ? 0 : (int)((wake - now) * 1000) + 1;
}

/* libcurl says which socket to watch for what [1] (socketp: our mark). */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp,
                     void *socketp)
{
    struct loop *l = userp;
    int op = what == CURL_POLL_REMOVE ? EPOLL_CTL_DEL   /* before it closes */
           : socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    struct epoll_event ev = { .data.fd = s,
        .events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) |
                  ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u) };
    (void)easy;
    if (epoll_ctl(l->epoll_fd, op, s, &ev) != 0)
        lab_die("epoll_ctl: %s", strerror(errno));
    if (op == EPOLL_CTL_ADD)        /* mark it: "epoll has this one" */
        MCHECK(curl_multi_assign(l->multi, s, l));
    return 0;
}

/* libcurl says when it next needs a turn (0: right away, -1: no timer). */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct loop *l = userp;
    (void)multi;
    l->timer_at = timeout_ms < 0 ? -1 : lab_now() + (double)timeout_ms / 1000;
    return 0;
}

/* The concurrency step: the event loop. */
static void download_all(struct loop *l, long long workers)
{
    struct epoll_event ready[EVENTS];
    int running, left;
    for (long long k = 0; k < workers; k++)
        start(l, &l->handles[k], l->next_request++);
    while ((l->in_flight > 0 || l->waiting > 0) && !lab_stop_signal) {
        int n = epoll_wait(l->epoll_fd, ready, EVENTS, restart_due(l, workers));
        if (n < 0 && errno != EINTR)
            lab_die("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {                               /* [2] */
            uint32_t e = ready[i].events;
            MCHECK(curl_multi_socket_action(l->multi, ready[i].data.fd,
                ((e & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                ((e & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                ((e & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0), &running));
        }
        if (l->timer_at >= 0 && lab_now() >= l->timer_at) {
            l->timer_at = -1;       /* libcurl may set a new one in there */
            MCHECK(curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0,
                                            &running));
        }
        CURLMsg *msg;
        struct fetch *f;
        while ((msg = curl_multi_info_read(l->multi, &left)))
            if (msg->msg == CURLMSG_DONE &&
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &f) == CURLE_OK)
                finish(l, f, msg->data.result);
    }
}

int main(int argc, char **argv)
{
    struct lab_io o = { .workers = 0 };     /* 0: every request in flight */
    lab_io_options(argc, argv, summary, &o, MAX_WORKERS, 0);
    lab_reserve_files(o.workers, "workers", o.workers);  /* a socket each */
    lab_catch_signals();
    fetch_global_init();

    struct loop l = { .multi = curl_multi_init(), .opt = &o, .timer_at = -1,
                      .epoll_fd = epoll_create1(EPOLL_CLOEXEC),
                      .handles = calloc((size_t)o.workers, sizeof(struct fetch)),
                      .retry_at = calloc((size_t)o.workers, sizeof(double)) };
    CURLSH **caches = calloc((size_t)o.workers / GROUP + 1, sizeof *caches);
    if (!l.multi || l.epoll_fd < 0 || !l.handles || !l.retry_at || !caches)
        lab_die("no room for %lld transfers: %s", o.workers, strerror(errno));
#define MSET(option, value) MCHECK(curl_multi_setopt(l.multi, option, value))
    MSET(CURLMOPT_SOCKETFUNCTION, on_socket);
    MSET(CURLMOPT_SOCKETDATA, &l);
    MSET(CURLMOPT_TIMERFUNCTION, on_timer);
    MSET(CURLMOPT_TIMERDATA, &l);
    /* Keep each handle's connection, and open no more than W sockets. */
    MSET(CURLMOPT_MAXCONNECTS, (long)o.workers);
    MSET(CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)o.workers);
    for (long long k = 0; k < o.workers; k++) {
        fetch_init(&l.handles[k], &o);
        /* libcurl 7.88 finds a connection to reuse by walking all those to
         * the host: with a thousand, a good part of its time. A cache per
         * GROUP handles keeps each walk short (one thread: no locks). */
        CURLSH **cache = &caches[k / GROUP];
        if (!*cache && (!(*cache = curl_share_init()) ||
            curl_share_setopt(*cache, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT)))
            lab_die("curl_share_init: no connection cache");
        FETCH_SET(l.handles[k].easy, CURLOPT_SHARE, *cache);
        /* The loop sees signals itself: the progress callback only costs. */
        FETCH_SET(l.handles[k].easy, CURLOPT_NOPROGRESS, 1L);
    }

    double start_time = lab_now();
    download_all(&l, o.workers);
    double seconds = lab_now() - start_time;
    lab_progress_end();
    for (long long k = 0; k < o.workers; k++) {   /* those still in flight */
        MCHECK(curl_multi_remove_handle(l.multi, l.handles[k].easy));
        fetch_cleanup(&l.handles[k]);
    }
    MCHECK(curl_multi_cleanup(l.multi));
    for (long long g = 0; g <= o.workers / GROUP; g++)
        curl_share_cleanup(caches[g]);
    close(l.epoll_fd);
    free(l.handles);
    free(l.retry_at);
    free(caches);
    curl_global_cleanup();

    fetch_report("io_async", &o, o.workers, seconds, l.bytes, l.failed, l.done, "");
    lab_finish(l.failed);
}

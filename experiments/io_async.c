/* io_async.c - I/O on one thread: an event loop drives every transfer.
 *
 * The model: asyncio with aiohttp. libcurl's multi interface holds up to
 * --workers W transfers (default: all) and one loop drives them: epoll says
 * which sockets are ready [1], libcurl moves just those transfers on [2],
 * and as each finishes [3] its easy handle takes the next request [4], so
 * at most W handles exist and their connections are reused. Nothing runs
 * at once: no locks. (curl_multi_poll, as in curl's 10-at-a-time.c, is
 * simpler but looks at every socket on every turn: costly at thousands.)
 * The handles, their connection caches and the retries of 429/503 answers
 * are plumbing, in fetch_multi.c.
 *
 * What to watch: `seconds` is about ceil(requests / W) x latency, one
 * latency with all in flight, until something else runs out: open files
 * (a socket per transfer: the soft limit is raised, or W refused), the
 * server, or the loop's one CPU. time(1) shows one thread, few context
 * switches, and about 17 kB per transfer (io_threads: near 3x that).
 * --trace shows a lane per transfer slot, the requests overlapping.
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
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "fetch.h"
#include "fetch_multi.h"
#include "lab.h"
#include "trace.h"

enum {
    MAX_WORKERS = 1000000,
    EVENTS = 256,           /* ready sockets taken per epoll_pwait */
};

static const char summary[] =
    "io_async: download the URLs from one thread, libcurl's multi interface "
    "keeping W transfers in flight (default: all).";

struct loop {
    struct fetch_multi pool;        /* W easy handles and the multi handle */
    int epoll_fd;
    double timer_at;                /* libcurl wants a turn then; < 0: never */
    double *started;                /* --trace: when slot k's request began */
    const struct lab_io *opt;
    long long next_request, in_flight, done, failed, bytes;
};

#define MCHECK(call) do { CURLMcode mc_ = (call); if (mc_ != CURLM_OK) \
    lab_die("%s: %s", #call, curl_multi_strerror(mc_)); } while (0)

/* Hand f a request [4]: a new one, or the same again for a retry. */
static void start(struct loop *l, struct fetch *f, long long request)
{
    fetch_prepare(f, request);
    if (f->attempt == 0)            /* a new request, not a retry */
        l->started[f - l->pool.handles] = trace_clock();
    MCHECK(curl_multi_add_handle(l->pool.multi, f->easy));
    l->in_flight++;
}

/* A transfer ended [3]: count it and give its handle the next request. */
static void finish(struct loop *l, struct fetch *f, CURLcode rc)
{
    MCHECK(curl_multi_remove_handle(l->pool.multi, f->easy));
    l->in_flight--;
    if (fetch_multi_retry_later(&l->pool, f, rc))
        return;                     /* 429/503: fetch_multi_due gives it back */
    bool ok = fetch_succeeded(f, rc);
    if (ok)
        l->bytes += f->bytes;
    l->failed += !ok;
    l->done++;
    long slot = f - l->pool.handles;
    trace_span("request", slot + 1, l->started[slot], f->request,
               "\"request\":%lld,\"bytes\":%lld,\"ok\":%s",
               f->request, ok ? f->bytes : 0, ok ? "true" : "false");
    lab_progress(l->done, l->opt->requests);
    if (l->next_request < l->opt->requests)
        start(l, f, l->next_request++);
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
    if (epoll_ctl(l->epoll_fd, op, s, &ev) != 0) {
        /* A socket already closed has left epoll by itself: say so, go on
         * (as curl's ephiperfifo.c does). Any other failure is ours. */
        if (op != EPOLL_CTL_DEL)
            lab_die("epoll_ctl: %s", strerror(errno));
        fprintf(stderr, "io_async: epoll_ctl(DEL) of socket %d: %s\n",
                (int)s, strerror(errno));
    }
    if (op == EPOLL_CTL_ADD)        /* mark it: "epoll has this one" */
        MCHECK(curl_multi_assign(l->pool.multi, s, l));
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

/* How long the loop may wait: until libcurl's timer or the next retry. */
static int wait_ms(const struct loop *l)
{
    double wake = l->timer_at;
    double retry = l->pool.next_retry;
    if (retry >= 0 && (wake < 0 || retry < wake))
        wake = retry;
    if (wake < 0)
        return -1;                  /* until a socket is ready, or a signal */
    double ms = (wake - lab_now()) * 1000;
    return ms <= 0 ? 0 : (int)ms + 1;
}

/* The concurrency step: the event loop. SIGINT and SIGTERM are blocked but
 * while it waits, so a signal ends the wait at once and is never missed. */
static void download_all(struct loop *l, const sigset_t *unblocked)
{
    struct epoll_event ready[EVENTS];
    int running;
    int left;
    for (long long k = 0; k < l->pool.count; k++)
        start(l, &l->pool.handles[k], l->next_request++);
    while ((l->in_flight > 0 || l->pool.waiting > 0) && !lab_stop_signal) {
        int n = epoll_pwait(l->epoll_fd, ready, EVENTS, wait_ms(l), unblocked);
        if (n < 0 && errno != EINTR)
            lab_die("epoll_pwait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {                               /* [2] */
            uint32_t e = ready[i].events;
            MCHECK(curl_multi_socket_action(l->pool.multi, ready[i].data.fd,
                ((e & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                ((e & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                ((e & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0), &running));
        }
        if (l->timer_at >= 0 && lab_now() >= l->timer_at) {
            l->timer_at = -1;       /* libcurl may set a new one in there */
            MCHECK(curl_multi_socket_action(l->pool.multi, CURL_SOCKET_TIMEOUT,
                                            0, &running));
        }
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(l->pool.multi, &left))) {  /* [3] */
            char *private;          /* CURLINFO_PRIVATE is a char * */
            if (msg->msg == CURLMSG_DONE &&
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &private) == CURLE_OK)
                finish(l, (struct fetch *)(void *)private, msg->data.result);
        }
        struct fetch *f;
        while ((f = fetch_multi_due(&l->pool)))     /* a back-off is over */
            start(l, f, f->request);
    }
}

int main(int argc, char **argv)
{
    struct lab_io o = { .workers = 0 };     /* 0: every request in flight */
    lab_io_options(argc, argv, summary, &o, MAX_WORKERS, 0);
    lab_reserve_files(o.workers, "workers", o.workers);  /* a socket each */
    lab_catch_signals();
    sigset_t unblocked;
    lab_block_signals(&unblocked);  /* before libcurl starts any thread */
    fetch_global_init();

    struct loop l = { .opt = &o, .timer_at = -1,
                      .epoll_fd = epoll_create1(EPOLL_CLOEXEC),
                      .started = calloc((size_t)o.workers, sizeof(double)) };
    CURLM *multi = curl_multi_init();
    if (!multi || l.epoll_fd < 0 || !l.started)
        lab_die("no room for %lld transfers: %s", o.workers, strerror(errno));
    fetch_multi_init(&l.pool, multi, &o, o.workers);
    MCHECK(curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket));
    MCHECK(curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, &l));
    MCHECK(curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer));
    MCHECK(curl_multi_setopt(multi, CURLMOPT_TIMERDATA, &l));
    for (long k = 1; trace_on && k <= o.workers; k++)
        trace_lane(k, "transfer slot %ld", k);

    double start_time = lab_now();
    download_all(&l, &unblocked);
    double seconds = lab_now() - start_time;
    lab_progress_end();
    fetch_multi_cleanup(&l.pool);
    close(l.epoll_fd);
    free(l.started);
    curl_global_cleanup();

    fetch_report("io_async", &o, o.workers, seconds, l.bytes, l.failed, l.done, "");
    lab_finish(l.failed);
}

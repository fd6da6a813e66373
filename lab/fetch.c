/* fetch.c - one download with libcurl (see fetch.h). */
#define _GNU_SOURCE
#include "fetch.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

enum { FAILURES_SHOWN = 5 };    /* then only the count, in the record */

static size_t count_body(char *data, size_t size, size_t nmemb, void *userp)
{
    (void)data;
    struct fetch *f = userp;
    f->bytes += (long long)(size * nmemb);
    return size * nmemb;
}

/* libcurl calls this on every turn of a transfer: a non-zero answer aborts
 * it, which is how SIGINT ends a download waiting on the network (fetch_run
 * makes sure a turn comes at once: see perform). */
static int stop_requested(void *userp, curl_off_t dltotal, curl_off_t dlnow,
                          curl_off_t ultotal, curl_off_t ulnow)
{
    (void)userp;                /* none of the figures is needed */
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return lab_stop_signal != 0;
}

#define SET(opt, val) FETCH_SET(f->easy, opt, val)

void fetch_global_init(void)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        lab_die("curl_global_init: %s", curl_easy_strerror(rc));
}

void fetch_init(struct fetch *f, const struct lab_io *o)
{
    *f = (struct fetch){ .opt = o, .lane = 1, .easy = curl_easy_init() };
    if (!f->easy)
        lab_die("curl_easy_init failed");
    SET(CURLOPT_WRITEFUNCTION, count_body);
    SET(CURLOPT_WRITEDATA, f);
    SET(CURLOPT_XFERINFOFUNCTION, stop_requested);
    SET(CURLOPT_NOPROGRESS, 0L);
    SET(CURLOPT_ERRORBUFFER, f->error);
    SET(CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
    SET(CURLOPT_NOSIGNAL, 1L);     /* no SIGALRM for timeouts: thread-safe */
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_PRIVATE, f);       /* lets io_async find us from the handle */
}

void fetch_cleanup(struct fetch *f)
{
    curl_multi_cleanup(f->multi);   /* NULL is fine */
    curl_easy_cleanup(f->easy);
    f->multi = NULL;
    f->easy = NULL;
}

void fetch_prepare(struct fetch *f, long long request)
{
    if (request != f->request) {    /* a new request, not a retry */
        f->request = request;
        f->attempt = 0;
    }
    f->bytes = 0;
    f->error[0] = '\0';
    SET(CURLOPT_URL, f->opt->urls[request % (long long)f->opt->n_urls]);
}

static void report(const struct fetch *f, const char *why)
{
    static atomic_int shown;
    int n = atomic_fetch_add(&shown, 1);
    if (n < FAILURES_SHOWN)
        fprintf(stderr, "%s: request %lld failed: %s\n",
                program_invocation_short_name, f->request, why);
    else if (n == FAILURES_SHOWN)
        fprintf(stderr, "%s: (further failures are only counted)\n",
                program_invocation_short_name);
}

bool fetch_succeeded(struct fetch *f, CURLcode rc)
{
    if (rc != CURLE_OK) {
        if (rc != CURLE_ABORTED_BY_CALLBACK)    /* a stop is not a fault */
            report(f, f->error[0] ? f->error : curl_easy_strerror(rc));
        return false;
    }
    long status = 0;
    curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        char why[32];
        snprintf(why, sizeof why, "HTTP status %ld", status);
        report(f, why);
        return false;
    }
    return true;
}

long fetch_retry_after_ms(struct fetch *f)
{
    long status = 0;
    curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
    if ((status != 429 && status != 503) || f->attempt >= f->opt->retries
        || lab_stop_signal)
        return -1;
    /* Exponential back-off: 50 ms, 100 ms, 200 ms ... at most 2 s. */
    long ms = 50L << (f->attempt < 6 ? f->attempt : 6);
    f->attempt++;
    return ms < 2000 ? ms : 2000;
}

/* curl_easy_perform, but one that a stop signal wakes. curl_easy_perform
 * sleeps in poll() on the transfer's socket alone; a signal delivered to
 * another thread does not interrupt it, and it looks at the progress
 * callback only when its own timers come due (a few hundred ms when the
 * server is silent). So the handle runs in a multi handle of its own, and
 * each wait polls lab_stop_fd() beside the socket: the handler's byte
 * wakes every thread at once, and the next curl_multi_perform runs the
 * progress callback, which aborts the transfer. */
static CURLcode perform(struct fetch *f)
{
    if (!f->multi && !(f->multi = curl_multi_init()))
        lab_die("curl_multi_init failed");
    CURLMcode mc = curl_multi_add_handle(f->multi, f->easy);
    struct curl_waitfd stop = { .fd = lab_stop_fd(),
                                .events = CURL_WAIT_POLLIN };
    unsigned extra = stop.fd >= 0 ? 1 : 0;
    int running = 1;
    while (mc == CURLM_OK && running) {
        mc = curl_multi_perform(f->multi, &running);
        if (mc == CURLM_OK && running)
            mc = curl_multi_poll(f->multi, &stop, extra, 1000, NULL);
    }
    if (mc != CURLM_OK)
        lab_die("libcurl: %s", curl_multi_strerror(mc));
    CURLcode rc = CURLE_ABORTED_BY_CALLBACK;
    int left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(f->multi, &left)))
        if (m->msg == CURLMSG_DONE)
            rc = m->data.result;
    mc = curl_multi_remove_handle(f->multi, f->easy);
    if (mc != CURLM_OK)
        lab_die("curl_multi_remove_handle: %s", curl_multi_strerror(mc));
    return rc;
}

/* Sleep ms milliseconds, or less if a stop signal comes. */
static void back_off(long ms)
{
    struct pollfd stop = { .fd = lab_stop_fd(), .events = POLLIN };
    poll(&stop, 1, (int)ms);    /* fd -1 is skipped: a plain sleep */
}

bool fetch_run(struct fetch *f, long long request, long long *bytes)
{
    double t0 = trace_clock();
    bool ok;
    f->attempt = 0;
    for (;;) {
        fetch_prepare(f, request);
        CURLcode rc = perform(f);
        long wait_ms = (rc == CURLE_OK) ? fetch_retry_after_ms(f) : -1;
        if (wait_ms < 0) {
            ok = fetch_succeeded(f, rc);
            break;
        }
        back_off(wait_ms);
    }
    f->stopped = !ok && lab_stop_signal;
    if (f->stopped)
        return false;           /* cut short: neither counted nor traced */
    if (ok)
        *bytes += f->bytes;
    trace_span("request", f->lane, t0, request,
               "\"request\":%lld,\"bytes\":%lld,\"ok\":%s", request,
               ok ? f->bytes : 0, ok ? "true" : "false");
    return ok;
}

void fetch_report(const char *experiment, const struct lab_io *o,
                  long long workers, double seconds, long long bytes,
                  long long failed, long long done, const char *extra)
{
    printf("Downloaded %lld of %lld (%lld bytes, %lld errors) in %.3f s\n",
           done - failed, o->requests, bytes, failed, seconds);
    lab_record("experiment=%s requests=%lld workers=%lld seconds=%.6f bytes=%lld "
               "errors=%lld done=%lld%s%s", experiment, o->requests, workers, seconds,
               bytes, failed, done, *extra ? " " : "", extra);
}

/* libcurl hands the body over in pieces: append each (f.bytes is set back
 * to 0 by fetch_prepare, so a retry starts the body afresh). */
static size_t keep_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct fetch_kept *k = userp;
    size_t n = size * nmemb, have = (size_t)k->f.bytes;
    if (have + n + 1 > k->cap) {
        char *bigger = realloc(k->body, (have + n + 1) * 2);
        if (!bigger)
            return 0;               /* libcurl fails the transfer */
        k->body = bigger;
        k->cap = (have + n + 1) * 2;
    }
    memcpy(k->body + have, data, n);
    k->body[have + n] = '\0';
    k->f.bytes += (long long)n;
    return n;
}

void fetch_kept_init(struct fetch_kept *k, const struct lab_io *o)
{
    *k = (struct fetch_kept){ .opt = *o, .all = o };
    fetch_init(&k->f, &k->opt);
    FETCH_SET(k->f.easy, CURLOPT_WRITEFUNCTION, keep_body);
}

void fetch_kept_cleanup(struct fetch_kept *k)
{
    fetch_cleanup(&k->f);
    free(k->body);
    free(k->url);
    k->body = k->url = NULL;
}

bool fetch_kept_run(struct fetch_kept *k, long long n, long long *bytes)
{
    const char *url = k->all->urls[n % (long long)k->all->n_urls];
    const char *mark = strstr(url, "{n}");
    free(k->url);
    int made = mark ? asprintf(&k->url, "%.*s%lld%s", (int)(mark - url), url, n, mark + 3)
                    : asprintf(&k->url, "%s", url);
    if (made < 0)
        lab_die("out of memory for request %lld's URL", n);
    k->opt.urls[0] = k->url;        /* fetch_prepare takes urls[n % 1] */
    k->opt.n_urls = 1;
    return fetch_run(&k->f, n, bytes);
}

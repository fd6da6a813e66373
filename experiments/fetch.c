/* fetch.c - one download with libcurl (see fetch.h). */
#define _GNU_SOURCE
#include "fetch.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

enum { FAILURES_SHOWN = 5 };    /* then only the count, in the record */

static size_t count_body(char *data, size_t size, size_t nmemb, void *userp)
{
    (void)data;
    struct fetch *f = userp;
    f->bytes += (long long)(size * nmemb);
    return size * nmemb;
}

/* libcurl calls this often during a transfer: a non-zero answer aborts it,
 * which is how SIGINT ends a download that is waiting on the network. */
static int stop_requested(void *userp, curl_off_t dltotal, curl_off_t dlnow,
                          curl_off_t ultotal, curl_off_t ulnow)
{
    (void)userp; (void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
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
    *f = (struct fetch){ .opt = o, .easy = curl_easy_init() };
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
    curl_easy_cleanup(f->easy);
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

bool fetch_run(struct fetch *f, long long request, long long *bytes)
{
    f->attempt = 0;
    for (;;) {
        fetch_prepare(f, request);
        CURLcode rc = curl_easy_perform(f->easy);
        long wait_ms = (rc == CURLE_OK) ? fetch_retry_after_ms(f) : -1;
        if (wait_ms < 0) {
            bool ok = fetch_succeeded(f, rc);
            if (ok)
                *bytes += f->bytes;
            return ok;
        }
        struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);   /* a signal cuts the wait short */
    }
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

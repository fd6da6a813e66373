/* fetch.h - one download with libcurl, as every I/O lesson does it.
 *
 * The easy handle's options, counting the body's bytes, judging the answer
 * (a transfer error or a non-2xx status is a failure) and retrying 429/503
 * are the same in every I/O lesson, so they live here. WHO calls these and
 * WHEN (one after another, from threads, from processes, or from an event
 * loop) is the lesson, and stays in the lesson's own file.
 */
#ifndef FETCH_H
#define FETCH_H

#include <curl/curl.h>
#include <stdbool.h>

#include "lab.h"

struct fetch {
    CURL *easy;                 /* reused: keeps its connection alive */
    CURLM *multi;               /* fetch_run's own, made on first use */
    const struct lab_io *opt;
    long lane;                  /* --trace: the lane fetch_run's spans go on (1) */
    long long request;          /* which request this handle carries */
    long long bytes;            /* body bytes of the transfer under way */
    int attempt;                /* retries so far for this request */
    bool stopped;               /* fetch_run: a stop signal cut it short */
    char error[CURL_ERROR_SIZE];
};

/* curl_easy_setopt, or die saying which option failed. */
#define FETCH_SET(easy, opt, val) do { CURLcode rc_ = curl_easy_setopt(easy, opt, val); \
    if (rc_ != CURLE_OK) lab_die("curl_easy_setopt(%s): %s", #opt, \
                                 curl_easy_strerror(rc_)); } while (0)

/* curl_global_init, or die. Once, before any thread or fork: it is not
 * thread-safe, and a child inherits what it set up. */
void fetch_global_init(void);

/* Make the easy handle with the lab's options. Call fetch_global_init first. */
void fetch_init(struct fetch *f, const struct lab_io *o);
void fetch_cleanup(struct fetch *f);

/* Point the handle at request i (the URLs are used in turn). */
void fetch_prepare(struct fetch *f, long long request);

/* After a transfer ended with rc: true when it succeeded; on failure says
 * why on stderr (the first few times only) and returns false. */
bool fetch_succeeded(struct fetch *f, CURLcode rc);

/* Should a failed request be tried again (429/503 and retries left)?
 * Returns the back-off in milliseconds, or -1 for no. */
long fetch_retry_after_ms(struct fetch *f);

/* Blocking: prepare, perform (with retries), judge. Adds the body's bytes
 * to *bytes on success. A stop signal ends the wait at once, whichever
 * thread it reached (lab_stop_fd): then f->stopped is set, the request is
 * not to be counted, and it is not traced. Every other request becomes one
 * "request" span on f->lane (--trace). */
bool fetch_run(struct fetch *f, long long request, long long *bytes);

/* A download that keeps the answer's body (fetch_run only counts it). */
struct fetch_kept {
    struct fetch f;                 /* first: the write callback gets &f */
    const struct lab_io *all;       /* the options as given */
    struct lab_io opt;              /* a copy, pointed at this request's URL */
    char *url;                      /* this request's URL (a fixed array cut a long one short) */
    char *body;                     /* the last answer, NUL-terminated */
    size_t cap;
};
void fetch_kept_init(struct fetch_kept *k, const struct lab_io *o);
void fetch_kept_cleanup(struct fetch_kept *k);
/* As fetch_run, for request n: the --url values in turn, with "{n}" in
 * the URL replaced by n; the body is in k->body after a success. */
bool fetch_kept_run(struct fetch_kept *k, long long n, long long *bytes);

/* The end of every I/O lesson: "Downloaded D of N (B bytes, E errors) in
 * S s", then the record line: experiment, requests, workers, seconds,
 * bytes, errors, done, and `extra` (more key=value pairs, or ""). */
void fetch_report(const char *experiment, const struct lab_io *o,
                  long long workers, double seconds, long long bytes,
                  long long failed, long long done, const char *extra);

#endif

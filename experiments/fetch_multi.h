/* fetch_multi.h - io_async's easy handles, their connection caches and the
 * retry scheduler: what an event loop over libcurl needs at scale, kept out
 * of the lesson so that its loop reads as asyncio's.
 *
 * None of this is the model. It is:
 *   - W easy handles made once and reused, so each keeps its connection;
 *   - a connection cache per GROUP handles (see fetch_multi.c: libcurl 7.88
 *     walks every connection to a host to find one to reuse);
 *   - the retries: a 429 or 503 answer waits out its back-off without
 *     holding up the loop, then its handle carries the same request again.
 * One thread uses all of it: no locks.
 */
#ifndef FETCH_MULTI_H
#define FETCH_MULTI_H

#include <curl/curl.h>
#include <stdbool.h>

#include "fetch.h"

struct fetch_multi {
    CURLM *multi;
    struct fetch *handles;      /* count easy handles, reused */
    long long count;
    CURLSH **caches;            /* a connection cache per GROUP handles */
    double *retry_at;           /* > 0: handle k waits to retry until then */
    long long waiting;          /* how many handles wait to retry */
    long long cursor;           /* where fetch_multi_due looks next */
    double next_retry;          /* after a scan: the earliest retry, or -1 */
};

/* Make count easy handles with the lab's options, for the multi handle
 * multi (which fetch_multi_cleanup ends too). */
void fetch_multi_init(struct fetch_multi *m, CURLM *multi,
                      const struct lab_io *o, long long count);
/* Take every handle off the multi handle, free them, the caches and multi. */
void fetch_multi_cleanup(struct fetch_multi *m);

/* The transfer of f ended with rc, and f is off the multi handle: if the
 * answer asks to try again later (429/503, retries left), schedule it and
 * return true; the caller then forgets f until fetch_multi_due gives it. */
bool fetch_multi_retry_later(struct fetch_multi *m, struct fetch *f, CURLcode rc);

/* A handle whose back-off is over, to start again (its request unchanged),
 * or NULL once none is left; then m->next_retry says when the next is due. */
struct fetch *fetch_multi_due(struct fetch_multi *m);

#endif

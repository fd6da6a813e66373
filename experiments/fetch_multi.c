/* fetch_multi.c - io_async's easy handles, connection caches and retries
 * (see fetch_multi.h). */
#define _GNU_SOURCE
#include "fetch_multi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { GROUP = 64 };            /* handles per connection cache */

#define MCHECK(call) do { CURLMcode mc_ = (call); if (mc_ != CURLM_OK) \
    lab_die("%s: %s", #call, curl_multi_strerror(mc_)); } while (0)

void fetch_multi_init(struct fetch_multi *m, CURLM *multi,
                      const struct lab_io *o, long long count)
{
    *m = (struct fetch_multi){ .multi = multi, .count = count, .next_retry = -1,
        .handles = calloc((size_t)count, sizeof *m->handles),
        .retry_at = calloc((size_t)count, sizeof *m->retry_at),
        .caches = calloc((size_t)(count / GROUP + 1), sizeof *m->caches) };
    if (!m->handles || !m->retry_at || !m->caches)
        lab_die("no room for %lld transfers: %s", count, strerror(errno));
    /* Keep each handle's connection, and open no more than count sockets. */
    MCHECK(curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)count));
    MCHECK(curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)count));
    for (long long k = 0; k < count; k++) {
        fetch_init(&m->handles[k], o);
        /* libcurl 7.88 finds a connection to reuse by walking all those to
         * the host: with a thousand, a good part of its time. A cache per
         * GROUP handles keeps each walk short. */
        CURLSH **cache = &m->caches[k / GROUP];
        if (!*cache) {
            *cache = curl_share_init();
            if (!*cache || curl_share_setopt(*cache, CURLSHOPT_SHARE,
                                             CURL_LOCK_DATA_CONNECT) != CURLSHE_OK)
                lab_die("curl_share_init: no connection cache");
        }
        FETCH_SET(m->handles[k].easy, CURLOPT_SHARE, *cache);
        /* The loop sees signals itself: the progress callback only costs. */
        FETCH_SET(m->handles[k].easy, CURLOPT_NOPROGRESS, 1L);
    }
}

void fetch_multi_cleanup(struct fetch_multi *m)
{
    for (long long k = 0; k < m->count; k++) {     /* those still in flight */
        MCHECK(curl_multi_remove_handle(m->multi, m->handles[k].easy));
        fetch_cleanup(&m->handles[k]);
    }
    MCHECK(curl_multi_cleanup(m->multi));
    for (long long g = 0; g <= m->count / GROUP; g++)
        curl_share_cleanup(m->caches[g]);       /* after the handles using it */
    free(m->handles);
    free(m->retry_at);
    free(m->caches);
}

bool fetch_multi_retry_later(struct fetch_multi *m, struct fetch *f, CURLcode rc)
{
    long wait_ms = rc == CURLE_OK ? fetch_retry_after_ms(f) : -1;
    if (wait_ms < 0)
        return false;
    double at = lab_now() + (double)wait_ms / 1000;
    m->retry_at[f - m->handles] = at;
    m->waiting++;
    if (m->next_retry < 0 || at < m->next_retry)
        m->next_retry = at;
    return true;
}

struct fetch *fetch_multi_due(struct fetch_multi *m)
{
    if (m->waiting == 0) {
        m->next_retry = -1;
        m->cursor = 0;
        return NULL;
    }
    if (m->cursor == 0)
        m->next_retry = -1;             /* a new scan: find the earliest again */
    double now = lab_now();
    for (; m->cursor < m->count; m->cursor++) {
        double at = m->retry_at[m->cursor];
        if (at > 0 && at <= now) {
            m->retry_at[m->cursor] = 0;
            m->waiting--;
            return &m->handles[m->cursor++];
        }
        if (at > 0 && (m->next_retry < 0 || at < m->next_retry))
            m->next_retry = at;
    }
    m->cursor = 0;                      /* scanned them all */
    return NULL;
}

/* libcurl_load.c - the floor under every I/O lesson's start-up and memory:
 * a program that loads libcurl, starts it, and does nothing else.
 *
 * What it shows: what linking Debian's libcurl costs before a single
 * request: the dynamic loader maps and relocates libcurl and the thirty-odd
 * libraries it needs (TLS, SSH, LDAP, Kerberos, IDN, compression...), and
 * curl_global_init starts OpenSSL. make bench times it beside
 * `io_sync --requests 1` (start-up) and reads its max RSS beside io_async's
 * (memory): the lessons' own cost is the difference.
 *
 * Usage: libcurl_load
 *   build/bench/libcurl_load
 *
 * Expect, as the last line (the lab's record line):
 *   experiment=libcurl_load seconds=0.00... version=7.88.1
 */
#include <curl/curl.h>
#include <stdio.h>
#include <time.h>

int main(void)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        fprintf(stderr, "libcurl_load: curl_global_init: %s\n", curl_easy_strerror(rc));
        return 1;
    }
    const char *version = curl_version_info(CURLVERSION_NOW)->version;
    curl_global_cleanup();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("experiment=libcurl_load seconds=%.6f version=%s\n",
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, version);
    return 0;
}

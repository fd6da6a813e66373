/* raw_burst.c - the floor under io_async's first wave: N requests at once on
 * raw sockets and epoll, with nothing else around them.
 *
 * What it shows: what this machine's kernel charges to open N connections
 * to the lab server and send N requests (the loopback TCP handshakes, the
 * server's wake-ups), without libcurl. make bench sets io_async's time for
 * the same burst beside it: the difference is what libcurl and the lesson
 * add. Like io_async with every request in flight, it opens every
 * connection at once, sends each request as soon as its connection is up,
 * and counts an answer done at the end of its chunked body. A reference,
 * not a client: HTTP/1.1 to an IPv4 address only, one try per request,
 * a 200 with a chunked body (what the lab server's /delay sends) or an
 * error, and a 30-second limit on the whole burst.
 *
 * Usage: raw_burst URL N
 *   build/bench/raw_burst "$(scripts/labserver url)/delay?s=0.05&bytes=17" 160
 *
 * Expect, as the last line (the lab's record line):
 *   experiment=raw_burst requests=160 seconds=0.05... errors=0
 *
 * See also: experiments/io_async.c (the same burst through libcurl).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { MAX_REQUESTS = 100000, EVENTS = 256, LIMIT_S = 30 };

struct conn {
    int fd;
    size_t got;                 /* bytes of the answer so far */
    char head[16], tail[8];     /* its first bytes; its last bytes */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "raw_burst: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Keep the first and last bytes of what came: enough to judge the answer. */
static void take(struct conn *c, const char *data, size_t n)
{
    for (size_t i = 0; i < n && c->got + i < sizeof c->head - 1; i++)
        c->head[c->got + i] = data[i];
    size_t keep = sizeof c->tail - 1, old = strlen(c->tail);
    char joined[sizeof c->tail + 4096];
    memcpy(joined, c->tail, old);
    memcpy(joined + old, data, n);
    size_t all = old + n, from = all > keep ? all - keep : 0;
    memcpy(c->tail, joined + from, all - from);
    c->tail[all - from] = '\0';
    c->got += n;
}

int main(int argc, char **argv)
{
    char host[64], path[1024] = "/";
    int port = 0;
    long n = argc == 3 ? strtol(argv[2], NULL, 10) : 0;
    if (argc != 3 || sscanf(argv[1], "http://%63[0-9.]:%d%1023s", host, &port, path) < 2
        || port < 1 || port > 65535 || n < 1 || n > MAX_REQUESTS) {
        fprintf(stderr, "Usage: raw_burst http://IPV4:PORT/PATH N   (N from 1 to %d)\n",
                MAX_REQUESTS);
        return 2;
    }
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, host, &to.sin_addr) != 1) {
        fprintf(stderr, "raw_burst: '%s' is not an IPv4 address\n", host);
        return 2;
    }
    struct rlimit files;                /* a socket per request */
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < (rlim_t)n + 16) {
        files.rlim_cur = files.rlim_max < (rlim_t)n + 16 ? files.rlim_max : (rlim_t)n + 16;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    char request[1200];
    int request_len = snprintf(request, sizeof request,
        "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: */*\r\n\r\n", path, host, port);
    struct conn *conns = calloc((size_t)n, sizeof *conns);
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || epoll_fd < 0)
        die("calloc/epoll_create1");

    double start = now();
    for (long i = 0; i < n; i++) {      /* every connection at once */
        int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
            die("socket");
        if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS)
            die("connect");
        struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = (uint64_t)i };
        if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
            die("epoll_ctl");
        conns[i].fd = fd;
    }
    long done = 0, errors = 0;
    char buf[4096];
    while (done < n && now() - start < LIMIT_S) {
        struct epoll_event ready[EVENTS];
        int k = epoll_wait(epoll_fd, ready, EVENTS, 1000);
        if (k < 0 && errno != EINTR)
            die("epoll_wait");
        for (int e = 0; e < k; e++) {
            struct conn *c = &conns[ready[e].data.u64];
            bool failed = false, finished = false;
            if (ready[e].events & EPOLLOUT) {   /* connected: send the request */
                struct epoll_event ev = { .events = EPOLLIN, .data = ready[e].data };
                failed = send(c->fd, request, (size_t)request_len, MSG_NOSIGNAL) != request_len
                         || epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) != 0;
            } else {
                ssize_t got = recv(c->fd, buf, sizeof buf, 0);
                if (got > 0)
                    take(c, buf, (size_t)got);
                failed = got == 0 || (got < 0 && errno != EAGAIN)   /* not a 200 */
                         || (c->got >= 12 && strncmp(c->head, "HTTP/1.1 200", 12) != 0);
                finished = !failed && strstr(c->tail, "0\r\n\r\n") != NULL;
            }
            if (failed || finished) {
                errors += failed;
                done++;
                close(c->fd);           /* also leaves the epoll set */
                c->fd = -1;
            }
        }
    }
    double seconds = now() - start;
    for (long i = 0; i < n; i++)
        if (conns[i].fd >= 0)
            close(conns[i].fd);
    errors += n - done;                 /* past the limit */
    close(epoll_fd);
    free(conns);
    printf("experiment=raw_burst requests=%ld seconds=%.6f errors=%ld\n", n, seconds, errors);
    return errors ? 1 : 0;
}

/* lab_more.c - options beyond the I/O set, an output folder, and a
 * download that keeps its body (see lab_more.h). */
#define _GNU_SOURCE
#include "lab_more.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The option of the table named by arg ("--name" or "--name=value"), with
 * *value pointing at "value" for the second form, or NULL. */
static const struct lab_opt *find(const struct lab_opt *more, const char *arg,
                                  const char **value)
{
    if (strncmp(arg, "--", 2) != 0)
        return NULL;
    for (const struct lab_opt *m = more; m->name; m++) {
        size_t n = strlen(m->name);
        if (strncmp(arg + 2, m->name, n) != 0)
            continue;
        if (arg[2 + n] == '\0') {
            *value = NULL;
            return m;
        }
        if (arg[2 + n] == '=') {
            *value = arg + 3 + n;
            return m;
        }
    }
    return NULL;
}

void lab_io_options_more(int argc, char **argv, const char *summary,
                         struct lab_io *o, long long max_workers,
                         unsigned flags, const struct lab_opt *more)
{
    char **rest = calloc((size_t)argc + 3, sizeof *rest);
    char requests[24];
    size_t size = strlen(summary) + 64;
    for (const struct lab_opt *m = more; m->name; m++)
        size += strlen(m->name) + strlen(m->arg) + strlen(m->help) + 40;
    char *text = malloc(size);
    if (!rest || !text)
        lab_die("out of memory for the options");
    /* --help prints the summary first: the lesson's own options go there. */
    int used = snprintf(text, size, "%s\n\nThis lesson's own options:", summary);
    for (const struct lab_opt *m = more; m->name; m++) {
        char left[48];
        snprintf(left, sizeof left, "--%s %s", m->name, m->arg);
        used += snprintf(text + used, size - (size_t)used, "\n  %-26s %s", left, m->help);
    }
    int n = 0;
    rest[n++] = argv[0];
    if (o->requests > 0) {          /* the lesson's default; a later one wins */
        snprintf(requests, sizeof requests, "%lld", o->requests);
        rest[n++] = "--requests";
        rest[n++] = requests;
    }
    for (int i = 1; i < argc; i++) {
        const char *value = NULL;
        const struct lab_opt *m = find(more, argv[i], &value);
        if (strcmp(argv[i], "--") == 0) {       /* the end of the options */
            while (i < argc)
                rest[n++] = argv[i++];
            break;
        }
        if (!m) {
            rest[n++] = argv[i];
            continue;
        }
        if (!value && i + 1 >= argc)
            lab_usage_error("%s needs a value (see --help)", argv[i]);
        if (!value)
            value = argv[++i];
        if (m->kind == LAB_NUMBER)
            *m->number = lab_number(m->name, value, m->min, m->max);
        else
            *m->text = value;
    }
    rest[n] = NULL;
    lab_io_options(n, rest, text, o, max_workers, flags);
    free(rest);                 /* the option values point into argv */
    free(text);
}

void lab_out_folder(const char *option, const char *dir)
{
    char path[4096];
    if (!*dir || snprintf(path, sizeof path, "%s/", dir) >= (int)sizeof path - 64)
        lab_usage_error("--%s: '%s' is not a usable folder name", option, dir);
    for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            lab_usage_error("--%s %s: cannot make %s: %s", option, dir, path,
                            strerror(errno));
        *p = '/';
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0)
        lab_usage_error("--%s %s: not a folder this program may write in", option, dir);
}

long long lab_wait_children(const pid_t *pids, long long n, bool stop_now,
                            _Atomic long long *done, long long total)
{
    bool *reaped = calloc((size_t)n + 1, sizeof *reaped), told = false;
    long long failed = 0;
    if (!reaped)
        lab_die("out of memory for %lld children", n);
    for (long long left = n; left > 0;) {
        if ((lab_stop_signal || stop_now) && !told) {
            for (long long k = 0; k < n; k++)
                if (!reaped[k])
                    kill(pids[k], SIGTERM);
            told = true;
        }
        for (long long k = 0; k < n; k++) {
            int status;
            pid_t got = reaped[k] ? 0 : waitpid(pids[k], &status, WNOHANG);
            if (got < 0 && errno != EINTR)
                lab_die("waitpid %d: %s", (int)pids[k], strerror(errno));
            if (got == pids[k]) {
                failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                reaped[k] = true;
                left--;
            }
        }
        lab_progress(*done, total);
        usleep(5000);               /* a signal cuts it short */
    }
    free(reaped);
    return failed;
}

bool lab_write_whole(const char *path, void (*fill)(FILE *out, void *arg), void *arg)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return false;
    FILE *out = fopen(tmp, "w");
    if (!out)
        return false;
    fill(out, arg);
    bool ok = fflush(out) == 0 && !ferror(out) && fsync(fileno(out)) == 0;
    ok = fclose(out) == 0 && ok;
    if (!ok || lab_stop_signal || rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        errno = err;
        return false;
    }
    return true;
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
    k->body = NULL;
}

bool fetch_kept_run(struct fetch_kept *k, long long n, long long *bytes)
{
    const char *url = k->all->urls[n % (long long)k->all->n_urls];
    const char *mark = strstr(url, "{n}");
    if (mark)
        snprintf(k->url, sizeof k->url, "%.*s%lld%s", (int)(mark - url), url, n, mark + 3);
    else
        snprintf(k->url, sizeof k->url, "%s", url);
    k->opt.urls[0] = k->url;        /* fetch_prepare takes urls[n % 1] */
    k->opt.n_urls = 1;
    return fetch_run(&k->f, n, bytes);
}

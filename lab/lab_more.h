/* lab_more.h - what the newer lessons need beyond lab.h and fetch.h.
 *
 * lab_io_options() parses the options every I/O lesson takes. A lesson
 * that needs a few more (io_coroutines' --block-ms, io_hybrid's
 * --iterations, --processes, --threads and --out) lists them in a table of
 * its own, as for lab_parse(): they are taken out of argv first, shown by
 * --help after the summary, and the rest goes to lab_io_options().
 *
 * Then io_hybrid's plumbing: an output folder checked before any work, a
 * file written whole or not at all, the parent's wait for its children,
 * and a download that keeps the body it got (fetch.c only counts it).
 */
#ifndef LAB_MORE_H
#define LAB_MORE_H

#include <stddef.h>
#include <stdio.h>

#include "fetch.h"
#include "lab.h"

/* LAB_NUMBER and LAB_TEXT options only; the table ends with {0}. If
 * o->requests is not 0 on entry, it is the lesson's default --requests. */
void lab_io_options_more(int argc, char **argv, const char *summary,
                         struct lab_io *o, long long max_workers,
                         unsigned flags, const struct lab_opt *more);

/* Make the folder dir (and those above it) if missing; one we cannot write
 * in is bad usage (exit 2), before any work. */
void lab_out_folder(const char *option, const char *dir);

/* The parent's wait for n forked children (pids): reap each as it ends,
 * drawing the progress bar from *done of total meanwhile. On SIGINT or
 * SIGTERM (or at once, when stop_now) send every child SIGTERM, so each
 * stops its work and exits. Returns how many did not exit with status 0. */
long long lab_wait_children(const pid_t *pids, long long n, bool stop_now,
                            _Atomic long long *done, long long total);

/* Write the file at path whole or not at all: fill writes it to path.tmp,
 * which is flushed to disk and renamed over path (rename is atomic: a
 * reader sees the old file or the new one, never half of one). False, and
 * no path.tmp left, if anything failed or a stop signal came first. */
bool lab_write_whole(const char *path, void (*fill)(FILE *out, void *arg), void *arg);

/* A download that keeps the answer's body (fetch.c only counts it). */
struct fetch_kept {
    struct fetch f;                 /* first: the write callback gets &f */
    const struct lab_io *all;       /* the options as given */
    struct lab_io opt;              /* a copy, pointed at this request's URL */
    char url[2048];
    char *body;                     /* the last answer, NUL-terminated */
    size_t cap;
};
void fetch_kept_init(struct fetch_kept *k, const struct lab_io *o);
void fetch_kept_cleanup(struct fetch_kept *k);
/* As fetch_run, for request n: the --url values in turn, with "{n}" in
 * the URL replaced by n; the body is in k->body after a success. */
bool fetch_kept_run(struct fetch_kept *k, long long n, long long *bytes);

#endif

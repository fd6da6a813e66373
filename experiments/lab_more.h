/* lab_more.h - the I/O options plus a lesson's own few.
 *
 * lab_io_options() parses the options every I/O lesson takes. A lesson
 * that needs a few more (io_coroutines' --block-ms, io_hybrid's
 * --iterations, --processes, --threads and --out) lists them in a table of
 * its own, as for lab_parse(): they are taken out of argv first, shown by
 * --help after the summary, and the rest goes to lab_io_options().
 */
#ifndef LAB_MORE_H
#define LAB_MORE_H

#include "lab.h"

/* LAB_NUMBER and LAB_TEXT options only; the table ends with {0}. */
void lab_io_options_more(int argc, char **argv, const char *summary,
                         struct lab_io *o, long long max_workers,
                         unsigned flags, const struct lab_opt *more);

#endif

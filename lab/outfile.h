/* outfile.h - files a lesson writes besides its output (io_hybrid's --out):
 * the folder checked before any work, and each file written whole or not
 * at all.
 */
#ifndef OUTFILE_H
#define OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

/* Make the folder dir (and those above it) if missing; one we cannot write
 * in is bad usage (exit 2, naming --option), before any work. */
void outfile_folder(const char *option, const char *dir);

/* Write the file at path whole or not at all: fill writes it to path.tmp,
 * which is flushed to disk and renamed over path (rename is atomic: a
 * reader sees the old file or the new one, never half of one). False, and
 * no path.tmp left, if anything failed or a stop signal came first. */
bool outfile_write_whole(const char *path, void (*fill)(FILE *out, void *arg), void *arg);

#endif

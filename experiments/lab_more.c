/* lab_more.c - the I/O options plus a lesson's own few (see lab_more.h). */
#define _GNU_SOURCE
#include "lab_more.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
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

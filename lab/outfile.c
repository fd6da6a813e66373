/* outfile.c - an output folder checked first, files written whole (see outfile.h). */
#define _GNU_SOURCE
#include "outfile.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lab.h"

void outfile_folder(const char *option, const char *dir)
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

bool outfile_write_whole(const char *path, void (*fill)(FILE *out, void *arg), void *arg)
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

#include "frame_names.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The end of the last "/lib/pythonX.Y/" in file, or NULL. */
static const char *after_stdlib_dir(const char *file)
{
    const char *found = NULL;
    for (const char *p = strstr(file, "/lib/python"); p; p = strstr(p + 1, "/lib/python")) {
        const char *v = p + strlen("/lib/python");
        if (!isdigit((unsigned char)*v))
            continue;
        while (isdigit((unsigned char)*v) || *v == '.')
            v++;
        if (*v == 't') /* free-threaded builds: lib/python3.13t */
            v++;
        if (*v == '/')
            found = v + 1;
    }
    return found;
}

const char *frame_short_file(const char *file)
{
    static const char *const package_dirs[] = {"/site-packages/", "/dist-packages/"};
    const char *best = NULL;
    for (size_t i = 0; i < sizeof package_dirs / sizeof package_dirs[0]; i++) {
        for (const char *p = strstr(file, package_dirs[i]); p; p = strstr(p + 1, package_dirs[i]))
            if (!best || p + strlen(package_dirs[i]) > best)
                best = p + strlen(package_dirs[i]);
    }
    const char *std = after_stdlib_dir(file);
    if (std && (!best || std > best))
        best = std;
    return best && *best ? best : file;
}

size_t frame_text(char *buf, size_t len, const char *name, const char *file, int64_t line,
                  bool with_line)
{
    const char *n = name[0] ? name : "<unknown>";
    int w;
    if (!file[0])
        w = snprintf(buf, len, "%s", n);
    else if (with_line && line > 0)
        w = snprintf(buf, len, "%s (%s:%" PRId64 ")", n, frame_short_file(file), line);
    else
        w = snprintf(buf, len, "%s (%s)", n, frame_short_file(file));
    return w < 0 ? 0 : (size_t)w;
}

bool frame_is_synthetic(const char *name, const char *file)
{
    size_t n = strlen(name);
    return !file[0] && n >= 2 && name[0] == '<' && name[n - 1] == '>';
}

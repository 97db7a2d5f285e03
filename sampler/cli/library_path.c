#include "library_path.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int podprof_library_path(char *buf, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        fprintf(stderr, "podprof: cannot resolve /proc/self/exe: %s\n", strerror(errno));
        return -1;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    char beside[PATH_MAX + 32];
    if (snprintf(buf, len, "%s/../lib/libpodprof.so", exe) >= (int)len ||
        snprintf(beside, sizeof beside, "%s/libpodprof.so", exe) >= (int)sizeof beside) {
        fprintf(stderr, "podprof: path of the executable too long\n");
        return -1;
    }
    if (access(buf, F_OK) == 0)
        return 0;
    if (access(beside, F_OK) == 0 && strlen(beside) < len) {
        memcpy(buf, beside, strlen(beside) + 1);
        return 0;
    }
    fprintf(stderr, "podprof: libpodprof.so not found at %s (nor beside the podprof binary)\n",
            buf);
    return -1;
}

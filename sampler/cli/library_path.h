/* Where this podprof binary's libpodprof.so is: <dir of the executable>/../lib/libpodprof.so (the
 * image's /podprof/bin + /podprof/lib, or build/bin + build/lib), else beside the executable. */
#ifndef PODPROF_CLI_LIBRARY_PATH_H
#define PODPROF_CLI_LIBRARY_PATH_H

#include <stddef.h>

/* 0 with the absolute path in buf; -1 after a one-line error on stderr. */
int podprof_library_path(char *buf, size_t len);

#endif

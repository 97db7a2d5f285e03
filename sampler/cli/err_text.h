/* One-line error reasons: the CLI's readers report bad input as a short message in a caller's
 * buffer, which the command prints after the file name. */
#ifndef PODPROF_CLI_ERR_TEXT_H
#define PODPROF_CLI_ERR_TEXT_H

#include <stddef.h>

void err_printf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif

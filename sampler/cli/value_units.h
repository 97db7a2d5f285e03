/* Sample values in their unit's natural form, as `top` and the pictures print them: durations as
 * ns/us/ms/s, bytes as B/KiB/MiB/GiB, counts as plain integers, any other unit verbatim. */
#ifndef PODPROF_CLI_VALUE_UNITS_H
#define PODPROF_CLI_VALUE_UNITS_H

#include <stddef.h>
#include <stdint.h>

void value_format(char *buf, size_t len, int64_t value, const char *unit);

#endif

#include "value_units.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void format_seconds(char *buf, size_t len, double ns)
{
    double a = ns < 0 ? -ns : ns;
    if (a >= 1e9)
        snprintf(buf, len, "%.2fs", ns / 1e9);
    else if (a >= 1e6)
        snprintf(buf, len, "%.2fms", ns / 1e6);
    else if (a >= 1e3)
        snprintf(buf, len, "%.2fus", ns / 1e3);
    else
        snprintf(buf, len, "%.0fns", ns);
}

static void format_bytes(char *buf, size_t len, double b)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double a = b < 0 ? -b : b;
    if (a < 1024) {
        snprintf(buf, len, "%.0fB", b);
        return;
    }
    size_t u = 0;
    for (b /= 1024, a /= 1024; a >= 1024 && u + 1 < sizeof units / sizeof units[0]; u++)
        b /= 1024, a /= 1024;
    snprintf(buf, len, "%.2f%s", b, units[u]);
}

void value_format(char *buf, size_t len, int64_t value, const char *unit)
{
    static const struct {
        const char *unit;
        double ns;
    } times[] = {
        {"nanoseconds", 1}, {"microseconds", 1e3}, {"milliseconds", 1e6}, {"seconds", 1e9}};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        if (!strcmp(unit, times[i].unit)) {
            format_seconds(buf, len, (double)value * times[i].ns);
            return;
        }
    }
    if (!strcmp(unit, "bytes"))
        format_bytes(buf, len, (double)value);
    else if (!strcmp(unit, "count") || !unit[0])
        snprintf(buf, len, "%" PRId64, value);
    else
        snprintf(buf, len, "%" PRId64 " %s", value, unit);
}

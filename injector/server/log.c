#include "log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

static int log_level = INJ_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void inj_log_set_level(int level)
{
    log_level = level;
}

int inj_log_enabled(int level)
{
    return level <= log_level;
}

void inj_log(int level, const char *msg, ...)
{
    if (!(level & INJ_LOG_ALWAYS) && !inj_log_enabled(level))
        return;
    level &= ~INJ_LOG_ALWAYS;
    struct timespec ts;
    struct tm tm;
    char when[64];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);

    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ts", when);
    cJSON_AddStringToObject(o, "level", level_names[level]);
    cJSON_AddStringToObject(o, "msg", msg);
    va_list ap;
    va_start(ap, msg);
    for (const char *k = va_arg(ap, const char *); k; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        cJSON_AddStringToObject(o, k, v ? v : "");
    }
    va_end(ap);
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!line)
        return;
    size_t len = strlen(line);
    line[len] = '\n'; /* replaces the NUL; the length is known */
    ssize_t w = write(STDERR_FILENO, line, len + 1);
    (void)w;
    cJSON_free(line);
}

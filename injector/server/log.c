#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>

static int log_level = PP_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void inj_log_set_level(int level)
{
    log_level = level;
}

int inj_log_enabled(int level)
{
    return level <= log_level;
}

/* The next field key of the format after *fmt ("key" of PP_LOG_FIELD("key")), advancing *fmt;
 * its length, or 0 when the format has no more fields. */
static size_t next_key(const char **fmt, const char **key)
{
    const char *mark = strchr(*fmt, PP_LOG_FIELD_MARK);
    if (!mark)
        return 0;
    *key = mark + 1;
    size_t n = strcspn(*key, "=");
    *fmt = *key + n;
    return n;
}

void inj_log(int level, const char *fmt, ...)
{
    if (!(level & PP_LOG_ALWAYS) && !inj_log_enabled(level))
        return;
    level &= ~PP_LOG_ALWAYS;
    struct timespec ts;
    struct tm tm;
    char when[64], text[2048];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03ldZ", ts.tv_nsec / 1000000);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);

    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ts", when);
    cJSON_AddStringToObject(o, "level", level_names[level]);
    /* The message runs to the first field; each field to the next, found by the keys the format
     * names in order, so a mark inside a value (a client's bytes) cannot start a field. */
    const char *want = NULL, *f = fmt;
    size_t wl = next_key(&f, &want);
    char *key = NULL, *value = text;
    for (char *p = text;; p++) {
        bool field = wl && *p == PP_LOG_FIELD_MARK && !strncmp(p + 1, want, wl) && p[1 + wl] == '=';
        if (*p && !field)
            continue;
        *p = '\0';
        cJSON_AddStringToObject(o, key ? key : "msg", value);
        if (!field)
            break;
        key = p + 1;
        key[wl] = '\0';
        value = key + wl + 1;
        p = value - 1;
        wl = next_key(&f, &want);
    }
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

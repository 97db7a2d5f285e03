#include "faults.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#define EX_FAULT_LOG_INTERVAL_MS 60000

static const char *const fault_names[EX_FAULT_COUNT] = {
    [EX_FAULT_REFUSED] = "refused",
    [EX_FAULT_SOCKET_MISSING] = "socket_missing",
    [EX_FAULT_DNS] = "dns",
    [EX_FAULT_TIMEOUT] = "timeout",
    [EX_FAULT_CONNECTION] = "connection",
    [EX_FAULT_TLS] = "tls",
    [EX_FAULT_HTTP_5XX] = "http_retryable",
    [EX_FAULT_HTTP_4XX] = "http_rejected",
    [EX_FAULT_CORRUPT_SPOOL] = "corrupt_spool",
    [EX_FAULT_SPOOL_FULL] = "spool_full",
    [EX_FAULT_LABELS_MISSING] = "labels_missing",
    [EX_FAULT_LABELS_MALFORMED] = "labels_malformed",
    [EX_FAULT_TOO_LARGE] = "too_large",
    [EX_FAULT_GAVE_UP] = "gave_up",
    [EX_FAULT_UNSAFE_SPOOL] = "unsafe_spool",
    [EX_FAULT_OTHER] = "other",
};

const char *ex_fault_name(ex_fault_kind kind)
{
    return (unsigned)kind < EX_FAULT_COUNT ? fault_names[kind] : "?";
}

int64_t ex_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int log_level = PP_LOG_INFO;

void ex_log_set_level(int level)
{
    log_level = level;
}

static void vlog(int level, const char *tag, const char *fmt, va_list ap, const char *suffix)
{
    if (!(level & PP_LOG_ALWAYS) && level > log_level)
        return;
    char line[1024];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0)
        return;
    for (char *p = line; *p; p++)
        if (*p == PP_LOG_FIELD_MARK)
            *p = ' ';
    /* one stdio call, so the lines of `podprof run`'s exporter thread stay whole */
    fprintf(stderr, "podprof export: %s%s%s\n", tag, line, suffix);
}

void ex_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, "", fmt, ap, "");
    va_end(ap);
}

void ex_fault(ex_faults *f, ex_fault_kind kind, const char *fmt, ...)
{
    if ((unsigned)kind >= EX_FAULT_COUNT)
        kind = EX_FAULT_OTHER;
    f->count[kind]++;
    int64_t now = ex_now_ms();
    /* last_log_ms 0 means never logged; a monotonic clock this close to boot is not a concern */
    if (f->last_log_ms[kind] && now - f->last_log_ms[kind] < EX_FAULT_LOG_INTERVAL_MS) {
        f->suppressed[kind]++;
        return;
    }
    char tag[40], suffix[64] = "";
    snprintf(tag, sizeof tag, "[%s] ", fault_names[kind]);
    if (f->suppressed[kind])
        snprintf(suffix, sizeof suffix, " (%llu similar in the last minute)",
                 (unsigned long long)f->suppressed[kind]);
    va_list ap;
    va_start(ap, fmt);
    vlog(PP_LOG_WARN, tag, fmt, ap, suffix);
    va_end(ap);
    f->suppressed[kind] = 0;
    f->last_log_ms[kind] = now ? now : 1;
}

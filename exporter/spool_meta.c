#include "spool_meta.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "podprof/spool_format.h"

static cJSON *field(const cJSON *root, const char *name)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static char *string_field(const cJSON *root, const char *name)
{
    cJSON *v = field(root, name);
    if (cJSON_IsString(v) && v->valuestring[0])
        return strdup(v->valuestring);
    if (cJSON_IsNumber(v)) { /* e.g. "version": 2 */
        char buf[64];
        snprintf(buf, sizeof buf, "%.15g", v->valuedouble);
        return strdup(buf);
    }
    return NULL;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int ex_parse_rfc3339(const char *s, int64_t *epoch_ns)
{
    int Y, M, D, h, m, sec, used = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &used) != 6 || used != 19)
        return -1;
    /* int64 nanoseconds end in 2262 */
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || Y < 1970 || Y > 2200)
        return -1;
    const char *p = s + used;
    int64_t frac = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; isdigit((unsigned char)*p); p++, digits++)
            if (digits < 9)
                frac = frac * 10 + (*p - '0');
        if (!digits)
            return -1;
        for (; digits < 9; digits++)
            frac *= 10;
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, n2 = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n2) != 2 || n2 != 5)
            return -1;
        offset_s = (oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    int64_t secs =
        days_from_civil(Y, (unsigned)M, (unsigned)D) * 86400 + h * 3600 + m * 60 + sec - offset_s;
    *epoch_ns = secs * 1000000000LL + frac;
    return 0;
}

void ex_format_rfc3339(int64_t epoch_ns, char out[40])
{
    time_t secs = (time_t)(epoch_ns / 1000000000LL);
    long frac = (long)(epoch_ns % 1000000000LL);
    if (frac < 0) {
        frac += 1000000000L;
        secs--;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    char date[24];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%09ldZ", date, frac);
}

/* A JSON number as an int64 in [0, max]; false for anything else (NaN, negative, huge). */
static bool number_in_range(const cJSON *v, double max, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > max)
        return false;
    *out = (int64_t)v->valuedouble;
    return true;
}

static int time_field(const cJSON *root, const char *name, int64_t *out)
{
    cJSON *v = field(root, name);
    if (cJSON_IsString(v))
        return ex_parse_rfc3339(v->valuestring, out);
    return number_in_range(v, 7e18, out) && *out > 0 ? 0 : -1; /* epoch nanoseconds */
}

int ex_meta_parse(const char *text, size_t len, ex_meta *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!cJSON_IsObject(root)) {
        snprintf(err, errcap, "not a JSON object");
        cJSON_Delete(root);
        return -1;
    }
    if (time_field(root, PP_META_START, &out->start_ns) ||
        time_field(root, PP_META_END, &out->end_ns)) {
        snprintf(err, errcap, "missing or malformed \"start\"/\"end\" (RFC3339 expected)");
        cJSON_Delete(root);
        return -1;
    }
    if (out->end_ns < out->start_ns) {
        snprintf(err, errcap, "\"end\" is before \"start\"");
        cJSON_Delete(root);
        return -1;
    }
    int64_t num = 0;
    out->pid = number_in_range(field(root, PP_META_PID), 4194304, &num) ? (long)num : 0;
    out->runtime_id = string_field(root, PP_META_RUNTIME_ID);
    out->python_version = string_field(root, PP_META_PYTHON_VERSION);
    out->service = string_field(root, PP_META_SERVICE);
    out->env = string_field(root, PP_META_ENV);
    out->version = string_field(root, PP_META_VERSION);
    out->tags = string_field(root, PP_META_TAGS);
    out->profiling_tags = string_field(root, PP_META_PROFILING_TAGS);
    out->container = string_field(root, PP_META_CONTAINER);
    cJSON *rate = field(root, PP_META_EFFECTIVE_SAMPLING_RATE_HZ);
    out->rate_hz = cJSON_IsNumber(rate) ? rate->valuedouble : 0;
    cJSON *configured = field(root, PP_META_SAMPLING_RATE_HZ);
    out->configured_rate_hz = cJSON_IsNumber(configured) ? configured->valuedouble : 0;
    out->period_ns = number_in_range(field(root, PP_META_PERIOD_NS), 1e12, &num) ? num : 0;
    cJSON *counters = field(root, PP_META_COUNTERS);
    if (cJSON_IsObject(counters))
        out->counters = cJSON_Duplicate(counters, 1);
    cJSON_Delete(root);
    return 0;
}

void ex_meta_free(ex_meta *m)
{
    free(m->runtime_id);
    free(m->python_version);
    free(m->service);
    free(m->env);
    free(m->version);
    free(m->tags);
    free(m->profiling_tags);
    free(m->container);
    cJSON_Delete(m->counters);
    memset(m, 0, sizeof *m);
}

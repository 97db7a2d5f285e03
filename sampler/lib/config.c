#include "config_table.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "podprof/setting_value.h"

#define F(field) offsetof(pp_config, field)

const pp_cfg_entry pp_cfg_table[] = {
    {"DD_PROFILING_ENABLED", PP_CFG_BOOL, F(enabled), "false", 0, 0,
     "Turns the profiler on. Anything but true/1/yes/on leaves the library inert: no thread, "
     "no file, nothing measurable."},
    {"DD_PROFILING_SAMPLE_RATE", PP_CFG_DOUBLE, F(sample_rate_hz), "100", 1, 1000,
     "Sampling passes per second over every Python thread (Hz)."},
    {"DD_PROFILING_UPLOAD_INTERVAL", PP_CFG_DOUBLE, F(upload_interval_s), "60", 0.1, 86400,
     "Seconds between two profile files; a last one is written at exit."},
    {"DD_PROFILING_MAX_FRAMES", PP_CFG_INT, F(max_frames), "64", 1, 2048,
     "Frames kept per stack, leaf first; deeper frames become one `<N frames omitted>` frame."},
    {"DD_PROFILING_OUTPUT_PPROF", PP_CFG_STRING, F(output_prefix), NULL, 0, 0,
     "Path prefix of the profiles: `<prefix>.<pid>.<seq>.pprof` and `.json`. Unset: a prefix "
     "under the temp dir, named once on stderr."},
    {"DD_PROFILING_MAX_TIME_USAGE_PCT", PP_CFG_DOUBLE, F(max_time_usage_pct), "1", 0.01, 100,
     "CPU budget of the sampler thread, in percent of one core; the sampling interval is "
     "stretched to stay under it."},
    {"DD_PROFILING_LOG_LEVEL", PP_CFG_LOGLEVEL, F(log_level), "warn", 0, 3,
     "Verbosity of the library's stderr lines: error, warn, info or debug (or 0-3)."},
    {"DD_PROFILING_TIMELINE_ENABLED", PP_CFG_BOOL, F(timeline), "true", 0, 0,
     "CPU and wall samples keep their time: each carries an `end_timestamp_ns` label (epoch ns) "
     "and is not summed with samples of other times, for Datadog's per-thread timeline (on by "
     "default, as in ddtrace 3.12 and later)."},
    {"DD_PROFILING_ENABLE_CODE_PROVENANCE", PP_CFG_BOOL, F(code_provenance), "true", 0, 0,
     "Finds which installed distribution (name, version) and which standard library each file "
     "of the profile belongs to, and writes it into the metadata for the exporter's "
     "`code-provenance.json` attachment."},
    {"DD_SERVICE", PP_CFG_STRING, F(service), NULL, 0, 0,
     "Service name, copied into the metadata."},
    {"DD_ENV", PP_CFG_STRING, F(env), NULL, 0, 0, "Environment name, copied into the metadata."},
    {"DD_VERSION", PP_CFG_STRING, F(version), NULL, 0, 0,
     "Application version, copied into the metadata."},
    {"DD_TAGS", PP_CFG_STRING, F(tags), NULL, 0, 0,
     "Comma-separated `key:value` tags, copied into the metadata."},
    {"DD_PROFILING_TAGS", PP_CFG_STRING, F(profiling_tags), NULL, 0, 0,
     "Comma-separated `key:value` tags for profiles only, copied into the metadata."},
    {"DD_PROFILING_K8S_CONTAINER", PP_CFG_STRING, F(container), NULL, 0, 0,
     "Name of the Kubernetes container (set by the injector), copied into the metadata."},
};
const size_t pp_cfg_table_len = sizeof pp_cfg_table / sizeof pp_cfg_table[0];

static int parse_loglevel(const char *s, int *out)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0 || (s[0] == '0' + i && s[1] == '\0'))
            return *out = i, 0;
    if (strcasecmp(s, "warning") == 0)
        return *out = PP_LOG_WARN, 0;
    return -1;
}

/* Stores text into the entry's field; returns -1 when text is not a valid value. */
static int apply(pp_config *cfg, const pp_cfg_entry *e, const char *text)
{
    char *field = (char *)cfg + e->offset;
    double d;
    switch (e->kind) {
    case PP_CFG_BOOL:
        return pp_value_bool(text, (bool *)field);
    case PP_CFG_DOUBLE:
        if (pp_value_double(text, e->min, e->max, &d))
            return -1;
        *(double *)field = d;
        return 0;
    case PP_CFG_INT:
        if (pp_value_double(text, e->min, e->max, &d) || d != (double)(long)d)
            return -1;
        *(int *)field = (int)d;
        return 0;
    case PP_CFG_LOGLEVEL:
        return parse_loglevel(text, (int *)field);
    case PP_CFG_STRING: {
        char **slot = (char **)field;
        free(*slot);
        *slot = strdup(text);
        return *slot ? 0 : -1;
    }
    }
    return -1;
}

static const char *expected(const pp_cfg_entry *e, char *buf, size_t len)
{
    switch (e->kind) {
    case PP_CFG_BOOL:
        return "true or false";
    case PP_CFG_LOGLEVEL:
        return "error, warn, info or debug";
    case PP_CFG_INT:
        snprintf(buf, len, "an integer from %g to %g", e->min, e->max);
        return buf;
    case PP_CFG_DOUBLE:
        snprintf(buf, len, "a number from %g to %g", e->min, e->max);
        return buf;
    case PP_CFG_STRING:
        break;
    }
    return "a string";
}

int pp_config_load(pp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < pp_cfg_table_len; i++)
        if (pp_cfg_table[i].def)
            apply(cfg, &pp_cfg_table[i], pp_cfg_table[i].def);
    int rejected = 0;
    for (size_t i = 0; i < pp_cfg_table_len; i++) {
        const pp_cfg_entry *e = &pp_cfg_table[i];
        const char *text = getenv(e->name);
        if (!text || (e->kind == PP_CFG_STRING && text[0] == '\0'))
            continue;
        if (apply(cfg, e, text) != 0) {
            char buf[64];
            pp_log(PP_LOG_ERROR, "%s=\"%.64s\" is not %s; using the default (%s)", e->name, text,
                   expected(e, buf, sizeof buf), e->def ? e->def : "unset");
            apply(cfg, e, e->def ? e->def : "");
            rejected++;
        }
    }
    return rejected;
}

void pp_config_free(pp_config *cfg)
{
    for (size_t i = 0; i < pp_cfg_table_len; i++) {
        if (pp_cfg_table[i].kind == PP_CFG_STRING) {
            char **slot = (char **)((char *)cfg + pp_cfg_table[i].offset);
            free(*slot);
            *slot = NULL;
        }
    }
}

void pp_config_write_doc(FILE *out)
{
    fprintf(out, "# libpodprof.so configuration\n\n"
                 "<!-- Generated from sampler/lib/config.c (the table the library parses); "
                 "do not edit. -->\n\n"
                 "The library reads these environment variables once, when it is loaded. A "
                 "malformed value logs one line on stderr and the default is used; it never stops "
                 "the application.\n\n"
                 "| variable | default | accepted values | meaning |\n"
                 "|---|---|---|---|\n");
    for (size_t i = 0; i < pp_cfg_table_len; i++) {
        const pp_cfg_entry *e = &pp_cfg_table[i];
        char buf[64];
        fprintf(out, "| `%s` | %s | %s | %s |\n", e->name, e->def ? e->def : "unset",
                expected(e, buf, sizeof buf), e->help);
    }
}

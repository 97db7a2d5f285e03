#include "event.h"

#include <cjson/cJSON.h>

#include "podprof/version.h"

static cJSON *exporter_counters(const ex_faults *f)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "profiles_seen", (double)f->profiles_seen);
    cJSON_AddNumberToObject(o, "uploads_ok", (double)f->uploads_ok);
    cJSON_AddNumberToObject(o, "uploads_failed", (double)f->uploads_failed);
    cJSON_AddNumberToObject(o, "retries", (double)f->retries);
    cJSON_AddNumberToObject(o, "bytes_sent", (double)f->bytes_sent);
    cJSON_AddNumberToObject(o, "spool_dropped", (double)f->spool_dropped);
    cJSON *faults = cJSON_AddObjectToObject(o, "faults");
    for (int k = 0; k < EX_FAULT_COUNT; k++)
        cJSON_AddNumberToObject(faults, ex_fault_name((ex_fault_kind)k), (double)f->count[k]);
    return o;
}

static cJSON *settings(const ex_meta *meta, const ex_config *cfg)
{
    cJSON *s = cJSON_CreateObject();
    if (meta->configured_rate_hz > 0)
        cJSON_AddNumberToObject(s, "sampling_rate_hz", meta->configured_rate_hz);
    if (meta->rate_hz > 0)
        cJSON_AddNumberToObject(s, "effective_sampling_rate_hz", meta->rate_hz);
    if (meta->period_ns > 0)
        cJSON_AddNumberToObject(s, "sampling_interval_us", (double)(meta->period_ns / 1000));
    cJSON_AddStringToObject(s, "output", cfg->agentless ? "agentless" : "agent");
    cJSON_AddNumberToObject(s, "api_timeout_ms", cfg->timeout_ms);
    cJSON_AddNumberToObject(s, "max_attempts", cfg->max_attempts);
    cJSON_AddStringToObject(s, "pod_labels_as_tags",
                            cfg->labels_as_tags ? cfg->labels_as_tags : "");
    cJSON_AddStringToObject(s, "exporter", "podprof " PODPROF_VERSION);
    return s;
}

char *ex_event_build(const ex_meta *meta, const char *tags_profiler, const ex_faults *faults,
                     const ex_config *cfg)
{
    char start[40], end[40];
    ex_format_rfc3339(meta->start_ns, start);
    ex_format_rfc3339(meta->end_ns, end);

    cJSON *ev = cJSON_CreateObject();
    cJSON *att = cJSON_AddArrayToObject(ev, "attachments");
    cJSON_AddItemToArray(att, cJSON_CreateString(EX_ATTACHMENT_NAME));
    cJSON_AddStringToObject(ev, "tags_profiler", tags_profiler);
    cJSON_AddStringToObject(ev, "start", start);
    cJSON_AddStringToObject(ev, "end", end);
    cJSON_AddStringToObject(ev, "family", "python");
    cJSON_AddStringToObject(ev, "version", "4");
    cJSON_AddNullToObject(ev, "endpoint_counts");

    cJSON *internal = cJSON_AddObjectToObject(ev, "internal");
    cJSON_AddStringToObject(internal, "podprof_version", PODPROF_VERSION);
    if (meta->period_ns > 0)
        cJSON_AddNumberToObject(internal, "sampling_interval_us", (double)(meta->period_ns / 1000));
    if (meta->rate_hz > 0)
        cJSON_AddNumberToObject(internal, "effective_sampling_rate_hz", meta->rate_hz);
    cJSON_AddItemToObject(internal, "sampler",
                          meta->counters ? cJSON_Duplicate(meta->counters, 1)
                                         : cJSON_CreateObject());
    cJSON_AddItemToObject(internal, "exporter", exporter_counters(faults));

    cJSON *info = cJSON_AddObjectToObject(ev, "info");
    cJSON *profiler = cJSON_AddObjectToObject(info, "profiler");
    cJSON_AddItemToObject(profiler, "settings", settings(meta, cfg));

    char *out = cJSON_PrintUnformatted(ev);
    cJSON_Delete(ev);
    return out;
}

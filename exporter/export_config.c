#include "export_config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "endpoint.h"
#include "podprof/setting_value.h"
#include "faults.h"

typedef enum { EX_CFG_STRING, EX_CFG_INT, EX_CFG_BOOL } ex_cfg_kind;

typedef struct ex_cfg_entry {
    const char *name;
    ex_cfg_kind kind;
    size_t offset;
    const char *def; /* as a user would write it; NULL = unset */
    long min, max;
    bool secret; /* never echoed in logs or event.json */
    const char *help;
} ex_cfg_entry;

#define F(field) offsetof(ex_config, field)

static const ex_cfg_entry table[] = {
    {"DD_TRACE_AGENT_URL", EX_CFG_STRING, F(agent_url), NULL, 0, 0, false,
     "Agent base URL, `http://host:port[/prefix]` or `unix:///path/to/apm.socket`; wins over "
     "host and port. Profiles go to `<url>/profiling/v1/input`."},
    {"DD_AGENT_HOST", EX_CFG_STRING, F(agent_host), "localhost", 0, 0, false,
     "Agent host (the injector sets it from `status.hostIP`). When neither it, the port nor the "
     "URL is set and `/var/run/datadog/apm.socket` exists, that socket is used, as dd-trace-py "
     "does."},
    {"DD_TRACE_AGENT_PORT", EX_CFG_INT, F(agent_port), "8126", 1, 65535, false,
     "Agent trace port."},
    {"DD_PROFILING_API_TIMEOUT_MS", EX_CFG_INT, F(timeout_ms), "10000", 100, 600000, false,
     "Bound on every upload request (connect, send and response), in milliseconds."},
    {"DD_PROFILING_AGENTLESS", EX_CFG_BOOL, F(agentless), "false", 0, 0, false,
     "Send directly to `https://intake.profile.<DD_SITE>/api/v2/profile` over TLS with certificate "
     "verification instead of the agent. Needs `DD_API_KEY`."},
    {"DD_API_KEY", EX_CFG_STRING, F(api_key), NULL, 0, 0, true,
     "API key for agentless uploads (sent as `DD-API-KEY`; never logged)."},
    {"DD_SITE", EX_CFG_STRING, F(site), "datadoghq.com", 0, 0, false,
     "Datadog site for agentless uploads."},
    {"DD_ENTITY_ID", EX_CFG_STRING, F(entity_id), NULL, 0, 0, false,
     "Sent as the `Datadog-Entity-ID` header (the injector sets the pod UID)."},
    {"DD_PROFILING_K8S_POD_NAME", EX_CFG_STRING, F(pod_name), NULL, 0, 0, false, "Tag `pod_name`."},
    {"DD_PROFILING_K8S_NAMESPACE", EX_CFG_STRING, F(pod_namespace), NULL, 0, 0, false,
     "Tag `kube_namespace`."},
    {"DD_PROFILING_K8S_NODE", EX_CFG_STRING, F(node_name), NULL, 0, 0, false, "Tag `kube_node`."},
    {"DD_PROFILING_K8S_LABELS_FILE", EX_CFG_STRING, F(labels_file), NULL, 0, 0, false,
     "Downward API `labels` file (`key=\"value\"` lines), re-read before every upload."},
    {"DD_PROFILING_POD_LABELS_AS_TAGS", EX_CFG_STRING, F(labels_as_tags), "*", 0, 0, false,
     "Which pod labels become tags: `*` (all, under their own name), or `label=tag,label2` "
     "(only these, renamed where `=tag` is given); empty for none. `pod-template-hash` and "
     "`controller-revision-hash` are never tags."},
    {"PODPROF_EXPORT_INTAKE_URL", EX_CFG_STRING, F(intake_url), NULL, 0, 0, false,
     "Overrides the agentless intake URL (testing, or a proxy in front of the intake)."},
    {"PODPROF_EXPORT_CA_FILE", EX_CFG_STRING, F(ca_file), NULL, 0, 0, false,
     "PEM bundle of CA certificates trusted for agentless TLS instead of the system store."},
    {"PODPROF_EXPORT_MAX_ATTEMPTS", EX_CFG_INT, F(max_attempts), "4", 1, 100, false,
     "Attempts per profile on retryable failures (refused, timeout, 5xx, 429) before it is "
     "dropped and counted."},
    {"PODPROF_EXPORT_RETRY_BASE_MS", EX_CFG_INT, F(retry_base_ms), "2000", 1, 600000, false,
     "First retry delay; doubles per attempt (capped at 60 s), with full jitter."},
    {"PODPROF_EXPORT_RESCAN_S", EX_CFG_INT, F(rescan_s), "10", 1, 3600, false,
     "Periodic spool rescan, in addition to inotify."},
    {"PODPROF_EXPORT_SPOOL_MAX_PROFILES", EX_CFG_INT, F(spool_max_profiles), "64", 1, 100000, false,
     "Most profiles kept waiting in the spool; beyond it the oldest are dropped."},
    {"PODPROF_EXPORT_SPOOL_MAX_MIB", EX_CFG_INT, F(spool_max_mib), "48", 1, 1 << 20, false,
     "Most bytes (MiB) of profiles kept waiting; beyond it the oldest are dropped."},
    {"PODPROF_EXPORT_DRAIN_MS", EX_CFG_INT, F(drain_ms), "10000", 0, 600000, false,
     "On SIGTERM, time allowed to upload what is complete before exiting 0."},
};

#define TABLE_LEN (sizeof table / sizeof table[0])

/* Applies one textual value; returns false when it does not parse. */
static bool apply(ex_config *cfg, const ex_cfg_entry *e, const char *value)
{
    char *field = (char *)cfg + e->offset;
    switch (e->kind) {
    case EX_CFG_STRING: {
        /* every string setting ends up in a URL, a path or an HTTP header: a control character
         * (CR LF would inject a header) is always a mistake */
        for (const char *p = value; p && *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return false;
        char *copy = value && *value ? strdup(value) : NULL;
        free(*(char **)field);
        *(char **)field = copy;
        return true;
    }
    case EX_CFG_INT: {
        long v;
        if (pp_value_long(value, e->min, e->max, &v) != 0)
            return false;
        *(int *)field = (int)v;
        return true;
    }
    case EX_CFG_BOOL:
        return pp_value_bool(value, (bool *)field) == 0;
    }
    return false;
}

int ex_config_load(ex_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < TABLE_LEN; i++)
        if (table[i].def)
            apply(cfg, &table[i], table[i].def);
    int rejected = 0;
    cfg->host_or_port_set = getenv("DD_AGENT_HOST") || getenv("DD_TRACE_AGENT_PORT");
    for (size_t i = 0; i < TABLE_LEN; i++) {
        const ex_cfg_entry *e = &table[i];
        const char *v = getenv(e->name);
        if (!v)
            continue;
        /* an empty labels policy means "no labels", unlike other empty strings */
        if (e->offset == F(labels_as_tags) && !*v) {
            free(cfg->labels_as_tags);
            cfg->labels_as_tags = strdup("");
            continue;
        }
        if (!apply(cfg, e, v)) {
            rejected++;
            if (e->secret)
                ex_log("%s: malformed value ignored, using the default", e->name);
            else if (e->kind == EX_CFG_STRING)
                ex_log("%s: contains control characters, using the default %s", e->name,
                       e->def ? e->def : "(unset)");
            else if (e->kind == EX_CFG_INT)
                ex_log("%s=%s: not an integer in [%ld, %ld], using the default %s", e->name, v,
                       e->min, e->max, e->def ? e->def : "(unset)");
            else
                ex_log("%s=%s: not a boolean (true/false), using the default %s", e->name, v,
                       e->def ? e->def : "(unset)");
        }
    }
    return rejected;
}

void ex_config_free(ex_config *cfg)
{
    for (size_t i = 0; i < TABLE_LEN; i++)
        if (table[i].kind == EX_CFG_STRING) {
            char **p = (char **)((char *)cfg + table[i].offset);
            free(*p);
            *p = NULL;
        }
}

bool ex_config_agent_configured(void)
{
    static const char *const names[] = {"DD_TRACE_AGENT_URL", "DD_AGENT_HOST"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const char *v = getenv(names[i]);
        if (v && *v)
            return true;
    }
    bool agentless = false;
    const char *v = getenv("DD_PROFILING_AGENTLESS");
    if (v && pp_value_bool(v, &agentless) == 0 && agentless)
        return true;
    return access(EX_DEFAULT_AGENT_SOCKET, F_OK) == 0;
}

static const char *kind_name(ex_cfg_kind k)
{
    return k == EX_CFG_INT ? "integer" : k == EX_CFG_BOOL ? "boolean" : "string";
}

void ex_config_write_help(FILE *out)
{
    fprintf(out, "environment:\n");
    for (size_t i = 0; i < TABLE_LEN; i++) {
        const ex_cfg_entry *e = &table[i];
        fprintf(out, "  %s (%s, default %s)\n      %s\n", e->name, kind_name(e->kind),
                e->def ? e->def : "unset", e->help);
    }
}

void ex_config_write_doc(FILE *out)
{
    fprintf(out, "# Exporter configuration\n\n"
                 "Generated from the table in `exporter/export_config.c` "
                 "(`podprof export --config-doc`); a test fails when the two differ.\n\n"
                 "The environment read by `podprof export` (and by `podprof run` when it uploads). "
                 "A malformed value logs one line and the default is used.\n\n"
                 "| variable | type | default | range | meaning |\n"
                 "| --- | --- | --- | --- | --- |\n");
    for (size_t i = 0; i < TABLE_LEN; i++) {
        const ex_cfg_entry *e = &table[i];
        char range[64] = "";
        if (e->kind == EX_CFG_INT)
            snprintf(range, sizeof range, "%ld–%ld", e->min, e->max);
        fprintf(out, "| `%s` | %s | %s%s%s | %s | %s |\n", e->name, kind_name(e->kind),
                e->def ? "`" : "", e->def ? e->def : "unset", e->def ? "`" : "", range, e->help);
    }
}

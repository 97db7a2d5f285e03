/* The exporter's settings, read from the environment. One table (export_settings.c) drives the
 * parser, `podprof export --help` and docs/config-exporter.md (tests/exporter checks the doc). */
#ifndef PODPROF_EXPORTER_CONFIG_H
#define PODPROF_EXPORTER_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

/* The exporter's memory limit when neither the setting nor a cgroup gives one: the chart's
 * default for the exporter container (sampler.exporterResources.memory). */
#define EX_MEMORY_DEFAULT_MIB 48
#define EX_MEMORY_DEFAULT_MIB_TEXT "48"

typedef struct ex_config {
    /* Strings are owned (NULL when unset). */
    char *agent_host;       /* DD_AGENT_HOST */
    int agent_port;         /* DD_TRACE_AGENT_PORT */
    char *agent_url;        /* DD_TRACE_AGENT_URL */
    int timeout_ms;         /* DD_PROFILING_API_TIMEOUT_MS */
    bool agentless;         /* DD_PROFILING_AGENTLESS */
    char *api_key;          /* DD_API_KEY */
    char *site;             /* DD_SITE */
    char *entity_id;        /* DD_ENTITY_ID */
    char *pod_name;         /* DD_PROFILING_K8S_POD_NAME */
    char *pod_namespace;    /* DD_PROFILING_K8S_NAMESPACE */
    char *node_name;        /* DD_PROFILING_K8S_NODE */
    char *labels_file;      /* DD_PROFILING_K8S_LABELS_FILE */
    char *labels_as_tags;   /* DD_PROFILING_POD_LABELS_AS_TAGS ("" = no labels) */
    int log_level;          /* DD_PROFILING_LOG_LEVEL (PP_LOG_*) */
    char *intake_url;       /* PODPROF_EXPORT_INTAKE_URL */
    char *ca_file;          /* PODPROF_EXPORT_CA_FILE */
    int max_attempts;       /* PODPROF_EXPORT_MAX_ATTEMPTS */
    int retry_base_ms;      /* PODPROF_EXPORT_RETRY_BASE_MS */
    int rescan_s;           /* PODPROF_EXPORT_RESCAN_S */
    int spool_max_profiles; /* PODPROF_EXPORT_SPOOL_MAX_PROFILES */
    int spool_max_mib;      /* PODPROF_EXPORT_SPOOL_MAX_MIB */
    int drain_ms;           /* PODPROF_EXPORT_DRAIN_MS */
    int memory_limit_mib;   /* PODPROF_EXPORT_MEMORY_LIMIT_MIB (0: the cgroup's limit) */
    bool host_or_port_set;  /* DD_AGENT_HOST or DD_TRACE_AGENT_PORT present in the environment */
} ex_config;

/* Defaults first, then the environment; a malformed value logs one line and keeps the default.
 * Sets the log level. Returns the number of refused values. */
int ex_config_load(ex_config *cfg);
void ex_config_free(ex_config *cfg);

/* True when the environment names an agent or agentless intake, or the Agent's default socket
 * exists (what `podprof run` checks). */
bool ex_config_agent_configured(void);

void ex_config_write_help(FILE *out);
void ex_config_write_doc(FILE *out);

#endif

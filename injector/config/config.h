/* The injector's settings. One table (config_table.c, on the shared settings engine of
 * podprof/settings.h) drives the flag parser, the environment (PODPROF_INJECTOR_<NAME>), the
 * config file (JSON or YAML, key <name> with '-' as '_'), --help and docs/config-injector.md.
 * Precedence: default < config file < environment < flag. */
#ifndef PODPROF_INJECTOR_CONFIG_H
#define PODPROF_INJECTOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "podprof/log.h"
#include "podprof/settings.h"

enum inj_sidecar_mode { INJ_SIDECAR_NATIVE, INJ_SIDECAR_CONTAINER };

/* imagePullPolicy values, indexed by inj_config.image_pull_policy. */
extern const char *const inj_pull_policies[];

typedef struct inj_strlist {
    char **items;
    size_t n;
} inj_strlist;

/* Strings are owned and never NULL (an empty setting is ""). */
typedef struct inj_config {
    /* serve */
    char *listen;
    char *tls_cert;
    char *tls_key;
    int workers;
    int request_timeout_s;
    int idle_timeout_s;
    int max_body_bytes;
    int memory_limit_bytes; /* 0: the cgroup's, else the chart's default */
    int max_header_bytes;
    int shutdown_timeout_s;
    int cert_check_interval_s;
    int log_level; /* PP_LOG_* */
    /* mutation */
    char *namespace_;
    char *sampler_image;
    int image_pull_policy; /* index into inj_pull_policies */
    char *init_cpu;
    char *init_memory;
    char *exporter_cpu;
    char *exporter_memory;
    char *library_volume_size;
    char *spool_volume_size;
    int run_as_user;
    char *agent_url;
    int sidecar_mode; /* enum inj_sidecar_mode */
    inj_strlist skip_containers;
    inj_strlist default_env; /* "NAME=VALUE" items */
    char *pod_labels_as_tags;
    bool agentless;
    char *site;
    char *api_key_secret;
    char *api_key_secret_key;
} inj_config;

/* Scope bits (a setting's program flags) say which commands read it, for --help and the docs. */
enum { INJ_SCOPE_SERVE = PP_SETTING_PROGRAM, INJ_SCOPE_MUTATE = PP_SETTING_PROGRAM << 1 };

/* Fills cfg with the defaults. Never fails. */
void inj_config_defaults(inj_config *cfg);
void inj_config_free(inj_config *cfg);

/* Applies the config file (--config FILE, or PODPROF_INJECTOR_CONFIG), then the environment, then
 * argv's flags in scope. Flags not in the table are left for the caller: consumed ones are removed
 * from argv and *argc is updated. Validates the result. On error writes one line to err and
 * returns -1. */
int inj_config_load(inj_config *cfg, int *argc, char **argv, int scope, char *err, size_t errlen);

/* The settings of the commands in scope, for --help; every setting as docs/config-injector.md. */
void inj_config_print_help(FILE *out, int scope);
void inj_config_print_markdown(FILE *out);

#endif

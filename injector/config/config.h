/* The injector's settings. One table in config.c drives the flag parser, the environment
 * (PODPROF_INJECTOR_<NAME>), the config file (JSON or YAML, key <name> with '-' as '_'), --help
 * and docs/config-injector.md. Precedence: default < config file < environment < flag. */
#ifndef PODPROF_INJECTOR_CONFIG_H
#define PODPROF_INJECTOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum inj_sidecar_mode { INJ_SIDECAR_NATIVE, INJ_SIDECAR_CONTAINER };
enum inj_log_level { INJ_LOG_ERROR, INJ_LOG_WARN, INJ_LOG_INFO, INJ_LOG_DEBUG };

typedef struct inj_strlist {
    char **items;
    size_t n;
} inj_strlist;

typedef struct inj_config {
    /* serve */
    char *listen;
    char *tls_cert;
    char *tls_key;
    int workers;
    int request_timeout_s;
    int idle_timeout_s;
    int max_body_bytes;
    int max_header_bytes;
    int shutdown_timeout_s;
    int cert_check_interval_s;
    int log_level;
    /* mutation */
    char *namespace_;
    char *sampler_image;
    char *image_pull_policy;
    char *init_cpu;
    char *init_memory;
    char *exporter_cpu;
    char *exporter_memory;
    char *library_volume_size;
    char *spool_volume_size;
    int run_as_user;
    char *agent_url;
    int sidecar_mode;
    inj_strlist skip_containers;
    inj_strlist default_env; /* "NAME=VALUE" items */
    char *pod_labels_as_tags;
    bool agentless;
    char *site;
    char *api_key_secret;
    char *api_key_secret_key;
} inj_config;

/* Scope bits say which commands read a setting (for --help and the docs). */
enum { INJ_SCOPE_SERVE = 1, INJ_SCOPE_MUTATE = 2 };

/* Fills cfg with the defaults. Never fails. */
void inj_config_defaults(inj_config *cfg);
void inj_config_free(inj_config *cfg);

/* Applies the config file (if path is non-NULL), then the environment, then argv's flags in scope.
 * Flags not in the table are left for the caller: consumed ones are removed from argv and *argc is
 * updated. Validates the result. On error writes one line to err and returns -1. */
int inj_config_load(inj_config *cfg, int *argc, char **argv, int scope, char *err, size_t errlen);

/* One option's flag value by name (for commands that need the raw `--config` path first). */
void inj_config_print_help(FILE *out, int scope);
void inj_config_print_markdown(FILE *out);

#endif

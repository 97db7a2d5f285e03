/* The library's settings, read once from the environment (DESIGN.md §4). One table in config.c
 * drives parsing, defaults and docs/configuration.md. A malformed value logs one line and falls
 * back to the default. */
#ifndef PODPROF_SAMPLER_CONFIG_H
#define PODPROF_SAMPLER_CONFIG_H

#include <stdbool.h>

typedef struct pp_config {
    bool enabled;              /* DD_PROFILING_ENABLED */
    double sample_rate_hz;     /* DD_PROFILING_SAMPLE_RATE (100) */
    double upload_interval_s;  /* DD_PROFILING_UPLOAD_INTERVAL (60) */
    int max_frames;            /* DD_PROFILING_MAX_FRAMES (64) */
    double max_time_usage_pct; /* DD_PROFILING_MAX_TIME_USAGE_PCT (1) */
    int log_level;             /* DD_PROFILING_LOG_LEVEL: 0 error, 1 warn, 2 info, 3 debug */
    bool timeline;             /* DD_PROFILING_TIMELINE_ENABLED */
    bool code_provenance;      /* DD_PROFILING_ENABLE_CODE_PROVENANCE */
    /* Strings are owned by the config (NULL when unset). */
    char
        *output_prefix; /* DD_PROFILING_OUTPUT_PPROF, or a temp-dir default (output.c says where) */
    char *service, *env, *version, *tags, *profiling_tags; /* DD_SERVICE ... DD_PROFILING_TAGS */
    char *container;                                       /* DD_PROFILING_K8S_CONTAINER */
} pp_config;

#endif

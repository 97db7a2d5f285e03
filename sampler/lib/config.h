/* The library's settings, read once from the environment when it is loaded. One table
 * (config_table.c) drives parsing, defaults and docs/config-sampler.md. A malformed value logs one
 * line and falls back to the default. */
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
    bool memory_enabled;       /* DD_PROFILING_MEMORY_ENABLED (true) */
    bool heap_enabled;         /* DD_PROFILING_HEAP_ENABLED (true) */
    int heap_sample_size;      /* DD_PROFILING_HEAP_SAMPLE_SIZE (bytes; 0 = derived from RAM) */
    bool memory_mem_domain_enabled;  /* DD_PROFILING_MEMORY_MEM_DOMAIN_ENABLED (false) */
    bool exception_enabled;          /* DD_PROFILING_EXCEPTION_ENABLED (true) */
    int exception_sampling_interval; /* DD_PROFILING_EXCEPTION_SAMPLING_INTERVAL (100) */
    bool gil_enabled;                /* DD_PROFILING_GIL_ENABLED (true) */
    bool lock_enabled;               /* DD_PROFILING_LOCK_ENABLED (true) */
    double capture_pct;              /* DD_PROFILING_CAPTURE_PCT (1) */
    bool timeline;                   /* DD_PROFILING_TIMELINE_ENABLED */
    bool code_provenance;            /* DD_PROFILING_ENABLE_CODE_PROVENANCE */
    /* Strings are owned by the config (NULL when unset). */
    char *output_prefix; /* DD_PROFILING_OUTPUT_PPROF; NULL: profile_output.c picks the temp dir */
    char *service, *env, *version, *tags, *profiling_tags; /* DD_SERVICE ... DD_PROFILING_TAGS */
    char *container;                                       /* DD_PROFILING_K8S_CONTAINER */
} pp_config;

#endif

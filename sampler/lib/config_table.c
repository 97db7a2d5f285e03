/* The library's settings table: every environment variable libpodprof.so reads, with its default,
 * range and help. The library parses it (config.c), docs/config-sampler.md is written from it, and
 * the injector links this file to know which settings a pod may pass through annotations. Data
 * only, so linking it costs the injector nothing else. */
#include <stddef.h>

#include "config.h"
#include "podprof/log.h"
#include "podprof/names.h"
#include "podprof/settings_tables.h"
#include "podprof/spool_format.h"

#define F(field) offsetof(pp_config, field)

static const char *const log_levels[] = PP_LOG_LEVEL_CHOICES;

const pp_setting pp_sampler_settings[] = {
    {.name = PP_ENV_PROFILING_ENABLED,
     .kind = PP_SETTING_BOOL,
     .offset = F(enabled),
     .def = "false",
     .help = "Turns the profiler on. Anything but true/1/yes/on leaves the library inert: no "
             "thread, no file, nothing measurable."},
    {.name = PP_ENV_SAMPLE_RATE,
     .kind = PP_SETTING_DOUBLE,
     .offset = F(sample_rate_hz),
     .def = "100",
     .min = 1,
     .max = 1000,
     .flags = PP_SETTING_POD,
     .help = "Sampling passes per second over every Python thread (Hz)."},
    {.name = PP_ENV_UPLOAD_INTERVAL,
     .kind = PP_SETTING_DOUBLE,
     .offset = F(upload_interval_s),
     .def = "60",
     .min = 0.1,
     .max = 86400,
     .flags = PP_SETTING_POD,
     .help = "Seconds between two profile files; a last one is written at exit."},
    {.name = PP_ENV_MAX_FRAMES,
     .kind = PP_SETTING_INT,
     .offset = F(max_frames),
     .def = "64",
     .min = 1,
     .max = 2048,
     .flags = PP_SETTING_POD,
     .help = "Frames kept per stack, leaf first; deeper frames become one `<N frames omitted>` "
             "frame."},
    {.name = PP_ENV_OUTPUT_PPROF,
     .kind = PP_SETTING_STRING,
     .offset = F(output_prefix),
     .help = "Path prefix of the profiles: `" PP_SPOOL_PATTERN PP_SPOOL_PPROF
             "` and `" PP_SPOOL_JSON "`. Unset: a prefix under the temp dir, named once on "
             "stderr."},
    {.name = PP_ENV_MAX_TIME_USAGE_PCT,
     .kind = PP_SETTING_DOUBLE,
     .offset = F(max_time_usage_pct),
     .def = "1",
     .min = 0.01,
     .max = 100,
     .flags = PP_SETTING_POD,
     .help = "CPU budget of the sampler thread, in percent of one core; the sampling interval is "
             "stretched to stay under it."},
    {.name = PP_ENV_LOG_LEVEL,
     .kind = PP_SETTING_CHOICE,
     .offset = F(log_level),
     .def = "warn",
     .choices = log_levels,
     .flags = PP_SETTING_POD,
     .help = "Verbosity of the library's stderr lines: error, warn, info or debug (or 0-3)."},
    {.name = PP_ENV_MEMORY_ENABLED,
     .kind = PP_SETTING_BOOL,
     .offset = F(memory_enabled),
     .def = "true",
     .flags = PP_SETTING_POD,
     .help = "Allocation profiles (`alloc-space`, `alloc-samples`): the interpreter's object "
             "allocator is wrapped and allocations are sampled by bytes."},
    {.name = PP_ENV_HEAP_ENABLED,
     .kind = PP_SETTING_BOOL,
     .offset = F(heap_enabled),
     .def = "true",
     .flags = PP_SETTING_POD,
     .help = "Live-heap profiles (`heap-space`, `heap-live-samples`): sampled allocations are "
             "tracked until freed (needs " PP_ENV_MEMORY_ENABLED ")."},
    {.name = PP_ENV_HEAP_SAMPLE_SIZE,
     .kind = PP_SETTING_INT,
     .offset = F(heap_sample_size),
     .min = 1,
     .max = 1 << 30,
     .flags = PP_SETTING_POD,
     .help = "Mean distance in bytes between two sampled allocations. Unset: the larger of "
             "1 MiB and the machine's memory / 65536, as Datadog's profiler derives it."},
    {.name = PP_ENV_MEMORY_MEM_DOMAIN_ENABLED,
     .kind = PP_SETTING_BOOL,
     .offset = F(memory_mem_domain_enabled),
     .def = "false",
     .flags = PP_SETTING_POD,
     .help = "Also wrap the `PyMem_Malloc` domain (buffers, not objects: larger blocks, more "
             "calls)."},
    {.name = PP_ENV_EXCEPTION_ENABLED,
     .kind = PP_SETTING_BOOL,
     .offset = F(exception_enabled),
     .def = "true",
     .flags = PP_SETTING_POD,
     .help = "Exception profiles (`exception-samples`, label `exception type`): raised exceptions "
             "are sampled through `sys.monitoring` (CPython 3.12 and later; a no-op with one info "
             "line on older versions)."},
    {.name = PP_ENV_EXCEPTION_SAMPLING_INTERVAL,
     .kind = PP_SETTING_INT,
     .offset = F(exception_sampling_interval),
     .def = "100",
     .min = 1,
     .max = 1 << 24,
     .flags = PP_SETTING_POD,
     .help = "Mean number of raised exceptions between two samples (each exception is sampled "
             "with probability 1/N and counts for N, so totals estimate the true count)."},
    {.name = PP_ENV_GIL_ENABLED,
     .kind = PP_SETTING_BOOL,
     .offset = F(gil_enabled),
     .def = "true",
     .flags = PP_SETTING_POD,
     .help = "GIL wait profiles (`gil-wait/nanoseconds`): how long each thread waited to take the "
             "GIL, charged to the stack it waited at (one sample per sampling interval of waiting "
             "on average, weighted so totals estimate the true time). Builds with a GIL only: off "
             "on free-threaded builds."},
    {.name = PP_ENV_LOCK_ENABLED,
     .kind = PP_SETTING_BOOL,
     .offset = F(lock_enabled),
     .def = "true",
     .flags = PP_SETTING_POD,
     .help = "Lock profiles (`lock-acquire`, `lock-acquire-wait`, `lock-release`, "
             "`lock-release-hold`, label `lock name`) on every CPython, with no Python wrapper: "
             "waits at CPython's own semaphore calls; acquisitions, releases and hold times there "
             "on 3.8 to 3.12, at the C methods of `threading.Lock` and `RLock` from 3.13."},
    {.name = PP_ENV_CAPTURE_PCT,
     .kind = PP_SETTING_DOUBLE,
     .offset = F(capture_pct),
     .def = "1",
     .min = 0.01,
     .max = 100,
     .flags = PP_SETTING_POD,
     .help = "Percentage of lock acquisitions sampled (each with probability pct/100, counting for "
             "100/pct, with its release and hold time); lock waits are sampled by waited time "
             "(one sample per sampling interval of waiting on average)."},
    {.name = PP_ENV_TIMELINE_ENABLED,
     .kind = PP_SETTING_BOOL,
     .offset = F(timeline),
     .def = "true",
     .flags = PP_SETTING_POD,
     .help = "CPU and wall samples keep their time: each carries an `end_timestamp_ns` label "
             "(epoch ns) and is not summed with samples of other times, for Datadog's per-thread "
             "timeline (on by default, as in ddtrace 3.12 and later)."},
    {.name = PP_ENV_ENABLE_CODE_PROVENANCE,
     .kind = PP_SETTING_BOOL,
     .offset = F(code_provenance),
     .def = "true",
     .flags = PP_SETTING_POD,
     .help = "Finds which installed distribution (name, version) and which standard library each "
             "file of the profile belongs to, and writes it into the metadata for the exporter's "
             "`code-provenance.json` attachment."},
    {.name = PP_ENV_SERVICE,
     .kind = PP_SETTING_STRING,
     .offset = F(service),
     .help = "Service name, copied into the metadata."},
    {.name = PP_ENV_ENV,
     .kind = PP_SETTING_STRING,
     .offset = F(env),
     .help = "Environment name, copied into the metadata."},
    {.name = PP_ENV_VERSION,
     .kind = PP_SETTING_STRING,
     .offset = F(version),
     .help = "Application version, copied into the metadata."},
    {.name = PP_ENV_TAGS,
     .kind = PP_SETTING_STRING,
     .offset = F(tags),
     .help = "Comma-separated `key:value` tags, copied into the metadata."},
    {.name = PP_ENV_PROFILING_TAGS,
     .kind = PP_SETTING_STRING,
     .offset = F(profiling_tags),
     .flags = PP_SETTING_POD,
     .help = "Comma-separated `key:value` tags for profiles only, copied into the metadata."},
    {.name = PP_ENV_K8S_CONTAINER,
     .kind = PP_SETTING_STRING,
     .offset = F(container),
     .help = "Name of the Kubernetes container (set by the injector), copied into the metadata."},
};
const size_t pp_sampler_settings_len = sizeof pp_sampler_settings / sizeof pp_sampler_settings[0];

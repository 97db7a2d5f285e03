/* Whether ddtrace's own profiler runs in this process. ddtrace (2.8 and later) exports its
 * profiles through libdd_wrapper, a native library its profiling extension modules link, whose
 * ddup_is_initialized() says whether the profiler has started its exporter. ddtrace loads that
 * library whenever its settings module is imported, profiling on or off, so the library being
 * loaded means nothing by itself. */
#ifndef PODPROF_SAMPLER_DDTRACE_PROFILER_H
#define PODPROF_SAMPLER_DDTRACE_PROFILER_H

/* 1 when ddtrace's profiler has started in this process, else 0. Walks the loaded objects (a few
 * microseconds) until libdd_wrapper is found, then one call into it. Not async-signal-safe. */
int pp_ddtrace_profiler_active(void);

#endif

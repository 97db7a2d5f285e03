/* One sampling pass over every Python thread, the aggregate it feeds, the adaptive interval and
 * the periodic flush. Everything here runs on the sampler thread only (preload.c owns it). */
#ifndef PODPROF_SAMPLER_SAMPLER_H
#define PODPROF_SAMPLER_SAMPLER_H

#include <stdint.h>

#include "config.h"
#include "runtime.h"

typedef struct pp_sampler pp_sampler;

/* wake: makes the sampler thread's sleep return early (used when allocation samples pile up). */
pp_sampler *pp_sampler_new(const pp_config *cfg, const pp_runtime *rt, void (*wake)(void));
void pp_sampler_free(pp_sampler *s);

/* One pass: a stack, CPU delta and wall delta per thread. now_ns: CLOCK_MONOTONIC. Returns how
 * many Python threads it found, or -1 when it could not tell (finalizing, a failed read). */
long pp_sampler_pass(pp_sampler *s, int64_t now_ns);

/* Between passes: names the allocation samples recorded so far. */
void pp_sampler_drain(pp_sampler *s);

/* Re-tunes the interval against DD_PROFILING_MAX_TIME_USAGE_PCT (call after each pass). */
void pp_sampler_adapt(pp_sampler *s, int64_t now_ns);
int64_t pp_sampler_interval_ns(const pp_sampler *s);
/* Counts a pass that could not start on time (the previous one ran past the next deadline). */
void pp_sampler_note_overrun(pp_sampler *s);

/* 1 when the upload interval has elapsed since the profile started. */
int pp_sampler_flush_due(const pp_sampler *s, int64_t now_ns);
/* Writes the current profile and starts the next one. */
void pp_sampler_flush(pp_sampler *s);

/* Monotonic and realtime clocks in ns. */
int64_t pp_now_ns(int clock);

#endif

/* The sampler thread's half of the GIL wait profiles: it names the stacks the GIL wait observer
 * recorded (gil_hooks.h) and adds them as `gil-wait/nanoseconds`, each weighted by the waiting
 * time it stands for. One sample point falls on every sampling interval of waited time on
 * average (the wall profile's interval, 10 ms at the default 100 Hz), per thread. */
#ifndef PODPROF_SAMPLER_GIL_PROFILE_H
#define PODPROF_SAMPLER_GIL_PROFILE_H

#include <stdint.h>

#include "config.h"
#include "record_names.h"
#include "runtime.h"

/* Sets the observer up and registers its installer; once per process (a fork child keeps the
 * parent's). filling as for pp_memory_start. Returns the sample types it adds as a
 * pp_flush_info value_mask (0: none). */
uint32_t pp_gil_start(const pp_config *cfg, const pp_runtime *rt, void (*filling)(void));

/* Each pass: names what the observer recorded since the last drain and adds it to the profile. */
void pp_gil_drain(const pp_record_namer *n);

pp_record_counters pp_gil_counters(void);

#endif

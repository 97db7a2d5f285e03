/* The sampler thread's half of the exception profiles: it names the stacks the RAISE tool
 * recorded (exception_hooks.h) and adds them as `exception-samples/count`, each weighted by the
 * sampling interval (a raise is sampled with probability 1/interval), with an `exception type`
 * label. */
#ifndef PODPROF_SAMPLER_EXCEPTION_PROFILE_H
#define PODPROF_SAMPLER_EXCEPTION_PROFILE_H

#include <stdint.h>

#include "config.h"
#include "record_names.h"
#include "runtime.h"

/* Sets the tool up and registers its installer; once per process (a fork child keeps the
 * parent's). filling as for pp_memory_start. Returns the sample types it adds as a
 * pp_flush_info value_mask (0: none). */
uint32_t pp_exception_start(const pp_config *cfg, const pp_runtime *rt, void (*filling)(void));

/* Each pass: names what the tool recorded since the last drain and adds it to the profile. */
void pp_exception_drain(const pp_record_namer *n);

pp_record_counters pp_exception_counters(void);

#endif

/* The sampler thread's half of the lock profiles: it names the stacks the lock observer recorded
 * (lock_hooks.h) and adds them as `lock-acquire-wait/nanoseconds` and `lock-acquire/count`,
 * `lock-release-hold/nanoseconds` and `lock-release/count` (every CPython), each weighted by what
 * it stands for, with a `lock name` label: `file.py:LINE` of the frame that took, waited for or
 * released the lock, the first frame outside threading.py and queue.py (so a Condition, Semaphore,
 * Event or queue.Queue wait is named where the application called it). Waits are sampled by waited
 * time (one sample point per sampling interval of waiting on average, the wall profile's interval),
 * acquisitions by count (DD_PROFILING_CAPTURE_PCT). */
#ifndef PODPROF_SAMPLER_LOCK_PROFILE_H
#define PODPROF_SAMPLER_LOCK_PROFILE_H

#include <stdint.h>

#include "config.h"
#include "record_names.h"
#include "runtime.h"

/* Sets the observer up and registers its installer; once per process (a fork child keeps the
 * parent's). filling as for pp_memory_start. Returns the sample types it adds as a
 * pp_flush_info value_mask (0: none). */
uint32_t pp_lock_start(const pp_config *cfg, const pp_runtime *rt, void (*filling)(void));

/* Each pass: names what the observer recorded since the last drain and adds it to the profile. */
void pp_lock_drain(const pp_record_namer *n);

pp_record_counters pp_lock_counters(void);

#endif

/* The in-memory profile between two flushes: interned strings, and stack -> values.
 *
 * Contract between the sampler (producer) and the writer (pprof encoding):
 * - Only the sampler thread calls pp_agg_* while sampling; a flush runs on that same thread
 *   between passes, or on the exiting thread after the sampler thread has stopped, so the
 *   aggregate needs no lock.
 * - Memory is bounded: past the configured limits new stacks are folded into one
 *   "<stacks dropped>" entry and counted; interned strings survive flushes so the sampler may
 *   cache string ids, until the table outgrows its bound: then it is cleared and the generation
 *   number changes, which tells the sampler to drop every cached id.
 */
#ifndef PODPROF_SAMPLER_AGGREGATE_H
#define PODPROF_SAMPLER_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct pp_agg pp_agg;

typedef uint32_t pp_str; /* interned string id; 0 is the empty string */

typedef struct pp_frame {
    pp_str name;     /* function name (qualified name on 3.11+) */
    pp_str filename; /* co_filename */
    int32_t line;    /* exact line, 0 when unknown */
} pp_frame;
/* Stacks are compared as bytes. */
_Static_assert(sizeof(pp_frame) == 3 * sizeof(uint32_t), "pp_frame has no padding");

typedef struct pp_sample_key {
    uint64_t thread_id;        /* Python's thread id (threading.get_ident()) */
    uint64_t native_thread_id; /* the kernel tid */
    pp_str thread_name;
    const pp_frame *frames; /* leaf first */
    size_t n_frames;
    size_t n_omitted; /* frames beyond max_frames; the writer adds "<N frames omitted>" */
    /* One more string label (0, 0: none), e.g. "exception type" = "builtins.ValueError": samples
     * that differ in it are different stacks. */
    pp_str label_key, label_value;
} pp_sample_key;

pp_agg *pp_agg_new(size_t max_stacks, size_t max_string_bytes);
void pp_agg_free(pp_agg *agg);

pp_str pp_agg_intern(pp_agg *agg, const char *s, size_t len);
const char *pp_agg_string(const pp_agg *agg, pp_str id);
/* Ids run from 0 to this count - 1. */
size_t pp_agg_string_count(const pp_agg *agg);
uint64_t pp_agg_generation(const pp_agg *agg);

/* The values a stack carries, one per sample type the library can write, in the order of the
 * profile's sample types. A profile writes the subset that is enabled (pprof_writer.h). */
typedef enum {
    PP_V_CPU_NS,
    PP_V_CPU_SAMPLES,
    PP_V_WALL_NS,
    PP_V_WALL_SAMPLES,
    PP_V_EXCEPTION_SAMPLES,    /* raised exceptions the sampled ones stand for */
    PP_V_LOCK_ACQUIRE_WAIT_NS, /* time waited for locks that the sampled waits stand for */
    PP_V_LOCK_ACQUIRE,         /* lock acquisitions the sampled ones stand for */
    PP_V_LOCK_RELEASE_HOLD_NS, /* time the sampled acquisitions held their locks, weighted */
    PP_V_LOCK_RELEASE,         /* releases of the sampled acquisitions, weighted as those */
    PP_V_ALLOC_SPACE,          /* bytes the sampled allocations stand for */
    PP_V_ALLOC_SAMPLES,        /* allocations they stand for */
    PP_V_HEAP_SPACE,           /* live bytes they stand for at the profile's end */
    PP_V_HEAP_LIVE,            /* live allocations they stand for */
    PP_V_GIL_WAIT_NS,          /* time waited for the GIL that the sampled waits stand for */
    PP_V_COUNT
} pp_value_index;

/* Adds one observation of a stack: one CPU and one wall sample with these durations. */
void pp_agg_add(pp_agg *agg, const pp_sample_key *key, int64_t cpu_ns, int64_t wall_ns);

/* Adds values[0..PP_V_COUNT) to whatever the stack already holds. Returns the stack's index (stable
 * until the next reset), or -1 when it was folded into "<stacks dropped>". */
long pp_agg_add_values(pp_agg *agg, const pp_sample_key *key, const int64_t *values);

/* The same in two steps, for observations that keep their own time (timeline.h) and so refer to
 * their stack by index instead of adding to it: pp_agg_stack finds or creates key's stack without
 * adding anything and returns its index, or -1 when the stack bounds are reached; pp_agg_add_at
 * adds to the stack at that index (-1: to the "<stacks dropped>" entry, counted). A stack that
 * only timeline records refer to is visited with zero values. */
long pp_agg_stack(pp_agg *agg, const pp_sample_key *key);
void pp_agg_add_at(pp_agg *agg, long index, const int64_t *values);

/* The key of the stack at index (as pp_agg_add_values returned it); 0, or -1 when out of range. */
int pp_agg_stack_key(const pp_agg *agg, long index, pp_sample_key *key);
size_t pp_agg_stack_count(const pp_agg *agg);

/* Visits every stack with its summed values (PP_V_COUNT of them). */
typedef void (*pp_agg_visit_fn)(void *ctx, const pp_sample_key *key, const int64_t *values);
void pp_agg_foreach(const pp_agg *agg, pp_agg_visit_fn fn, void *ctx);

/* Lets rename(ctx, thread_id, native_thread_id, name) replace the thread name of every stack
 * (before a flush, for names learnt late). Stacks that become equal stay separate entries. */
typedef pp_str (*pp_agg_rename_fn)(void *ctx, uint64_t thread_id, uint64_t native_thread_id,
                                   pp_str name);
void pp_agg_rename_threads(pp_agg *agg, pp_agg_rename_fn rename, void *ctx);

/* Empties the stacks (not the strings) after a flush. */
void pp_agg_reset_stacks(pp_agg *agg);

uint64_t pp_agg_dropped_stacks(const pp_agg *agg);

#endif

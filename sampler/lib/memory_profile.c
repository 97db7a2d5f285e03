/* Naming recorded allocations and building the memory sample types (memory_profile.h). */
#include "memory_profile.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "alloc_hooks.h"
#include "byte_sampling.h"
#include "log.h"

/* Samples in flight between two drains (one pass, 10 ms by default), and live allocations
 * tracked at most (as Datadog's profiler: 65535). */
#define RING_RECORDS 2048
#define HEAP_SLOTS 65536
/* The store of live stacks: bounds, and when it is rebuilt from the live entries only. */
#define STORE_MAX_STACKS 16384
#define STORE_MAX_STRING_BYTES (2u << 20)
/* DD_PROFILING_HEAP_SAMPLE_SIZE unset: max(RAM / 65536, 1 MiB), as Datadog derives it. */
#define DEFAULT_MEAN_MIN (1u << 20)
#define DEFAULT_MEAN_RAM_DIVISOR 65536

static const char UNNAMED[] = "<unnamed allocation>";

static int started;
static uint32_t value_mask;
static double mean_bytes;
static pp_agg *store; /* live stacks; strings of its own */
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static pp_record_counters drained;

static void lock_store(void)
{
    pthread_mutex_lock(&store_lock);
}

static void unlock_store(void)
{
    pthread_mutex_unlock(&store_lock);
}

void pp_memory_fork_prepare(void)
{
    lock_store();
}

void pp_memory_fork_done(void)
{
    unlock_store();
}

static double derived_mean(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double ram = pages > 0 && page > 0 ? (double)pages * (double)page : 0;
    double mean = ram / DEFAULT_MEAN_RAM_DIVISOR;
    return mean > DEFAULT_MEAN_MIN ? mean : DEFAULT_MEAN_MIN;
}

uint32_t pp_memory_start(const pp_config *cfg, const pp_runtime *rt, void (*filling)(void))
{
    if (started)
        return value_mask;
    started = 1;
    if (!cfg->memory_enabled)
        return 0;
    mean_bytes = cfg->heap_sample_size > 0 ? (double)cfg->heap_sample_size : derived_mean();
    pp_alloc_hooks_options opt = {.mean_bytes = mean_bytes,
                                  .heap = cfg->heap_enabled,
                                  .mem_domain = cfg->memory_mem_domain_enabled,
                                  .max_frames = (size_t)cfg->max_frames,
                                  .ring_records = RING_RECORDS,
                                  .heap_slots = HEAP_SLOTS};
    if (cfg->heap_enabled) {
        store = pp_agg_new(STORE_MAX_STACKS, STORE_MAX_STRING_BYTES);
        if (!store)
            return 0;
    }
    if (pp_alloc_hooks_setup(rt, &opt) != 0)
        return 0;
    pp_alloc_hooks_ring()->filling = filling;
    value_mask = 1u << PP_V_ALLOC_SPACE | 1u << PP_V_ALLOC_SAMPLES;
    if (cfg->heap_enabled)
        value_mask |= 1u << PP_V_HEAP_SPACE | 1u << PP_V_HEAP_LIVE;
    pp_log(PP_LOG_DEBUG, "memory profiles: one sample per %.0f bytes on average%s", mean_bytes,
           cfg->heap_enabled ? ", live heap tracked" : "");
    return value_mask;
}

/* Copies the strings of key's frames and thread name from one aggregate into another. */
static void translate(const pp_agg *from, pp_agg *to, pp_sample_key *key, pp_frame *room)
{
    for (size_t i = 0; i < key->n_frames; i++) {
        const pp_frame *f = &key->frames[i];
        const char *name = pp_agg_string(from, f->name);
        const char *file = pp_agg_string(from, f->filename);
        room[i].name = pp_agg_intern(to, name, strlen(name));
        room[i].filename = pp_agg_intern(to, file, strlen(file));
        room[i].line = f->line;
    }
    const char *thread = pp_agg_string(from, key->thread_name);
    key->thread_name = pp_agg_intern(to, thread, strlen(thread));
    key->frames = room;
}

static int64_t scaled(double x)
{
    return (int64_t)(x + 0.5);
}

void pp_memory_drain(const pp_record_namer *n)
{
    pp_alloc_ring *ring = pp_alloc_hooks_ring();
    if (!ring)
        return;
    pp_live_heap *heap = pp_alloc_hooks_heap();
    pp_frame room[2048];
    pp_alloc_record *rec;
    int locked = 0;
    pp_record_run run = {0};
    /* the weight of the last size seen (a loop's allocations are mostly of one size) */
    uint64_t weighed = 0;
    double weight = 0;
    while ((rec = pp_alloc_ring_peek(ring)) != NULL) {
        pp_sample_key key;
        drained.unnamed += (uint64_t)pp_record_name(n, rec, UNNAMED, &run, &key);
        if (!weight || rec->size != weighed) {
            weight = 1.0 / pp_sample_probability((double)rec->size, mean_bytes);
            weighed = rec->size;
        }
        int64_t values[PP_V_COUNT] = {0};
        values[PP_V_ALLOC_SPACE] = scaled((double)rec->size * weight);
        values[PP_V_ALLOC_SAMPLES] = scaled(weight);
        pp_agg_add_values(n->agg, &key, values);
        drained.samples++;
        if (heap && rec->heap_slot >= 0 && key.n_frames <= sizeof room / sizeof room[0]) {
            pp_heap_entry *e = &heap->entries[rec->heap_slot];
            if (pp_live_heap_key(heap, (size_t)rec->heap_slot) == rec->ptr && e->seq == rec->seq) {
                if (!locked) {
                    lock_store();
                    locked = 1;
                }
                pp_sample_key stored = key;
                translate(n->agg, store, &stored, room);
                int64_t zero[PP_V_COUNT] = {0};
                atomic_store(&e->stack, pp_agg_add_values(store, &stored, zero));
            }
        }
        pp_alloc_ring_release(ring, rec);
    }
    if (locked)
        unlock_store();
}

/* Keeps only the stacks live entries use: a new store, the entries pointed at it. */
/* The live entry in slot i and its stack's key in store, or NULL: an empty slot, an entry
 * recorded after the last drain or whose stack was dropped, or a stack deeper than room_len. */
static pp_heap_entry *live_entry(pp_live_heap *heap, size_t i, pp_sample_key *key, size_t room_len)
{
    if (!pp_live_heap_key(heap, i))
        return NULL;
    pp_heap_entry *e = &heap->entries[i];
    if (pp_agg_stack_key(store, atomic_load(&e->stack), key) != 0 || key->n_frames > room_len)
        return NULL;
    return e;
}

static void rebuild_store(pp_live_heap *heap)
{
    pp_agg *fresh = pp_agg_new(STORE_MAX_STACKS, STORE_MAX_STRING_BYTES);
    if (!fresh)
        return;
    pp_frame room[2048];
    int64_t zero[PP_V_COUNT] = {0};
    for (size_t i = 0; i < pp_live_heap_slots(heap); i++) {
        pp_sample_key key;
        pp_heap_entry *e = live_entry(heap, i, &key, sizeof room / sizeof room[0]);
        if (!e)
            continue;
        translate(store, fresh, &key, room);
        atomic_store(&e->stack, pp_agg_add_values(fresh, &key, zero));
    }
    pp_agg_free(store);
    store = fresh;
}

void pp_memory_add_heap(const pp_record_namer *n)
{
    pp_live_heap *heap = pp_alloc_hooks_heap();
    if (!heap || !store)
        return;
    lock_store();
    pp_frame room[2048];
    for (size_t i = 0; i < pp_live_heap_slots(heap); i++) {
        pp_sample_key key;
        pp_heap_entry *e = live_entry(heap, i, &key, sizeof room / sizeof room[0]);
        if (!e)
            continue;
        translate(store, n->agg, &key, room);
        double weight = 1.0 / pp_sample_probability((double)e->size, mean_bytes);
        int64_t values[PP_V_COUNT] = {0};
        values[PP_V_HEAP_SPACE] = scaled((double)e->size * weight);
        values[PP_V_HEAP_LIVE] = scaled(weight);
        pp_agg_add_values(n->agg, &key, values);
    }
    if (pp_agg_stack_count(store) > STORE_MAX_STACKS / 2)
        rebuild_store(heap);
    unlock_store();
}

void pp_memory_counters_get(pp_memory_counters *c)
{
    memset(c, 0, sizeof *c);
    pp_alloc_ring *ring = pp_alloc_hooks_ring();
    pp_live_heap *heap = pp_alloc_hooks_heap();
    c->alloc = pp_record_counters_report(&drained, ring, pp_alloc_hooks_installed());
    c->heap_tracked = heap ? atomic_load(&heap->tracked) : 0;
    c->heap_dropped = heap ? atomic_load(&heap->dropped) : 0;
    if (heap)
        for (size_t i = 0; i < pp_live_heap_slots(heap); i++)
            c->heap_live += pp_live_heap_key(heap, i) != 0;
}

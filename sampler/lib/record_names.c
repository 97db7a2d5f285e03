/* Naming the stacks hooks recorded (record_names.h). */
#include "record_names.h"

#include <stdatomic.h>
#include <string.h>

static const char GONE[] = "<code freed before it was named>";

pp_walk_buf pp_record_walk_buf(const pp_walk_buf *room, const pp_alloc_record *rec)
{
    pp_walk_buf b = *room;
    b.code = rec->code;
    b.where = rec->where;
    b.owner = rec->owner;
    b.tlbc = rec->tlbc;
    b.name = rec->name;
    b.memo_key = (uint32_t)rec->native_id; /* a thread's recorded stacks resolve like its own */
    return b;
}

int pp_record_name(const pp_record_namer *n, const pp_alloc_record *rec, const char *unnamed,
                   pp_record_run *run, pp_sample_key *key)
{
    pp_walk_buf b = pp_record_walk_buf(n->walk, rec);
    size_t frames = 0;
    memset(key, 0, sizeof *key);
    key->thread_id = rec->thread_id;
    key->native_thread_id = (uint64_t)(uint32_t)rec->native_id;
    if (!run->named || run->thread_id != rec->thread_id || run->native_id != rec->native_id) {
        run->thread_id = rec->thread_id;
        run->native_id = rec->native_id;
        run->thread_name = n->thread_name(n->ctx, rec->thread_id, rec->native_id);
        run->named = 1;
    }
    key->thread_name = run->thread_name;
    key->n_omitted = rec->n_omitted;
    pp_frame gone = {pp_agg_intern(n->agg, GONE, sizeof GONE - 1), 0, 0};
    int nameless = 0;
    if (rec->n_raw == 0 ||
        pp_walk_resolve(n->rt, n->codes, &b, rec->n_raw, &gone, &frames) != PP_WALK_OK ||
        frames == 0) {
        /* no Python frame (interpreter start-up or shutdown), or code objects gone already */
        nameless = 1;
        n->walk->frames[0] = (pp_frame){pp_agg_intern(n->agg, unnamed, strlen(unnamed)), 0, 0};
        frames = 1;
        key->n_omitted = 0;
    }
    key->frames = n->walk->frames;
    key->n_frames = frames;
    return nameless;
}

void pp_record_drain(const pp_record_namer *n, pp_alloc_ring *ring, const char *unnamed,
                     pp_record_add_fn add, pp_record_counters *c)
{
    pp_alloc_record *rec;
    pp_record_run run = {0};
    while (ring && (rec = pp_alloc_ring_peek(ring)) != NULL) {
        pp_sample_key key;
        c->unnamed += (uint64_t)pp_record_name(n, rec, unnamed, &run, &key);
        add(n, rec, &key);
        c->samples++;
        pp_alloc_ring_release(ring, rec);
    }
}

pp_record_counters pp_record_counters_report(const pp_record_counters *drained, pp_alloc_ring *ring,
                                             int installed)
{
    pp_record_counters c = *drained;
    c.dropped = ring ? atomic_load(&ring->dropped) : 0;
    c.installed = installed;
    return c;
}

/* The sampled-allocation ring (alloc_ring.h). A cell whose turn equals the position is free for
 * that position's producer; turn == position + 1 means published; the consumer hands the cell
 * to the next lap with turn = position + cap. */
#include "alloc_ring.h"

#include <stdlib.h>

pp_alloc_record *pp_alloc_records_new(size_t n, size_t max_frames, size_t label_bytes)
{
    pp_alloc_record *cells = calloc(n, sizeof *cells);
    uintptr_t *code = calloc(n * max_frames, sizeof *code);
    uintptr_t *where = calloc(n * max_frames, sizeof *where);
    uintptr_t *name = calloc(n * max_frames, sizeof *name);
    uint8_t *owner = calloc(n * max_frames, sizeof *owner);
    int32_t *tlbc = calloc(n * max_frames, sizeof *tlbc);
    char *label = label_bytes ? calloc(n, label_bytes) : NULL;
    if (!cells || !code || !where || !name || !owner || !tlbc || (label_bytes && !label)) {
        free(cells);
        free(code);
        free(where);
        free(name);
        free(owner);
        free(tlbc);
        free(label);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        cells[i].code = code + i * max_frames;
        cells[i].where = where + i * max_frames;
        cells[i].name = name + i * max_frames;
        cells[i].owner = owner + i * max_frames;
        cells[i].tlbc = tlbc + i * max_frames;
        cells[i].label = label ? label + i * label_bytes : NULL;
    }
    return cells;
}

void pp_alloc_records_free(pp_alloc_record *cells)
{
    if (!cells)
        return;
    free(cells[0].code);
    free(cells[0].where);
    free(cells[0].name);
    free(cells[0].owner);
    free(cells[0].tlbc);
    free(cells[0].label);
    free(cells);
}

pp_alloc_ring *pp_alloc_ring_new(size_t cap, size_t max_frames, size_t label_bytes)
{
    size_t c = 16;
    while (c < cap)
        c *= 2;
    pp_alloc_ring *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cap = c;
    r->max_frames = max_frames;
    r->label_bytes = label_bytes;
    r->cells = pp_alloc_records_new(c, max_frames, label_bytes);
    if (!r->cells) {
        free(r);
        return NULL;
    }
    pp_alloc_ring_reset(r);
    return r;
}

void pp_alloc_ring_reset(pp_alloc_ring *r)
{
    for (size_t i = 0; i < r->cap; i++)
        atomic_store(&r->cells[i].turn, i);
    atomic_store(&r->head, 0);
    r->tail = 0;
}

pp_alloc_record *pp_alloc_ring_claim(pp_alloc_ring *r)
{
    uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);
    for (;;) {
        pp_alloc_record *c = &r->cells[pos & (r->cap - 1)];
        uint64_t turn = atomic_load_explicit(&c->turn, memory_order_acquire);
        int64_t dif = (int64_t)(turn - pos);
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&r->head, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed)) {
                c->seq = pos;
                if (r->filling && (pos & (r->cap / 4 - 1)) == 0 && pos)
                    r->filling();
                return c;
            }
        } else if (dif < 0) {
            atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
            return NULL;
        } else {
            pos = atomic_load_explicit(&r->head, memory_order_relaxed);
        }
    }
}

void pp_alloc_ring_publish(pp_alloc_ring *r, pp_alloc_record *rec)
{
    (void)r;
    atomic_store_explicit(&rec->turn, rec->seq + 1, memory_order_release);
}

pp_alloc_record *pp_alloc_ring_peek(pp_alloc_ring *r)
{
    pp_alloc_record *c = &r->cells[r->tail & (r->cap - 1)];
    uint64_t turn = atomic_load_explicit(&c->turn, memory_order_acquire);
    return turn == r->tail + 1 ? c : NULL;
}

void pp_alloc_ring_release(pp_alloc_ring *r, pp_alloc_record *rec)
{
    atomic_store_explicit(&rec->turn, r->tail + r->cap, memory_order_release);
    r->tail++;
}

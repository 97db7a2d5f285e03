/* The reads that start a pass, batched (pass_head.h). */
#include "pass_head.h"

#include <stdlib.h>
#include <string.h>

#include "read_plan.h"
#include "safe_read.h"
#include "spread_hash.h"

/* Plan ranges by address: twice the ranges, so probes stay short. */
#define INDEX_BITS 11
#define INDEX_SLOTS (1u << INDEX_BITS)

struct pp_pass_head {
    pp_read_req plan[PP_PASS_HEAD_RANGES]; /* this pass's, their copies in buf */
    size_t n_plan;
    uint16_t index[INDEX_SLOTS];        /* plan index + 1 by address; 0: empty */
    uint16_t slot[PP_PASS_HEAD_RANGES]; /* where each plan range sits in index (cleared so) */
    pp_span next[PP_PASS_HEAD_RANGES];  /* what this pass read, in order */
    size_t n_next, next_bytes;
    uint8_t *buf; /* PP_PASS_HEAD_BYTES */
};

pp_pass_head *pp_pass_head_new(void)
{
    pp_pass_head *h = calloc(1, sizeof *h);
    if (h && !(h->buf = malloc(PP_PASS_HEAD_BYTES))) {
        free(h);
        h = NULL;
    }
    return h;
}

void pp_pass_head_free(pp_pass_head *h)
{
    if (!h)
        return;
    free(h->buf);
    free(h);
}

void pp_pass_head_start(pp_pass_head *h, int batch)
{
    for (size_t i = 0; i < h->n_plan; i++)
        h->index[h->slot[i]] = 0;
    h->n_plan = batch ? h->n_next : 0;
    size_t at = 0;
    for (size_t i = 0; i < h->n_plan; i++) {
        h->plan[i] = (pp_read_req){h->buf + at, h->next[i].addr, h->next[i].len, 0};
        at += h->next[i].len;
        /* a range planned twice is found at its first place, which holds the same bytes */
        uint32_t slot = pp_spread(h->next[i].addr, INDEX_BITS);
        while (h->index[slot] && h->plan[h->index[slot] - 1].addr != h->next[i].addr)
            slot = (slot + 1) % INDEX_SLOTS;
        if (!h->index[slot])
            h->index[slot] = (uint16_t)(i + 1);
        h->slot[i] = (uint16_t)slot;
    }
    h->n_next = 0;
    h->next_bytes = 0;
    if (h->n_plan)
        pp_read_many(h->plan, h->n_plan);
}

void pp_pass_head_note(pp_pass_head *h, uintptr_t addr, size_t len)
{
    if (h->n_next < PP_PASS_HEAD_RANGES && len <= PP_PASS_HEAD_BYTES - h->next_bytes) {
        h->next[h->n_next++] = (pp_span){addr, len};
        h->next_bytes += len;
    }
}

int pp_pass_head_take(pp_pass_head *h, void *dst, uintptr_t addr, size_t len)
{
    if (!h->n_plan)
        return -1;
    uint32_t slot = pp_spread(addr, INDEX_BITS);
    while (h->index[slot] && h->plan[h->index[slot] - 1].addr != addr)
        slot = (slot + 1) % INDEX_SLOTS;
    const pp_read_req *r = h->index[slot] ? &h->plan[h->index[slot] - 1] : NULL;
    if (!r || r->len != len || !r->ok)
        return -1;
    memcpy(dst, r->dst, len);
    pp_pass_head_note(h, addr, len);
    return 0;
}

int pp_pass_head_read(void *ctx, void *dst, uintptr_t addr, size_t len)
{
    pp_pass_head *h = ctx;
    if (pp_pass_head_take(h, dst, addr, len) == 0)
        return 0;
    if (pp_read(dst, addr, len) != 0)
        return -1;
    pp_pass_head_note(h, addr, len);
    return 0;
}

/* The bounded timeline of CPU and wall observations (timeline.h). */
#include "timeline.h"

#include <stdlib.h>
#include <string.h>

#define PP_TIMELINE_FIRST_CAP 1024

/* The record a stack's latest observation went into, and that observation's pass (low 32 bits:
 * only "the previous pass" is ever asked, and a profile holds far fewer than 2^32 passes). */
typedef struct stack_tail {
    uint32_t record_plus1; /* 0: none since the last reset */
    uint32_t pass;
} stack_tail;

struct pp_timeline {
    pp_timeline_record *records;
    size_t n, cap, max_records;
    size_t frames, max_frames; /* the records' stacks' frames together */
    stack_tail *tails;         /* indexed by stack, max_stacks entries */
    size_t max_stacks;
    size_t tails_used; /* 1 + the highest stack index with a tail since the last reset */
    uint64_t refused;
};

pp_timeline *pp_timeline_new(size_t max_records, size_t max_frames, size_t max_stacks)
{
    if (max_records == 0 || max_records > UINT32_MAX - 1 || max_stacks > UINT32_MAX)
        return NULL;
    pp_timeline *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->max_records = max_records;
    t->max_frames = max_frames;
    t->max_stacks = max_stacks;
    /* calloc of a large block maps zero pages: only the tails of stacks in use cost memory. */
    t->tails = calloc(max_stacks ? max_stacks : 1, sizeof *t->tails);
    if (!t->tails) {
        free(t);
        return NULL;
    }
    return t;
}

void pp_timeline_free(pp_timeline *t)
{
    if (!t)
        return;
    free(t->records);
    free(t->tails);
    free(t);
}

static bool grow(pp_timeline *t)
{
    if (t->cap >= t->max_records)
        return false;
    size_t cap = t->cap ? t->cap * 2 : PP_TIMELINE_FIRST_CAP;
    if (cap > t->max_records)
        cap = t->max_records;
    pp_timeline_record *r = realloc(t->records, cap * sizeof *r);
    if (!r)
        return false;
    t->records = r;
    t->cap = cap;
    return true;
}

bool pp_timeline_add(pp_timeline *t, uint32_t stack, size_t frames, uint64_t pass, int64_t end_ns,
                     int64_t cpu_ns, int64_t wall_ns)
{
    if (stack >= t->max_stacks) {
        t->refused++;
        return false;
    }
    stack_tail *tail = &t->tails[stack];
    if (tail->record_plus1 && tail->pass == (uint32_t)(pass - 1)) {
        pp_timeline_record *r = &t->records[tail->record_plus1 - 1];
        if (r->wall_ns + wall_ns <= PP_TIMELINE_MAX_RUN_NS && r->passes < UINT32_MAX) {
            r->passes++;
            r->end_ns = end_ns;
            r->cpu_ns += cpu_ns;
            r->wall_ns += wall_ns;
            tail->pass = (uint32_t)pass;
            return true;
        }
    }
    if (frames > t->max_frames - t->frames || (t->n == t->cap && !grow(t))) {
        t->refused++;
        return false;
    }
    t->frames += frames;
    pp_timeline_record *r = &t->records[t->n++];
    r->stack = stack;
    r->passes = 1;
    r->end_ns = end_ns;
    r->cpu_ns = cpu_ns;
    r->wall_ns = wall_ns;
    tail->record_plus1 = (uint32_t)t->n;
    tail->pass = (uint32_t)pass;
    if (stack >= t->tails_used)
        t->tails_used = (size_t)stack + 1;
    return true;
}

const pp_timeline_record *pp_timeline_records(const pp_timeline *t, size_t *n)
{
    *n = t->n;
    return t->records;
}

void pp_timeline_reset(pp_timeline *t)
{
    memset(t->tails, 0, t->tails_used * sizeof *t->tails);
    t->tails_used = 0;
    t->n = 0;
    t->frames = 0;
}

uint64_t pp_timeline_refused(const pp_timeline *t)
{
    return t->refused;
}

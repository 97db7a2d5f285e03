#include "frame_reader.h"

#include <stdlib.h>
#include <string.h>

#include "safe_read.h"

/* A code reference that cannot be one: the frame was read while being written. */
#define TORN_CODE ((uintptr_t)1)

static uintptr_t get_ptr(const uint8_t *b, int32_t off)
{
    uintptr_t v;
    memcpy(&v, b + off, sizeof v);
    return v;
}

int pp_walk_buf_init(pp_walk_buf *b, size_t cap)
{
    memset(b, 0, sizeof *b);
    b->cap = cap;
    b->frames = calloc(cap, sizeof *b->frames);
    b->code = calloc(cap, sizeof *b->code);
    b->where = calloc(cap, sizeof *b->where);
    b->owner = calloc(cap, sizeof *b->owner);
    b->tlbc = calloc(cap, sizeof *b->tlbc);
    b->verified = calloc(cap, sizeof *b->verified);
    b->resolved = calloc(cap, sizeof *b->resolved);
    b->result = calloc(cap, sizeof *b->result);
    if (!b->frames || !b->code || !b->where || !b->owner || !b->tlbc || !b->verified ||
        !b->resolved || !b->result) {
        pp_walk_buf_free(b);
        return -1;
    }
    return 0;
}

void pp_walk_buf_free(pp_walk_buf *b)
{
    free(b->frames);
    free(b->code);
    free(b->where);
    free(b->owner);
    free(b->tlbc);
    free(b->verified);
    free(b->resolved);
    free(b->result);
    memset(b, 0, sizeof *b);
}

/* Where the bytecode the frame executes starts: the code object's own copy, or on free-threaded
 * builds with thread-local bytecode the copy of index tlbc. 0 when unreadable. */
static uintptr_t bytecode_start(const pp_py_layout *l, const pp_code_info *ci, uintptr_t code,
                                int32_t tlbc)
{
    if (tlbc == 0 || l->co_tlbc < 0)
        return code + (uintptr_t)l->co_code; /* entries[0] is the code object's own bytecode */
    int64_t size;
    uintptr_t entry;
    pp_field f[] = {{l->tlbc_size, sizeof size, &size},
                    {l->tlbc_entries + tlbc * (int32_t)sizeof(uintptr_t), sizeof entry, &entry}};
    if (tlbc < 0 || tlbc > 4096 || !ci->tlbc || pp_read_fields(ci->tlbc, f, 2) != 0 || tlbc >= size)
        return 0;
    return entry;
}

/* Resolves raw frame i into b->frames[*n]; returns 1 when emitted, 0 when skipped, -1 on read
 * failure or a torn frame. */
static inline int resolve(const pp_py_layout *l, pp_code_cache *cache, pp_walk_buf *b, size_t i,
                          pp_frame *out, const pp_code_info **entry)
{
    *entry = NULL;
    uintptr_t code = b->code[i];
    if (code == TORN_CODE)
        return -1;
    uint8_t header[PP_COPY_CODE];
    /* (the entry may have been given to another code object since, by a frame resolved earlier) */
    const pp_code_info *ci = b->verified[i] && b->verified[i]->addr == code ? b->verified[i] : NULL;
    if (!ci) {
        /* not prefetched: unreadable, not a code object, or evicted by another in this stack */
        if (!code || (size_t)l->co_size > sizeof header ||
            pp_read(header, code, (size_t)l->co_size))
            return -1;
        ci = pp_code_cache_get(cache, code, header);
    }
    if (!ci)
        /* 3.13+: f_executable may be None or another non-code object; not a Python frame. */
        return l->code_ref == PP_CODE_PTR ? -1 : 0;
    if (b->name && b->name[i] != ci->name_ptr)
        return -1; /* not the code object that ran when the stack was recorded */
    *entry = ci;
    long offset;
    if (l->frame_model == PP_FRAMES_OBJECT) {
        int32_t lasti = (int32_t)(uint32_t)b->where[i];
        offset = lasti < 0 ? -1 : (long)lasti * l->lasti_unit;
    } else {
        uintptr_t start = bytecode_start(l, ci, code, b->tlbc[i]);
        if (!start)
            return -1;
        offset = ((long)b->where[i] - (long)start) / 2;
        /* -1: 3.11/3.12 prev_instr before the first instruction */
        if (offset < -1 || (ci->nunits >= 0 && offset >= ci->nunits))
            return -1; /* the instruction pointer of another code object: torn */
        if (b->owner[i] != (uint8_t)l->owner_generator && offset < ci->firsttraceable)
            return 0; /* frame still being set up (_PyFrame_IsIncomplete) */
    }
    out->name = ci->name;
    out->filename = ci->filename;
    out->line = pp_code_line(cache, ci, offset);
    return 1;
}

/* The code object a frame's code field refers to; TORN_CODE when it cannot be one. */
static inline uintptr_t code_of(const pp_py_layout *l, uintptr_t ref)
{
    if (l->code_ref != PP_CODE_STACKREF)
        return ref;
    /* A frame being pushed or popped: its _PyStackRef is NULL or holds a tagged int. */
    if (ref == l->ref_null || (ref & l->ref_int_tag) == l->ref_int_tag)
        return TORN_CODE;
    return ref & ~l->ref_tag_bits;
}

/* Copies what resolving needs out of the frame at fr into raw slot i. */
static inline void keep_raw(const pp_py_layout *l, pp_frame_view_fn view, void *ctx,
                            const uint8_t *fr, pp_walk_buf *b, size_t i)
{
    b->code[i] = code_of(l, get_ptr(fr, l->fr_code));
    b->tlbc[i] = 0;
    if (b->name) {
        int32_t off = l->co_qualname >= 0 ? l->co_qualname : l->co_name;
        uintptr_t scratch;
        const void *name = !b->code[i] || b->code[i] == TORN_CODE
                               ? NULL
                               : view(ctx, &scratch, b->code[i] + (uintptr_t)off, sizeof scratch);
        b->name[i] = 0;
        if (name)
            memcpy(&b->name[i], name, sizeof b->name[i]);
    }
    if (l->frame_model == PP_FRAMES_OBJECT) {
        int32_t lasti;
        memcpy(&lasti, fr + l->fr_instr, sizeof lasti);
        b->where[i] = (uint32_t)lasti;
        b->owner[i] = 0;
    } else {
        b->where[i] = get_ptr(fr, l->fr_instr);
        b->owner[i] = fr[l->fr_owner];
        if (l->fr_tlbc_index >= 0)
            memcpy(&b->tlbc[i], fr + l->fr_tlbc_index, sizeof b->tlbc[i]);
    }
}

/* Whether a frame whose previous link is NULL can be the oldest of a live thread's chain (3.11+;
 * owner is its owner field). From 3.12 every entry into the interpreter from C pushes an entry
 * frame (FRAME_OWNED_BY_CSTACK; from 3.14 the thread's base frame, FRAME_OWNED_BY_INTERPRETER, lies
 * below them all), so the chain always ends at one. On 3.11 a resumed generator's frame links to
 * whatever frame the thread was running, so the chain ends at a thread-owned frame unless the
 * thread has no Python frame below the generator at all (a C thread resuming it: rare, and such a
 * sample is dropped). A generator or coroutine frame at the end is one read while the generator
 * was suspending or resuming, its previous link already or still NULL: its callers are missing. */
static int may_end_chain(const pp_py_layout *l, uint8_t owner)
{
    if (l->owner_shim_min >= 0)
        return owner >= (uint8_t)l->owner_shim_min;
    return l->owner_generator < 0 || owner != (uint8_t)l->owner_generator;
}

pp_walk_result pp_walk_raw(const pp_py_layout *l, pp_frame_view_fn view, void *ctx, uintptr_t top,
                           pp_walk_buf *b, size_t *raw, size_t *omitted)
{
    uint8_t scratch[PP_COPY_FRAME];
    int owned = l->frame_model != PP_FRAMES_OBJECT && l->fr_owner >= 0;
    b->reached_end = 0;
    b->last_owner = 0;
    *raw = 0;
    *omitted = 0;
    /* Brent's cycle detection: O(1) memory whatever the depth. */
    uintptr_t checkpoint = 0;
    size_t power = 1, since = 0;
    for (size_t steps = 0; top && steps < PP_HARD_WALK_LIMIT; steps++) {
        const uint8_t *fr = (size_t)l->fr_size > sizeof scratch
                                ? NULL
                                : view(ctx, scratch, top, (size_t)l->fr_size);
        if (!fr)
            return PP_WALK_READ_FAILED;
        /* C-entry shim frames (3.12, 3.13), interpreter-owned entry frames (3.14+) */
        int shim = l->owner_shim_min >= 0 && fr[l->fr_owner] >= (uint8_t)l->owner_shim_min;
        if (owned)
            b->last_owner = fr[l->fr_owner];
        if (!shim) {
            if (*raw < b->cap)
                keep_raw(l, view, ctx, fr, b, (*raw)++);
            else
                (*omitted)++;
        }
        uintptr_t next = get_ptr(fr, l->fr_previous);
        if (next && (next == top || next == checkpoint))
            return PP_WALK_CYCLE;
        if (++since == power) {
            checkpoint = top;
            power *= 2;
            since = 0;
        }
        top = next;
    }
    if (top)
        (*omitted)++; /* walk limit reached: at least one more frame exists */
    else
        b->reached_end = owned && (*raw || *omitted);
    return PP_WALK_OK;
}

/* Whether b's raw frame i is the slot's frame at j (a recorded stack's name pointer included). */
static int same_frame(const pp_walk_buf *b, size_t i, const pp_resolve_slot *m, size_t j)
{
    return b->where[i] == m->where[j] && b->code[i] == m->code[j] && b->owner[i] == m->owner[j] &&
           (!b->name || b->name[i] == m->name[j]);
}

/* Whether b's raw frames [i, raw) are the slot's frames lined up with them (and a recorded stack's
 * name pointers the slot's): compared as blocks from the leaf side, so a difference near the leaf,
 * where a thread's stacks mostly differ, ends the comparison within the first bytes. */
static int same_frames(const pp_walk_buf *b, size_t i, size_t raw, const pp_resolve_slot *m)
{
    size_t j = m->cap - raw + i, len = raw - i;
    return memcmp(b->where + i, m->where + j, len * sizeof *b->where) == 0 &&
           memcmp(b->code + i, m->code + j, len * sizeof *b->code) == 0 &&
           memcmp(b->owner + i, m->owner + j, len * sizeof *b->owner) == 0 &&
           (!b->name || memcmp(b->name + i, m->name + j, len * sizeof *b->name) == 0);
}

/* The frames [*p, raw) of b that the slot's stack (the same thread's last) ends with too, lined up
 * on the oldest frame, each resolved with an entry still valid: verified in this verification pass
 * (pass) and the same fill; *p is lowered from raw. A slot remembered in this verification pass
 * with no entry of the cache filled since (fills) holds entries that are all still valid: only
 * the frames are compared, the entries are not visited (one cache miss per frame saved). */
static void stable_tail(const pp_walk_buf *b, size_t raw, const pp_resolve_slot *m, uint64_t pass,
                        uint64_t fills, size_t *p)
{
    /* b's frame i lines up with the slot's at at + i (i >= lo: within both, and among the slot's
     * frames that all have an entry) */
    size_t at = m->cap - raw;
    size_t lo = m->n >= raw ? 0 : raw - m->n;
    if (m->held_from > at + lo)
        lo = m->held_from - at;
    /* The longest run of equal frames that ends at the oldest: tried whole, then without the 1,
     * 2, 4, ... frames nearest the leaf, then narrowed frame by frame (past the last run that
     * failed, the first frame that differs is near). */
    size_t i = raw;
    for (size_t skip = 0; lo + skip < raw; skip = skip ? 2 * skip : 1)
        if (same_frame(b, lo + skip, m, at + lo + skip) && same_frames(b, lo + skip + 1, raw, m)) {
            i = lo + skip;
            break;
        }
    while (i > lo && same_frame(b, i - 1, m, at + i - 1))
        i--;
    if (m->pass != pass || m->fills != fills) {
        /* (an entry of the same address and fill still holds the name pointer m->name[j]) */
        size_t k = raw;
        for (; k > i; k--) {
            size_t j = at + k - 1;
            const pp_code_info *e = m->entry[j];
            if (e->addr != m->code[j] || e->checked_pass != pass || e->fill != m->fill[j])
                break;
        }
        i = k;
    }
    *p = i;
}

/* Appends the slot's emitted frames lined up with b's [p, raw) (the stable tail) to out; returns
 * how many. */
static size_t reuse_tail(const pp_resolve_slot *m, size_t p, size_t raw, pp_frame *out)
{
    size_t at = m->cap - raw;
    if (m->emitted_from <= at + p) {
        memcpy(out, m->frame + at + p, (raw - p) * sizeof *out);
        return raw - p;
    }
    size_t k = 0;
    for (size_t j = at + p; j < m->cap; j++)
        if (m->emitted[j])
            out[k++] = m->frame[j];
    return k;
}

/* Remembers b's raw frames in the slot: the tail [p, raw) kept where the slot holds it (the same
 * thread's last stack, lined up on the oldest frame), the head [0, p) as resolved now (results: 1
 * emitted, 0 skipped, -1 not reusable; frames and entries per raw frame). */
static void remember_stack(pp_resolve_slot *m, uint64_t key, const pp_walk_buf *b, size_t raw,
                           size_t p, const int8_t *result, const pp_frame *frames,
                           const pp_code_info *const *entries, uint64_t pass, uint64_t fills)
{
    size_t at = m->cap - raw;
    for (size_t i = 0; i < p; i++) {
        size_t j = at + i;
        m->code[j] = b->code[i];
        m->where[j] = b->where[i];
        m->owner[j] = b->owner[i];
        /* (an entry the cache handed out without marking it verified, a dying code object's,
         * is not reused) */
        m->entry[j] =
            result[i] >= 0 && entries[i] && entries[i]->checked_pass == pass ? entries[i] : NULL;
        m->fill[j] = m->entry[j] ? m->entry[j]->fill : 0;
        m->name[j] = m->entry[j] ? m->entry[j]->name_ptr : 0;
        m->frame[j] = frames[i];
        m->emitted[j] = (uint8_t)(result[i] > 0);
    }
    m->key = key;
    m->n = raw;
    m->pass = pass;
    m->fills = fills;
    /* (the tail kept has every entry: stable_tail stops short of a frame without) */
    m->held_from = at + p;
    while (m->held_from > at && m->entry[m->held_from - 1])
        m->held_from--;
    /* (no tail kept: the slot's frames there start again from the end) */
    if (p == raw || m->emitted_from < at + p)
        m->emitted_from = at + p;
    if (m->emitted_from == at + p)
        while (m->emitted_from > at && m->emitted[m->emitted_from - 1])
            m->emitted_from--;
}

pp_walk_result pp_walk_resolve(const pp_runtime *rt, pp_code_cache *cache, pp_walk_buf *b,
                               size_t raw, const pp_frame *unknown, size_t *n)
{
    /* A private copy of the layout: the stores into b would otherwise reload its offsets for
     * every frame. */
    const pp_py_layout layout = rt->layout;
    pp_resolve_slot *m =
        b->memo && b->memo_key && raw <= pp_resolve_memo_cap(b->memo) && layout.fr_tlbc_index < 0
            ? pp_resolve_memo_slot(b->memo, b->memo_key)
            : NULL;
    size_t p = raw; /* frames [p, raw) are the thread's stable tail */
    uint64_t pass = pp_code_cache_pass(cache), fills = pp_code_cache_misses(cache);
    *n = 0;
    if (m && m->key == b->memo_key) {
        stable_tail(b, raw, m, pass, fills, &p);
        if (p == 0 && m->n == raw && m->pass == pass && m->fills == fills) {
            /* the thread's last stack again, whole: its frames, the slot left as it is (a hook's
             * records in a hot loop, a thread in one stack) */
            *n = reuse_tail(m, 0, raw, b->frames);
            return PP_WALK_OK;
        }
    }
    pp_code_cache_prefetch(cache, b->code, p, b->verified);
    for (size_t i = 0; i < p; i++) {
        const pp_code_info *entry;
        pp_frame out = {0, 0, 0};
        int r = resolve(&layout, cache, b, i, &out, &entry);
        if (r < 0 && !unknown)
            return PP_WALK_READ_FAILED;
        if (m) {
            b->result[i] = (int8_t)r;
            b->resolved[i] = out;
            b->verified[i] = entry;
        }
        if (r != 0)
            b->frames[(*n)++] = r < 0 ? *unknown : out;
    }
    if (!m)
        return PP_WALK_OK;
    *n += reuse_tail(m, p, raw, b->frames + *n);
    /* (the fills before this resolution: one that filled an entry, which may have evicted an
     * entry resolved before it, leaves a slot that is checked entry by entry next time) */
    remember_stack(m, b->memo_key, b, raw, p, b->result, b->resolved, b->verified, pass, fills);
    return PP_WALK_OK;
}

static const void *snapshot_view(void *ctx, void *scratch, uintptr_t addr, size_t len)
{
    return pp_snapshot_view(ctx, scratch, addr, len);
}

pp_walk_result pp_walk_frames(const pp_runtime *rt, pp_code_cache *cache, pp_stack_snapshot *snap,
                              uintptr_t top, pp_walk_buf *b, size_t *n, size_t *omitted)
{
    size_t raw = 0;
    *n = 0;
    pp_walk_result r = pp_walk_raw(&rt->layout, snapshot_view, snap, top, b, &raw, omitted);
    if (r == PP_WALK_OK && b->reached_end && !may_end_chain(&rt->layout, b->last_owner))
        return PP_WALK_CUT;
    return r != PP_WALK_OK ? r : pp_walk_resolve(rt, cache, b, raw, NULL, n);
}

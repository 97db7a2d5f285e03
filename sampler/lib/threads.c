#include "threads.h"

#include <string.h>

#include "safe_read.h"

static uintptr_t get_ptr(const uint8_t *b, int32_t off)
{
    uintptr_t v;
    memcpy(&v, b + off, sizeof v);
    return v;
}

/* The PyThreadState prefix holding every field read is copied in one read (the data-stack
 * pointers too when they are this close). Every PyThreadState of the supported versions is
 * larger than what is copied. */
#define TSTATE_MAX_COPY PP_COPY_TSTATE

static size_t field_end(int32_t off, size_t size)
{
    return off >= 0 ? (size_t)off + size : 0;
}

int pp_read_thread(const pp_runtime *rt, pp_read_fn read, void *ctx, uintptr_t ts, uintptr_t interp,
                   pp_thread_view *t, uintptr_t *next)
{
    const pp_py_layout *l = &rt->layout;
    uint8_t b[TSTATE_MAX_COPY];
    const int32_t ptr_fields[] = {l->ts_next, l->ts_interp, l->ts_thread_id, l->ts_frame};
    size_t copy = field_end(l->ts_native_id, sizeof(int32_t));
    for (size_t i = 0; i < sizeof ptr_fields / sizeof ptr_fields[0]; i++)
        if (field_end(ptr_fields[i], sizeof(uintptr_t)) > copy)
            copy = field_end(ptr_fields[i], sizeof(uintptr_t));
    if (copy > sizeof b)
        return -1;
    int32_t ds = l->ts_datastack_chunk;
    size_t ds_end = field_end(ds, 2 * sizeof(uintptr_t));
    int ds_inline = ds >= 0 && ds_end <= sizeof b;
    if (ds_inline && ds_end > copy)
        copy = ds_end;
    if (pp_read_with(read, ctx, b, ts, copy) != 0)
        return -1;
    *next = get_ptr(b, l->ts_next);
    if (get_ptr(b, l->ts_interp) != interp)
        return -1;
    t->tstate = ts;
    t->interp = interp;
    t->thread_id = get_ptr(b, l->ts_thread_id);
    t->native_id = 0;
    if (l->ts_native_id >= 0)
        memcpy(&t->native_id, b + l->ts_native_id, sizeof t->native_id);
    t->top_frame = get_ptr(b, l->ts_frame);
    t->top_frame_at =
        l->ts_cframe_frame >= 0 && t->top_frame ? t->top_frame + (uintptr_t)l->ts_cframe_frame : 0;
    t->datastack_chunk = t->datastack_top = 0;
    uintptr_t stack[2];
    if (ds_inline) {
        memcpy(stack, b + ds, sizeof stack);
        t->datastack_chunk = stack[0];
        t->datastack_top = stack[1];
    } else if (ds >= 0 && pp_read(stack, ts + (uintptr_t)ds, sizeof stack) == 0) {
        t->datastack_chunk = stack[0];
        t->datastack_top = stack[1];
    }
    return 0;
}

/* The interpreter fields the walk needs, in one read when they sit close together. */
static int read_interp(const pp_py_layout *l, const pp_thread_walk *w, uintptr_t interp,
                       uintptr_t *threads_head, uintptr_t *next, int64_t *id)
{
    pp_field f[] = {{l->is_threads_head, sizeof *threads_head, threads_head},
                    {l->is_next, sizeof *next, next},
                    {l->is_id, sizeof *id, id}};
    return pp_read_fields_with(w->read, w->ctx, interp, f, 3);
}

int pp_for_each_thread(const pp_runtime *rt, uintptr_t interp_head, const pp_thread_walk *w,
                       pp_thread_walk_stats *st)
{
    const pp_py_layout *l = &rt->layout;
    memset(st, 0, sizeof *st);
    uintptr_t interp = interp_head;
    uintptr_t first_interp = interp;
    while (interp && st->interpreters < PP_MAX_INTERPRETERS) {
        st->interpreters++;
        uintptr_t ts, next_interp;
        int64_t id = 0;
        if (read_interp(l, w, interp, &ts, &next_interp, &id) != 0)
            return -1;
        uintptr_t first_ts = ts;
        uint32_t in_interp = 0;
        while (ts && in_interp < PP_MAX_THREADS && st->threads < PP_MAX_THREADS) {
            pp_thread_view t;
            uintptr_t next = 0;
            if (pp_read_thread(rt, w->read_tstate, w->ctx, ts, interp, &t, &next) != 0) {
                st->torn++;
                break;
            }
            t.interp_id = id;
            in_interp++;
            st->threads++;
            w->fn(w->ctx, &t);
            if (next == ts || next == first_ts)
                break;
            ts = next;
        }
        if (next_interp == interp || next_interp == first_interp)
            break;
        interp = next_interp;
    }
    return 0;
}

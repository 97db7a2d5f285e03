#include "sampler.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "aggregate.h"
#include "code_cache.h"
#include "code_frees.h"
#include "frame_reader.h"
#include "inproc_hooks.h"
#include "log.h"
#include "exception_profile.h"
#include "gil_profile.h"
#include "gil_spans.h"
#include "lock_hooks.h"
#include "lock_profile.h"
#include "memory_profile.h"
#include "pass_head.h"
#include "rate_control.h"
#include "record_names.h"
#include "stack_memo.h"
#include "span_stacks.h"
#include "stack_snapshot.h"
#include "profile_output.h"
#include "exit_drain.h"
#include "provenance.h"
#include "resolve_memo.h"
#include "safe_read.h"
#include "spread_hash.h"
#include "thread_clock.h"
#include "thread_names.h"
#include "threads.h"
#include "timeline.h"

/* Aggregate bounds: distinct stacks per profile and bytes of interned strings. */
#define MAX_STACKS 20000
#define MAX_STRING_BYTES (4u << 20)
/* Timeline records per profile (32 bytes each here, 512 KiB), and the frames of their stacks
 * together. Each record becomes a pprof sample that the exporter decodes whole to check the
 * profile (about 400 bytes plus 8 per frame), so the frames bound what the timeline adds to the
 * exporter's memory: about 12 MiB at most, which with the aggregate's own bound stays under the
 * exporter container's limit. 8 CPU-bound threads 50 frames deep need about 8,000 records a minute
 * at 100 Hz (a record lasts as long as its thread stays in one stack). */
#define MAX_TIMELINE_RECORDS (1u << 14)
#define MAX_TIMELINE_FRAMES (10000u * 64)
/* CPU baselines per thread, keyed by tid (more than PP_MAX_THREADS). */
#define CLOCK_SLOTS 8192

typedef struct {
    int32_t tid;
    uint64_t thread_id;
    int64_t cpu_ns;
    uint64_t pass;
} clock_slot;

/* Before 3.11 a thread state records only its pthread_t, and the kernel tid (for the CPU clock)
 * is read from glibc's struct pthread: at the pthread_t a thread state held in the previous pass,
 * in the same system call as the thread state itself (one read per thread and pass less), and used
 * when the thread state still holds that pthread_t. The tid the thread state had in the previous
 * pass also says, before the thread state is read, whose GIL wait span to read. Keyed by a hash
 * of the thread state; a collision only costs the separate read, or a walk. */
#define TID_HINT_BITS 8
typedef struct {
    uintptr_t tstate;
    uint64_t pthread;
    int32_t tid;
} tid_hint;

enum {
    C_PASSES,
    C_SAMPLES,
    C_READ_FAILURES,
    C_DROPPED,
    C_THREADS_SEEN,
    C_CPU_CLOCK_FAILURES,
    C_CYCLES,
    C_OVERRUNS,
    C_INTERPRETERS,
    C_CODE_CACHE_MISSES,
    C_TRUNCATED,
    C_UNCHANGED,
    C_TIMELINE_FULL,
    C_PROVENANCE_TRUNCATED,
    C_READ_CALLS,
    C_READ_BYTES,
    C_WALKS,
    C_CUT,
    C_GIL_WAITING,
    C_PIPE_READ_CALLS,
    C_SPAN_STACKS,
    C_COUNT
};
static const char *const counter_names[C_COUNT] = {"passes",
                                                   "samples",
                                                   "read_failures",
                                                   "dropped",
                                                   "threads_seen",
                                                   "cpu_clock_failures",
                                                   "cycles",
                                                   "overruns",
                                                   "interpreters",
                                                   "code_cache_misses",
                                                   "truncated_stacks",
                                                   "unchanged_stacks",
                                                   "timeline_full",
                                                   "provenance_truncated",
                                                   "read_calls",
                                                   "read_bytes",
                                                   "stack_walks",
                                                   "cut_stacks",
                                                   "gil_waiting_stacks",
                                                   "pipe_read_calls",
                                                   "span_stacks"};

struct pp_sampler {
    const pp_config *cfg;
    pp_runtime rt;
    pp_agg *agg;
    pp_code_cache *codes;
    pp_thread_names *names;
    pp_walk_buf walk;
    pp_stack_memo *memo;
    pp_resolve_memo *resolved; /* the last resolution of each thread's stack */
    pp_timeline *timeline;     /* NULL unless DD_PROFILING_TIMELINE_ENABLED */
    pp_provenance *provenance; /* NULL unless DD_PROFILING_ENABLE_CODE_PROVENANCE */
    clock_slot *clocks;
    pp_stack_snapshot snapshot;
    pp_pass_head *head;       /* the reads each pass starts with, in one system call */
    pp_span_stack span_stack; /* a GIL waiter's own copy of its stack, taken from its slot */
    uintptr_t head_tstate; /* the thread state read last, when it was served from the pass head */
    tid_hint tid_hints[1u << TID_HINT_BITS];
    struct {
        uintptr_t tstate; /* 0: no tid read with the last thread state */
        uint64_t pthread;
        int32_t tid;
    } tid_read;
    /* The GIL wait span word of the thread state read last, read just before it. */
    struct {
        uintptr_t tstate;
        int32_t tid;
        uint64_t word;
    } span_read;
    uint64_t pass;
    int64_t now_ns, wall_ns, last_pass_ns;
    int64_t now_real_ns; /* now_ns on the wall clock, for the timeline */
    int64_t base_interval_ns;
    pp_rate_control rate;
    int64_t profile_start_mono, profile_start_real;
    uint64_t profile_passes;
    uint64_t counters[C_COUNT];
    char runtime_id[37];
    uint32_t value_mask; /* sample types beyond CPU and wall (pp_flush_info) */
};

int64_t pp_now_ns(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void make_runtime_id(char out[37])
{
    unsigned char r[16];
    if (syscall(SYS_getrandom, r, sizeof r, 0) != (long)sizeof r) {
        uint64_t seed = (uint64_t)pp_now_ns(CLOCK_REALTIME) ^ (uint64_t)getpid() << 32;
        for (int i = 0; i < 16; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            r[i] = (unsigned char)(seed >> 56);
        }
    }
    r[6] = (r[6] & 0x0f) | 0x40; /* uuid4 */
    r[8] = (r[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
             r[14], r[15]);
}

pp_sampler *pp_sampler_new(const pp_config *cfg, const pp_runtime *rt, void (*wake)(void))
{
    pp_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = cfg;
    s->rt = *rt;
    s->agg = pp_agg_new(MAX_STACKS, MAX_STRING_BYTES);
    s->codes = s->agg ? pp_code_cache_new(&s->rt, s->agg) : NULL;
    s->names = pp_thread_names_new(&s->rt);
    s->clocks = calloc(CLOCK_SLOTS, sizeof *s->clocks);
    s->memo = pp_stack_memo_new((size_t)cfg->max_frames);
    s->head = pp_pass_head_new();
    s->resolved = pp_resolve_memo_new((size_t)cfg->max_frames);
    s->timeline = cfg->timeline
                      ? pp_timeline_new(MAX_TIMELINE_RECORDS, MAX_TIMELINE_FRAMES, MAX_STACKS)
                      : NULL;
    s->provenance = cfg->code_provenance ? pp_provenance_new(rt->version) : NULL;
    if (!s->codes || !s->names || !s->clocks || !s->memo || !s->head || !s->resolved ||
        (cfg->timeline && !s->timeline) || (cfg->code_provenance && !s->provenance) ||
        pp_walk_buf_init(&s->walk, (size_t)cfg->max_frames) != 0 ||
        pp_span_stack_init(&s->span_stack, (size_t)cfg->max_frames) != 0 ||
        pp_snapshot_init(&s->snapshot, (pp_chunk_layout){rt->layout.ck_previous, rt->layout.ck_size,
                                                         rt->layout.ck_top, rt->layout.ck_data}) !=
            0) {
        pp_sampler_free(s);
        return NULL;
    }
    s->walk.memo = s->resolved;
    s->base_interval_ns = (int64_t)(1e9 / cfg->sample_rate_hz);
    int64_t now = pp_now_ns(CLOCK_MONOTONIC);
    s->last_pass_ns = now;
    pp_rate_control_init(&s->rate, s->base_interval_ns, cfg->max_time_usage_pct, now,
                         pp_now_ns(CLOCK_THREAD_CPUTIME_ID));
    s->profile_start_mono = now;
    s->profile_start_real = pp_now_ns(CLOCK_REALTIME);
    make_runtime_id(s->runtime_id);
    s->value_mask = pp_memory_start(cfg, rt, wake) | pp_exception_start(cfg, rt, wake) |
                    pp_gil_start(cfg, rt, wake) | pp_lock_start(cfg, rt, wake);
    /* once per process: a fork child inherits the atexit callback */
    static int exit_drain_set;
    if (s->value_mask && !exit_drain_set)
        exit_drain_set = pp_exit_drain_setup(rt, wake) == 0;
    if (s->value_mask)
        pp_code_frees_setup(rt); /* once per process, as the in-process layer runs anyway */
    /* Every profile family that runs inside the interpreter has registered its installer by now
     * (a fork child inherits them installed: nothing to resolve again). */
    if (pp_inproc_registered() && pp_inproc_current() == PP_INPROC_IDLE &&
        pp_inproc_resolve(rt) != 0)
        s->value_mask = 0;
    return s;
}

static pp_str record_thread_name(void *ctx, uint64_t thread_id, int32_t native_id)
{
    pp_sampler *s = ctx;
    const char *name = pp_thread_name_of_record(s->names, thread_id, native_id, s->now_ns);
    return pp_agg_intern(s->agg, name, strlen(name));
}

static void hooks_drain(pp_sampler *s, int heap_too)
{
    if (!s->value_mask)
        return;
    pp_record_namer n = {&s->rt, s->codes, &s->walk, s->agg, record_thread_name, s};
    pp_memory_drain(&n);
    pp_exception_drain(&n);
    pp_gil_drain(&n);
    pp_lock_drain(&n);
    if (heap_too)
        pp_memory_add_heap(&n);
}

void pp_sampler_free(pp_sampler *s)
{
    if (!s)
        return;
    pp_code_cache_free(s->codes);
    if (s->agg)
        pp_agg_free(s->agg);
    pp_thread_names_free(s->names);
    pp_walk_buf_free(&s->walk);
    pp_span_stack_free(&s->span_stack);
    pp_stack_memo_free(s->memo);
    pp_pass_head_free(s->head);
    pp_resolve_memo_free(s->resolved);
    pp_timeline_free(s->timeline);
    pp_provenance_free(s->provenance);
    free(s->clocks);
    pp_snapshot_free(&s->snapshot);
    free(s);
}

/* The clock slot of thread tid (NULL: none yet), and the slot a new one would take. */
static clock_slot *clock_slot_of(pp_sampler *s, int32_t tid, clock_slot **free_slot)
{
    *free_slot = NULL;
    for (uint32_t i = 0; i < CLOCK_SLOTS; i++) {
        clock_slot *c = &s->clocks[((uint32_t)tid + i) % CLOCK_SLOTS];
        if (c->tid == tid)
            return c;
        if (!*free_slot && (c->tid == 0 || c->pass + 2 < s->pass))
            *free_slot = c;
        if (c->tid == 0)
            break;
    }
    return NULL;
}

/* CPU consumed by the thread since the previous pass; -1 when the thread is gone. *measured is 1
 * when the delta is measured from a baseline its slot held in the previous pass (its own reading
 * then, or an older one kept through a GIL wait, see waiting_stack). */
static int64_t cpu_delta(pp_sampler *s, int32_t tid, uint64_t thread_id, int *measured)
{
    *measured = 0;
    int64_t now = pp_thread_cpu_ns(tid);
    if (now < 0)
        return -1;
    clock_slot *free_slot, *slot = clock_slot_of(s, tid, &free_slot);
    int64_t delta = 0;
    if (slot && slot->thread_id == thread_id && slot->pass + 2 >= s->pass && now >= slot->cpu_ns) {
        delta = now - slot->cpu_ns;
        *measured = slot->pass + 1 == s->pass;
    } else if (s->pass > 1) {
        /* A thread's clock starts at 0 when it is created: one that started since the previous
         * pass has spent all of it since then (what a thread already running when the sampler
         * started spent before is never counted). Capped at the interval, for a thread that was
         * only missed for a pass or two. */
        delta = now < s->wall_ns ? now : s->wall_ns;
    }
    if (!slot)
        slot = free_slot;
    if (slot) {
        slot->tid = tid;
        slot->thread_id = thread_id;
        slot->cpu_ns = now;
        slot->pass = s->pass;
    }
    return delta;
}

static tid_hint *tid_hint_of(pp_sampler *s, uintptr_t tstate)
{
    return &s->tid_hints[pp_spread((uint64_t)tstate >> 4, TID_HINT_BITS)];
}

/* The kernel tid of the thread: recorded in its state on 3.11+, else read from struct pthread
 * (with the thread state when it still holds the pthread_t of the previous pass; else through the
 * pass head, so that a thread whose tid hint another thread's took is batched from its second
 * pass on). */
static int32_t tid_of(pp_sampler *s, const pp_thread_view *t)
{
    if (t->native_id > 0)
        return t->native_id;
    if (s->tid_read.tstate == t->tstate && s->tid_read.pthread == t->thread_id &&
        s->tid_read.tid > 0)
        return s->tid_read.tid;
    return pp_tid_from_pthread(t->thread_id, pp_pass_head_read, s->head);
}

/* The GIL wait span word read just before the thread state, when it is this thread's: open since
 * then, the thread has been waiting for the GIL. */
static uint64_t span_of(const pp_sampler *s, const pp_thread_view *t, int32_t tid)
{
    return s->span_read.tstate == t->tstate && s->span_read.tid == tid ? s->span_read.word : 0;
}

/* Whether span (read this pass) is the open GIL wait span thread tid's remembered stack was read
 * in: the thread has been in that wait since, its stack cannot have changed. */
static int still_waiting(const pp_sampler *s, uint64_t span, int32_t tid)
{
    return span && span == pp_stack_memo_span(s->memo, tid, s->pass);
}

/* A thread still in the GIL wait (span) its remembered stack was read in: that stack, without a
 * clock read. Its CPU in the wait is only the wait's timed wake-ups; the sample is charged none of
 * it, and the slot keeps its baseline but counts as read in this pass, so the thread's next
 * measured delta covers the whole wait: nothing is lost, it is charged at that sample, where the
 * thread resumes from the wait. Only for a slot read (or kept so) in the previous pass, as a
 * measured delta needs. */
static const pp_frame *waiting_stack(pp_sampler *s, const pp_stack_memo_key *mk, uint64_t span,
                                     uint64_t generation, size_t *n, size_t *omitted)
{
    clock_slot *free_slot, *slot = clock_slot_of(s, mk->tid, &free_slot);
    if (!slot || slot->thread_id != mk->thread_id || slot->pass + 1 != s->pass)
        return NULL;
    const pp_frame *frames = pp_stack_memo_get(s->memo, mk, span, s->pass, generation, n, omitted);
    if (frames)
        slot->pass = s->pass;
    return frames;
}

/* The stack thread tid copied itself when it opened the GIL wait span that is open now (read
 * before its thread state: the thread has been in that wait since, see span_stacks.h), named as a
 * walk would name it; NULL (walk it) when its slot holds no whole copy of that wait, the copy is
 * another thread state's or was taken at another top frame (the memo's key would not match the
 * next pass's), or a code object cannot be read. */
static const pp_frame *span_stack(pp_sampler *s, const pp_thread_view *t, int32_t tid,
                                  uint64_t span, size_t *n, size_t *omitted)
{
    pp_span_stack *c = &s->span_stack;
    if (pp_span_stack_take(tid, span, c) != 0 || c->tstate != t->tstate || c->top != t->top_frame ||
        c->rec->thread_id != t->thread_id)
        return NULL;
    pp_walk_buf b = pp_record_walk_buf(&s->walk, c->rec);
    if (pp_walk_resolve(&s->rt, s->codes, &b, c->rec->n_raw, NULL, n) != PP_WALK_OK)
        return NULL;
    *omitted = c->rec->n_omitted;
    return s->walk.frames;
}

/* A thread state and what its walk will likely read, in one system call (stack_snapshot.h). */
static int read_with_stack(void *ctx, void *dst, uintptr_t tstate, size_t len)
{
    pp_sampler *s = ctx;
    pp_read_req head = {dst, tstate, len, 0};
    return pp_snapshot_prefetch(&s->snapshot, tstate, &head, 1);
}

static void sample_thread(void *ctx, const pp_thread_view *t)
{
    pp_sampler *s = ctx;
    int32_t tid = tid_of(s, t);
    uint64_t span = span_of(s, t, tid);
    size_t n = 0, omitted = 0;
    /* (3.11, 3.12: the thread's _PyCFrame stands for the top frame, which is read with the stack)
     */
    pp_stack_memo_key mk = {tid, t->thread_id, t->tstate, t->top_frame};
    pp_thread_view fresh; /* the thread state read again for a walk, see below */
    uint64_t generation = pp_agg_generation(s->agg);
    int64_t cpu = 0;
    int measured = 0;
    const pp_frame *frames =
        still_waiting(s, span, tid) ? waiting_stack(s, &mk, span, generation, &n, &omitted) : NULL;
    if (!frames) {
        cpu = cpu_delta(s, tid, t->thread_id, &measured);
        if (cpu < 0 && t->native_id > 0) {
            /* A fork child whose runtime did not run PyOS_AfterFork_Child (uWSGI workers without
             * --py-call-osafterfork) keeps the parent's tid in its thread state; glibc's own
             * record of the thread is right. */
            int32_t own = pp_tid_from_pthread(t->thread_id, NULL, NULL);
            if (own > 0 && own != tid) {
                tid = own;
                cpu = cpu_delta(s, tid, t->thread_id, &measured);
                span = span_of(s, t, tid);
                mk.tid = tid;
            }
        }
        if (cpu < 0) {
            /* exited between the thread list and the clock read (or not started yet) */
            if (t->native_id <= 0)
                *tid_hint_of(s, t->tstate) = (tid_hint){t->tstate, t->thread_id, 0};
            s->counters[C_CPU_CLOCK_FAILURES]++;
            s->counters[C_DROPPED]++;
            return;
        }
    }
    *tid_hint_of(s, t->tstate) = (tid_hint){t->tstate, t->thread_id, tid};
    if (frames) {
        s->counters[C_GIL_WAITING]++;
    } else if (measured && cpu == 0 &&
               (frames = pp_stack_memo_get(s->memo, &mk, 0, s->pass, generation, &n, &omitted))) {
        s->counters[C_UNCHANGED]++;
    } else if (span && (frames = span_stack(s, t, tid, span, &n, &omitted)) != NULL) {
        s->counters[C_SPAN_STACKS]++;
        pp_stack_memo_put(s->memo, &mk, span, s->pass, generation, frames, n, omitted);
    } else {
        s->counters[C_WALKS]++;
        if (s->head_tstate == t->tstate) {
            /* The copy the pass started with is older than the stack about to be read: a top
             * frame popped and replaced since would name a plausible wrong stack. The thread
             * state is read again, with the stack, as one not served from the pass head is. */
            uintptr_t next;
            if (pp_read_thread(&s->rt, read_with_stack, s, t->tstate, t->interp, &fresh, &next) !=
                    0 ||
                fresh.thread_id != t->thread_id || fresh.native_id != t->native_id) {
                s->counters[C_READ_FAILURES]++;
                s->counters[C_DROPPED]++;
                return;
            }
            fresh.interp_id = t->interp_id;
            t = &fresh;
            mk.top_frame = t->top_frame;
        }
        s->walk.memo_key = (uint32_t)tid;
        pp_snapshot_take(&s->snapshot, t->tstate, t->datastack_chunk, t->datastack_top);
        /* 3.11, 3.12: the top frame is read through the snapshot, so from the second walk of the
         * thread on it arrives in the same system call as the data stack. */
        uintptr_t top = t->top_frame;
        pp_walk_result r =
            t->top_frame_at && pp_snapshot_read(&s->snapshot, &top, t->top_frame_at, sizeof top)
                ? PP_WALK_READ_FAILED
                : pp_walk_frames(&s->rt, s->codes, &s->snapshot, top, &s->walk, &n, &omitted);
        if (r != PP_WALK_OK) {
            s->counters[r == PP_WALK_CYCLE ? C_CYCLES
                        : r == PP_WALK_CUT ? C_CUT
                                           : C_READ_FAILURES]++;
            s->counters[C_DROPPED]++;
            return;
        }
        frames = s->walk.frames;
        pp_stack_memo_put(s->memo, &mk, span, s->pass, generation, frames, n, omitted);
    }
    if (n == 0 && omitted == 0)
        return; /* no Python code running in this thread right now */
    if (omitted)
        s->counters[C_TRUNCATED]++;
    const char *name = pp_thread_name(s->names, t->thread_id, tid, s->now_ns);
    pp_sample_key key = {.thread_id = t->thread_id,
                         .native_thread_id = (uint64_t)tid,
                         .thread_name = pp_agg_intern(s->agg, name, strlen(name)),
                         .frames = frames,
                         .n_frames = n,
                         .n_omitted = omitted};
    long stack = pp_agg_stack(s->agg, &key);
    if (!s->timeline || stack < 0 ||
        !pp_timeline_add(s->timeline, (uint32_t)stack, n + (omitted ? 1 : 0), s->pass,
                         s->now_real_ns, cpu, s->wall_ns)) {
        int64_t values[PP_V_COUNT] = {[PP_V_CPU_NS] = cpu,
                                      [PP_V_CPU_SAMPLES] = 1,
                                      [PP_V_WALL_NS] = s->wall_ns,
                                      [PP_V_WALL_SAMPLES] = 1};
        pp_agg_add_at(s->agg, stack, values);
    }
    s->counters[C_SAMPLES]++;
}

/* A thread state is served from the pass head when it was copied there, else read together with
 * what its walk will likely read (stack_snapshot.h); before 3.11 its kernel tid comes with it
 * (tid_hint). */
static int read_tstate(void *ctx, void *dst, uintptr_t tstate, size_t len)
{
    pp_sampler *s = ctx;
    const tid_hint *h = tid_hint_of(s, tstate);
    int32_t span_tid = h->tstate == tstate && tstate ? h->tid : 0;
    s->span_read.tstate = tstate;
    s->span_read.tid = span_tid;
    s->span_read.word = span_tid > 0 ? pp_gil_span_word(span_tid) : 0;
    uintptr_t tid_at = s->rt.layout.ts_native_id < 0 && h->tstate == tstate && tstate
                           ? pp_tid_field(h->pthread)
                           : 0;
    s->tid_read.tstate = 0;
    s->head_tstate = 0;
    int r, tid_ok;
    if (pp_pass_head_take(s->head, dst, tstate, len) == 0) {
        s->head_tstate = tstate;
        r = 0;
        tid_ok = tid_at &&
                 pp_pass_head_read(s->head, &s->tid_read.tid, tid_at, sizeof s->tid_read.tid) == 0;
    } else {
        pp_read_req head[2] = {{dst, tstate, len, 0}};
        size_t n = 1;
        if (tid_at)
            head[n++] = (pp_read_req){&s->tid_read.tid, tid_at, sizeof s->tid_read.tid, 0};
        /* a thread still in the GIL wait its remembered stack was read in: no stack to prefetch */
        r = still_waiting(s, s->span_read.word, span_tid)
                ? pp_snapshot_prefetch_head(&s->snapshot, tstate, head, n)
                : pp_snapshot_prefetch(&s->snapshot, tstate, head, n);
        if (r == 0)
            pp_pass_head_note(s->head, tstate, len);
        tid_ok = n > 1 && head[1].ok;
        if (tid_ok)
            pp_pass_head_note(s->head, tid_at, sizeof s->tid_read.tid);
    }
    if (tid_ok) {
        s->tid_read.tstate = tstate;
        s->tid_read.pthread = h->pthread;
    }
    return r;
}

static int read_head(void *ctx, void *dst, uintptr_t addr, size_t len)
{
    return pp_pass_head_read(((pp_sampler *)ctx)->head, dst, addr, len);
}

void pp_sampler_drain(pp_sampler *s)
{
    hooks_drain(s, 0);
}

long pp_sampler_pass(pp_sampler *s, int64_t now_ns)
{
    s->pass++;
    s->now_ns = now_ns;
    s->wall_ns = now_ns - s->last_pass_ns;
    s->last_pass_ns = now_ns;
    s->now_real_ns = s->profile_start_real + (now_ns - s->profile_start_mono);
    s->counters[C_PASSES]++;
    s->profile_passes++;
    pp_code_cache_new_pass(s->codes);
    /* What the previous pass started with, copied in one system call (or, where both
     * process_vm_readv and the pipe are refused, read one by one as they come). */
    pp_pass_head_start(s->head, pp_read_batches());
    uintptr_t interp_head = 0;
    if (pp_runtime_state(&s->rt, read_head, s, &interp_head) != 1)
        return -1; /* finalizing or finalized: thread states are being freed */
    pp_thread_names_pass(s->names, now_ns);
    pp_inproc_schedule(); /* cheap once done */
    hooks_drain(s, 0);
    pp_thread_walk_stats st;
    pp_thread_walk w = {read_head, read_tstate, sample_thread, s};
    if (pp_for_each_thread(&s->rt, interp_head, &w, &st) != 0) {
        s->counters[C_READ_FAILURES]++;
        return -1;
    }
    s->counters[C_THREADS_SEEN] = st.threads;
    s->counters[C_INTERPRETERS] = st.interpreters;
    s->counters[C_READ_FAILURES] += st.torn;
    return (long)st.threads;
}

static int64_t own_cpu_ns(void *ctx)
{
    (void)ctx;
    return pp_now_ns(CLOCK_THREAD_CPUTIME_ID);
}

void pp_sampler_adapt(pp_sampler *s, int64_t now_ns)
{
    if (pp_rate_control_pass(&s->rate, now_ns, own_cpu_ns, NULL))
        pp_log(PP_LOG_DEBUG, "sampling interval %.3f ms (budget balance %.2f ms)",
               (double)pp_rate_control_interval_ns(&s->rate) / 1e6, s->rate.balance_ns / 1e6);
}

void pp_sampler_note_overrun(pp_sampler *s)
{
    s->counters[C_OVERRUNS]++;
}

int64_t pp_sampler_interval_ns(const pp_sampler *s)
{
    return pp_rate_control_interval_ns(&s->rate);
}

int pp_sampler_flush_due(const pp_sampler *s, int64_t now_ns)
{
    return (double)(now_ns - s->profile_start_mono) >= s->cfg->upload_interval_s * 1e9;
}

static pp_str late_thread_name(void *ctx, uint64_t thread_id, uint64_t native_thread_id,
                               pp_str name)
{
    pp_sampler *s = ctx;
    const char *late = pp_thread_late_name(s->names, thread_id, (int32_t)native_thread_id);
    return late ? pp_agg_intern(s->agg, late, strlen(late)) : name;
}

/* A hook-fed profile's counters under names (installed, samples, dropped, unnamed); returns 4. */
static size_t add_record_counters(pp_counter *out, const char *const names[4],
                                  const pp_record_counters *c)
{
    out[0] = (pp_counter){names[0], (uint64_t)c->installed};
    out[1] = (pp_counter){names[1], c->samples};
    out[2] = (pp_counter){names[2], c->dropped};
    out[3] = (pp_counter){names[3], c->unnamed};
    return 4;
}

void pp_sampler_flush(pp_sampler *s)
{
    /* The threading module is not read again while the interpreter finalizes. */
    if (pp_thread_names_settle(s->names, pp_runtime_initialized(&s->rt) == 1))
        pp_agg_rename_threads(s->agg, late_thread_name, s);
    int64_t now_mono = pp_now_ns(CLOCK_MONOTONIC);
    int64_t end_real = pp_now_ns(CLOCK_REALTIME);
    double seconds = (double)(now_mono - s->profile_start_mono) / 1e9;
    hooks_drain(s, 1);
    s->counters[C_CODE_CACHE_MISSES] = pp_code_cache_misses(s->codes);
    s->counters[C_TIMELINE_FULL] = s->timeline ? pp_timeline_refused(s->timeline) : 0;
    /* What the profile's files belong to (reads the filesystem for files not seen before). */
    pp_provenance_view provenance;
    int64_t provenance_cpu = pp_now_ns(CLOCK_THREAD_CPUTIME_ID);
    bool have_provenance =
        s->provenance && pp_provenance_collect(s->provenance, s->agg, &provenance) == 0;
    if (have_provenance)
        pp_log(PP_LOG_DEBUG, "code provenance: %zu libraries, %.3f ms of CPU",
               provenance.n_libraries,
               (double)(pp_now_ns(CLOCK_THREAD_CPUTIME_ID) - provenance_cpu) / 1e6);
    s->counters[C_PROVENANCE_TRUNCATED] =
        s->provenance ? pp_provenance_truncated(s->provenance) : 0;
    /* What the sampler thread's reads of the process's memory have cost (benchmarks divide by
     * the walks and samples). */
    pp_read_stats reads;
    pp_safe_read_stats(&reads);
    s->counters[C_READ_CALLS] = reads.calls;
    s->counters[C_READ_BYTES] = reads.bytes;
    s->counters[C_PIPE_READ_CALLS] = reads.pipe_calls;
    pp_counter counters[C_COUNT + PP_CODE_CACHE_COUNTERS + 20];
    size_t n_counters = 0;
    for (int i = 0; i < C_COUNT; i++)
        counters[n_counters++] = (pp_counter){counter_names[i], s->counters[i]};
    n_counters += pp_code_cache_counters(s->codes, counters + n_counters);
    if (s->value_mask) {
        static const char *const alloc_names[] = {"alloc_hooks_installed", "alloc_samples",
                                                  "alloc_samples_dropped", "alloc_samples_unnamed"};
        static const char *const exception_names[] = {
            "exception_hook_installed", "exception_samples", "exception_samples_dropped",
            "exception_samples_unnamed"};
        static const char *const gil_names[] = {"gil_hook_installed", "gil_wait_samples",
                                                "gil_wait_samples_dropped",
                                                "gil_wait_samples_unnamed"};
        static const char *const lock_names[] = {"lock_hook_installed", "lock_samples",
                                                 "lock_samples_dropped", "lock_samples_unnamed"};
        pp_memory_counters m;
        pp_memory_counters_get(&m);
        n_counters += add_record_counters(counters + n_counters, alloc_names, &m.alloc);
        counters[n_counters++] = (pp_counter){"heap_tracked", m.heap_tracked};
        counters[n_counters++] = (pp_counter){"heap_tracking_dropped", m.heap_dropped};
        counters[n_counters++] = (pp_counter){"heap_live", m.heap_live};
        pp_record_counters e = pp_exception_counters();
        n_counters += add_record_counters(counters + n_counters, exception_names, &e);
        pp_record_counters g = pp_gil_counters();
        n_counters += add_record_counters(counters + n_counters, gil_names, &g);
        pp_record_counters l = pp_lock_counters();
        n_counters += add_record_counters(counters + n_counters, lock_names, &l);
        counters[n_counters++] = (pp_counter){"lock_holds_lost", pp_lock_hooks_holds_lost()};
    }
    pp_flush_info info = {.start_ns = s->profile_start_real,
                          .end_ns = end_real,
                          .period_ns = s->base_interval_ns,
                          .effective_rate_hz =
                              seconds > 0 ? (double)s->profile_passes / seconds : 0.0,
                          .python_version = s->rt.version,
                          .runtime_id = s->runtime_id,
                          .counters = counters,
                          .n_counters = n_counters,
                          .value_mask = s->value_mask,
                          .timeline = s->timeline,
                          .provenance = have_provenance ? &provenance : NULL};
    pp_profile_flush(s->cfg, s->agg, &info);
    pp_agg_reset_stacks(s->agg);
    if (s->timeline)
        pp_timeline_reset(s->timeline);
    pp_thread_names_settled(s->names);
    s->profile_start_mono = now_mono;
    s->profile_start_real = end_real;
    s->profile_passes = 0;
}

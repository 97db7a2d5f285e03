/* Aggregate (and timeline) -> perftools.profiles.Profile (protobuf-c) -> gzip.
 *
 * Runs once per upload interval, so it may allocate freely; everything it allocates is freed
 * before it returns. Functions are deduplicated per (name, filename) and Locations per
 * (function, line), as Datadog's profiler does, so a profile stays small however many stacks share
 * a frame. The protobuf is gzipped as it is packed (gzip_sink.h), never held whole. */
#include "pprof_writer.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gzip_sink.h"
#include "profile.pb-c.h"

enum {
    S_EMPTY,
    S_CPU_TIME,
    S_CPU_SAMPLES,
    S_WALL_TIME,
    S_WALL_SAMPLES,
    S_NANOSECONDS,
    S_COUNT,
    S_THREAD_ID,
    S_THREAD_NATIVE_ID,
    S_THREAD_NAME,
    S_ALLOC_SPACE,
    S_ALLOC_SAMPLES,
    S_HEAP_SPACE,
    S_HEAP_LIVE_SAMPLES,
    S_BYTES,
    S_EXCEPTION_SAMPLES,
    S_LOCK_ACQUIRE,
    S_LOCK_ACQUIRE_WAIT,
    S_LOCK_RELEASE,
    S_LOCK_RELEASE_HOLD,
    S_GIL_WAIT,
    S_FIXED_COUNT
};
static const char *const fixed_strings[S_FIXED_COUNT] = {
    "",
    "cpu-time",
    "cpu-samples",
    "wall-time",
    "wall-samples",
    "nanoseconds",
    "count",
    "thread id",
    "thread native id",
    "thread name",
    "alloc-space",
    "alloc-samples",
    "heap-space",
    "heap-live-samples",
    "bytes",
    "exception-samples",
    "lock-acquire",
    "lock-acquire-wait",
    "lock-release",
    "lock-release-hold",
    "gil-wait",
};

/* (type, unit) of each aggregate value, in the order of pp_value_index. */
static const int value_types[PP_V_COUNT][2] = {
    {S_CPU_TIME, S_NANOSECONDS},    {S_CPU_SAMPLES, S_COUNT},
    {S_WALL_TIME, S_NANOSECONDS},   {S_WALL_SAMPLES, S_COUNT},
    {S_EXCEPTION_SAMPLES, S_COUNT}, {S_LOCK_ACQUIRE_WAIT, S_NANOSECONDS},
    {S_LOCK_ACQUIRE, S_COUNT},      {S_LOCK_RELEASE_HOLD, S_NANOSECONDS},
    {S_LOCK_RELEASE, S_COUNT},      {S_ALLOC_SPACE, S_BYTES},
    {S_ALLOC_SAMPLES, S_COUNT},     {S_HEAP_SPACE, S_BYTES},
    {S_HEAP_LIVE_SAMPLES, S_COUNT}, {S_GIL_WAIT, S_NANOSECONDS},
};

/* uint64 -> nonzero uint32, open addressing; used for every "have we emitted this yet" question. */
typedef struct id_map {
    uint64_t *keys;
    uint32_t *vals; /* 0 = empty slot */
    size_t cap, n;
} id_map;

/* Fibonacci hashing: the keys are small ids packed into 64 bits, so one multiply spreads them. */
static uint64_t slot_hash(uint64_t key)
{
    key *= 0x9e3779b97f4a7c15ULL;
    return key ^ (key >> 29);
}

static uint32_t map_get(const id_map *m, uint64_t key)
{
    if (!m->cap)
        return 0;
    for (size_t i = slot_hash(key) & (m->cap - 1); m->vals[i]; i = (i + 1) & (m->cap - 1))
        if (m->keys[i] == key)
            return m->vals[i];
    return 0;
}

static bool map_put(id_map *m, uint64_t key, uint32_t val)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        uint64_t *keys = calloc(cap, sizeof *keys);
        uint32_t *vals = calloc(cap, sizeof *vals);
        if (!keys || !vals) {
            free(keys);
            free(vals);
            return false;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->vals[i])
                continue;
            size_t j = slot_hash(m->keys[i]) & (cap - 1);
            while (vals[j])
                j = (j + 1) & (cap - 1);
            keys[j] = m->keys[i];
            vals[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = keys;
        m->vals = vals;
        m->cap = cap;
    }
    size_t i = slot_hash(key) & (m->cap - 1);
    while (m->vals[i])
        i = (i + 1) & (m->cap - 1);
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return true;
}

static void map_free(id_map *m)
{
    free(m->keys);
    free(m->vals);
}

/* Grows *arr (elements of size elem) so that index n fits. */
static bool ensure_cap(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 64;
    while (c <= n)
        c *= 2;
    void *p = realloc(*arr, c * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = c;
    return true;
}

typedef struct writer {
    const pp_agg *agg;
    bool failed;

    char **strings; /* borrowed from the aggregate, or owned (listed in owned) */
    size_t n_strings, strings_cap;
    char **owned;
    size_t n_owned, owned_cap;
    id_map agg_strings;  /* agg id -> pprof index */
    id_map omitted_strs; /* N -> index of "<N frames omitted>" */
    id_map tid_strs;     /* thread id -> index of its decimal form (unnamed threads) */

    Perftools__Profiles__Function *functions;
    size_t n_functions, functions_cap;
    id_map function_ids; /* name index << 32 | filename index -> function id */

    struct loc_key {
        uint64_t function_id;
        int32_t line;
    } * locations; /* Location messages are built once this array stops moving */
    size_t n_locations, locations_cap;
    id_map location_ids; /* function id << 32 | line -> location id */

    Perftools__Profiles__Sample *samples;
    Perftools__Profiles__Sample **sample_ptrs;
    size_t n_samples, samples_cap;
    uint64_t *loc_ids; /* every sample's location ids, back to back */
    size_t n_loc_ids, loc_ids_cap;
    int64_t *values;
    int types[PP_V_COUNT]; /* the aggregate values written, in order */
    size_t n_types;
    Perftools__Profiles__Label *labels;
    Perftools__Profiles__Label **label_ptrs;
    size_t n_labels;

    /* Every stack's locations and labels, in pp_agg_foreach order (= the aggregate's stack
     * index): the timeline's samples point at them instead of building their own. */
    struct stack_ref {
        uint64_t *location_id;
        size_t n_location_id;
        Perftools__Profiles__Label **label;
        size_t n_label;
    } * stacks;
    size_t n_stacks;
} writer;

static int64_t add_string(writer *w, char *s, bool owned)
{
    if (!ensure_cap((void **)&w->strings, &w->strings_cap, w->n_strings, sizeof *w->strings) ||
        (owned && !ensure_cap((void **)&w->owned, &w->owned_cap, w->n_owned, sizeof *w->owned))) {
        if (owned)
            free(s);
        w->failed = true;
        return 0;
    }
    if (owned)
        w->owned[w->n_owned++] = s;
    w->strings[w->n_strings] = s;
    return (int64_t)w->n_strings++;
}

static int64_t agg_string_index(writer *w, pp_str id)
{
    if (id == 0)
        return S_EMPTY;
    uint32_t idx = map_get(&w->agg_strings, id);
    if (idx)
        return idx;
    int64_t i = add_string(w, (char *)pp_agg_string(w->agg, id), false);
    if (i && !map_put(&w->agg_strings, id, (uint32_t)i))
        w->failed = true;
    return i;
}

static int64_t formatted_string(writer *w, id_map *cache, uint64_t key, const char *fmt)
{
    uint32_t idx = map_get(cache, key);
    if (idx)
        return idx;
    char *s = malloc(48);
    if (!s) {
        w->failed = true;
        return 0;
    }
    snprintf(s, 48, fmt, key);
    int64_t i = add_string(w, s, true);
    if (i && !map_put(cache, key, (uint32_t)i))
        w->failed = true;
    return i;
}

static uint64_t function_id(writer *w, int64_t name, int64_t filename)
{
    uint64_t key = ((uint64_t)name << 32) | (uint64_t)filename;
    uint32_t id = map_get(&w->function_ids, key);
    if (id)
        return id;
    if (!ensure_cap((void **)&w->functions, &w->functions_cap, w->n_functions,
                    sizeof *w->functions)) {
        w->failed = true;
        return 0;
    }
    Perftools__Profiles__Function *f = &w->functions[w->n_functions++];
    perftools__profiles__function__init(f);
    f->id = w->n_functions;
    f->name = name;
    f->filename = filename;
    if (!map_put(&w->function_ids, key, (uint32_t)f->id))
        w->failed = true;
    return f->id;
}

static uint64_t location_id(writer *w, uint64_t fid, int32_t line)
{
    uint64_t key = (fid << 32) | (uint32_t)line;
    uint32_t id = map_get(&w->location_ids, key);
    if (id)
        return id;
    if (!ensure_cap((void **)&w->locations, &w->locations_cap, w->n_locations,
                    sizeof *w->locations)) {
        w->failed = true;
        return 0;
    }
    w->locations[w->n_locations].function_id = fid;
    w->locations[w->n_locations].line = line;
    id = (uint32_t)++w->n_locations;
    if (!map_put(&w->location_ids, key, id))
        w->failed = true;
    return id;
}

typedef struct count_ctx {
    size_t samples, loc_ids;
} count_ctx;

static void count_visit(void *ctx, const pp_sample_key *key, const int64_t *values)
{
    (void)values;
    count_ctx *c = ctx;
    c->samples++;
    c->loc_ids += key->n_frames + (key->n_omitted ? 1 : 0);
}

static void sample_visit(void *ctx, const pp_sample_key *key, const int64_t *values)
{
    writer *w = ctx;
    if (w->failed)
        return;
    Perftools__Profiles__Sample *s = &w->samples[w->n_samples];
    perftools__profiles__sample__init(s);
    s->location_id = &w->loc_ids[w->n_loc_ids];
    for (size_t i = 0; i < key->n_frames; i++) {
        const pp_frame *f = &key->frames[i];
        uint64_t fid =
            function_id(w, agg_string_index(w, f->name), agg_string_index(w, f->filename));
        s->location_id[s->n_location_id++] = location_id(w, fid, f->line);
    }
    if (key->n_omitted) {
        int64_t name =
            formatted_string(w, &w->omitted_strs, key->n_omitted, "<%" PRIu64 " frames omitted>");
        s->location_id[s->n_location_id++] = location_id(w, function_id(w, name, S_EMPTY), 0);
    }
    w->n_loc_ids += s->n_location_id;

    s->value = &w->values[w->n_types * w->n_samples];
    s->n_value = w->n_types;
    for (size_t i = 0; i < w->n_types; i++)
        s->value[i] = values[w->types[i]];

    if (key->thread_id || key->native_thread_id) {
        Perftools__Profiles__Label *l = &w->labels[w->n_labels];
        s->label = &w->label_ptrs[w->n_labels];
        for (int i = 0; i < 3; i++) {
            perftools__profiles__label__init(&l[i]);
            s->label[i] = &l[i];
        }
        l[0].key = S_THREAD_ID;
        l[0].num = (int64_t)key->thread_id;
        l[1].key = S_THREAD_NATIVE_ID;
        l[1].num = (int64_t)key->native_thread_id;
        l[2].key = S_THREAD_NAME;
        l[2].str = key->thread_name ? agg_string_index(w, key->thread_name)
                                    : formatted_string(w, &w->tid_strs, key->thread_id, "%" PRIu64);
        s->n_label = 3;
        w->n_labels += 3;
    }
    if (key->label_key) {
        Perftools__Profiles__Label *l = &w->labels[w->n_labels];
        if (!s->label)
            s->label = &w->label_ptrs[w->n_labels];
        perftools__profiles__label__init(l);
        l->key = agg_string_index(w, key->label_key);
        l->str = agg_string_index(w, key->label_value);
        s->label[s->n_label++] = l;
        w->n_labels++;
    }
    w->stacks[w->n_stacks++] =
        (struct stack_ref){s->location_id, s->n_location_id, s->label, s->n_label};
    /* A stack only timeline records refer to has no summed values of its own. */
    bool any = false;
    for (int i = 0; i < PP_V_COUNT; i++)
        any |= values[i] != 0;
    if (any)
        w->sample_ptrs[w->n_samples++] = s;
}

static void writer_free(writer *w)
{
    for (size_t i = 0; i < w->n_owned; i++)
        free(w->owned[i]);
    free(w->owned);
    free(w->strings);
    map_free(&w->agg_strings);
    map_free(&w->omitted_strs);
    map_free(&w->tid_strs);
    free(w->functions);
    map_free(&w->function_ids);
    free(w->locations);
    map_free(&w->location_ids);
    free(w->samples);
    free(w->sample_ptrs);
    free(w->loc_ids);
    free(w->values);
    free(w->labels);
    free(w->label_ptrs);
    free(w->stacks);
}

/* Timeline samples are packed this many at a time: the chunk's structures are all they cost. */
#define TIMELINE_CHUNK 1024

/* One sample per timeline record, with its stack's locations and labels and an end_timestamp_ns
 * label, packed as Profile messages that hold nothing but samples. Serialised protobuf messages
 * that follow each other merge, repeated fields appended, so the reader sees one Profile whose
 * samples are the aggregate's then the timeline's. Timestamps are clamped into the profile's
 * window (a record's time comes from the monotonic clock, which the wall clock may drift from). */
static void pack_timeline(writer *w, const pp_flush_info *info, int64_t ts_key,
                          ProtobufCBuffer *out, bool *failed)
{
    size_t n_records;
    const pp_timeline_record *records = pp_timeline_records(info->timeline, &n_records);
    Perftools__Profiles__Sample *samples = calloc(TIMELINE_CHUNK, sizeof *samples);
    Perftools__Profiles__Sample **sample_ptrs = calloc(TIMELINE_CHUNK, sizeof *sample_ptrs);
    Perftools__Profiles__Label *ts = calloc(TIMELINE_CHUNK, sizeof *ts);
    Perftools__Profiles__Label **label_ptrs = calloc(4 * TIMELINE_CHUNK, sizeof *label_ptrs);
    int64_t *values = calloc(w->n_types * TIMELINE_CHUNK, sizeof *values);
    if (!samples || !sample_ptrs || !ts || !label_ptrs || !values) {
        *failed = true;
        goto done;
    }
    /* Grouped by stack (a counting sort, time order kept within a stack): consecutive samples
     * then share their locations and labels, which the compressors turn into short matches. */
    uint32_t *order = malloc((n_records ? n_records : 1) * sizeof *order);
    size_t *next = calloc(w->n_stacks + 1, sizeof *next);
    if (!order || !next) {
        free(order);
        free(next);
        *failed = true;
        goto done;
    }
    size_t n_kept = 0;
    for (size_t i = 0; i < n_records; i++)
        if (records[i].stack < w->n_stacks) /* always: records name stacks of this aggregate */
            next[records[i].stack + 1]++, n_kept++;
    for (size_t k = 0; k < w->n_stacks; k++)
        next[k + 1] += next[k];
    for (size_t i = 0; i < n_records; i++)
        if (records[i].stack < w->n_stacks)
            order[next[records[i].stack]++] = (uint32_t)i;
    free(next);
    int64_t lo = info->start_ns, hi = info->end_ns > lo ? info->end_ns : lo;
    for (size_t first = 0; first < n_kept; first += TIMELINE_CHUNK) {
        size_t n = 0;
        for (size_t i = first; i < n_kept && n < TIMELINE_CHUNK; i++) {
            const pp_timeline_record *r = &records[order[i]];
            const struct stack_ref *ref = &w->stacks[r->stack];
            Perftools__Profiles__Sample *s = &samples[n];
            perftools__profiles__sample__init(s);
            s->location_id = ref->location_id;
            s->n_location_id = ref->n_location_id;
            s->value = &values[w->n_types * n];
            s->n_value = w->n_types;
            for (size_t t = 0; t < w->n_types; t++) {
                int v = (int)w->types[t];
                s->value[t] = v == PP_V_CPU_NS                                  ? r->cpu_ns
                              : v == PP_V_WALL_NS                               ? r->wall_ns
                              : v == PP_V_CPU_SAMPLES || v == PP_V_WALL_SAMPLES ? (int64_t)r->passes
                                                                                : 0;
            }
            perftools__profiles__label__init(&ts[n]);
            ts[n].key = ts_key;
            ts[n].num = r->end_ns < lo ? lo : r->end_ns > hi ? hi : r->end_ns;
            s->label = &label_ptrs[4 * n];
            for (size_t l = 0; l < ref->n_label && l < 3; l++)
                s->label[s->n_label++] = ref->label[l];
            s->label[s->n_label++] = &ts[n];
            sample_ptrs[n++] = s;
        }
        Perftools__Profiles__Profile chunk;
        perftools__profiles__profile__init(&chunk);
        chunk.n_sample = n;
        chunk.sample = sample_ptrs;
        perftools__profiles__profile__pack_to_buffer(&chunk, out);
    }
    free(order);
done:
    free(samples);
    free(sample_ptrs);
    free(ts);
    free(label_ptrs);
    free(values);
}

int pp_pprof_encode_gzip(const pp_agg *agg, const pp_flush_info *info, unsigned char **out,
                         size_t *out_len)
{
    writer w;
    memset(&w, 0, sizeof w);
    w.agg = agg;
    int rc = -1;
    Perftools__Profiles__Function **function_ptrs = NULL;
    Perftools__Profiles__Location *locations = NULL, **location_ptrs = NULL;
    Perftools__Profiles__Line *lines = NULL, **line_ptrs = NULL;

    for (int i = 0; i < S_FIXED_COUNT; i++)
        add_string(&w, (char *)fixed_strings[i], false);

    count_ctx counts = {0, 0};
    pp_agg_foreach(agg, count_visit, &counts);
    size_t ns = counts.samples ? counts.samples : 1;
    w.samples = calloc(ns, sizeof *w.samples);
    w.sample_ptrs = calloc(ns, sizeof *w.sample_ptrs);
    w.loc_ids = calloc(counts.loc_ids ? counts.loc_ids : 1, sizeof *w.loc_ids);
    for (int i = 0; i < PP_V_COUNT; i++)
        if (i <= PP_V_WALL_SAMPLES || (info->value_mask & (1u << i)))
            w.types[w.n_types++] = i;
    w.values = calloc(w.n_types * ns, sizeof *w.values);
    w.labels = calloc(4 * ns, sizeof *w.labels);
    w.label_ptrs = calloc(4 * ns, sizeof *w.label_ptrs);
    w.stacks = calloc(ns, sizeof *w.stacks);
    if (w.failed || !w.samples || !w.sample_ptrs || !w.loc_ids || !w.values || !w.labels ||
        !w.label_ptrs || !w.stacks)
        goto done;
    pp_agg_foreach(agg, sample_visit, &w);

    char *comment = malloc(96);
    if (comment) {
        snprintf(comment, 96, "podprof effective sampling rate %.3f Hz", info->effective_rate_hz);
    }
    int64_t comment_idx = comment ? add_string(&w, comment, true) : 0;
    size_t n_timeline = 0;
    if (info->timeline)
        pp_timeline_records(info->timeline, &n_timeline);
    int64_t ts_key = n_timeline ? add_string(&w, "end_timestamp_ns", false) : 0;
    if (w.failed || !comment)
        goto done;

    size_t nf = w.n_functions ? w.n_functions : 1, nl = w.n_locations ? w.n_locations : 1;
    function_ptrs = calloc(nf, sizeof *function_ptrs);
    locations = calloc(nl, sizeof *locations);
    location_ptrs = calloc(nl, sizeof *location_ptrs);
    lines = calloc(nl, sizeof *lines);
    line_ptrs = calloc(nl, sizeof *line_ptrs);
    if (!function_ptrs || !locations || !location_ptrs || !lines || !line_ptrs)
        goto done;
    for (size_t i = 0; i < w.n_functions; i++)
        function_ptrs[i] = &w.functions[i];
    for (size_t i = 0; i < w.n_locations; i++) {
        Perftools__Profiles__Location *l = &locations[i];
        perftools__profiles__location__init(l);
        l->id = i + 1;
        perftools__profiles__line__init(&lines[i]);
        lines[i].function_id = w.locations[i].function_id;
        lines[i].line = w.locations[i].line;
        line_ptrs[i] = &lines[i];
        l->n_line = 1;
        l->line = &line_ptrs[i];
        location_ptrs[i] = l;
    }

    Perftools__Profiles__ValueType types[PP_V_COUNT], period_type;
    Perftools__Profiles__ValueType *type_ptrs[PP_V_COUNT];
    for (size_t i = 0; i < w.n_types; i++) {
        perftools__profiles__value_type__init(&types[i]);
        types[i].type = value_types[w.types[i]][0];
        types[i].unit = value_types[w.types[i]][1];
        type_ptrs[i] = &types[i];
    }
    perftools__profiles__value_type__init(&period_type);
    period_type.type = S_CPU_TIME;
    period_type.unit = S_NANOSECONDS;

    Perftools__Profiles__Profile p;
    perftools__profiles__profile__init(&p);
    p.n_sample_type = w.n_types;
    p.sample_type = type_ptrs;
    p.n_sample = w.n_samples;
    p.sample = w.sample_ptrs;
    p.n_location = w.n_locations;
    p.location = location_ptrs;
    p.n_function = w.n_functions;
    p.function = function_ptrs;
    p.n_string_table = w.n_strings;
    p.string_table = w.strings;
    p.time_nanos = info->start_ns;
    p.duration_nanos = info->end_ns > info->start_ns ? info->end_ns - info->start_ns : 0;
    p.period_type = &period_type;
    p.period = info->period_ns;
    p.n_comment = 1;
    p.comment = &comment_idx;

    pp_gzip_sink sink;
    if (pp_gzip_sink_init(&sink, Z_DEFAULT_COMPRESSION) != 0)
        goto done;
    perftools__profiles__profile__pack_to_buffer(&p, &sink.base);
    if (n_timeline)
        pack_timeline(&w, info, ts_key, &sink.base, &sink.failed);
    rc = pp_gzip_sink_finish(&sink, out, out_len);

done:
    free(function_ptrs);
    free(locations);
    free(location_ptrs);
    free(lines);
    free(line_ptrs);
    writer_free(&w);
    return rc;
}

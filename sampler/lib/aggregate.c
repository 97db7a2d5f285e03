/* The bounded in-memory profile (aggregate.h).
 *
 * Strings and stacks each live in open-addressing hash tables whose storage is kept across
 * flushes, so once a workload's stacks have been seen the sampler thread adds samples without
 * calling malloc. Frames are copied into an arena of fixed-size chunks that is rewound, not freed,
 * by pp_agg_reset_stacks.
 *
 * Strings are never cleared while stacks may still point at them: when the string bound is hit,
 * new strings intern as "<string table full>" until the next reset, which then clears the table
 * and bumps the generation.
 *
 * Every stored string is valid UTF-8, as pprof's string table must be (protobuf decoders and the
 * Datadog intake reject anything else): bytes read from another thread's objects can be torn, and
 * kernel thread names are arbitrary bytes, so a new string that is not valid UTF-8 is stored with
 * each offending byte replaced by '?'. */
#include "aggregate.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PP_AGG_CHUNK_BYTES (64 * 1024)
/* Frames stored per interval, on average, per allowed stack: bounds the arena for deep stacks. */
#define PP_AGG_AVG_FRAMES 64
/* Strings cleared at a reset once this share of the byte bound is used, so a steady workload
 * rarely reaches the bound in the middle of an interval. */
#define PP_AGG_STR_CLEAR_NUM 3
#define PP_AGG_STR_CLEAR_DEN 4
/* The longest string kept; longer ones are cut (and repaired where the cut split a character). */
#define PP_AGG_MAX_STRING 4096
/* Strings whose ids are remembered by the address they were given from (a power of two). */
#define PP_AGG_BY_ADDRESS 64
/* Threads whose last stack is remembered (by a hash of the kernel tid: a collision only costs the
 * hash). */
#define PP_AGG_RECENT 64

static const char DROPPED_STACKS_NAME[] = "<stacks dropped>";
static const char STRING_TABLE_FULL[] = "<string table full>";

typedef struct agg_chunk {
    struct agg_chunk *next;
    size_t used;
    _Alignas(16) unsigned char data[];
} agg_chunk;

typedef struct agg_stack {
    uint64_t hash;
    uint64_t thread_id, native_thread_id;
    pp_str thread_name;
    pp_str label_key, label_value;
    uint32_t n_frames;
    uint64_t n_omitted;
    const pp_frame *frames;
    int64_t values[PP_V_COUNT];
} agg_stack;

typedef struct agg_string {
    uint64_t hash;
    uint32_t offset; /* into str_bytes, NUL-terminated */
    uint32_t len;
} agg_string;

struct pp_agg {
    /* strings: id -> agg_string, slots hold id + 1 (0 = empty) */
    size_t max_string_bytes;
    char *str_bytes;
    size_t str_used, str_cap;
    agg_string *strs;
    size_t n_strs, strs_cap;
    uint32_t *str_slots;
    size_t str_slots_cap; /* power of two */
    bool str_full;
    pp_str full_id, dropped_name_id;
    uint64_t generation;
    /* By a hash of the address a string was interned from, that address and its id: the same
     * address interned again (a literal, a thread's name where the sampler keeps it) is checked
     * against the stored text rather than hashed and looked up. */
    struct {
        const char *s;
        pp_str id;
    } by_address[PP_AGG_BY_ADDRESS];

    /* stacks: index -> agg_stack, slots hold index + 1 */
    size_t max_stacks;
    agg_stack *stacks;
    size_t n_stacks, stacks_cap;
    uint32_t *stack_slots;
    size_t stack_slots_cap; /* power of two, at least 2 * (max_stacks + 1) */
    size_t frames_stored, max_frames_stored;
    agg_chunk *chunks, *cur_chunk;
    uint64_t dropped;
    /* Per thread, the index + 1 of the stack it added last (0: none): a thread's next sample and
     * its hooks' records are mostly that stack again, found by comparing without hashing. */
    uint32_t recent[PP_AGG_RECENT];
    /* The "<stacks dropped>" stack lives outside the table, so folding never needs memory. */
    bool has_fold;
    agg_stack fold;
    pp_frame fold_frame;
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* Eight bytes a step (a byte a step was most of what interning a thread's name cost), each a
 * bijection of h as in stack_hash; the last step's bytes past the end are zeros, told apart by
 * the length mixed in first. */
static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ len;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t w = 0;
        memcpy(&w, s + i, len - i < 8 ? len - i : 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h = (h << 29) | (h >> 35);
    }
    return mix64(h);
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n)
        p <<= 1;
    return p;
}

/* ---- strings ---- */

static bool str_slots_grow(pp_agg *agg)
{
    size_t cap = agg->str_slots_cap ? agg->str_slots_cap * 2 : 256;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (size_t id = 0; id < agg->n_strs; id++) {
        size_t i = agg->strs[id].hash & (cap - 1);
        while (slots[i])
            i = (i + 1) & (cap - 1);
        slots[i] = (uint32_t)id + 1;
    }
    free(agg->str_slots);
    agg->str_slots = slots;
    agg->str_slots_cap = cap;
    return true;
}

static bool str_store(pp_agg *agg, const char *s, size_t len, uint64_t hash, pp_str *id)
{
    if (agg->n_strs == agg->strs_cap) {
        size_t cap = agg->strs_cap ? agg->strs_cap * 2 : 64;
        agg_string *strs = realloc(agg->strs, cap * sizeof *strs);
        if (!strs)
            return false;
        agg->strs = strs;
        agg->strs_cap = cap;
    }
    if (agg->str_used + len + 1 > agg->str_cap) {
        size_t cap = agg->str_cap ? agg->str_cap : 4096;
        while (cap < agg->str_used + len + 1)
            cap *= 2;
        char *bytes = realloc(agg->str_bytes, cap);
        if (!bytes)
            return false;
        agg->str_bytes = bytes;
        agg->str_cap = cap;
    }
    if ((agg->n_strs + 1) * 2 > agg->str_slots_cap && !str_slots_grow(agg))
        return false;
    memcpy(agg->str_bytes + agg->str_used, s, len);
    agg->str_bytes[agg->str_used + len] = '\0';
    agg_string *e = &agg->strs[agg->n_strs];
    e->hash = hash;
    e->offset = (uint32_t)agg->str_used;
    e->len = (uint32_t)len;
    agg->str_used += len + 1;
    size_t i = hash & (agg->str_slots_cap - 1);
    while (agg->str_slots[i])
        i = (i + 1) & (agg->str_slots_cap - 1);
    agg->str_slots[i] = (uint32_t)agg->n_strs + 1;
    *id = (pp_str)agg->n_strs++;
    return true;
}

static bool str_lookup(const pp_agg *agg, const char *s, size_t len, uint64_t hash, pp_str *id)
{
    if (!agg->str_slots_cap)
        return false;
    size_t i = hash & (agg->str_slots_cap - 1);
    for (uint32_t slot; (slot = agg->str_slots[i]) != 0; i = (i + 1) & (agg->str_slots_cap - 1)) {
        const agg_string *e = &agg->strs[slot - 1];
        if (e->hash == hash && e->len == len && !memcmp(agg->str_bytes + e->offset, s, len)) {
            *id = slot - 1;
            return true;
        }
    }
    return false;
}

/* Bytes a string costs against max_string_bytes: its text plus its index entries. */
static size_t str_cost(size_t len)
{
    return len + 1 + sizeof(agg_string) + 2 * sizeof(uint32_t);
}

static size_t str_bytes_used(const pp_agg *agg)
{
    return agg->str_used + agg->n_strs * (sizeof(agg_string) + 2 * sizeof(uint32_t));
}

static bool strings_init(pp_agg *agg)
{
    agg->n_strs = 0;
    agg->str_used = 0;
    agg->str_full = false;
    memset(agg->by_address, 0, sizeof agg->by_address);
    if (agg->str_slots)
        memset(agg->str_slots, 0, agg->str_slots_cap * sizeof *agg->str_slots);
    pp_str id;
    return str_store(agg, "", 0, hash_bytes("", 0), &id) &&
           str_store(agg, STRING_TABLE_FULL, sizeof STRING_TABLE_FULL - 1,
                     hash_bytes(STRING_TABLE_FULL, sizeof STRING_TABLE_FULL - 1), &agg->full_id) &&
           str_store(agg, DROPPED_STACKS_NAME, sizeof DROPPED_STACKS_NAME - 1,
                     hash_bytes(DROPPED_STACKS_NAME, sizeof DROPPED_STACKS_NAME - 1),
                     &agg->dropped_name_id);
}

/* Length of the valid UTF-8 sequence at s[i..len) (1 to 4), 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t i, size_t len)
{
    unsigned char c = s[i];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len - i < n)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[i + k] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Replaces, in place, every byte that does not start a valid UTF-8 sequence with '?'; returns
 * whether anything was replaced. */
static bool utf8_repair(unsigned char *s, size_t len)
{
    bool changed = false;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq(s, i, len);
        if (n == 0) {
            s[i++] = '?';
            changed = true;
        } else {
            i += n;
        }
    }
    return changed;
}

pp_str pp_agg_intern(pp_agg *agg, const char *s, size_t len)
{
    if (len == 0)
        return 0;
    /* (strings are unique in the table: one whose text is s's is the one the lookup finds) */
    size_t at =
        (size_t)(((uint64_t)(uintptr_t)s * 0x9e3779b97f4a7c15ULL) >> 32) & (PP_AGG_BY_ADDRESS - 1);
    const char *same = agg->by_address[at].s;
    pp_str id = agg->by_address[at].id;
    if (same == s && id < agg->n_strs && agg->strs[id].len == len &&
        memcmp(agg->str_bytes + agg->strs[id].offset, s, len) == 0)
        return id;
    uint64_t hash = hash_bytes(s, len);
    if (str_lookup(agg, s, len, hash, &id)) {
        agg->by_address[at].s = s;
        agg->by_address[at].id = id;
        return id;
    }
    unsigned char repaired[PP_AGG_MAX_STRING];
    bool cut = len > sizeof repaired; /* longer than any name or path the sampler reads */
    if (cut)
        len = sizeof repaired;
    memcpy(repaired, s, len);
    if (utf8_repair(repaired, len) || cut) {
        s = (const char *)repaired;
        hash = hash_bytes(s, len);
        if (str_lookup(agg, s, len, hash, &id))
            return id;
    }
    if (agg->str_full || str_bytes_used(agg) + str_cost(len) > agg->max_string_bytes ||
        len >= UINT32_MAX - agg->str_used) {
        agg->str_full = true;
        return agg->full_id;
    }
    if (!str_store(agg, s, len, hash, &id)) {
        agg->str_full = true;
        return agg->full_id;
    }
    if (s != (const char *)repaired) {
        agg->by_address[at].s = s;
        agg->by_address[at].id = id;
    }
    return id;
}

const char *pp_agg_string(const pp_agg *agg, pp_str id)
{
    if (id >= agg->n_strs)
        return "";
    return agg->str_bytes + agg->strs[id].offset;
}

size_t pp_agg_string_count(const pp_agg *agg)
{
    return agg->n_strs;
}

uint64_t pp_agg_generation(const pp_agg *agg)
{
    return agg->generation;
}

/* ---- stacks ---- */

static uint64_t stack_hash(const pp_sample_key *key)
{
    uint64_t h = mix64(key->thread_id ^ 0x9e3779b97f4a7c15ULL);
    h = mix64(h ^ key->native_thread_id);
    h = mix64(h ^ ((uint64_t)key->thread_name << 32) ^ key->n_omitted);
    h = mix64(h ^ ((uint64_t)key->label_key << 32) ^ key->label_value);
    /* One multiply per frame (a full mix per frame was most of what adding a sample cost): each
     * step is a bijection of h, so no frame's difference is lost, and the rotation carries the
     * high bits the multiply produces back to the low ones; the final mix spreads the rest. */
    for (size_t i = 0; i < key->n_frames; i++) {
        const pp_frame *f = &key->frames[i];
        uint64_t x = (((uint64_t)f->name << 32) | f->filename) ^
                     ((uint64_t)(uint32_t)f->line * 0x9e3779b97f4a7c15ULL);
        h = (h ^ x) * 0xff51afd7ed558ccdULL;
        h = (h << 29) | (h >> 35);
    }
    return mix64(h);
}

static bool stack_is(const agg_stack *s, const pp_sample_key *key)
{
    if (s->thread_id != key->thread_id || s->native_thread_id != key->native_thread_id ||
        s->thread_name != key->thread_name || s->n_frames != key->n_frames ||
        s->n_omitted != key->n_omitted || s->label_key != key->label_key ||
        s->label_value != key->label_value)
        return false;
    /* pp_frame is three 32-bit fields: no padding, so equal frames are equal bytes */
    return key->n_frames == 0 ||
           memcmp(s->frames, key->frames, key->n_frames * sizeof *key->frames) == 0;
}

static bool stack_equal(const agg_stack *s, const pp_sample_key *key, uint64_t hash)
{
    return s->hash == hash && stack_is(s, key);
}

static pp_frame *arena_frames(pp_agg *agg, size_t n)
{
    size_t bytes = n * sizeof(pp_frame);
    if (bytes == 0)
        bytes = sizeof(pp_frame);
    bytes = (bytes + 15) & ~(size_t)15;
    agg_chunk *c = agg->cur_chunk;
    while (c && c->used + bytes > PP_AGG_CHUNK_BYTES)
        c = c->next;
    if (!c) {
        size_t size = bytes > PP_AGG_CHUNK_BYTES ? bytes : PP_AGG_CHUNK_BYTES;
        c = malloc(sizeof *c + size);
        if (!c)
            return NULL;
        c->used = 0;
        /* Oversized chunks are rare (one stack beyond 5000 frames); keeping them all on one list
         * means reset simply rewinds every chunk. */
        c->next = NULL;
        agg_chunk **tail = &agg->chunks;
        while (*tail)
            tail = &(*tail)->next;
        *tail = c;
    }
    agg->cur_chunk = c;
    pp_frame *frames = (pp_frame *)(c->data + c->used);
    c->used += bytes;
    return frames;
}

static uint32_t *stack_slot(pp_agg *agg, const pp_sample_key *key, uint64_t hash, bool *found)
{
    size_t mask = agg->stack_slots_cap - 1;
    size_t i = hash & mask;
    for (uint32_t slot; (slot = agg->stack_slots[i]) != 0; i = (i + 1) & mask) {
        if (stack_equal(&agg->stacks[slot - 1], key, hash)) {
            *found = true;
            return &agg->stack_slots[i];
        }
    }
    *found = false;
    return &agg->stack_slots[i];
}

/* (restrict: the values are never the stack's own, so the additions go two at a time) */
static void add_values(agg_stack *restrict s, const int64_t *restrict values)
{
    for (int i = 0; i < PP_V_COUNT; i++)
        s->values[i] += values[i];
}

static long add_to_fold(pp_agg *agg, const int64_t *values)
{
    agg->dropped++;
    if (!agg->has_fold) {
        memset(&agg->fold, 0, sizeof agg->fold);
        agg->fold_frame.name = agg->dropped_name_id;
        agg->fold_frame.filename = 0;
        agg->fold_frame.line = 0;
        agg->fold.frames = &agg->fold_frame;
        agg->fold.n_frames = 1;
        agg->has_fold = true;
    }
    add_values(&agg->fold, values);
    return -1;
}

void pp_agg_add(pp_agg *agg, const pp_sample_key *key, int64_t cpu_ns, int64_t wall_ns)
{
    int64_t values[PP_V_COUNT] = {[PP_V_CPU_NS] = cpu_ns,
                                  [PP_V_CPU_SAMPLES] = 1,
                                  [PP_V_WALL_NS] = wall_ns,
                                  [PP_V_WALL_SAMPLES] = 1};
    pp_agg_add_values(agg, key, values);
}

/* The index of key's stack, created with zero values if new; -1 when the bounds are reached. */
static long stack_index(pp_agg *agg, const pp_sample_key *key)
{
    /* (stacks are unique in the table, so the one found here is the one the lookup would find) */
    uint32_t *recent = &agg->recent[key->native_thread_id % PP_AGG_RECENT];
    if (*recent && *recent <= agg->n_stacks && stack_is(&agg->stacks[*recent - 1], key))
        return (long)*recent - 1;
    uint64_t hash = stack_hash(key);
    bool found;
    uint32_t *slot = stack_slot(agg, key, hash, &found);
    if (found) {
        *recent = *slot;
        return (long)*slot - 1;
    }
    if (agg->n_stacks >= agg->max_stacks || key->n_frames > UINT32_MAX ||
        agg->frames_stored + key->n_frames > agg->max_frames_stored)
        return -1;
    if (agg->n_stacks == agg->stacks_cap) {
        size_t cap = agg->stacks_cap * 2;
        if (cap > agg->max_stacks)
            cap = agg->max_stacks;
        agg_stack *stacks = realloc(agg->stacks, cap * sizeof *stacks);
        if (!stacks)
            return -1;
        agg->stacks = stacks;
        agg->stacks_cap = cap;
    }
    pp_frame *frames = arena_frames(agg, key->n_frames);
    if (!frames)
        return -1;
    if (key->n_frames)
        memcpy(frames, key->frames, key->n_frames * sizeof *frames);
    agg->frames_stored += key->n_frames;
    size_t index = agg->n_stacks++;
    agg_stack *s = &agg->stacks[index];
    s->hash = hash;
    s->thread_id = key->thread_id;
    s->native_thread_id = key->native_thread_id;
    s->thread_name = key->thread_name;
    s->n_frames = (uint32_t)key->n_frames;
    s->n_omitted = key->n_omitted;
    s->label_key = key->label_key;
    s->label_value = key->label_value;
    s->frames = frames;
    memset(s->values, 0, sizeof s->values);
    *slot = (uint32_t)index + 1;
    *recent = *slot;
    return (long)index;
}

long pp_agg_add_values(pp_agg *agg, const pp_sample_key *key, const int64_t *values)
{
    long index = stack_index(agg, key);
    pp_agg_add_at(agg, index, values);
    return index;
}

long pp_agg_stack(pp_agg *agg, const pp_sample_key *key)
{
    return stack_index(agg, key);
}

void pp_agg_add_at(pp_agg *agg, long index, const int64_t *values)
{
    if (index >= 0 && (size_t)index < agg->n_stacks)
        add_values(&agg->stacks[index], values);
    else
        add_to_fold(agg, values);
}

static pp_sample_key key_of(const agg_stack *s)
{
    pp_sample_key key = {
        .thread_id = s->thread_id,
        .native_thread_id = s->native_thread_id,
        .thread_name = s->thread_name,
        .frames = s->frames,
        .n_frames = s->n_frames,
        .n_omitted = s->n_omitted,
        .label_key = s->label_key,
        .label_value = s->label_value,
    };
    return key;
}

void pp_agg_foreach(const pp_agg *agg, pp_agg_visit_fn fn, void *ctx)
{
    for (size_t i = 0; i <= agg->n_stacks; i++) {
        const agg_stack *s = i < agg->n_stacks ? &agg->stacks[i] : &agg->fold;
        if (i == agg->n_stacks && !agg->has_fold)
            break;
        pp_sample_key key = key_of(s);
        fn(ctx, &key, s->values);
    }
}

int pp_agg_stack_key(const pp_agg *agg, long index, pp_sample_key *key)
{
    if (index < 0 || (size_t)index >= agg->n_stacks)
        return -1;
    *key = key_of(&agg->stacks[index]);
    return 0;
}

size_t pp_agg_stack_count(const pp_agg *agg)
{
    return agg->n_stacks;
}

void pp_agg_rename_threads(pp_agg *agg, pp_agg_rename_fn rename, void *ctx)
{
    bool changed = false;
    for (size_t i = 0; i < agg->n_stacks; i++) {
        agg_stack *s = &agg->stacks[i];
        pp_str name = rename(ctx, s->thread_id, s->native_thread_id, s->thread_name);
        if (name != s->thread_name) {
            s->thread_name = name;
            pp_sample_key key = key_of(s);
            s->hash = stack_hash(&key);
            changed = true;
        }
    }
    if (!changed)
        return;
    /* Stacks that became equal are no longer unique: the lookup decides which one is found. */
    memset(agg->recent, 0, sizeof agg->recent);
    /* The index follows the new hashes, every stack its own entry. */
    size_t mask = agg->stack_slots_cap - 1;
    memset(agg->stack_slots, 0, agg->stack_slots_cap * sizeof *agg->stack_slots);
    for (size_t i = 0; i < agg->n_stacks; i++) {
        size_t j = agg->stacks[i].hash & mask;
        while (agg->stack_slots[j] != 0)
            j = (j + 1) & mask;
        agg->stack_slots[j] = (uint32_t)i + 1;
    }
}

void pp_agg_reset_stacks(pp_agg *agg)
{
    if (agg->n_stacks)
        memset(agg->stack_slots, 0, agg->stack_slots_cap * sizeof *agg->stack_slots);
    agg->n_stacks = 0;
    memset(agg->recent, 0, sizeof agg->recent);
    agg->has_fold = false;
    agg->frames_stored = 0;
    for (agg_chunk *c = agg->chunks; c; c = c->next)
        c->used = 0;
    agg->cur_chunk = agg->chunks;
    if (agg->str_full ||
        str_bytes_used(agg) * PP_AGG_STR_CLEAR_DEN > agg->max_string_bytes * PP_AGG_STR_CLEAR_NUM) {
        /* Only here can no stack refer to a string any more. strings_init cannot fail: the
         * reserved strings fit in the storage they had before. */
        strings_init(agg);
        agg->generation++;
    }
}

uint64_t pp_agg_dropped_stacks(const pp_agg *agg)
{
    return agg->dropped;
}

pp_agg *pp_agg_new(size_t max_stacks, size_t max_string_bytes)
{
    if (max_stacks == 0 || max_stacks > UINT32_MAX / 4)
        return NULL;
    pp_agg *agg = calloc(1, sizeof *agg);
    if (!agg)
        return NULL;
    agg->max_stacks = max_stacks;
    agg->max_string_bytes = max_string_bytes;
    agg->max_frames_stored = max_stacks * PP_AGG_AVG_FRAMES;
    agg->stack_slots_cap = pow2_at_least(2 * (max_stacks + 1));
    agg->stack_slots = calloc(agg->stack_slots_cap, sizeof *agg->stack_slots);
    agg->stacks_cap = max_stacks < 64 ? max_stacks : 64;
    agg->stacks = malloc(agg->stacks_cap * sizeof *agg->stacks);
    if (!agg->stack_slots || !agg->stacks || !strings_init(agg)) {
        pp_agg_free(agg);
        return NULL;
    }
    return agg;
}

void pp_agg_free(pp_agg *agg)
{
    if (!agg)
        return;
    for (agg_chunk *c = agg->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(agg->stack_slots);
    free(agg->stacks);
    free(agg->str_slots);
    free(agg->strs);
    free(agg->str_bytes);
    free(agg);
}

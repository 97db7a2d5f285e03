#include "code_cache.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "code_frees.h"
#include "linetable.h"
#include "pystring.h"
#include "read_plan.h"
#include "safe_read.h"
#include "spread_hash.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

/* Two-way set associative, sets picked by a multiplicative hash: the allocator puts code objects
 * at the same offsets of pools and arenas, so a plain address modulo makes objects of one stack
 * evict each other on every pass. Sized for the code objects of a large service. */
#define SLOTS 8192
#define SET_BITS 12 /* SLOTS / 2 sets */
/* Largest code object header copied (py_layout's co_size). */
#define HEADER_MAX PP_COPY_CODE
/* Prefetching headers: bytes copied per batch, gaps between neighbours included. */
#define SCRATCH_BYTES (PP_READ_BATCH * (HEADER_MAX + PP_MERGE_GAP))

struct pp_code_cache {
    const pp_runtime *rt;
    pp_agg *agg;
    uint64_t generation;
    uint64_t misses;
    uint64_t checks; /* headers read to verify an entry (hits and misses) */
    uint64_t pass;   /* the verification pass (pp_code_cache_pass) */
    uint64_t sweep;  /* sampling passes started: what queued_pass counts */
    /* The frees hook is installed, and what it said at the start of the last sampling pass: its
     * count, and whether no deallocation was under way then (quiet). */
    int hooked, quiet;
    uint64_t frees;
    /* The aggregate's string generation when the verification pass began: a new one ends it,
     * since what was resolved with the entries (a thread's remembered frames) holds string ids
     * of the old one. */
    uint64_t pass_generation;
    uint8_t scratch[SCRATCH_BYTES];
    pp_code_info slots[SLOTS];
};

pp_code_cache *pp_code_cache_new(const pp_runtime *rt, pp_agg *agg)
{
    pp_code_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->rt = rt;
    c->agg = agg;
    c->generation = pp_agg_generation(agg);
    c->pass_generation = c->generation;
    c->pass = 1;
    c->sweep = 1;
    return c;
}

static void clear_slot(pp_code_info *e)
{
    free(e->linetable);
    memset(e, 0, sizeof *e);
}

void pp_code_cache_free(pp_code_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < SLOTS; i++)
        free(c->slots[i].linetable);
    free(c);
}

static uintptr_t field_ptr(const uint8_t *h, int32_t off)
{
    uintptr_t v;
    memcpy(&v, h + off, sizeof v);
    return v;
}

static int32_t field_i32(const uint8_t *h, int32_t off)
{
    int32_t v;
    memcpy(&v, h + off, sizeof v);
    return v;
}

/* What may change in a live code object and is read fresh with its header. */
static void refresh(const pp_py_layout *l, pp_code_info *e, const uint8_t *h)
{
    e->tlbc = l->co_tlbc >= 0 ? field_ptr(h, l->co_tlbc) : 0;
}

static int intern_string(pp_code_cache *c, uintptr_t addr, pp_str *out)
{
    char buf[PP_STR_BUF];
    long n = pp_read_pystring(&c->rt->layout, addr, buf);
    if (n < 0)
        return -1;
    *out = pp_agg_intern(c->agg, buf, (size_t)n);
    return 0;
}

/* Copies the bytes object holding the line table; a missing or oversized one leaves it empty. */
static void copy_linetable(pp_code_cache *c, pp_code_info *e)
{
    const pp_py_layout *l = &c->rt->layout;
    int64_t size;
    if (!e->linetable_ptr ||
        pp_read(&size, e->linetable_ptr + (uintptr_t)l->bytes_size, sizeof size) != 0 ||
        size <= 0 || size > PP_MAX_LINETABLE)
        return;
    uint8_t *copy = malloc((size_t)size);
    if (!copy)
        return;
    if (pp_read(copy, e->linetable_ptr + (uintptr_t)l->bytes_sval, (size_t)size) != 0) {
        free(copy);
        return;
    }
    e->linetable = copy;
    e->linetable_len = (uint32_t)size;
}

/* Whether the first word of an object's header (ob_refcnt) can be a live object's. A freed one's
 * header stays in memory, unchanged but for what the allocator writes there: pymalloc its free
 * list's link, 0 or a block of the same pool (4 or 16 KiB aligned, so within 64 KiB of addr), which
 * no reference count comes near (glibc's malloc also overwrites ob_type: not a code object). A
 * free-threaded build keeps its owner thread's id there, which may be 0 while alive. */
static int looks_alive(const pp_py_layout *l, uintptr_t addr, uintptr_t first)
{
#ifdef __SANITIZE_ADDRESS__
    /* A sanitizer build's allocator keeps a freed block whole in its quarantine but for a word of
     * its own at the start, where glibc's overwrites ob_type: a large code object freed there
     * (a module's, after its import) would look alive, its name already another string's. Such a
     * block is poisoned; glibc's never looks alive, so this only makes the sanitizer build see
     * what a release build sees. */
    if (__asan_address_is_poisoned((const void *)addr))
        return 0;
#endif
    return l->free_threaded || (first != 0 && (first ^ addr) >= ((uintptr_t)1 << 16));
}

/* Whether the header is a live object's: not one whose deallocation has begun (its reference
 * count is 0 from then on, but for the instant a code watcher is called) nor a freed block's. The
 * test an entry must pass to stay verified while no code object is freed (code_cache.h). A GIL
 * build: looks_alive, and the reference count's low 32 bits not 0 (from 3.14 the high ones hold
 * flags, which a freed object keeps). A free-threaded one: its local count (ob_ref_local, 12
 * bytes before ob_type) or its shared count (ob_ref_shared, 8 before, above 2 flag bits)
 * positive, as one of them is while the object lives. */
static int alive(const pp_py_layout *l, uintptr_t addr, const uint8_t *h)
{
    if (l->free_threaded) {
        uint32_t local;
        int64_t shared;
        memcpy(&local, h + l->ob_type - 12, sizeof local);
        memcpy(&shared, h + l->ob_type - 8, sizeof shared);
        return local != 0 || shared >= 4;
    }
    uintptr_t first = field_ptr(h, l->ob_type - (int32_t)sizeof first);
    return looks_alive(l, addr, first) && (uint32_t)first != 0;
}

/* Marks e verified in this verification pass from header h, when h can vouch for it beyond this
 * sampling pass: while the frees hook is installed passes last as long as no code object is freed,
 * and only a live object stays the one at its address that long. */
static void mark_verified(pp_code_cache *c, pp_code_info *e, const uint8_t *h)
{
    if (!c->hooked || alive(&c->rt->layout, e->addr, h))
        e->checked_pass = c->pass;
}

/* Whether the code object at e->addr still is the one e was built from, alive, read after its
 * strings and line table were: while it lives they do (it holds them), but once it is freed they
 * may be too and their memory given to others (the line table of the next function compiled in
 * its place: that one's lines under this one's name). */
static int still_same(const pp_py_layout *l, const pp_code_info *e)
{
    uintptr_t first, filename, name, linetable;
    int32_t firstlineno;
    pp_field f[] = {{l->ob_type - (int32_t)sizeof first, sizeof first, &first},
                    {l->co_filename, sizeof filename, &filename},
                    {l->co_qualname >= 0 ? l->co_qualname : l->co_name, sizeof name, &name},
                    {l->co_linetable, sizeof linetable, &linetable},
                    {l->co_firstlineno, sizeof firstlineno, &firstlineno}};
    return pp_read_fields(e->addr, f, 5) == 0 && looks_alive(l, e->addr, first) &&
           filename == e->filename_ptr && name == e->name_ptr && linetable == e->linetable_ptr &&
           firstlineno == e->firstlineno;
}

static pp_code_info *set_of(pp_code_cache *c, uintptr_t addr)
{
    return &c->slots[pp_spread((uint64_t)addr >> 4, SET_BITS) * 2];
}

/* The way of set holding addr, else the first. */
static pp_code_info *way_of(pp_code_info *set, uintptr_t addr)
{
    return set[1].addr == addr ? &set[1] : &set[0];
}

const pp_code_info *pp_code_cache_get(pp_code_cache *c, uintptr_t addr, const uint8_t *h)
{
    const pp_py_layout *l = &c->rt->layout;
    if (c->rt->code_type && field_ptr(h, l->ob_type) != c->rt->code_type)
        return NULL;
    uint64_t generation = pp_agg_generation(c->agg);
    if (generation != c->generation) {
        for (size_t i = 0; i < SLOTS; i++)
            clear_slot(&c->slots[i]);
        c->generation = generation;
    }
    uintptr_t filename = field_ptr(h, l->co_filename);
    uintptr_t name = field_ptr(h, l->co_qualname >= 0 ? l->co_qualname : l->co_name);
    uintptr_t linetable = field_ptr(h, l->co_linetable);
    int32_t firstlineno = field_i32(h, l->co_firstlineno);
    pp_code_info *set = set_of(c, addr), *e = way_of(set, addr);
    if (e->addr == addr && e->filename_ptr == filename && e->name_ptr == name &&
        e->linetable_ptr == linetable && e->firstlineno == firstlineno) {
        c->checks++;
        mark_verified(c, e, h);
        refresh(l, e, h);
        return e;
    }
    /* (a freed code object's header may still match its entry: what the entry holds was read
     * while it was alive; but it is not read from again) */
    if (!looks_alive(l, addr, field_ptr(h, l->ob_type - (int32_t)sizeof(uintptr_t))))
        return NULL;
    if (e->addr != addr && set[1].checked_pass < set[0].checked_pass)
        e = &set[1]; /* a new object replaces the way verified least recently */
    c->misses++;
    c->checks++;
    clear_slot(e);
    pp_code_info fresh = {.addr = addr,
                          .filename_ptr = filename,
                          .name_ptr = name,
                          .linetable_ptr = linetable,
                          .firstlineno = firstlineno,
                          .firsttraceable =
                              l->co_firsttraceable >= 0 ? field_i32(h, l->co_firsttraceable) : 0,
                          .nunits = -1};
    if (l->co_nunits >= 0)
        memcpy(&fresh.nunits, h + l->co_nunits, sizeof fresh.nunits);
    refresh(l, &fresh, h);
    if (intern_string(c, name, &fresh.name) != 0 ||
        intern_string(c, filename, &fresh.filename) != 0)
        return NULL;
    copy_linetable(c, &fresh);
    if (!still_same(l, &fresh)) {
        free(fresh.linetable);
        return NULL;
    }
    fresh.fill = c->misses;
    for (int i = 0; i < 4; i++)
        fresh.memo_offset[i] = LONG_MIN;
    *e = fresh;
    mark_verified(c, e, h);
    return e;
}

/* The entry of addr when it was verified in this pass (the generation checked by the caller). */
static pp_code_info *verified_entry(pp_code_cache *c, uintptr_t addr)
{
    pp_code_info *e = way_of(set_of(c, addr), addr);
    return e->addr == addr && e->checked_pass == c->pass ? e : NULL;
}

/* Whether addr is already queued for the next batch: the entry of a code object cached before
 * remembers the pass it was queued in; a new one is looked for among the queued. */
static int queued(pp_code_cache *c, uintptr_t addr, const uintptr_t *pending, size_t k)
{
    pp_code_info *e = way_of(set_of(c, addr), addr);
    if (e->addr == addr) {
        if (e->queued_pass == c->sweep)
            return 1;
        e->queued_pass = c->sweep;
        return 0;
    }
    for (size_t j = 0; j < k; j++)
        if (pending[j] == addr)
            return 1;
    return 0;
}

const pp_code_info *pp_code_cache_verified(pp_code_cache *c, uintptr_t addr)
{
    return c->generation == pp_agg_generation(c->agg) ? verified_entry(c, addr) : NULL;
}

/* Reads the headers of codes[0..n) in one system call, neighbours merged into one span (the
 * code objects of a module sit close together), then verifies each code whose span arrived. */
static void prefetch_batch(pp_code_cache *c, const uintptr_t *codes, size_t n, size_t co_size)
{
    pp_span spans[PP_READ_BATCH];
    for (size_t i = 0; i < n; i++)
        spans[i] = (pp_span){codes[i], co_size};
    size_t m = pp_spans_merge(spans, n), at = 0;
    pp_read_req reqs[PP_READ_BATCH];
    size_t k = 0;
    for (; k < m && spans[k].len <= sizeof c->scratch - at; k++) {
        reqs[k] = (pp_read_req){c->scratch + at, spans[k].addr, spans[k].len, 0};
        at += spans[k].len;
    }
    pp_read_many(reqs, k);
    for (size_t i = 0; i < n; i++) {
        long j = pp_spans_find(spans, k, codes[i], co_size);
        if (j >= 0 && reqs[j].ok)
            pp_code_cache_get(c, codes[i],
                              (const uint8_t *)reqs[j].dst + (codes[i] - spans[j].addr));
    }
}

void pp_code_cache_prefetch(pp_code_cache *c, const uintptr_t *addrs, size_t n,
                            const pp_code_info **verified)
{
    size_t co_size = (size_t)c->rt->layout.co_size;
    /* Entries of another string generation are stale: none is verified (the first
     * pp_code_cache_get clears them). */
    int current = c->generation == pp_agg_generation(c->agg);
    uintptr_t pending[PP_READ_BATCH];
    size_t k = 0, missing = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n) {
            uintptr_t a = addrs[i];
            /* consecutive frames of one code object (recursion) are looked up once */
            verified[i] = i > 0 && a == addrs[i - 1] ? verified[i - 1]
                          : current                  ? verified_entry(c, a)
                                                     : NULL;
            missing += !verified[i];
            if (verified[i] || a < 4096 || a + co_size < a || co_size > HEADER_MAX ||
                queued(c, a, pending, k))
                continue;
            pending[k++] = a;
        }
        if (k == PP_READ_BATCH || (i == n && k > 0)) {
            prefetch_batch(c, pending, k, co_size);
            k = 0;
        }
    }
    for (size_t i = 0; i < n && missing; i++)
        if (!verified[i]) {
            verified[i] = pp_code_cache_verified(c, addrs[i]);
            missing--;
        }
}

void pp_code_cache_new_pass(pp_code_cache *c)
{
    c->sweep++;
    uint64_t frees = 0;
    int quiet = pp_code_frees_quiet(&frees);
    /* with thread-local bytecode a live code object's copies may move (read with its header) */
    int hooked = quiet >= 0 && c->rt->code_type && c->rt->layout.co_tlbc < 0;
    uint64_t generation = pp_agg_generation(c->agg);
    if (!hooked || !c->hooked || !c->quiet || quiet != 1 || frees != c->frees ||
        generation != c->pass_generation)
        c->pass++;
    c->pass_generation = generation;
    c->hooked = hooked;
    c->quiet = quiet == 1;
    c->frees = frees;
}

uint64_t pp_code_cache_pass(const pp_code_cache *c)
{
    return c->pass;
}

int pp_code_line(pp_code_cache *c, const pp_code_info *code, long offset)
{
    pp_code_info *e = (pp_code_info *)code; /* entries live in c->slots */
    for (int i = 0; i < 4; i++)
        if (e->memo_offset[i] == offset)
            return e->memo_line[i];
    int line = pp_line_for_offset(c->rt->layout.line_format, e->linetable, e->linetable_len,
                                  e->firstlineno, offset);
    uint32_t k = e->memo_next++ % 4;
    e->memo_offset[k] = offset;
    e->memo_line[k] = line;
    return line;
}

uint64_t pp_code_cache_misses(const pp_code_cache *c)
{
    return c->misses;
}

size_t pp_code_cache_counters(const pp_code_cache *c, pp_counter *out)
{
    uint64_t frees = 0;
    pp_code_frees_quiet(&frees);
    out[0] = (pp_counter){"code_checks", c->checks};
    out[1] = (pp_counter){"code_check_passes", c->pass};
    out[2] = (pp_counter){"code_frees", frees};
    return PP_CODE_CACHE_COUNTERS;
}

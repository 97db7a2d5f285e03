/* Code objects seen in stacks, cached by address. A hit is only trusted when the fields read
 * fresh from the code object (type, co_filename, co_name/co_qualname, line-table pointer,
 * co_firstlineno) still match, so a code object freed and another allocated at the same address
 * (exec in a loop, module reloads) is re-read instead of being misattributed. An entry is only
 * built from a code object that looks alive (a freed one's header may linger unchanged, its
 * strings and line table already handed to other objects) before and after its strings and line
 * table are copied. Interned string ids are dropped when the aggregate's string generation
 * changes.
 *
 * Entries are trusted for one verification pass, then verified again from a fresh header. Without
 * the frees hook (code_frees.h) a verification pass is a sampling pass. With it, a new one starts
 * only when code objects may have been freed: at the start of each sampling pass the cache reads
 * the hook's counts, and the verification pass goes on while they have not moved and no
 * deallocation was under way at either start; an entry is then only marked verified from a header
 * of a live object (reference count above 0). Why that is safe: an entry verified at time t of a
 * verification pass that began at s0 (counts c, none under way) and still runs at the start s1 of
 * a later sampling pass (counts c again, none under way) was read from a live code object X. A
 * deallocation of X would have been counted before X's memory was freed: not between s0 and s1
 * (the count did not move), not before s0 (it would have been under way at s0, or ended, and then
 * X was not live at t > s0). So X lived at its address through s1, with the identity verified at
 * t (a live code object's fields do not change), and the remaining window for an address to be
 * reused is one sampling pass, as without the hook. */
#ifndef PODPROF_SAMPLER_CODE_CACHE_H
#define PODPROF_SAMPLER_CODE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
#include "profile_output.h"
#include "runtime.h"

/* Line tables larger than this are not copied (lines of that code object read as 0). */
#define PP_MAX_LINETABLE 65536

typedef struct pp_code_info {
    uintptr_t addr;
    /* identity of the object the entry was built from */
    uintptr_t filename_ptr, name_ptr, linetable_ptr;
    int32_t firstlineno;
    /* what the sampler needs */
    pp_str name, filename;
    int32_t firsttraceable; /* code units, 3.11+ */
    int64_t nunits;         /* code units of bytecode, -1 when unknown (before 3.11) */
    uintptr_t tlbc;         /* the thread-local bytecode copies (_PyCodeArray *), 0: none */
    uint8_t *linetable;
    uint32_t linetable_len;
    uint64_t checked_pass; /* the verification pass in which the identity was last verified */
    uint64_t queued_pass;  /* the sampling pass in which it was last queued to be verified */
    uint64_t fill;         /* which filling of the cache's entries made it (never 0) */
    /* last offsets looked up (hot loops sample the same few instructions) */
    long memo_offset[4];
    int32_t memo_line[4];
    uint32_t memo_next;
} pp_code_info;

typedef struct pp_code_cache pp_code_cache;

pp_code_cache *pp_code_cache_new(const pp_runtime *rt, pp_agg *agg);
void pp_code_cache_free(pp_code_cache *cache);

/* header: co_size bytes copied from the code object at addr. Returns the entry, or NULL when
 * the object is not a code object or cannot be read. */
const pp_code_info *pp_code_cache_get(pp_code_cache *cache, uintptr_t addr, const uint8_t *header);

/* The entry for addr if it was already verified during this verification pass (frames of one pass
 * share code objects: recursion, common callers, many threads in the same function; and while no
 * code object is freed, passes share entries), else NULL. Saves the header read; the window for
 * an address to be reused is one sampling pass. */
const pp_code_info *pp_code_cache_verified(pp_code_cache *cache, uintptr_t addr);

/* Verifies for this pass the code objects at addrs[0..n) not verified yet, reading their headers
 * in batches (duplicates and 0 are skipped), and sets verified[i] to the entry of addrs[i]
 * verified in this pass (what pp_code_cache_verified would return, looked up once). One that
 * cannot be read, or is not a code object, stays unverified (NULL): pp_code_cache_get on its own
 * header then decides. */
void pp_code_cache_prefetch(pp_code_cache *cache, const uintptr_t *addrs, size_t n,
                            const pp_code_info **verified);

/* A sampling pass starts: entries verified before must be verified again, unless the frees hook
 * says the verification pass goes on (see above). */
void pp_code_cache_new_pass(pp_code_cache *cache);
/* The current verification pass (an entry with checked_pass equal to it was verified in it). */
uint64_t pp_code_cache_pass(const pp_code_cache *cache);

/* The line of an instruction offset of this code object (see linetable.h for units). */
int pp_code_line(pp_code_cache *cache, const pp_code_info *code, long offset);

uint64_t pp_code_cache_misses(const pp_code_cache *cache);

/* The profile counters of the cache: code_checks (headers read to verify an entry),
 * code_check_passes (verification passes begun) and code_frees (the hook's count of code objects
 * deallocated, 0 without it). Writes PP_CODE_CACHE_COUNTERS of them into out. */
#define PP_CODE_CACHE_COUNTERS 3
size_t pp_code_cache_counters(const pp_code_cache *cache, pp_counter *out);

#endif

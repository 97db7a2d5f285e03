/* Code objects seen in stacks, cached by address. A hit is only trusted when the fields read
 * fresh from the code object (type, co_filename, co_name/co_qualname, line-table pointer,
 * co_firstlineno) still match, so a code object freed and another allocated at the same address
 * (exec in a loop, module reloads) is re-read instead of being misattributed. An entry is only
 * built from a code object that looks alive (a freed one's header may linger unchanged, its
 * strings and line table already handed to other objects) before and after its strings and line
 * table are copied. Interned string ids are dropped when the aggregate's string generation
 * changes. */
#ifndef PODPROF_SAMPLER_CODE_CACHE_H
#define PODPROF_SAMPLER_CODE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "aggregate.h"
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
    uint64_t checked_pass; /* the sampling pass in which the identity was last verified */
    uint64_t queued_pass;  /* the pass in which it was last queued to be verified */
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

/* The entry for addr if it was already verified during this pass (frames of one pass share code
 * objects: recursion, common callers, many threads in the same function), else NULL. Saves the
 * header read; the window for an address to be reused is one pass. */
const pp_code_info *pp_code_cache_verified(pp_code_cache *cache, uintptr_t addr);

/* Verifies for this pass the code objects at addrs[0..n) not verified yet, reading their headers
 * in batches (duplicates and 0 are skipped), and sets verified[i] to the entry of addrs[i]
 * verified in this pass (what pp_code_cache_verified would return, looked up once). One that
 * cannot be read, or is not a code object, stays unverified (NULL): pp_code_cache_get on its own
 * header then decides. */
void pp_code_cache_prefetch(pp_code_cache *cache, const uintptr_t *addrs, size_t n,
                            const pp_code_info **verified);

/* Starts a new pass: entries verified before must be verified again. */
void pp_code_cache_new_pass(pp_code_cache *cache);
/* The current pass (an entry with checked_pass equal to it was verified in it). */
uint64_t pp_code_cache_pass(const pp_code_cache *cache);

/* The line of an instruction offset of this code object (see linetable.h for units). */
int pp_code_line(pp_code_cache *cache, const pp_code_info *code, long offset);

uint64_t pp_code_cache_misses(const pp_code_cache *cache);

#endif

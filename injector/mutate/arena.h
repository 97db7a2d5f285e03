/* A per-thread bump allocator behind cJSON's allocation hooks, active for the lifetime of one
 * admission request: parsing the review, building the patch and printing the response then cost
 * no malloc/free per node, and everything is released at once. Outside a request (or in threads
 * that never begin one) cJSON allocates with malloc as usual.
 *
 * Rule that makes it safe: memory that cJSON allocated is released with cJSON_free/cJSON_Delete,
 * never free(), and nothing allocated inside a request outlives inj_arena_end(). */
#ifndef PODPROF_INJECTOR_ARENA_H
#define PODPROF_INJECTOR_ARENA_H

#include <stddef.h>

/* Default bound on one request's JSON working memory; beyond it allocations fail (the request
 * gets a clear error) instead of the process growing without limit. */
#define INJ_ARENA_MAX_BYTES (96u << 20)

/* Lowers (or raises) the bound for every thread; call once at start, before any request. The
 * server derives it from its memory limit (budget.h). */
void inj_arena_set_limit(size_t bytes);
/* Installs the hooks; call once, before any thread uses cJSON. */
void inj_arena_install(void);
void inj_arena_begin(void);
void inj_arena_end(void);
/* True when the current request hit INJ_ARENA_MAX_BYTES. */
int inj_arena_exhausted(void);
/* Frees the thread's retained chunk (call before a thread that used the arena exits). */
void inj_arena_release(void);
/* Bytes of chunks the current request holds, the retained first one included (for tests: never
 * above the bound). */
size_t inj_arena_reserved(void);
/* Bytes handed out since inj_arena_begin (for tests). */
size_t inj_arena_used(void);

#endif

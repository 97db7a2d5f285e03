#include "memory_budget.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* glibc's malloc keeps a size word per block and rounds to 16 bytes: counting it keeps the
 * budget honest for the many small blocks a hostile protobuf or JSON asks for. */
#define EX_BLOCK_OVERHEAD 16
#define EX_CGROUP_V2_MAX "/sys/fs/cgroup/memory.max"
#define EX_CGROUP_V1_MAX "/sys/fs/cgroup/memory/memory.limit_in_bytes"
#define EX_NO_LIMIT_ABOVE (1ull << 50) /* cgroup v1 reports "unlimited" as a huge number */

static size_t read_cgroup_limit(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    unsigned long long v = 0;
    int ok = fscanf(f, "%llu", &v) == 1; /* "max" does not scan: no limit */
    fclose(f);
    return ok && v > 0 && v < EX_NO_LIMIT_ABOVE ? (size_t)v : 0;
}

size_t ex_memory_limit(int setting_mib, const char **source)
{
    if (setting_mib > 0) {
        *source = "setting";
        return (size_t)setting_mib << 20;
    }
    size_t v = read_cgroup_limit(EX_CGROUP_V2_MAX);
    if (!v)
        v = read_cgroup_limit(EX_CGROUP_V1_MAX);
    if (v) {
        *source = "cgroup";
        return v;
    }
    *source = "default";
    return (size_t)EX_MEMORY_DEFAULT_MIB << 20;
}

void ex_memory_budget_from_limit(size_t limit, ex_memory_budget *b)
{
    size_t reserve = (size_t)EX_MEMORY_RESERVE_MIB << 20,
           floor = (size_t)EX_MEMORY_MIN_WORK_MIB << 20;
    size_t work = limit > reserve + floor ? limit - reserve : floor;
    b->limit = limit;
    b->max_meta = work / 4;
    b->max_file = work / 4;
    b->max_raw = work / 4;
    b->max_decode = work / 8 * 3; /* the last eighth is margin */
}

static void *counted_alloc(void *data, size_t size)
{
    ex_counting_allocator *a = data;
    size_t cost = size + EX_BLOCK_OVERHEAD;
    if (cost < size || cost > a->left) {
        a->exhausted = 1;
        return NULL;
    }
    a->left -= cost;
    return malloc(size);
}

static void counted_free(void *data, void *p)
{
    (void)data;
    free(p); /* not credited back: the budget bounds everything the decoder ever asked for */
}

void ex_counting_allocator_init(ex_counting_allocator *a, size_t bytes)
{
    a->base.alloc = counted_alloc;
    a->base.free = counted_free;
    a->base.allocator_data = a;
    a->left = bytes;
    a->exhausted = 0;
}

static _Thread_local ex_counting_allocator *json_budget;

static void *json_malloc(size_t size)
{
    return json_budget ? counted_alloc(json_budget, size) : malloc(size);
}

static void install_json_hooks(void)
{
    cJSON_Hooks hooks = {.malloc_fn = json_malloc, .free_fn = free};
    cJSON_InitHooks(&hooks);
}

void ex_json_budget_begin(size_t bytes)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    static _Thread_local ex_counting_allocator a;
    pthread_once(&once, install_json_hooks);
    ex_counting_allocator_init(&a, bytes);
    json_budget = &a;
}

int ex_json_budget_end(void)
{
    int exhausted = json_budget && json_budget->exhausted;
    json_budget = NULL;
    return exhausted;
}

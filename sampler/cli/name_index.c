/* Open addressing over a growing table of key copies (see name_index.h). */
#include "name_index.h"

#include <stdlib.h>
#include <string.h>

typedef struct key_entry {
    char *key;
    size_t len;
    uint64_t hash;
} key_entry;

struct name_index {
    key_entry *keys;
    size_t n, cap;
    uint32_t *slots; /* id + 1, 0 = empty */
    size_t slots_cap;
};

name_index *name_index_new(void)
{
    return calloc(1, sizeof(name_index));
}

void name_index_free(name_index *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->n; i++)
        free(ix->keys[i].key);
    free(ix->keys);
    free(ix->slots);
    free(ix);
}

static uint64_t key_hash(const char *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 0x100000001b3ULL;
    return h ^ (h >> 31);
}

static bool grow_slots(name_index *ix)
{
    size_t cap = ix->slots_cap ? ix->slots_cap * 2 : 1024;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < ix->n; i++) {
        size_t j = ix->keys[i].hash & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = (uint32_t)i + 1;
    }
    free(ix->slots);
    ix->slots = slots;
    ix->slots_cap = cap;
    return true;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t slot_of(const name_index *ix, const char *key, size_t len, uint64_t h)
{
    size_t j = h & (ix->slots_cap - 1);
    for (; ix->slots[j]; j = (j + 1) & (ix->slots_cap - 1)) {
        const key_entry *e = &ix->keys[ix->slots[j] - 1];
        if (e->hash == h && e->len == len && !memcmp(e->key, key, len))
            break;
    }
    return j;
}

int64_t name_index_find(const name_index *ix, const char *key, size_t len)
{
    if (!ix->slots_cap)
        return -1;
    size_t j = slot_of(ix, key, len, key_hash(key, len));
    return ix->slots[j] ? (int64_t)ix->slots[j] - 1 : -1;
}

int64_t name_index_id(name_index *ix, const char *key, size_t len, bool *added)
{
    if (added)
        *added = false;
    if (ix->n >= UINT32_MAX - 1 || ((ix->n + 1) * 2 > ix->slots_cap && !grow_slots(ix)))
        return -1;
    uint64_t h = key_hash(key, len);
    size_t j = slot_of(ix, key, len, h);
    if (ix->slots[j])
        return ix->slots[j] - 1;
    if (ix->n == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 256;
        key_entry *keys = realloc(ix->keys, cap * sizeof *keys);
        if (!keys)
            return -1;
        ix->keys = keys;
        ix->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, key, len);
    copy[len] = '\0';
    ix->keys[ix->n] = (key_entry){copy, len, h};
    ix->slots[j] = (uint32_t)++ix->n;
    if (added)
        *added = true;
    return (int64_t)ix->n - 1;
}

const char *name_index_key(const name_index *ix, int64_t id, size_t *len)
{
    if (len)
        *len = ix->keys[id].len;
    return ix->keys[id].key;
}

size_t name_index_count(const name_index *ix)
{
    return ix->n;
}

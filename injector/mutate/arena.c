#include "arena.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <cjson/cJSON.h>

#define FIRST_CHUNK (256u << 10)

struct chunk {
    struct chunk *next;
    size_t size, used;
    alignas(16) unsigned char data[];
};

struct arena {
    bool active;
    bool exhausted;
    struct chunk *head;  /* current chunk, newest first */
    struct chunk *first; /* kept between requests */
    size_t total;
};

static _Thread_local struct arena A;
/* Set once at start, before any request (inj_arena_set_limit). */
static size_t limit = INJ_ARENA_MAX_BYTES;

void inj_arena_set_limit(size_t bytes)
{
    limit = bytes > FIRST_CHUNK ? bytes : FIRST_CHUNK;
}

static struct chunk *new_chunk(size_t size)
{
    struct chunk *c = malloc(sizeof *c + size);
    if (c) {
        c->next = NULL;
        c->size = size;
        c->used = 0;
    }
    return c;
}

static void *arena_alloc(size_t n)
{
    if (!A.active)
        return malloc(n);
    n = (n + 15) & ~(size_t)15;
    if (!A.head || A.head->size - A.head->used < n) {
        /* The bound is on what is malloc'ed, not on what is handed out: a doubled chunk is
         * capped at what the request has left. */
        size_t room = A.total < limit ? limit - A.total : 0;
        if (n > room) {
            A.exhausted = true;
            return NULL;
        }
        size_t size = A.head ? A.head->size * 2 : FIRST_CHUNK;
        while (size < n)
            size *= 2;
        if (size > room)
            size = room;
        struct chunk *c = new_chunk(size);
        if (!c)
            return NULL;
        c->next = A.head;
        A.head = c;
        A.total += size;
    }
    void *p = A.head->data + A.head->used;
    A.head->used += n;
    return p;
}

static bool in_arena(const void *p)
{
    for (const struct chunk *c = A.head; c; c = c->next)
        if ((const unsigned char *)p >= c->data && (const unsigned char *)p < c->data + c->size)
            return true;
    return false;
}

static void arena_free(void *p)
{
    /* Arena memory goes away all at once in inj_arena_end. */
    if (p && !(A.active && in_arena(p)))
        free(p);
}

void inj_arena_install(void)
{
    cJSON_Hooks hooks = {arena_alloc, arena_free};
    cJSON_InitHooks(&hooks);
}

void inj_arena_begin(void)
{
    if (!A.first)
        A.first = new_chunk(FIRST_CHUNK);
    if (A.first) {
        A.first->used = 0;
        A.first->next = NULL;
        A.head = A.first;
        A.total = A.first->size;
    }
    A.active = true;
    A.exhausted = false;
}

void inj_arena_end(void)
{
    struct chunk *c = A.head;
    while (c && c != A.first) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    A.head = NULL;
    A.total = 0;
    A.active = false;
}

void inj_arena_release(void)
{
    inj_arena_end();
    free(A.first);
    A.first = NULL;
}

int inj_arena_exhausted(void)
{
    return A.active && A.exhausted;
}

size_t inj_arena_reserved(void)
{
    return A.total;
}

size_t inj_arena_used(void)
{
    size_t used = 0;
    for (const struct chunk *c = A.head; c; c = c->next)
        used += c->used;
    return used;
}

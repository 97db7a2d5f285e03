#include "retry.h"

#include <stdlib.h>
#include <string.h>

static uint64_t next_random(uint64_t *s)
{
    /* xorshift64*: enough to spread retries of many pods, no need for a CSPRNG */
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

int64_t ex_retry_delay_ms(int failures, int base_ms, uint64_t *rng)
{
    int64_t d = base_ms > 0 ? base_ms : 1;
    for (int i = 1; i < failures && d < EX_RETRY_MAX_DELAY_MS; i++)
        d *= 2;
    if (d > EX_RETRY_MAX_DELAY_MS)
        d = EX_RETRY_MAX_DELAY_MS;
    int64_t half = d / 2;
    return d - half + (half ? (int64_t)(next_random(rng) % (uint64_t)(half + 1)) : 0);
}

ex_retry_entry *ex_retry_find(ex_retry_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->items[i].name, name))
            return &t->items[i];
    return NULL;
}

ex_retry_entry *ex_retry_add(ex_retry_table *t, const char *name)
{
    ex_retry_entry *e = ex_retry_find(t, name);
    if (e)
        return e;
    ex_retry_entry *grown = realloc(t->items, (t->n + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    t->items = grown;
    e = &t->items[t->n];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    if (!e->name)
        return NULL;
    e->seen = true;
    t->n++;
    return e;
}

static void remove_at(ex_retry_table *t, size_t i)
{
    free(t->items[i].name);
    t->items[i] = t->items[t->n - 1];
    t->n--;
}

void ex_retry_remove(ex_retry_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->items[i].name, name)) {
            remove_at(t, i);
            return;
        }
}

void ex_retry_sweep(ex_retry_table *t)
{
    for (size_t i = t->n; i-- > 0;)
        if (!t->items[i].seen)
            remove_at(t, i);
    for (size_t i = 0; i < t->n; i++)
        t->items[i].seen = false;
}

void ex_retry_free(ex_retry_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->items[i].name);
    free(t->items);
    t->items = NULL;
    t->n = 0;
}

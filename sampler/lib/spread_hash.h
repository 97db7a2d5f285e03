/* Table slots for addresses, thread ids and pthread_t values. Such keys share their low bits
 * (allocator pools, arenas and thread stacks sit at fixed strides), so a plain modulo puts many
 * in one slot; multiplying by 2^64 / golden ratio spreads them, and the top bits are taken. */
#ifndef PODPROF_SAMPLER_SPREAD_HASH_H
#define PODPROF_SAMPLER_SPREAD_HASH_H

#include <stdint.h>

/* A slot index in [0, 2^bits), 1 <= bits <= 32. */
static inline uint32_t pp_spread(uint64_t key, unsigned bits)
{
    return (uint32_t)((key * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}

#endif

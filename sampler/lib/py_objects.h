/* Reading plain Python objects without the GIL: dict items (combined and split tables, both keys
 * layouts), ints, and an instance attribute (instance dicts, managed dicts and values, inline
 * values), each in the shape the layout row names. Bounded like every other read. */
#ifndef PODPROF_SAMPLER_PY_OBJECTS_H
#define PODPROF_SAMPLER_PY_OBJECTS_H

#include <stddef.h>
#include <stdint.h>

#include "py_layout.h"

#define PP_MAX_DICT_ENTRIES 8192

typedef struct pp_dict_item {
    uintptr_t key, value;
} pp_dict_item;

/* Copies up to max live items of the dict at addr; returns the count or -1. */
long pp_dict_items(const pp_py_layout *l, uintptr_t dict, pp_dict_item *out, size_t max);

/* The value stored under the str key name (an ASCII identifier) among the first max items of the
 * dict at addr, 0 when absent or unreadable. key_hint (or NULL): the address of the key object
 * this name was found under last time, tried first (checked by its text) and updated; the
 * instances of a class share their attribute names' key objects, so a caller that looks up the
 * same name in many of them keeps one hint per name. */
uintptr_t pp_dict_get_str(const pp_py_layout *l, uintptr_t dict, const char *name, size_t max,
                          uintptr_t *key_hint);

/* A non-negative int below 2**64; returns -1 when it is not one. */
int pp_read_pylong(const pp_py_layout *l, uintptr_t addr, uint64_t *out);

/* The objects stored as instance attributes names[0..n) of obj, into out (0: absent or
 * unreadable), from one read of its attributes; returns how many were found. key_hints (or NULL):
 * one per name, as for pp_dict_get_str. Only the first PP_MAX_INSTANCE_ATTRS attributes are
 * looked at. */
#define PP_MAX_INSTANCE_ATTRS 256
size_t pp_instance_attrs(const pp_py_layout *l, uintptr_t obj, const char *const *names, size_t n,
                         uintptr_t *out, uintptr_t *key_hints);

#endif

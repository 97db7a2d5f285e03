#include "py_objects.h"

#include <stdlib.h>
#include <string.h>

#include "pystring.h"
#include "safe_read.h"

/* Where a keys object keeps its entries, how big each is and how many are in use. */
typedef struct {
    uintptr_t entries;
    size_t entry_size, n;
    int has_hash; /* entries are {hash, key, value}, else {key, value} */
} keys_view;

#define KEYS_HEADER_MAX PP_COPY_KEYS

static int read_keys(const pp_py_layout *l, uintptr_t keys, keys_view *kv)
{
    uint8_t h[KEYS_HEADER_MAX];
    if (l->dk_indices <= 0 || l->dk_indices > KEYS_HEADER_MAX ||
        pp_read(h, keys, (size_t)l->dk_indices) != 0)
        return -1;
    int64_t nentries;
    memcpy(&nentries, h + l->dk_nentries, sizeof nentries);
    if (l->keys_format == PP_KEYS_SIZE) {
        int64_t size;
        memcpy(&size, h + l->dk_size, sizeof size);
        if (size <= 0 || size > (1 << 26))
            return -1;
        /* indices are 1, 2, 4 or 8 bytes wide, by table size */
        size_t ib = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
        kv->entries = keys + (uintptr_t)l->dk_indices + (uintptr_t)size * ib;
        kv->has_hash = 1;
    } else {
        uint8_t log2_index_bytes = h[l->dk_log2_index_bytes], kind = h[l->dk_kind];
        if (log2_index_bytes > 30)
            return -1;
        kv->entries = keys + (uintptr_t)l->dk_indices + ((uintptr_t)1 << log2_index_bytes);
        kv->has_hash = kind == 0; /* DICT_KEYS_GENERAL */
    }
    if (nentries < 0 || nentries > PP_MAX_DICT_ENTRIES)
        return -1;
    kv->n = (size_t)nentries;
    kv->entry_size = kv->has_hash ? 24 : 16;
    return 0;
}

/* The array of values of a split table (what ma_values or a managed pointer points to). */
static uintptr_t split_values_array(const pp_py_layout *l, uintptr_t values)
{
    return values + (uintptr_t)l->dv_values;
}

/* Items from a keys object, with values either in the entries or in a split values array. */
static long keys_items(const pp_py_layout *l, uintptr_t keys, uintptr_t values, pp_dict_item *out,
                       size_t max)
{
    keys_view kv;
    if (read_keys(l, keys, &kv) != 0)
        return -1;
    size_t n = kv.n < max ? kv.n : max;
    if (n == 0)
        return 0;
    uintptr_t *raw = malloc(n * kv.entry_size);
    uintptr_t *vals = values ? malloc(n * sizeof *vals) : NULL;
    long count = -1;
    if (!raw || (values && !vals) || pp_read(raw, kv.entries, n * kv.entry_size) != 0 ||
        (values && pp_read(vals, split_values_array(l, values), n * sizeof *vals) != 0))
        goto out;
    count = 0;
    size_t words = kv.entry_size / sizeof(uintptr_t), k = kv.has_hash ? 1 : 0;
    for (size_t i = 0; i < n; i++) {
        uintptr_t key = raw[i * words + k];
        uintptr_t value = values ? vals[i] : raw[i * words + k + 1];
        if (key && value)
            out[count++] = (pp_dict_item){key, value};
    }
out:
    free(raw);
    free(vals);
    return count;
}

long pp_dict_items(const pp_py_layout *l, uintptr_t dict, pp_dict_item *out, size_t max)
{
    uintptr_t keys, values;
    pp_field f[] = {{l->dict_keys, sizeof keys, &keys}, {l->dict_values, sizeof values, &values}};
    if (!dict || pp_read_fields(dict, f, 2) != 0)
        return -1;
    return keys_items(l, keys, values, out, max);
}

/* Whether the str at addr is the ASCII text name (want bytes): its header and text in one read.
 * Dict keys that are identifiers are compact ASCII; anything else is simply not a match. */
static int str_is(const pp_py_layout *l, uintptr_t addr, const char *name, size_t want)
{
    unsigned char b[PP_COPY_STR + 64];
    size_t hdr = (size_t)l->str_ascii_size;
    if (hdr > PP_COPY_STR || want > sizeof b - hdr || pp_read(b, addr, hdr + want) != 0)
        return 0;
    int64_t length;
    uint32_t state;
    memcpy(&length, b + l->str_length, sizeof length);
    memcpy(&state, b + l->str_state, sizeof state);
    uint32_t bits = state >> l->str_kind_shift; /* kind (3 bits), compact, ascii */
    return length == (int64_t)want && (bits & 7) == 1 && (bits >> 3 & 1) && (bits >> 4 & 1) &&
           memcmp(b + hdr, name, want) == 0;
}

/* Attribute names are interned, so the instances of a class share their key objects: the key
 * found last time is looked for first, by address, and checked by its text. */
static uintptr_t find_str(const pp_py_layout *l, const pp_dict_item *items, long n,
                          const char *name, uintptr_t *key_hint)
{
    size_t want = strlen(name);
    if (key_hint && *key_hint)
        for (long i = 0; i < n; i++)
            if (items[i].key == *key_hint) {
                if (str_is(l, items[i].key, name, want))
                    return items[i].value;
                break;
            }
    for (long i = 0; i < n; i++)
        if (str_is(l, items[i].key, name, want)) {
            if (key_hint)
                *key_hint = items[i].key;
            return items[i].value;
        }
    return 0;
}

uintptr_t pp_dict_get_str(const pp_py_layout *l, uintptr_t dict, const char *name, size_t max,
                          uintptr_t *key_hint)
{
    pp_dict_item *items = malloc(max * sizeof *items);
    if (!items)
        return 0;
    long n = pp_dict_items(l, dict, items, max);
    uintptr_t v = n > 0 ? find_str(l, items, n, name, key_hint) : 0;
    free(items);
    return v;
}

int pp_read_pylong(const pp_py_layout *l, uintptr_t addr, uint64_t *out)
{
    uint64_t size;
    uint32_t digits[3];
    pp_field f[] = {{l->long_size, sizeof size, &size}, {l->long_digits, sizeof digits, digits}};
    if (pp_read_fields(addr, f, 2) != 0)
        return -1;
    uint64_t ndigits;
    if (l->long_format == PP_LONG_LV_TAG) {
        if ((size & 3) == 2) /* negative */
            return -1;
        ndigits = size >> 3;
    } else {
        if ((int64_t)size < 0)
            return -1;
        ndigits = size;
    }
    if (ndigits > 3)
        return -1;
    uint64_t v = 0, mask = ((uint64_t)1 << l->long_shift) - 1;
    for (uint64_t i = ndigits; i-- > 0;)
        v = (v << l->long_shift) | (digits[i] & mask);
    *out = v;
    return 0;
}

/* The dict and the split values (one of them, or neither) holding obj's attributes, for a type
 * with a managed dict. */
static int managed_attrs(const pp_py_layout *l, uintptr_t obj, uint64_t flags, int64_t basicsize,
                         uintptr_t *dict, uintptr_t *values)
{
    uintptr_t ptr;
    if (pp_read_ptr(obj + (uintptr_t)(intptr_t)l->obj_dict_ptr, &ptr) != 0)
        return -1;
    switch (l->managed_dict) {
    case PP_MANAGED_VALUES_PTR:
        *dict = ptr;
        if (!ptr && pp_read_ptr(obj + (uintptr_t)(intptr_t)l->obj_values_ptr, values) != 0)
            return -1;
        break;
    case PP_MANAGED_TAGGED:
        if (ptr & 1)
            *values = ptr + 1; /* stored as the values pointer minus 1 */
        else
            *dict = ptr;
        break;
    case PP_MANAGED_INLINE: {
        *dict = ptr;
        uint8_t valid;
        if (!ptr && (flags & (uint64_t)l->tpflag_inline_values) && basicsize > 0 &&
            pp_read(&valid, obj + (uintptr_t)basicsize + (uintptr_t)l->dv_valid, 1) == 0 && valid)
            *values = obj + (uintptr_t)basicsize;
        break;
    }
    case PP_MANAGED_NONE:
        break;
    }
    return 0;
}

/* The attribute items of obj (its instance dict's, or its split values with its type's cached
 * keys), at most max; the count, or -1. */
static long instance_items(const pp_py_layout *l, uintptr_t obj, pp_dict_item *items, size_t max)
{
    uintptr_t type;
    if (pp_read_ptr(obj + (uintptr_t)l->ob_type, &type) != 0)
        return -1;
    uint64_t flags;
    int64_t dictoffset, basicsize;
    pp_field f[] = {{l->tp_flags, sizeof flags, &flags},
                    {l->tp_dictoffset, sizeof dictoffset, &dictoffset},
                    {l->tp_basicsize, sizeof basicsize, &basicsize}};
    if (pp_read_fields(type, f, 3) != 0)
        return -1;
    uintptr_t dict = 0, values = 0;
    uint64_t managed = (uint64_t)l->tpflag_managed_dict | (uint64_t)l->tpflag_inline_values;
    if (l->managed_dict != PP_MANAGED_NONE && (flags & managed)) {
        if (managed_attrs(l, obj, flags, basicsize, &dict, &values) != 0)
            return -1;
    } else if (dictoffset > 0) {
        if (pp_read_ptr(obj + (uintptr_t)dictoffset, &dict) != 0)
            return -1;
    }
    if (dict)
        return pp_dict_items(l, dict, items, max);
    if (!values)
        return -1;
    uintptr_t keys;
    if (pp_read_ptr(type + (uintptr_t)l->ht_cached_keys, &keys) != 0 || !keys)
        return -1;
    return keys_items(l, keys, values, items, max);
}

size_t pp_instance_attrs(const pp_py_layout *l, uintptr_t obj, const char *const *names, size_t n,
                         uintptr_t *out, uintptr_t *key_hints)
{
    pp_dict_item items[PP_MAX_INSTANCE_ATTRS];
    long count = instance_items(l, obj, items, PP_MAX_INSTANCE_ATTRS);
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] =
            count > 0 ? find_str(l, items, count, names[i], key_hints ? &key_hints[i] : NULL) : 0;
        found += out[i] != 0;
    }
    return found;
}

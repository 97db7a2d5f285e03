#include "py_objects.h"

#include <stdlib.h>
#include <string.h>

#include "pystring.h"
#include "safe_read.h"

#define TPFLAGS_INLINE_VALUES (1UL << 2) /* 3.13 */
#define TPFLAGS_MANAGED_DICT (1UL << 4)  /* 3.11+ */

/* Where a keys object keeps its entries, how big each is and how many are in use. */
typedef struct {
    uintptr_t entries;
    size_t entry_size, n;
    int has_hash; /* entries are {hash, key, value}, else {key, value} */
} keys_view;

static int read_keys(const pp_py_layout *l, uintptr_t keys, keys_view *kv)
{
    uint8_t h[40];
    if (pp_read(h, keys, sizeof h) != 0)
        return -1;
    int64_t nentries;
    if (l->minor <= 10) {
        int64_t size;
        memcpy(&size, h + 8, 8);
        memcpy(&nentries, h + 32, 8);
        if (size <= 0 || size > (1 << 26))
            return -1;
        size_t ib = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
        kv->entries = keys + 40 + (uintptr_t)size * ib;
        kv->has_hash = 1;
    } else {
        uint8_t log2_index_bytes = h[9], kind = h[10];
        memcpy(&nentries, h + 24, 8);
        if (log2_index_bytes > 30)
            return -1;
        kv->entries = keys + 32 + ((uintptr_t)1 << log2_index_bytes);
        kv->has_hash = kind == 0;
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
    /* 3.13's PyDictValues starts with 4 bytes of sizes and flags before the array. */
    return l->minor >= 13 ? values + 8 : values;
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
    uintptr_t d[6];
    if (!dict || pp_read(d, dict, sizeof d) != 0)
        return -1;
    return keys_items(l, d[4], d[5], out, max); /* ma_keys, ma_values */
}

static uintptr_t find_str(const pp_py_layout *l, const pp_dict_item *items, long n,
                          const char *name)
{
    char buf[PP_STR_BUF];
    size_t want = strlen(name);
    for (long i = 0; i < n; i++) {
        int64_t length;
        if (pp_read(&length, items[i].key + (uintptr_t)l->str_length, sizeof length) != 0 ||
            length != (int64_t)want)
            continue;
        if (pp_read_pystring(l, items[i].key, buf) == (long)want && memcmp(buf, name, want) == 0)
            return items[i].value;
    }
    return 0;
}

uintptr_t pp_dict_get_str(const pp_py_layout *l, uintptr_t dict, const char *name, size_t max)
{
    pp_dict_item *items = malloc(max * sizeof *items);
    if (!items)
        return 0;
    long n = pp_dict_items(l, dict, items, max);
    uintptr_t v = n > 0 ? find_str(l, items, n, name) : 0;
    free(items);
    return v;
}

int pp_read_pylong(const pp_py_layout *l, uintptr_t addr, uint64_t *out)
{
    uint64_t h[5];
    if (pp_read(h, addr, sizeof h) != 0)
        return -1;
    uint64_t ndigits;
    if (l->minor >= 12) {
        if ((h[2] & 3) == 2) /* negative */
            return -1;
        ndigits = h[2] >> 3;
    } else {
        if ((int64_t)h[2] < 0)
            return -1;
        ndigits = h[2];
    }
    if (ndigits > 3)
        return -1;
    const uint32_t *digits = (const uint32_t *)&h[3];
    uint64_t v = 0;
    for (uint64_t i = ndigits; i-- > 0;)
        v = (v << 30) | (digits[i] & 0x3fffffff);
    *out = v;
    return 0;
}

uintptr_t pp_instance_attr(const pp_py_layout *l, uintptr_t obj, const char *name)
{
    uintptr_t type;
    if (pp_read_ptr(obj + (uintptr_t)l->ob_type, &type) != 0)
        return 0;
    uint64_t flags;
    int64_t dictoffset, basicsize;
    if (pp_read(&flags, type + (uintptr_t)l->tp_flags, 8) != 0 ||
        pp_read(&dictoffset, type + (uintptr_t)l->tp_dictoffset, 8) != 0 ||
        pp_read(&basicsize, type + (uintptr_t)l->tp_basicsize, 8) != 0)
        return 0;
    uintptr_t dict = 0, values = 0;
    if (l->minor >= 11 && (flags & (TPFLAGS_MANAGED_DICT | TPFLAGS_INLINE_VALUES))) {
        uintptr_t pre[2]; /* obj[-4], obj[-3] */
        if (pp_read(pre, obj - 32, sizeof pre) != 0)
            return 0;
        if (l->minor == 11) {
            dict = pre[1];
            values = dict ? 0 : pre[0];
        } else if (l->minor == 12) {
            if (pre[1] & 1)
                values = pre[1] + 1; /* stored as the values pointer minus 1 */
            else
                dict = pre[1];
        } else {
            dict = pre[1];
            uint8_t valid[4];
            if (!dict && (flags & TPFLAGS_INLINE_VALUES) && basicsize > 0 &&
                pp_read(valid, obj + (uintptr_t)basicsize, sizeof valid) == 0 && valid[3])
                values = obj + (uintptr_t)basicsize;
        }
    } else if (dictoffset > 0) {
        if (pp_read_ptr(obj + (uintptr_t)dictoffset, &dict) != 0)
            return 0;
    }
    if (dict)
        return pp_dict_get_str(l, dict, name, 256);
    if (!values)
        return 0;
    uintptr_t keys;
    if (pp_read_ptr(type + (uintptr_t)l->ht_cached_keys, &keys) != 0 || !keys)
        return 0;
    pp_dict_item items[64];
    long n = keys_items(l, keys, values, items, 64);
    return n > 0 ? find_str(l, items, n, name) : 0;
}

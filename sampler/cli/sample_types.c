/* Sample type names, aliases and the `--type` resolution (see sample_types.h). */
#include "sample_types.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "err_text.h"

/* dd-trace-py's names, in the order its profiles (and ours) declare them. */
static const sample_type_info known[] = {
    {"cpu-time", "cpu", "CPU time", "CPU", "cpu-samples"},
    {"cpu-samples", "", "CPU samples", "CPU samples", NULL},
    {"wall-time", "wall", "wall time", "wall", "wall-samples"},
    {"wall-samples", "", "wall samples", "wall samples", NULL},
    {"exception-samples", "exceptions exception", "exceptions", "exceptions", NULL},
    {"lock-acquire-wait", "lock-wait", "lock wait time", "lock wait", "lock-acquire"},
    {"lock-acquire", "lock-acquires", "lock acquisitions", "lock acquisitions", NULL},
    {"lock-release-hold", "lock-hold", "lock hold time", "lock hold", "lock-release"},
    {"lock-release", "lock-releases", "lock releases", "lock releases", NULL},
    {"alloc-space", "alloc", "allocated bytes", "allocated", NULL},
    {"alloc-samples", "allocs", "allocations", "allocations", NULL},
    {"heap-space", "heap", "live heap bytes", "live heap", NULL},
    {"heap-live-samples", "heap-live", "live heap objects", "live heap objects", NULL},
    {"gil-wait", "gil", "GIL wait time", "GIL wait", NULL},
};
#define N_KNOWN (sizeof known / sizeof known[0])

const sample_type_info *sample_types_known(size_t *n)
{
    *n = N_KNOWN;
    return known;
}

/* Names compare without case, and '_' equals '-' (Go writes alloc_space, ddtrace alloc-space). */
static bool same_name(const char *a, const char *b, size_t b_len)
{
    size_t i = 0;
    for (; i < b_len && a[i]; i++) {
        char x = (char)tolower((unsigned char)a[i]), y = (char)tolower((unsigned char)b[i]);
        if (x == '_')
            x = '-';
        if (y == '_')
            y = '-';
        if (x != y)
            return false;
    }
    return i == b_len && !a[i];
}

const sample_type_info *sample_type_info_of(const char *name)
{
    for (size_t i = 0; i < N_KNOWN; i++)
        if (same_name(name, known[i].name, strlen(known[i].name)))
            return &known[i];
    return NULL;
}

static int declared(const pprof_input *in, const char *name, size_t len)
{
    for (size_t i = 0; i < in->p->n_sample_type; i++)
        if (same_name(pprof_input_type_name(in, i), name, len))
            return (int)i;
    return -1;
}

static bool has_alias(const sample_type_info *t, const char *wanted)
{
    for (const char *a = t->aliases; *a;) {
        size_t len = strcspn(a, " ");
        if (len && same_name(wanted, a, len))
            return true;
        a += len;
        a += strspn(a, " ");
    }
    return false;
}

static int default_type(const pprof_input *in)
{
    static const char *const preferred[] = {"cpu-time", "cpu", "wall-time", "wall"};
    for (size_t i = 0; i < sizeof preferred / sizeof preferred[0]; i++) {
        int ix = declared(in, preferred[i], strlen(preferred[i]));
        if (ix >= 0)
            return ix;
    }
    const char *def = pprof_input_string(in, in->p->default_sample_type);
    int ix = def[0] ? declared(in, def, strlen(def)) : -1;
    return ix >= 0 ? ix : (int)in->p->n_sample_type - 1;
}

int sample_type_resolve(const pprof_input *in, const char *wanted, char *err, size_t err_len)
{
    if (in->p->n_sample_type == 0) {
        err_printf(err, err_len, "the profile declares no sample types");
        return -1;
    }
    if (!wanted || !wanted[0])
        return default_type(in);
    const char *slash = strchr(wanted, '/');
    if (slash) {
        int ix = declared(in, wanted, (size_t)(slash - wanted));
        if (ix >= 0 && same_name(slash + 1, pprof_input_type_unit(in, (size_t)ix),
                                 strlen(pprof_input_type_unit(in, (size_t)ix))))
            return ix;
    } else {
        int ix = declared(in, wanted, strlen(wanted));
        if (ix >= 0)
            return ix;
        for (size_t i = 0; i < N_KNOWN; i++) {
            if (has_alias(&known[i], wanted)) {
                ix = declared(in, known[i].name, strlen(known[i].name));
                if (ix >= 0)
                    return ix;
            }
        }
    }
    char list[512];
    pprof_input_list_types(in, list, sizeof list);
    err_printf(err, err_len, "no sample type '%s' in this profile (it has: %s)", wanted, list);
    return -1;
}

void sample_types_print(FILE *out, bool markdown)
{
    if (markdown)
        fprintf(out, "| type | aliases | what it measures |\n|---|---|---|\n");
    for (size_t i = 0; i < N_KNOWN; i++) {
        if (!markdown) {
            fprintf(out, "%-20s %-24s %s\n", known[i].name, known[i].aliases, known[i].title);
            continue;
        }
        fprintf(out, "| `%s` | ", known[i].name);
        for (const char *a = known[i].aliases; *a;) {
            size_t len = strcspn(a, " ");
            fprintf(out, "%s`%.*s`", a == known[i].aliases ? "" : ", ", (int)len, a);
            a += len;
            a += strspn(a, " ");
        }
        fprintf(out, " | %s |\n", known[i].title);
    }
}

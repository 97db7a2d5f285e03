/* Reads pprof files defensively (any file may be truncated, corrupt or hostile: every index is
 * checked before use) and sums flat and cumulative time per function across them. */
#include "pprof_summary.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pprof_file.h"
#include "profile.pb-c.h"

/* Bounds for one input: a podprof profile is a few MiB at most. */
#define SUMMARY_MAX_FILE_BYTES (256u << 20)
#define SUMMARY_MAX_PROFILE_BYTES (1024u << 20)

enum { METRIC_CPU, METRIC_WALL, N_METRICS };
static const char *const metric_titles[N_METRICS] = {"CPU time", "wall time"};

typedef struct fn_entry {
    char *name, *file;
    uint64_t hash;
    int64_t flat[N_METRICS], cum[N_METRICS];
    uint64_t stamp; /* last sample counted in cum, so recursion counts once */
} fn_entry;

struct pp_summary {
    fn_entry *fns;
    size_t n_fns, fns_cap;
    size_t *slots; /* index + 1, 0 = empty */
    size_t slots_cap;
    size_t files;
    int64_t duration_ns;
    int64_t total[N_METRICS], samples[N_METRICS];
    bool has_metric[N_METRICS];
    uint64_t stamp;
};

pp_summary *pp_summary_new(void)
{
    return calloc(1, sizeof(pp_summary));
}

void pp_summary_free(pp_summary *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_fns; i++) {
        free(s->fns[i].name);
        free(s->fns[i].file);
    }
    free(s->fns);
    free(s->slots);
    free(s);
}

size_t pp_summary_files(const pp_summary *s)
{
    return s->files;
}

static void set_err(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

/* ---- checking one decoded profile ---- */

typedef struct id_index {
    uint64_t id;
    size_t pos;
} id_index;

static int compare_ids(const void *a, const void *b)
{
    const id_index *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static const id_index *find_id(const id_index *ix, size_t n, uint64_t id)
{
    id_index key = {id, 0};
    return bsearch(&key, ix, n, sizeof *ix, compare_ids);
}

typedef struct checked {
    const Perftools__Profiles__Profile *p;
    id_index *fn_ix, *loc_ix;
    int metric_index[N_METRICS]; /* sample value index, -1 when absent */
    int count_index[N_METRICS];  /* cpu-samples / wall-samples, -1 when absent */
} checked;

static bool str_ok(const Perftools__Profiles__Profile *p, int64_t i)
{
    return i >= 0 && (uint64_t)i < p->n_string_table;
}

static const char *type_name(const Perftools__Profiles__Profile *p, size_t i)
{
    const Perftools__Profiles__ValueType *t = p->sample_type[i];
    return t && str_ok(p, t->type) ? p->string_table[t->type] : "";
}

static int check_profile(checked *c, char *err, size_t err_len)
{
    const Perftools__Profiles__Profile *p = c->p;
    if (p->n_string_table == 0 || p->string_table[0][0] != '\0') {
        set_err(err, err_len, "string_table[0] is not \"\" (not a pprof profile)");
        return -1;
    }
    for (int m = 0; m < N_METRICS; m++)
        c->metric_index[m] = c->count_index[m] = -1;
    for (size_t i = 0; i < p->n_sample_type; i++) {
        const char *t = type_name(p, i);
        if (!strcmp(t, "cpu-time") || !strcmp(t, "cpu"))
            c->metric_index[METRIC_CPU] = (int)i;
        else if (!strcmp(t, "wall-time") || !strcmp(t, "wall"))
            c->metric_index[METRIC_WALL] = (int)i;
        else if (!strcmp(t, "cpu-samples"))
            c->count_index[METRIC_CPU] = (int)i;
        else if (!strcmp(t, "wall-samples"))
            c->count_index[METRIC_WALL] = (int)i;
    }
    if (c->metric_index[METRIC_CPU] < 0 && c->metric_index[METRIC_WALL] < 0) {
        set_err(err, err_len, "no cpu-time or wall-time sample type (%zu sample types)",
                p->n_sample_type);
        return -1;
    }
    c->fn_ix = calloc(p->n_function + 1, sizeof *c->fn_ix);
    c->loc_ix = calloc(p->n_location + 1, sizeof *c->loc_ix);
    if (!c->fn_ix || !c->loc_ix) {
        set_err(err, err_len, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < p->n_function; i++) {
        const Perftools__Profiles__Function *f = p->function[i];
        if (!str_ok(p, f->name) || !str_ok(p, f->filename)) {
            set_err(err, err_len, "function %" PRIu64 " has a string index out of range", f->id);
            return -1;
        }
        c->fn_ix[i] = (id_index){f->id, i};
    }
    qsort(c->fn_ix, p->n_function, sizeof *c->fn_ix, compare_ids);
    for (size_t i = 0; i < p->n_location; i++) {
        const Perftools__Profiles__Location *l = p->location[i];
        for (size_t k = 0; k < l->n_line; k++) {
            if (!find_id(c->fn_ix, p->n_function, l->line[k]->function_id)) {
                set_err(err, err_len, "location %" PRIu64 " names missing function %" PRIu64, l->id,
                        l->line[k]->function_id);
                return -1;
            }
        }
        c->loc_ix[i] = (id_index){l->id, i};
    }
    qsort(c->loc_ix, p->n_location, sizeof *c->loc_ix, compare_ids);
    for (size_t i = 0; i < p->n_sample; i++) {
        const Perftools__Profiles__Sample *s = p->sample[i];
        if (s->n_value != p->n_sample_type) {
            set_err(err, err_len, "sample %zu has %zu values for %zu sample types", i, s->n_value,
                    p->n_sample_type);
            return -1;
        }
        for (size_t k = 0; k < s->n_location_id; k++) {
            if (!find_id(c->loc_ix, p->n_location, s->location_id[k])) {
                set_err(err, err_len, "sample %zu names missing location %" PRIu64, i,
                        s->location_id[k]);
                return -1;
            }
        }
    }
    return 0;
}

/* ---- accumulating ---- */

static uint64_t fn_hash(const char *name, const char *file)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        h = (h ^ *c) * 0x100000001b3ULL;
    h = (h ^ 0xff) * 0x100000001b3ULL;
    for (const unsigned char *c = (const unsigned char *)file; *c; c++)
        h = (h ^ *c) * 0x100000001b3ULL;
    return h ^ (h >> 31);
}

static bool grow_slots(pp_summary *s)
{
    size_t cap = s->slots_cap ? s->slots_cap * 2 : 1024;
    size_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < s->n_fns; i++) {
        size_t j = s->fns[i].hash & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = i + 1;
    }
    free(s->slots);
    s->slots = slots;
    s->slots_cap = cap;
    return true;
}

/* Entry for (name, file), created on first use; NULL when memory runs out. */
static fn_entry *function_entry(pp_summary *s, const char *name, const char *file)
{
    if ((s->n_fns + 1) * 2 > s->slots_cap && !grow_slots(s))
        return NULL;
    uint64_t h = fn_hash(name, file);
    size_t j = h & (s->slots_cap - 1);
    for (; s->slots[j]; j = (j + 1) & (s->slots_cap - 1)) {
        fn_entry *e = &s->fns[s->slots[j] - 1];
        if (e->hash == h && !strcmp(e->name, name) && !strcmp(e->file, file))
            return e;
    }
    if (s->n_fns == s->fns_cap) {
        size_t cap = s->fns_cap ? s->fns_cap * 2 : 256;
        fn_entry *fns = realloc(s->fns, cap * sizeof *fns);
        if (!fns)
            return NULL;
        s->fns = fns;
        s->fns_cap = cap;
    }
    fn_entry *e = &s->fns[s->n_fns];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    e->file = strdup(file);
    if (!e->name || !e->file) {
        free(e->name);
        free(e->file);
        return NULL;
    }
    e->hash = h;
    s->slots[j] = ++s->n_fns;
    return e;
}

static int accumulate(pp_summary *s, const checked *c, char *err, size_t err_len)
{
    const Perftools__Profiles__Profile *p = c->p;
    /* Resolve every Function once; entries only grow, so indices stay valid. */
    size_t *fn_entry_of = calloc(p->n_function + 1, sizeof *fn_entry_of);
    if (!fn_entry_of) {
        set_err(err, err_len, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < p->n_function; i++) {
        const Perftools__Profiles__Function *f = p->function[i];
        fn_entry *e = function_entry(s, p->string_table[f->name], p->string_table[f->filename]);
        if (!e) {
            free(fn_entry_of);
            set_err(err, err_len, "out of memory");
            return -1;
        }
        fn_entry_of[i] = (size_t)(e - s->fns);
    }
    for (int m = 0; m < N_METRICS; m++)
        if (c->metric_index[m] >= 0)
            s->has_metric[m] = true;
    for (size_t i = 0; i < p->n_sample; i++) {
        const Perftools__Profiles__Sample *smp = p->sample[i];
        int64_t v[N_METRICS] = {0, 0};
        bool any = false;
        for (int m = 0; m < N_METRICS; m++) {
            if (c->metric_index[m] >= 0) {
                v[m] = smp->value[c->metric_index[m]];
                s->total[m] += v[m];
                s->samples[m] += c->count_index[m] >= 0 ? smp->value[c->count_index[m]] : 1;
                any |= v[m] != 0;
            }
        }
        if (!any)
            continue;
        s->stamp++;
        bool leaf = true;
        for (size_t k = 0; k < smp->n_location_id; k++) {
            const id_index *li = find_id(c->loc_ix, p->n_location, smp->location_id[k]);
            const Perftools__Profiles__Location *l = p->location[li->pos];
            for (size_t ln = 0; ln < l->n_line; ln++) {
                const id_index *fi = find_id(c->fn_ix, p->n_function, l->line[ln]->function_id);
                fn_entry *e = &s->fns[fn_entry_of[fi->pos]];
                for (int m = 0; m < N_METRICS; m++) {
                    if (leaf)
                        e->flat[m] += v[m];
                    if (e->stamp != s->stamp)
                        e->cum[m] += v[m];
                }
                e->stamp = s->stamp;
                leaf = false;
            }
        }
    }
    s->duration_ns += p->duration_nanos > 0 ? p->duration_nanos : 0;
    s->files++;
    free(fn_entry_of);
    return 0;
}

int pp_summary_add_buffer(pp_summary *s, const unsigned char *data, size_t len, char *err,
                          size_t err_len)
{
    err[0] = '\0';
    unsigned char *inflated = NULL;
    const unsigned char *raw = NULL;
    size_t raw_len = 0;
    if (ex_pprof_protobuf(data, len, SUMMARY_MAX_PROFILE_BYTES, &raw, &raw_len, &inflated, err,
                          err_len) != 0)
        return -1;
    Perftools__Profiles__Profile *p = perftools__profiles__profile__unpack(NULL, raw_len, raw);
    free(inflated);
    if (!p) {
        set_err(err, err_len, "not a pprof profile (protobuf decoding failed)");
        return -1;
    }
    checked c = {.p = p};
    int rc = check_profile(&c, err, err_len);
    if (rc == 0)
        rc = accumulate(s, &c, err, err_len);
    free(c.fn_ix);
    free(c.loc_ix);
    perftools__profiles__profile__free_unpacked(p, NULL);
    return rc;
}

int pp_summary_add_file(pp_summary *s, const char *path, char *err, size_t err_len)
{
    err[0] = '\0';
    size_t len = 0;
    unsigned char *data = ex_pprof_read_file(path, SUMMARY_MAX_FILE_BYTES, &len, err, err_len);
    if (!data)
        return -1;
    int rc = pp_summary_add_buffer(s, data, len, err, err_len);
    free(data);
    return rc;
}

/* ---- printing ---- */

static void format_ns(char *buf, size_t len, int64_t ns)
{
    double v = (double)ns;
    double a = v < 0 ? -v : v;
    if (a >= 1e9)
        snprintf(buf, len, "%.2fs", v / 1e9);
    else if (a >= 1e6)
        snprintf(buf, len, "%.2fms", v / 1e6);
    else if (a >= 1e3)
        snprintf(buf, len, "%.2fus", v / 1e3);
    else
        snprintf(buf, len, "%" PRId64 "ns", ns);
}

static int metric_for_sort;
static const fn_entry *sort_base;

static int compare_flat(const void *a, const void *b)
{
    const fn_entry *x = &sort_base[*(const size_t *)a], *y = &sort_base[*(const size_t *)b];
    int m = metric_for_sort;
    if (x->flat[m] != y->flat[m])
        return x->flat[m] > y->flat[m] ? -1 : 1;
    if (x->cum[m] != y->cum[m])
        return x->cum[m] > y->cum[m] ? -1 : 1;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->file, y->file);
}

static double pct(int64_t part, int64_t total)
{
    return total > 0 ? 100.0 * (double)part / (double)total : 0.0;
}

static void print_metric(const pp_summary *s, FILE *out, int m, size_t limit)
{
    fprintf(out, "\nTop functions by %s (flat: in the function itself; cum: with callees)\n",
            metric_titles[m]);
    if (!s->has_metric[m]) {
        fprintf(out, "  (no %s in these profiles)\n", metric_titles[m]);
        return;
    }
    size_t *order = malloc((s->n_fns + 1) * sizeof *order);
    if (!order)
        return;
    size_t n = 0;
    for (size_t i = 0; i < s->n_fns; i++)
        if (s->fns[i].flat[m] || s->fns[i].cum[m])
            order[n++] = i;
    metric_for_sort = m;
    sort_base = s->fns;
    qsort(order, n, sizeof *order, compare_flat);
    fprintf(out, "%10s %6s %10s %6s  %s\n", "flat", "flat%", "cum", "cum%", "function");
    for (size_t i = 0; i < n && i < limit; i++) {
        const fn_entry *e = &s->fns[order[i]];
        char flat[32], cum[32];
        format_ns(flat, sizeof flat, e->flat[m]);
        format_ns(cum, sizeof cum, e->cum[m]);
        fprintf(out, "%10s %5.1f%% %10s %5.1f%%  %s%s%s%s\n", flat, pct(e->flat[m], s->total[m]),
                cum, pct(e->cum[m], s->total[m]), e->name[0] ? e->name : "<unknown>",
                e->file[0] ? " (" : "", e->file, e->file[0] ? ")" : "");
    }
    if (n == 0)
        fprintf(out, "  (no samples)\n");
    free(order);
}

void pp_summary_print(const pp_summary *s, FILE *out, size_t limit)
{
    char dur[32], cpu[32], wall[32];
    format_ns(dur, sizeof dur, s->duration_ns);
    format_ns(cpu, sizeof cpu, s->total[METRIC_CPU]);
    format_ns(wall, sizeof wall, s->total[METRIC_WALL]);
    fprintf(out,
            "%zu profile%s over %s: CPU %s in %" PRId64 " samples, wall %s in %" PRId64
            " samples\n",
            s->files, s->files == 1 ? "" : "s", dur, cpu, s->samples[METRIC_CPU], wall,
            s->samples[METRIC_WALL]);
    print_metric(s, out, METRIC_CPU, limit);
    print_metric(s, out, METRIC_WALL, limit);
}

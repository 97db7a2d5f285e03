/* Sums flat and cumulative values per function across checked pprof profiles, for one chosen
 * sample type or (by default) for CPU and wall time side by side. */
#include "pprof_summary.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err_text.h"
#include "name_index.h"
#include "pprof_input.h"
#include "sample_types.h"
#include "sat_math.h"
#include "value_units.h"

enum { MAX_METRICS = 2 };

typedef struct metric {
    const char *wanted; /* the user's --type, or NULL in the default CPU + wall mode */
    char type[64], unit[32];
    const char *title, *brief;
    bool present;
    int64_t total, samples;
} metric;

typedef struct fn_entry {
    int64_t flat[MAX_METRICS], cum[MAX_METRICS];
    uint64_t stamp; /* last sample counted in cum, so recursion counts once */
} fn_entry;

struct pp_summary {
    metric metrics[MAX_METRICS];
    int n_metrics;
    name_index *names; /* function key "name\0file" -> index into fns */
    fn_entry *fns;
    size_t fns_cap;
    size_t files;
    int64_t duration_ns;
    uint64_t stamp;
};

pp_summary *pp_summary_new(const char *type)
{
    pp_summary *s = calloc(1, sizeof *s);
    if (!s || !(s->names = name_index_new())) {
        free(s);
        return NULL;
    }
    if (type) {
        s->n_metrics = 1;
        s->metrics[0].wanted = type;
        s->metrics[0].title = s->metrics[0].brief = type;
    } else {
        s->n_metrics = 2;
        s->metrics[0].title = "CPU time";
        s->metrics[0].brief = "CPU";
        s->metrics[1].title = "wall time";
        s->metrics[1].brief = "wall";
    }
    return s;
}

void pp_summary_free(pp_summary *s)
{
    if (!s)
        return;
    name_index_free(s->names);
    free(s->fns);
    free(s);
}

size_t pp_summary_files(const pp_summary *s)
{
    return s->files;
}

/* ---- choosing the sample types of one profile ---- */

typedef struct columns {
    int value[MAX_METRICS]; /* sample value index, -1 when absent */
    int count[MAX_METRICS]; /* its companion sample count, -1 when absent */
} columns;

static int first_declared(const pprof_input *in, const char *a, const char *b)
{
    int ix = pprof_input_type_index(in, a);
    return ix >= 0 ? ix : pprof_input_type_index(in, b);
}

static int choose_columns(const pp_summary *s, const pprof_input *in, columns *c, char *err,
                          size_t err_len)
{
    if (s->metrics[0].wanted) {
        c->value[0] = sample_type_resolve(in, s->metrics[0].wanted, err, err_len);
        if (c->value[0] < 0)
            return -1;
    } else {
        c->value[0] = first_declared(in, "cpu-time", "cpu");
        c->value[1] = first_declared(in, "wall-time", "wall");
        if (c->value[0] < 0 && c->value[1] < 0) {
            err_printf(err, err_len, "no cpu-time or wall-time sample type (%zu sample types)",
                       in->p->n_sample_type);
            return -1;
        }
    }
    for (int m = 0; m < s->n_metrics; m++) {
        c->count[m] = -1;
        if (c->value[m] < 0)
            continue;
        const char *name = pprof_input_type_name(in, (size_t)c->value[m]);
        const char *unit = pprof_input_type_unit(in, (size_t)c->value[m]);
        const metric *mt = &s->metrics[m];
        if (mt->present && strcmp(mt->unit, unit)) {
            err_printf(err, err_len, "%s is in %s here but in %s in the other profiles", name, unit,
                       mt->unit);
            return -1;
        }
        const sample_type_info *info = sample_type_info_of(name);
        if (info && info->counter)
            c->count[m] = pprof_input_type_index(in, info->counter);
    }
    return 0;
}

static void note_metric(pp_summary *s, const pprof_input *in, const columns *c)
{
    for (int m = 0; m < s->n_metrics; m++) {
        metric *mt = &s->metrics[m];
        if (c->value[m] < 0 || mt->present)
            continue;
        mt->present = true;
        snprintf(mt->type, sizeof mt->type, "%s", pprof_input_type_name(in, (size_t)c->value[m]));
        snprintf(mt->unit, sizeof mt->unit, "%s", pprof_input_type_unit(in, (size_t)c->value[m]));
        if (mt->wanted) {
            const sample_type_info *info = sample_type_info_of(mt->type);
            mt->title = info ? info->title : mt->type;
            mt->brief = info ? info->brief : mt->type;
        }
    }
}

/* ---- accumulating ---- */

/* Entry index for (name, file), created on first use; -1 when memory runs out. */
static int64_t function_entry(pp_summary *s, const char *name, const char *file)
{
    size_t nl = strlen(name), fl = strlen(file);
    char stack_key[512];
    char *key = nl + fl + 1 <= sizeof stack_key ? stack_key : malloc(nl + fl + 1);
    if (!key)
        return -1;
    memcpy(key, name, nl + 1);
    memcpy(key + nl + 1, file, fl);
    bool added;
    int64_t id = name_index_id(s->names, key, nl + 1 + fl, &added);
    if (key != stack_key)
        free(key);
    if (id < 0 || !added)
        return id;
    if ((size_t)id >= s->fns_cap) {
        size_t cap = s->fns_cap ? s->fns_cap * 2 : 256;
        fn_entry *fns = realloc(s->fns, cap * sizeof *fns);
        if (!fns)
            return -1;
        s->fns = fns;
        s->fns_cap = cap;
    }
    memset(&s->fns[id], 0, sizeof s->fns[id]);
    return id;
}

static int accumulate(pp_summary *s, const pprof_input *in, const columns *c, char *err,
                      size_t err_len)
{
    const Perftools__Profiles__Profile *p = in->p;
    /* Resolve every Function once; entries only grow, so indices stay valid. */
    int64_t *entry_of = calloc(p->n_function + 1, sizeof *entry_of);
    if (!entry_of) {
        err_printf(err, err_len, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < p->n_function; i++) {
        const Perftools__Profiles__Function *f = p->function[i];
        entry_of[i] =
            function_entry(s, pprof_input_string(in, f->name), pprof_input_string(in, f->filename));
        if (entry_of[i] < 0) {
            free(entry_of);
            err_printf(err, err_len, "out of memory");
            return -1;
        }
    }
    note_metric(s, in, c);
    for (size_t i = 0; i < p->n_sample; i++) {
        const Perftools__Profiles__Sample *smp = p->sample[i];
        int64_t v[MAX_METRICS] = {0, 0};
        bool any = false;
        for (int m = 0; m < s->n_metrics; m++) {
            if (c->value[m] >= 0) {
                metric *mt = &s->metrics[m];
                v[m] = smp->value[c->value[m]];
                mt->total = sat_add(mt->total, v[m]);
                mt->samples = sat_add(mt->samples, c->count[m] >= 0 ? smp->value[c->count[m]] : 1);
                any |= v[m] != 0;
            }
        }
        if (!any)
            continue;
        s->stamp++;
        bool leaf = true;
        for (size_t k = 0; k < smp->n_location_id; k++) {
            const Perftools__Profiles__Location *l = pprof_input_location(in, smp->location_id[k]);
            for (size_t ln = 0; ln < l->n_line; ln++) {
                fn_entry *e =
                    &s->fns[entry_of[pprof_input_function_pos(in, l->line[ln]->function_id)]];
                for (int m = 0; m < s->n_metrics; m++) {
                    if (leaf)
                        e->flat[m] = sat_add(e->flat[m], v[m]);
                    if (e->stamp != s->stamp)
                        e->cum[m] = sat_add(e->cum[m], v[m]);
                }
                e->stamp = s->stamp;
                leaf = false;
            }
        }
    }
    s->duration_ns = sat_add(s->duration_ns, p->duration_nanos > 0 ? p->duration_nanos : 0);
    s->files++;
    free(entry_of);
    return 0;
}

/* Adds a loaded profile, then frees it. */
static int add_loaded(pp_summary *s, pprof_input *in, char *err, size_t err_len)
{
    columns c;
    int rc = choose_columns(s, in, &c, err, err_len);
    if (rc == 0)
        rc = accumulate(s, in, &c, err, err_len);
    pprof_input_free(in);
    return rc;
}

int pp_summary_add_buffer(pp_summary *s, const unsigned char *data, size_t len, char *err,
                          size_t err_len)
{
    pprof_input in;
    if (pprof_input_load_buffer(&in, data, len, err, err_len) != 0)
        return -1;
    return add_loaded(s, &in, err, err_len);
}

int pp_summary_add_file(pp_summary *s, const char *path, char *err, size_t err_len)
{
    pprof_input in;
    if (pprof_input_load_file(&in, path, err, err_len) != 0)
        return -1;
    return add_loaded(s, &in, err, err_len);
}

/* ---- printing ---- */

static int metric_for_sort;
static const pp_summary *sort_summary;

static const char *fn_name(const pp_summary *s, size_t i, const char **file)
{
    const char *name = name_index_key(s->names, (int64_t)i, NULL);
    *file = name + strlen(name) + 1;
    return name;
}

static int compare_flat(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    const fn_entry *x = &sort_summary->fns[i], *y = &sort_summary->fns[j];
    int m = metric_for_sort;
    if (x->flat[m] != y->flat[m])
        return x->flat[m] > y->flat[m] ? -1 : 1;
    if (x->cum[m] != y->cum[m])
        return x->cum[m] > y->cum[m] ? -1 : 1;
    const char *xf, *yf;
    int c = strcmp(fn_name(sort_summary, i, &xf), fn_name(sort_summary, j, &yf));
    return c ? c : strcmp(xf, yf);
}

static double pct(int64_t part, int64_t total)
{
    return total > 0 ? 100.0 * (double)part / (double)total : 0.0;
}

static void print_metric(const pp_summary *s, FILE *out, int m, size_t limit)
{
    const metric *mt = &s->metrics[m];
    fprintf(out, "\nTop functions by %s (flat: in the function itself; cum: with callees)\n",
            mt->title);
    if (!mt->present) {
        fprintf(out, "  (no %s in these profiles)\n", mt->title);
        return;
    }
    size_t n_fns = name_index_count(s->names);
    size_t *order = malloc((n_fns + 1) * sizeof *order);
    if (!order)
        return;
    size_t n = 0;
    for (size_t i = 0; i < n_fns; i++)
        if (s->fns[i].flat[m] || s->fns[i].cum[m])
            order[n++] = i;
    metric_for_sort = m;
    sort_summary = s;
    qsort(order, n, sizeof *order, compare_flat);
    fprintf(out, "%10s %6s %10s %6s  %s\n", "flat", "flat%", "cum", "cum%", "function");
    for (size_t i = 0; i < n && i < limit; i++) {
        const fn_entry *e = &s->fns[order[i]];
        const char *file, *name = fn_name(s, order[i], &file);
        char flat[32], cum[32];
        value_format(flat, sizeof flat, e->flat[m], mt->unit);
        value_format(cum, sizeof cum, e->cum[m], mt->unit);
        fprintf(out, "%10s %5.1f%% %10s %5.1f%%  %s%s%s%s\n", flat, pct(e->flat[m], mt->total), cum,
                pct(e->cum[m], mt->total), name[0] ? name : "<unknown>", file[0] ? " (" : "", file,
                file[0] ? ")" : "");
    }
    if (n == 0)
        fprintf(out, "  (no samples)\n");
    free(order);
}

void pp_summary_print(const pp_summary *s, FILE *out, size_t limit)
{
    char dur[32];
    value_format(dur, sizeof dur, s->duration_ns, "nanoseconds");
    fprintf(out, "%zu profile%s over %s:", s->files, s->files == 1 ? "" : "s", dur);
    for (int m = 0; m < s->n_metrics; m++) {
        const metric *mt = &s->metrics[m];
        char total[32];
        /* The default CPU + wall headline names both, in nanoseconds, even when one is absent. */
        value_format(total, sizeof total, mt->total, mt->present ? mt->unit : "nanoseconds");
        fprintf(out, "%s %s %s in %" PRId64 " samples", m ? "," : "", mt->brief, total,
                mt->samples);
    }
    fputc('\n', out);
    for (int m = 0; m < s->n_metrics; m++)
        print_metric(s, out, m, limit);
}

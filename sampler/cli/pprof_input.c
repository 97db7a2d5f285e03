/* Decodes and checks one pprof profile (see pprof_input.h), read and inflated by the exporter's
 * pprof_file.c, the one bounded reader and gunzip of .pprof files. */
#include "pprof_input.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err_text.h"
#include "pprof_file.h"

struct pprof_id_index {
    uint64_t id;
    size_t pos;
};

/* ---- lookups ---- */

static int compare_ids(const void *a, const void *b)
{
    const pprof_id_index *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static const pprof_id_index *find_id(const pprof_id_index *ix, size_t n, uint64_t id)
{
    pprof_id_index key = {id, 0};
    return n ? bsearch(&key, ix, n, sizeof *ix, compare_ids) : NULL;
}

size_t pprof_input_location_pos(const pprof_input *in, uint64_t id)
{
    const pprof_id_index *ix = find_id(in->loc_ix, in->p->n_location, id);
    return ix ? ix->pos : SIZE_MAX;
}

const Perftools__Profiles__Location *pprof_input_location(const pprof_input *in, uint64_t id)
{
    size_t pos = pprof_input_location_pos(in, id);
    return pos != SIZE_MAX ? in->p->location[pos] : NULL;
}

size_t pprof_input_function_pos(const pprof_input *in, uint64_t id)
{
    const pprof_id_index *ix = find_id(in->fn_ix, in->p->n_function, id);
    return ix ? ix->pos : SIZE_MAX;
}

const Perftools__Profiles__Function *pprof_input_function(const pprof_input *in, uint64_t id)
{
    size_t pos = pprof_input_function_pos(in, id);
    return pos != SIZE_MAX ? in->p->function[pos] : NULL;
}

static bool str_ok(const Perftools__Profiles__Profile *p, int64_t i)
{
    return i >= 0 && (uint64_t)i < p->n_string_table;
}

const char *pprof_input_string(const pprof_input *in, int64_t i)
{
    return str_ok(in->p, i) ? in->p->string_table[i] : "";
}

const char *pprof_input_type_name(const pprof_input *in, size_t i)
{
    return pprof_input_string(in, in->p->sample_type[i]->type);
}

const char *pprof_input_type_unit(const pprof_input *in, size_t i)
{
    return pprof_input_string(in, in->p->sample_type[i]->unit);
}

int pprof_input_type_index(const pprof_input *in, const char *name)
{
    for (size_t i = 0; i < in->p->n_sample_type; i++)
        if (!strcmp(pprof_input_type_name(in, i), name))
            return (int)i;
    return -1;
}

const char *pprof_input_sample_label(const pprof_input *in, const Perftools__Profiles__Sample *s,
                                     const char *key)
{
    for (size_t i = 0; i < s->n_label; i++) {
        const Perftools__Profiles__Label *l = s->label[i];
        if (l->str && !strcmp(pprof_input_string(in, l->key), key))
            return pprof_input_string(in, l->str);
    }
    return NULL;
}

void pprof_input_list_types(const pprof_input *in, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < in->p->n_sample_type && n < len; i++) {
        int w = snprintf(buf + n, len - n, "%s%s/%s", i ? ", " : "", pprof_input_type_name(in, i),
                         pprof_input_type_unit(in, i));
        if (w < 0)
            break;
        n += (size_t)w;
    }
    if (in->p->n_sample_type == 0)
        snprintf(buf, len, "none");
}

/* ---- checking ---- */

static int check_profile(pprof_input *in, char *err, size_t err_len)
{
    const Perftools__Profiles__Profile *p = in->p;
    if (p->n_string_table == 0 || p->string_table[0][0] != '\0') {
        err_printf(err, err_len, "string_table[0] is not \"\" (not a pprof profile)");
        return -1;
    }
    for (size_t i = 0; i < p->n_sample_type; i++) {
        if (!str_ok(p, p->sample_type[i]->type) || !str_ok(p, p->sample_type[i]->unit)) {
            err_printf(err, err_len, "sample type %zu has a string index out of range", i);
            return -1;
        }
    }
    in->fn_ix = calloc(p->n_function + 1, sizeof *in->fn_ix);
    in->loc_ix = calloc(p->n_location + 1, sizeof *in->loc_ix);
    if (!in->fn_ix || !in->loc_ix) {
        err_printf(err, err_len, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < p->n_function; i++) {
        const Perftools__Profiles__Function *f = p->function[i];
        if (!str_ok(p, f->name) || !str_ok(p, f->filename)) {
            err_printf(err, err_len, "function %" PRIu64 " has a string index out of range", f->id);
            return -1;
        }
        in->fn_ix[i] = (pprof_id_index){f->id, i};
    }
    qsort(in->fn_ix, p->n_function, sizeof *in->fn_ix, compare_ids);
    for (size_t i = 0; i < p->n_location; i++) {
        const Perftools__Profiles__Location *l = p->location[i];
        for (size_t k = 0; k < l->n_line; k++) {
            if (!find_id(in->fn_ix, p->n_function, l->line[k]->function_id)) {
                err_printf(err, err_len, "location %" PRIu64 " names missing function %" PRIu64,
                           l->id, l->line[k]->function_id);
                return -1;
            }
        }
        in->loc_ix[i] = (pprof_id_index){l->id, i};
    }
    qsort(in->loc_ix, p->n_location, sizeof *in->loc_ix, compare_ids);
    for (size_t i = 0; i < p->n_sample; i++) {
        const Perftools__Profiles__Sample *s = p->sample[i];
        if (s->n_value != p->n_sample_type) {
            err_printf(err, err_len, "sample %zu has %zu values for %zu sample types", i,
                       s->n_value, p->n_sample_type);
            return -1;
        }
        for (size_t k = 0; k < s->n_location_id; k++) {
            if (!find_id(in->loc_ix, p->n_location, s->location_id[k])) {
                err_printf(err, err_len, "sample %zu names missing location %" PRIu64, i,
                           s->location_id[k]);
                return -1;
            }
        }
        for (size_t k = 0; k < s->n_label; k++) {
            if (!str_ok(p, s->label[k]->key) || !str_ok(p, s->label[k]->str)) {
                err_printf(err, err_len, "sample %zu has a label string index out of range", i);
                return -1;
            }
        }
    }
    return 0;
}

/* ---- loading ---- */

void pprof_input_free(pprof_input *in)
{
    if (in->p)
        perftools__profiles__profile__free_unpacked(in->p, NULL);
    free(in->fn_ix);
    free(in->loc_ix);
    memset(in, 0, sizeof *in);
}

int pprof_input_load_buffer(pprof_input *in, const unsigned char *data, size_t len, char *err,
                            size_t err_len)
{
    memset(in, 0, sizeof *in);
    err[0] = '\0';
    unsigned char *inflated = NULL;
    const unsigned char *raw = NULL;
    size_t raw_len = 0;
    if (ex_pprof_protobuf(data, len, PPROF_INPUT_MAX_PROFILE_BYTES, &raw, &raw_len, &inflated, err,
                          err_len) != 0)
        return -1;
    in->p = perftools__profiles__profile__unpack(NULL, raw_len, raw);
    free(inflated);
    if (!in->p) {
        err_printf(err, err_len, "not a pprof profile (protobuf decoding failed)");
        return -1;
    }
    if (check_profile(in, err, err_len) != 0) {
        pprof_input_free(in);
        return -1;
    }
    return 0;
}

int pprof_input_load_file(pprof_input *in, const char *path, char *err, size_t err_len)
{
    memset(in, 0, sizeof *in);
    err[0] = '\0';
    size_t len = 0;
    unsigned char *data = ex_pprof_read_file(path, PPROF_INPUT_MAX_FILE_BYTES, &len, err, err_len);
    if (!data)
        return -1;
    int rc = pprof_input_load_buffer(in, data, len, err, err_len);
    free(data);
    return rc;
}

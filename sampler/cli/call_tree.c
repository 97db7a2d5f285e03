/* Builds the call tree of the pictures from checked pprof profiles (see call_tree.h). */
#include "call_tree.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err_text.h"
#include "frame_names.h"
#include "name_index.h"
#include "pprof_input.h"
#include "sample_types.h"
#include "sat_math.h"

/* The frame every profile gets when the frame table is full. */
static const char frame_limit_text[] = "<frame limit reached>";

typedef struct frame_entry {
    call_frame pub;
    bool focus, ignore; /* the filters' regexes match its text */
} frame_entry;

struct call_tree {
    const call_tree_filter *filter;
    size_t max_nodes;
    call_tree_info info;
    name_index *frame_ix, *module_ix;
    frame_entry *frames;
    size_t frames_cap;
    uint32_t limit_frame; /* frame_limit_text's id, or CALL_TREE_NONE until first needed */
    call_node *nodes;
    size_t n_nodes, nodes_cap;
    uint32_t *slots; /* node id + 1 by (parent, frame); 0 = empty */
    size_t slots_cap;
};

/* ---- frames ---- */

static int64_t add_frame(call_tree *t, const char *text, size_t len, const char *module,
                         bool synthetic)
{
    int64_t id = name_index_find(t->frame_ix, text, len);
    if (id >= 0)
        return id;
    if (name_index_count(t->frame_ix) >= t->max_nodes) {
        /* No room for another frame: every new one shares one stand-in. */
        if (t->limit_frame != CALL_TREE_NONE)
            return t->limit_frame;
        text = frame_limit_text;
        len = strlen(frame_limit_text);
        module = frame_limit_text;
        synthetic = true;
    }
    id = name_index_id(t->frame_ix, text, len, NULL);
    if (id < 0)
        return -1;
    int64_t mid = name_index_id(t->module_ix, module, strlen(module), NULL);
    if (mid < 0)
        return -1;
    if ((size_t)id >= t->frames_cap) {
        size_t cap = t->frames_cap ? t->frames_cap * 2 : 1024;
        frame_entry *f = realloc(t->frames, cap * sizeof *f);
        if (!f)
            return -1;
        t->frames = f;
        t->frames_cap = cap;
    }
    frame_entry *e = &t->frames[id];
    e->pub.text = name_index_key(t->frame_ix, id, NULL);
    e->pub.module = name_index_key(t->module_ix, mid, NULL);
    e->pub.synthetic = synthetic;
    const call_tree_filter *fl = t->filter;
    e->focus = fl->focus && regexec(fl->focus, e->pub.text, 0, NULL, 0) == 0;
    e->ignore = fl->ignore && regexec(fl->ignore, e->pub.text, 0, NULL, 0) == 0;
    if (text == frame_limit_text)
        t->limit_frame = (uint32_t)id;
    return id;
}

static int64_t frame_of(call_tree *t, const char *name, const char *file, int64_t line)
{
    char small[1024];
    size_t len = frame_text(small, sizeof small, name, file, line, t->filter->lines);
    char *text = small;
    if (len >= sizeof small) {
        if (!(text = malloc(len + 1)))
            return -1;
        frame_text(text, len + 1, name, file, line, t->filter->lines);
    }
    const char *module = file[0] ? frame_short_file(file) : name;
    int64_t id = add_frame(t, text, len, module, frame_is_synthetic(name, file));
    if (text != small)
        free(text);
    return id;
}

/* ---- nodes ---- */

static uint64_t edge_hash(uint32_t parent, uint32_t frame)
{
    uint64_t h = ((uint64_t)parent << 32 | frame) * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

static bool grow_slots(call_tree *t)
{
    size_t cap = t->slots_cap ? t->slots_cap * 2 : 4096;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 1; i < t->n_nodes; i++) {
        size_t j = edge_hash(t->nodes[i].parent, t->nodes[i].frame) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = (uint32_t)i + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->slots_cap = cap;
    return true;
}

static uint32_t new_node(call_tree *t, uint32_t parent, uint32_t frame)
{
    if (t->n_nodes == t->nodes_cap) {
        size_t cap = t->nodes_cap ? t->nodes_cap * 2 : 4096;
        call_node *n = realloc(t->nodes, cap * sizeof *n);
        if (!n)
            return CALL_TREE_NONE;
        t->nodes = n;
        t->nodes_cap = cap;
    }
    uint32_t id = (uint32_t)t->n_nodes++;
    call_node *n = &t->nodes[id];
    memset(n, 0, sizeof *n);
    n->frame = frame;
    n->parent = parent;
    n->first_child = CALL_TREE_NONE;
    n->next_sibling = CALL_TREE_NONE;
    if (parent != CALL_TREE_NONE) {
        n->next_sibling = t->nodes[parent].first_child;
        t->nodes[parent].first_child = id;
    }
    return id;
}

/* The child of parent for frame, created when new; CALL_TREE_NONE at the node limit (*oom set
 * when memory ran out instead). */
static uint32_t child(call_tree *t, uint32_t parent, uint32_t frame, bool *oom)
{
    if ((t->n_nodes + 1) * 2 > t->slots_cap && !grow_slots(t)) {
        *oom = true;
        return CALL_TREE_NONE;
    }
    size_t j = edge_hash(parent, frame) & (t->slots_cap - 1);
    for (; t->slots[j]; j = (j + 1) & (t->slots_cap - 1)) {
        const call_node *n = &t->nodes[t->slots[j] - 1];
        if (n->parent == parent && n->frame == frame)
            return t->slots[j] - 1;
    }
    if (t->n_nodes >= t->max_nodes)
        return CALL_TREE_NONE;
    uint32_t id = new_node(t, parent, frame);
    if (id == CALL_TREE_NONE)
        *oom = true;
    else
        t->slots[j] = id + 1;
    return id;
}

/* ---- the tree ---- */

call_tree *call_tree_new(const call_tree_filter *filter, size_t max_nodes)
{
    call_tree *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->filter = filter;
    t->max_nodes = max_nodes < 2 ? 2 : max_nodes;
    t->limit_frame = CALL_TREE_NONE;
    t->frame_ix = name_index_new();
    t->module_ix = name_index_new();
    if (!t->frame_ix || !t->module_ix || add_frame(t, "all", 3, "all", true) != 0 ||
        new_node(t, CALL_TREE_NONE, 0) != CALL_TREE_ROOT) {
        call_tree_free(t);
        return NULL;
    }
    return t;
}

void call_tree_free(call_tree *t)
{
    if (!t)
        return;
    name_index_free(t->frame_ix);
    name_index_free(t->module_ix);
    free(t->frames);
    free(t->nodes);
    free(t->slots);
    free(t);
}

const call_tree_info *call_tree_get_info(const call_tree *t)
{
    return &t->info;
}

size_t call_tree_node_count(const call_tree *t)
{
    return t->n_nodes;
}

const call_node *call_tree_node(const call_tree *t, uint32_t id)
{
    return &t->nodes[id];
}

const call_frame *call_tree_frame(const call_tree *t, uint32_t frame)
{
    return &t->frames[frame].pub;
}

/* ---- adding a profile ---- */

/* Frame ids of every location's lines, callee first as pprof lists them, filled on first use. */
typedef struct location_frames {
    size_t *first; /* per location position: offset into ids */
    int64_t *ids;  /* -1 until resolved */
} location_frames;

static int resolve_type(call_tree *t, const pprof_input *in, char *err, size_t err_len)
{
    /* Every profile after the first must carry the type the first one resolved to. */
    const char *wanted = t->info.type[0] ? t->info.type : t->filter->type;
    int ix = sample_type_resolve(in, wanted, err, err_len);
    if (ix < 0)
        return -1;
    const char *name = pprof_input_type_name(in, (size_t)ix);
    const char *unit = pprof_input_type_unit(in, (size_t)ix);
    if (t->info.type[0] && strcmp(t->info.unit, unit)) {
        err_printf(err, err_len, "%s is in %s here but in %s in the other profiles", name, unit,
                   t->info.unit);
        return -1;
    }
    if (!t->info.type[0]) {
        snprintf(t->info.type, sizeof t->info.type, "%s", name);
        snprintf(t->info.unit, sizeof t->info.unit, "%s", unit);
    }
    return ix;
}

static int location_frame_ids(call_tree *t, const pprof_input *in, location_frames *lf, size_t pos,
                              const int64_t **ids)
{
    const Perftools__Profiles__Location *l = in->p->location[pos];
    int64_t *out = lf->ids + lf->first[pos];
    if (l->n_line && out[0] < 0) {
        for (size_t i = 0; i < l->n_line; i++) {
            const Perftools__Profiles__Function *f =
                pprof_input_function(in, l->line[i]->function_id);
            out[i] = frame_of(t, pprof_input_string(in, f->name),
                              pprof_input_string(in, f->filename), l->line[i]->line);
            if (out[i] < 0)
                return -1;
        }
    }
    *ids = out;
    return 0;
}

/* A location without lines (an unsymbolised address) is named by its address. */
static int64_t address_frame(call_tree *t, const Perftools__Profiles__Location *l)
{
    char name[32];
    snprintf(name, sizeof name, "0x%llx", (unsigned long long)l->address);
    return frame_of(t, name, "", 0);
}

typedef struct frame_walk {
    call_tree *t;
    const pprof_input *in;
    location_frames *lf;
    const Perftools__Profiles__Sample *s;
} frame_walk;

/* Calls visit for each frame of the sample, root first, until it returns nonzero. */
static int walk_frames(frame_walk *w, int (*visit)(void *ctx, uint32_t frame), void *ctx)
{
    for (size_t k = w->s->n_location_id; k-- > 0;) {
        size_t pos = pprof_input_location_pos(w->in, w->s->location_id[k]);
        const Perftools__Profiles__Location *l = w->in->p->location[pos];
        if (!l->n_line) {
            int64_t f = address_frame(w->t, l);
            if (f < 0)
                return -1;
            int r = visit(ctx, (uint32_t)f);
            if (r)
                return r;
            continue;
        }
        const int64_t *ids;
        if (location_frame_ids(w->t, w->in, w->lf, pos, &ids) != 0)
            return -1;
        for (size_t i = l->n_line; i-- > 0;) {
            int r = visit(ctx, (uint32_t)ids[i]);
            if (r)
                return r;
        }
    }
    return 0;
}

typedef struct filter_state {
    const call_tree *t;
    bool focused, ignored;
} filter_state;

static int check_frame(void *ctx, uint32_t frame)
{
    filter_state *st = ctx;
    const frame_entry *e = &st->t->frames[frame];
    st->focused |= e->focus;
    st->ignored |= e->ignore;
    return st->ignored ? 1 : 0;
}

typedef struct insert_state {
    call_tree *t;
    int series;
    int64_t value;
    uint32_t node;
    size_t depth;
    bool cut, oom;
} insert_state;

static int insert_frame(void *ctx, uint32_t frame)
{
    insert_state *st = ctx;
    if (st->depth >= CALL_TREE_MAX_DEPTH) {
        st->cut = true;
        return 1;
    }
    uint32_t c = child(st->t, st->node, frame, &st->oom);
    if (c == CALL_TREE_NONE) {
        st->cut = !st->oom;
        return 1;
    }
    st->node = c;
    st->depth++;
    call_node *n = &st->t->nodes[c];
    n->total[st->series] = sat_add(n->total[st->series], st->value);
    return 0;
}

static bool thread_selected(const call_tree *t, const pprof_input *in,
                            const Perftools__Profiles__Sample *s)
{
    if (!t->filter->thread)
        return true;
    const char *name = pprof_input_sample_label(in, s, "thread name");
    return fnmatch(t->filter->thread, name ? name : "", 0) == 0;
}

/* The index of the type's companion sample count (cpu-samples for cpu-time), or -1. */
static int counter_index(const pprof_input *in, int type_ix)
{
    const sample_type_info *info = sample_type_info_of(pprof_input_type_name(in, (size_t)type_ix));
    return info && info->counter ? pprof_input_type_index(in, info->counter) : -1;
}

static int add_samples(call_tree *t, int series, const pprof_input *in, int type_ix,
                       location_frames *lf)
{
    const Perftools__Profiles__Profile *p = in->p;
    int counter = counter_index(in, type_ix);
    for (size_t i = 0; i < p->n_sample; i++) {
        const Perftools__Profiles__Sample *s = p->sample[i];
        int64_t v = s->value[type_ix];
        /* Negative values (a pprof -diff_base profile) have no width to draw. */
        if (v <= 0 || !thread_selected(t, in, s))
            continue;
        frame_walk w = {t, in, lf, s};
        if (t->filter->focus || t->filter->ignore) {
            filter_state st = {t, false, false};
            if (walk_frames(&w, check_frame, &st) < 0)
                return -1;
            if (st.ignored || (t->filter->focus && !st.focused))
                continue;
        }
        insert_state st = {t, series, v, CALL_TREE_ROOT, 0, false, false};
        call_node *root = &t->nodes[CALL_TREE_ROOT];
        root->total[series] = sat_add(root->total[series], v);
        if (walk_frames(&w, insert_frame, &st) < 0 || st.oom)
            return -1;
        call_node *leaf = &t->nodes[st.node];
        leaf->self[series] = sat_add(leaf->self[series], v);
        if (st.cut)
            t->info.cut_value[series] = sat_add(t->info.cut_value[series], v);
        int64_t count = counter >= 0 ? s->value[counter] : 1;
        t->info.samples[series] = sat_add(t->info.samples[series], count > 0 ? count : 0);
    }
    return 0;
}

static int add_input(call_tree *t, int series, const pprof_input *in, char *err, size_t err_len)
{
    int type_ix = resolve_type(t, in, err, err_len);
    if (type_ix < 0)
        return -1;
    const Perftools__Profiles__Profile *p = in->p;
    location_frames lf = {calloc(p->n_location + 1, sizeof *lf.first), NULL};
    size_t n_lines = 0;
    for (size_t i = 0; lf.first && i < p->n_location; i++) {
        lf.first[i] = n_lines;
        n_lines += p->location[i]->n_line;
    }
    lf.ids = malloc((n_lines + 1) * sizeof *lf.ids);
    int rc = -1;
    if (lf.first && lf.ids) {
        memset(lf.ids, 0xff, (n_lines + 1) * sizeof *lf.ids); /* all -1 */
        rc = add_samples(t, series, in, type_ix, &lf);
    }
    if (rc == 0)
        t->info.files[series]++;
    else
        err_printf(err, err_len, "out of memory");
    free(lf.first);
    free(lf.ids);
    return rc;
}

int call_tree_add_buffer(call_tree *t, int series, const unsigned char *data, size_t len, char *err,
                         size_t err_len)
{
    pprof_input in;
    if (pprof_input_load_buffer(&in, data, len, err, err_len) != 0)
        return -1;
    int rc = add_input(t, series, &in, err, err_len);
    pprof_input_free(&in);
    return rc;
}

int call_tree_add_file(call_tree *t, int series, const char *path, char *err, size_t err_len)
{
    pprof_input in;
    if (pprof_input_load_file(&in, path, err, err_len) != 0)
        return -1;
    int rc = add_input(t, series, &in, err, err_len);
    pprof_input_free(&in);
    return rc;
}

/* ---- ordering ---- */

static const call_tree *sort_tree;

static int compare_children(const void *a, const void *b)
{
    const call_node *x = &sort_tree->nodes[*(const uint32_t *)a];
    const call_node *y = &sort_tree->nodes[*(const uint32_t *)b];
    return strcmp(sort_tree->frames[x->frame].pub.text, sort_tree->frames[y->frame].pub.text);
}

int call_tree_sort(call_tree *t)
{
    uint32_t *kids = malloc((t->n_nodes + 1) * sizeof *kids);
    if (!kids)
        return -1;
    sort_tree = t;
    for (size_t i = 0; i < t->n_nodes; i++) {
        size_t n = 0;
        for (uint32_t c = t->nodes[i].first_child; c != CALL_TREE_NONE;
             c = t->nodes[c].next_sibling)
            kids[n++] = c;
        if (n < 2)
            continue;
        qsort(kids, n, sizeof *kids, compare_children);
        t->nodes[i].first_child = kids[0];
        for (size_t k = 0; k + 1 < n; k++)
            t->nodes[kids[k]].next_sibling = kids[k + 1];
        t->nodes[kids[n - 1]].next_sibling = CALL_TREE_NONE;
    }
    free(kids);
    return 0;
}

/* ---- walking ---- */

void call_tree_walk(const call_tree *t, int (*visit)(void *ctx, uint32_t node, size_t depth),
                    void *ctx)
{
    uint32_t n = CALL_TREE_ROOT;
    size_t depth = 0;
    while (n != CALL_TREE_NONE) {
        const call_node *node = &t->nodes[n];
        if (!visit(ctx, n, depth) && node->first_child != CALL_TREE_NONE) {
            n = node->first_child;
            depth++;
            continue;
        }
        /* Up to the nearest ancestor-or-self with a next sibling; the root has none. */
        while (n != CALL_TREE_ROOT && t->nodes[n].next_sibling == CALL_TREE_NONE) {
            n = t->nodes[n].parent;
            depth--;
        }
        n = n == CALL_TREE_ROOT ? CALL_TREE_NONE : t->nodes[n].next_sibling;
    }
}

#include "folded_writer.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct folded_state {
    const call_tree *t;
    int series;
    FILE *out;
    char *path;   /* the frames from the root's child to the current node, ';'-joined */
    size_t *ends; /* ends[d]: length of path up to depth d */
    size_t cap;
    bool oom;
} folded_state;

static bool append(folded_state *st, size_t at, const char *text, size_t depth)
{
    size_t need = at + 1 + strlen(text) + 1;
    if (need > st->cap) {
        size_t cap = st->cap * 2 > need ? st->cap * 2 : need;
        char *p = realloc(st->path, cap);
        if (!p)
            return false;
        st->path = p;
        st->cap = cap;
    }
    char *w = st->path + at;
    if (depth > 1)
        *w++ = ';';
    for (const char *c = text; *c; c++)
        *w++ = *c == ';' ? '_' : (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c;
    *w = '\0';
    st->ends[depth] = (size_t)(w - st->path);
    return true;
}

static int visit(void *ctx, uint32_t id, size_t depth)
{
    folded_state *st = ctx;
    const call_node *n = call_tree_node(st->t, id);
    if (st->oom || n->total[st->series] <= 0)
        return 1;
    if (depth == 0) {
        /* Samples without any frame have no path of their own. */
        if (n->self[st->series] > 0)
            fprintf(st->out, "<no frames> %" PRId64 "\n", n->self[st->series]);
        return 0;
    }
    if (!append(st, st->ends[depth - 1], call_tree_frame(st->t, n->frame)->text, depth)) {
        st->oom = true;
        return 1;
    }
    if (n->self[st->series] > 0)
        fprintf(st->out, "%s %" PRId64 "\n", st->path, n->self[st->series]);
    return 0;
}

int folded_write(const call_tree *t, int series, FILE *out)
{
    folded_state st = {
        t, series, out, malloc(256), calloc(CALL_TREE_MAX_DEPTH + 2, sizeof(size_t)), 256, false};
    if (!st.path || !st.ends) {
        free(st.path);
        free(st.ends);
        return -1;
    }
    st.path[0] = '\0';
    call_tree_walk(t, visit, &st);
    free(st.path);
    free(st.ends);
    return st.oom ? -1 : 0;
}

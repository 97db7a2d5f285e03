/* The model behind the pictures: pprof samples of one sample type merged into a call tree whose
 * root ("all") holds the total and whose nodes hold each call path's total and self value.
 * Frames are named by frame_names.h. A tree holds up to two series (a flame graph uses one; a
 * differential graph puts BASE in series 0 and NEW in series 1 of the same tree, so equal paths
 * share a node).
 *
 * Memory is bounded by construction: at most CALL_TREE_MAX_NODES nodes and as many distinct
 * frames, and stacks are cut CALL_TREE_MAX_DEPTH frames above the root. A sample whose path
 * needs a node beyond the limit is counted in full at the deepest node that exists, and the
 * value so placed is reported (call_tree_info.cut_value), so totals stay right and the picture
 * says what it left out. */
#ifndef PODPROF_CLI_CALL_TREE_H
#define PODPROF_CLI_CALL_TREE_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CALL_TREE_MAX_NODES (1u << 20)
#define CALL_TREE_MAX_DEPTH 1024
#define CALL_TREE_ROOT 0u
#define CALL_TREE_NONE UINT32_MAX

typedef struct call_tree call_tree;

typedef struct call_tree_filter {
    const char *type;      /* --type, or NULL for the default (see sample_types.h) */
    const char *thread;    /* a shell pattern the "thread name" label must match, or NULL */
    const regex_t *focus;  /* keep only samples with a frame matching this, or NULL */
    const regex_t *ignore; /* drop samples with a frame matching this, or NULL */
    bool lines;            /* frames are (function, file, line) rather than (function, file) */
} call_tree_filter;

typedef struct call_node {
    uint32_t frame, parent, first_child, next_sibling;
    int64_t total[2], self[2];
} call_node;

typedef struct call_frame {
    const char *text;   /* "function (file)" */
    const char *module; /* the colour key: shortened file, or the name */
    bool synthetic;     /* "<3 frames omitted>", "all" */
} call_frame;

typedef struct call_tree_info {
    char type[64], unit[32]; /* the sample type's pprof name and unit ("" before any profile) */
    size_t files[2];         /* profiles added per series */
    int64_t samples[2];      /* samples per series after the filters: the type's companion
                              * count (cpu-samples for cpu-time), else pprof sample records */
    int64_t cut_value[2];    /* value placed above its real depth (node or depth limit) */
} call_tree_info;

/* filter (and the regexes it points to) must outlive the tree. */
call_tree *call_tree_new(const call_tree_filter *filter, size_t max_nodes);
void call_tree_free(call_tree *t);

/* Adds one profile's samples to series 0 or 1. On bad input (unreadable, not a pprof, lacking
 * the sample type, a unit other than earlier profiles') returns -1 with a one-line reason in err;
 * the tree is then unchanged. */
int call_tree_add_file(call_tree *t, int series, const char *path, char *err, size_t err_len);
int call_tree_add_buffer(call_tree *t, int series, const unsigned char *data, size_t len, char *err,
                         size_t err_len);

/* Orders every node's children by frame text, as flame graphs conventionally are; call once
 * after the last add and before reading the nodes. */
int call_tree_sort(call_tree *t);

/* Visits every node depth first, root (depth 0) first, children in order; visit returns nonzero
 * to skip the node's children. */
void call_tree_walk(const call_tree *t, int (*visit)(void *ctx, uint32_t node, size_t depth),
                    void *ctx);

const call_tree_info *call_tree_get_info(const call_tree *t);
size_t call_tree_node_count(const call_tree *t);
const call_node *call_tree_node(const call_tree *t, uint32_t id);
const call_frame *call_tree_frame(const call_tree *t, uint32_t frame);

#endif

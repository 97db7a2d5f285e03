/* The `tags_profiler` set: an ordered key -> value map where a later layer overrides an earlier
 * one, with keys and values normalised as Datadog does (lower case, allowed characters, a key
 * starts with a letter, a tag is at most 200 characters). */
#ifndef PODPROF_EXPORTER_TAGS_H
#define PODPROF_EXPORTER_TAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "labels.h"

#define EX_TAG_MAX_LEN 200

typedef struct ex_tag {
    char *key, *value;
} ex_tag;

typedef struct ex_tags {
    ex_tag *items;
    size_t n;
} ex_tags;

/* Normalises and sets key:value, replacing an existing key. Empty key or value (after
 * normalisation) is skipped; returns false then. */
bool ex_tags_set(ex_tags *tags, const char *key, const char *value);

/* Sets key:value verbatim (constants such as runtime:CPython that dd-trace-py sends as is). */
void ex_tags_set_raw(ex_tags *tags, const char *key, const char *value);

/* Adds a DD_TAGS-style list: `k:v` items separated by commas, or by spaces when there is no
 * comma. */
void ex_tags_add_list(ex_tags *tags, const char *list);

/* Adds pod labels per DD_PROFILING_POD_LABELS_AS_TAGS (`*`, or `label[=tag],...`, "" none);
 * pod-template-hash and controller-revision-hash are never added. */
void ex_tags_add_labels(ex_tags *tags, const ex_labels *labels, const char *policy);

const char *ex_tags_get(const ex_tags *tags, const char *key); /* normalised key */

/* "k:v,k2:v2" in insertion order (malloc'd). */
char *ex_tags_join(const ex_tags *tags);

void ex_tags_free(ex_tags *tags);

/* Writes the normalised form of s into out (capacity cap, NUL-terminated); as_key applies the
 * key rules (must start with a letter, no ':'). Returns the length written. */
size_t ex_tag_normalize(const char *s, bool as_key, char *out, size_t cap);

#endif

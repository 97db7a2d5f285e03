/* JSON Patch (RFC 6902) operations against the request object. Only narrow operations: "add"
 * (with "-" to append, creating an absent array or object once) and "replace" of one value, so
 * fields the injector does not know survive untouched. */
#ifndef PODPROF_INJECTOR_PATCH_H
#define PODPROF_INJECTOR_PATCH_H

#include <stddef.h>
#include <cjson/cJSON.h>

#define INJ_PATH_MAX 512

typedef struct inj_patch {
    cJSON *ops; /* array of operations; NULL after out-of-memory */
} inj_patch;

int inj_patch_init(inj_patch *p);
void inj_patch_free(inj_patch *p);

/* Escapes one reference token: '~' -> "~0", '/' -> "~1". Returns -1 if it does not fit. */
int inj_pointer_escape(const char *token, char *out, size_t outlen);

/* Appends an operation; value ownership passes to the patch (also on failure). */
void inj_patch_op(inj_patch *p, const char *op, const char *path, cJSON *value);

/* parent_path names the object (e.g. "/spec") that holds (or will hold) array `key` in the source
 * document `parent`. Adds every element of `items` (consumed) at the end of that array, creating it
 * with one operation when it is absent. */
void inj_patch_append_all(inj_patch *p, const cJSON *parent, const char *parent_path,
                          const char *key, cJSON *items);

/* Sets `key: value` (string) in map `map_key` (e.g. "annotations") of object `parent`. */
void inj_patch_set_in_map(inj_patch *p, const cJSON *parent, const char *parent_path,
                          const char *map_key, const char *key, const char *value);

/* Applies operations "add" and "replace" (all this injector emits) to doc in place. Used by
 * `mutate --patched`; the tests check the same patches with an independent implementation. */
int inj_patch_apply(cJSON *doc, const cJSON *ops, char *err, size_t errlen);

#endif

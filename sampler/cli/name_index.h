/* Dense ids for byte-string keys: the first key added gets 0, the next new one 1, and so on, so
 * callers keep per-key data in plain arrays. Keys may hold NUL bytes (a key made of several
 * strings joins them with NUL). Used for functions in `top` and frames in the pictures. */
#ifndef PODPROF_CLI_NAME_INDEX_H
#define PODPROF_CLI_NAME_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct name_index name_index;

name_index *name_index_new(void);
void name_index_free(name_index *ix);

/* The id of key, added when new (*added tells); -1 when memory runs out. */
int64_t name_index_id(name_index *ix, const char *key, size_t len, bool *added);

/* The id of key, or -1 when it was never added. */
int64_t name_index_find(const name_index *ix, const char *key, size_t len);

/* The key of id, and its length. */
const char *name_index_key(const name_index *ix, int64_t id, size_t *len);

size_t name_index_count(const name_index *ix);

#endif

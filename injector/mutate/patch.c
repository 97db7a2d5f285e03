#include "patch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int inj_patch_init(inj_patch *p)
{
    p->ops = cJSON_CreateArray();
    return p->ops ? 0 : -1;
}

void inj_patch_free(inj_patch *p)
{
    cJSON_Delete(p->ops);
    p->ops = NULL;
}

int inj_pointer_escape(const char *token, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *c = token; *c; c++) {
        const char *rep = *c == '~' ? "~0" : *c == '/' ? "~1" : NULL;
        size_t n = rep ? 2 : 1;
        if (o + n >= outlen)
            return -1;
        if (rep) {
            out[o++] = rep[0];
            out[o++] = rep[1];
        } else {
            out[o++] = *c;
        }
    }
    if (o >= outlen)
        return -1;
    out[o] = '\0';
    return 0;
}

void inj_patch_op(inj_patch *p, const char *op, const char *path, cJSON *value)
{
    cJSON *o = p->ops ? cJSON_CreateObject() : NULL;
    if (!o || !value || !cJSON_AddStringToObject(o, "op", op) ||
        !cJSON_AddStringToObject(o, "path", path)) {
        cJSON_Delete(o);
        cJSON_Delete(value);
        inj_patch_free(p);
        return;
    }
    cJSON_AddItemToObject(o, "value", value);
    cJSON_AddItemToArray(p->ops, o);
}

void inj_patch_append_all(inj_patch *p, const cJSON *parent, const char *parent_path,
                          const char *key, cJSON *items)
{
    char path[INJ_PATH_MAX];
    if (!items || cJSON_GetArraySize(items) == 0) {
        cJSON_Delete(items);
        return;
    }
    const cJSON *arr = parent ? cJSON_GetObjectItemCaseSensitive(parent, key) : NULL;
    if (!cJSON_IsArray(arr)) {
        /* Absent (or null): one "add" creates the array with every item. */
        snprintf(path, sizeof path, "%s/%s", parent_path, key);
        inj_patch_op(p, "add", path, items);
        return;
    }
    snprintf(path, sizeof path, "%s/%s/-", parent_path, key);
    while (items->child) {
        cJSON *it = cJSON_DetachItemViaPointer(items, items->child);
        inj_patch_op(p, "add", path, it);
    }
    cJSON_Delete(items);
}

void inj_patch_set_in_map(inj_patch *p, const cJSON *parent, const char *parent_path,
                          const char *map_key, const char *key, const char *value)
{
    char path[INJ_PATH_MAX], esc[256];
    const cJSON *map = parent ? cJSON_GetObjectItemCaseSensitive(parent, map_key) : NULL;
    if (!cJSON_IsObject(map)) {
        cJSON *obj = cJSON_CreateObject();
        if (obj && !cJSON_AddStringToObject(obj, key, value)) {
            cJSON_Delete(obj);
            obj = NULL;
        }
        snprintf(path, sizeof path, "%s/%s", parent_path, map_key);
        inj_patch_op(p, "add", path, obj);
        return;
    }
    if (inj_pointer_escape(key, esc, sizeof esc) < 0) {
        inj_patch_free(p);
        return;
    }
    snprintf(path, sizeof path, "%s/%s/%s", parent_path, map_key, esc);
    inj_patch_op(p, "add", path, cJSON_CreateString(value));
}

/* Decodes one reference token in place ("~1" -> '/', "~0" -> '~'). */
static void unescape_token(char *t)
{
    char *w = t;
    for (char *r = t; *r; r++) {
        if (r[0] == '~' && r[1] == '1') {
            *w++ = '/';
            r++;
        } else if (r[0] == '~' && r[1] == '0') {
            *w++ = '~';
            r++;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

static int parse_index(const char *t, int size, int allow_end)
{
    if (allow_end && strcmp(t, "-") == 0)
        return size;
    if (!*t || (t[0] == '0' && t[1]) || strlen(t) > 9)
        return -1;
    for (const char *c = t; *c; c++)
        if (*c < '0' || *c > '9')
            return -1;
    int i = atoi(t);
    return i <= size - (allow_end ? 0 : 1) ? i : -1;
}

/* cJSON_InsertItemInArray of Debian's cJSON 1.7.15 loses items inserted after index 0, so the
 * tail is moved aside and put back. */
static void insert_at(cJSON *array, int index, cJSON *item)
{
    cJSON *tail = cJSON_CreateArray();
    if (!tail) {
        cJSON_Delete(item);
        return;
    }
    while (cJSON_GetArraySize(array) > index)
        cJSON_AddItemToArray(tail, cJSON_DetachItemFromArray(array, index));
    cJSON_AddItemToArray(array, item);
    while (tail->child)
        cJSON_AddItemToArray(array, cJSON_DetachItemFromArray(tail, 0));
    cJSON_Delete(tail);
}

static int apply_one(cJSON *doc, const char *op, const char *path, const cJSON *value, char *err,
                     size_t errlen)
{
    char buf[INJ_PATH_MAX];
    if (path[0] != '/' || strlen(path) >= sizeof buf) {
        snprintf(err, errlen, "bad path '%s'", path);
        return -1;
    }
    strcpy(buf, path);
    char *last = strrchr(buf, '/');
    *last = '\0';
    char *leaf = last + 1;
    cJSON *parent = doc;
    for (char *tok = buf[0] ? buf + 1 : NULL; tok;) {
        char *next = strchr(tok, '/');
        if (next)
            *next++ = '\0';
        unescape_token(tok);
        if (cJSON_IsArray(parent)) {
            int i = parse_index(tok, cJSON_GetArraySize(parent), 0);
            parent = i < 0 ? NULL : cJSON_GetArrayItem(parent, i);
        } else {
            parent = cJSON_IsObject(parent) ? cJSON_GetObjectItemCaseSensitive(parent, tok) : NULL;
        }
        if (!parent) {
            snprintf(err, errlen, "path '%s' does not exist", path);
            return -1;
        }
        tok = next;
    }
    unescape_token(leaf);
    cJSON *v = cJSON_Duplicate(value, 1);
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int replace = strcmp(op, "replace") == 0;
    if (cJSON_IsArray(parent)) {
        int i = parse_index(leaf, cJSON_GetArraySize(parent), !replace);
        if (i < 0) {
            snprintf(err, errlen, "bad array index in '%s'", path);
            cJSON_Delete(v);
            return -1;
        }
        if (replace)
            cJSON_ReplaceItemInArray(parent, i, v);
        else if (i == cJSON_GetArraySize(parent))
            cJSON_AddItemToArray(parent, v);
        else
            insert_at(parent, i, v);
        return 0;
    }
    if (!cJSON_IsObject(parent)) {
        snprintf(err, errlen, "parent of '%s' is not a container", path);
        cJSON_Delete(v);
        return -1;
    }
    int exists = cJSON_GetObjectItemCaseSensitive(parent, leaf) != NULL;
    if (replace && !exists) {
        snprintf(err, errlen, "replace of missing '%s'", path);
        cJSON_Delete(v);
        return -1;
    }
    if (exists)
        cJSON_ReplaceItemInObjectCaseSensitive(parent, leaf, v);
    else
        cJSON_AddItemToObject(parent, leaf, v);
    return 0;
}

int inj_patch_apply(cJSON *doc, const cJSON *ops, char *err, size_t errlen)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, ops)
    {
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "op");
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(o, "path");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(o, "value");
        if (!cJSON_IsString(op) || !cJSON_IsString(path) || !value ||
            (strcmp(op->valuestring, "add") && strcmp(op->valuestring, "replace"))) {
            snprintf(err, errlen, "unsupported patch operation");
            return -1;
        }
        if (apply_one(doc, op->valuestring, path->valuestring, value, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* code-provenance.json from the sampler's findings (code_provenance.h), built with cJSON. */
#include "code_provenance.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "podprof/provenance_keys.h"

#define EX_PROVENANCE_ZSTD_LEVEL 1 /* as the profile */

/* Always in the standard library's entry: importlib's bootstrap runs from these two frozen
 * modules under every CPython, whether or not this profile caught it (as dd-trace-py lists them).
 */
static const char *const always_stdlib[] = {"<frozen importlib._bootstrap>",
                                            "<frozen importlib._bootstrap_external>"};

static bool has_string(const cJSON *array, const char *s)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, array)
    {
        if (cJSON_IsString(item) && !strcmp(item->valuestring, s))
            return true;
    }
    return false;
}

/* Appends every string of src to dst (each once); false when src is not an array of strings. */
static bool add_paths(cJSON *dst, const cJSON *src)
{
    if (!cJSON_IsArray(src))
        return false;
    const cJSON *item;
    cJSON_ArrayForEach(item, src)
    {
        if (!cJSON_IsString(item))
            return false;
        if (!has_string(dst, item->valuestring))
            cJSON_AddItemToArray(dst, cJSON_CreateString(item->valuestring));
    }
    return true;
}

static cJSON *library(cJSON *v1, const char *kind, const char *name, const char *version)
{
    cJSON *lib = cJSON_CreateObject();
    cJSON_AddItemToArray(v1, lib);
    cJSON_AddStringToObject(lib, "kind", kind);
    cJSON_AddStringToObject(lib, "name", name);
    cJSON_AddStringToObject(lib, "version", version);
    return cJSON_AddArrayToObject(lib, "paths");
}

/* The v1 document, or NULL with err set. */
static cJSON *document(const cJSON *prov, const char *python_version, char *err, size_t errcap)
{
    if (!cJSON_IsObject(prov)) {
        snprintf(err, errcap, "\"%s\" is not an object", PP_META_CODE_PROVENANCE);
        return NULL;
    }
    const cJSON *stdlib = cJSON_GetObjectItemCaseSensitive(prov, PP_PROVENANCE_STDLIB);
    const cJSON *libs = cJSON_GetObjectItemCaseSensitive(prov, PP_PROVENANCE_LIBRARIES);
    cJSON *doc = cJSON_CreateObject();
    cJSON *v1 = cJSON_AddArrayToObject(doc, "v1");
    cJSON *paths = library(v1, "standard library", "stdlib", python_version ? python_version : "");
    if (stdlib && !add_paths(paths, stdlib)) {
        snprintf(err, errcap, "\"%s\" is not an array of strings", PP_PROVENANCE_STDLIB);
        goto bad;
    }
    for (size_t i = 0; i < sizeof always_stdlib / sizeof *always_stdlib; i++)
        if (!has_string(paths, always_stdlib[i]))
            cJSON_AddItemToArray(paths, cJSON_CreateString(always_stdlib[i]));
    cJSON_AddItemToArray(library(v1, "library", "native", ""), cJSON_CreateString("<native>"));
    if (libs && !cJSON_IsArray(libs)) {
        snprintf(err, errcap, "\"%s\" is not an array", PP_PROVENANCE_LIBRARIES);
        goto bad;
    }
    const cJSON *lib;
    cJSON_ArrayForEach(lib, libs)
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(lib, PP_PROVENANCE_NAME);
        const cJSON *version = cJSON_GetObjectItemCaseSensitive(lib, PP_PROVENANCE_VERSION);
        if (!cJSON_IsString(name) || !name->valuestring[0] ||
            (version && !cJSON_IsString(version))) {
            snprintf(err, errcap, "a library without a name, or with a version not a string");
            goto bad;
        }
        cJSON *lib_paths =
            library(v1, "library", name->valuestring, version ? version->valuestring : "");
        if (!add_paths(lib_paths, cJSON_GetObjectItemCaseSensitive(lib, PP_PROVENANCE_PATHS))) {
            snprintf(err, errcap, "library \"%.64s\": \"%s\" is not an array of strings",
                     name->valuestring, PP_PROVENANCE_PATHS);
            goto bad;
        }
    }
    return doc;
bad:
    cJSON_Delete(doc);
    return NULL;
}

int ex_provenance_attachment(const cJSON *provenance, const char *python_version, void **out,
                             size_t *out_len, char *err, size_t errcap)
{
    *out = NULL;
    cJSON *doc = document(provenance, python_version, err, errcap);
    if (!doc)
        return -1;
    char *json = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!json) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    size_t len = strlen(json), bound = ZSTD_compressBound(len);
    void *z = malloc(bound);
    size_t zlen = z ? ZSTD_compress(z, bound, json, len, EX_PROVENANCE_ZSTD_LEVEL) : 0;
    free(json);
    if (!z || ZSTD_isError(zlen)) {
        free(z);
        snprintf(err, errcap, "%s", z ? ZSTD_getErrorName(zlen) : "out of memory");
        return -1;
    }
    *out = z;
    *out_len = zlen;
    return 0;
}

/* Shared helpers of the injector's cmocka tests: pods from JSON text, a default configuration,
 * and looking up patch operations. */
#ifndef PODPROF_TEST_INJECTOR_FIXTURES_H
#define PODPROF_TEST_INJECTOR_FIXTURES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "config.h"

static inline cJSON *json(const char *text)
{
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    return doc;
}

static inline inj_config default_config(void)
{
    inj_config cfg;
    inj_config_defaults(&cfg);
    return cfg;
}

/* The operation with this path, or NULL. */
static inline const cJSON *op_at(const cJSON *ops, const char *path)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, ops)
    {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "path");
        if (cJSON_IsString(p) && !strcmp(p->valuestring, path))
            return o;
    }
    return NULL;
}

static inline int count_ops(const cJSON *ops, const char *path)
{
    int n = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, ops)
    {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "path");
        n += cJSON_IsString(p) && !strcmp(p->valuestring, path);
    }
    return n;
}

#endif

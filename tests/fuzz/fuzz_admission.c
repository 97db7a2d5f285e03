/* libFuzzer target: an HTTP body through the server's AdmissionReview -> patch path. Beyond "no
 * crash, leak or sanitizer report", every patch the injector returns must apply cleanly to the
 * object it was computed for, and an injected pod must be recognised as injected afterwards. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "admission.h"
#include "arena.h"
#include "config.h"
#include "optin.h"
#include "patch.h"

static inj_config cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        inj_arena_install();
        inj_config_defaults(&cfg);
        ready = 1;
    }
    int mode = (size & 1) ? INJ_NS_ALL : INJ_NS_ANNOTATED;
    inj_review r;
    inj_arena_begin(); /* as the server does around each request */
    inj_review_handle_body(&cfg, (const char *)data, size, mode, &r);
    if (r.status == 200 && !r.body)
        abort();
    if (r.status == 200 && r.m.patch) {
        cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
        cJSON *req = cJSON_GetObjectItemCaseSensitive(doc, "request");
        cJSON *obj = cJSON_GetObjectItemCaseSensitive(req, "object");
        char err[200];
        if (!obj || inj_patch_apply(obj, r.m.patch, err, sizeof err) != 0)
            abort(); /* the server answered with a patch that does not apply */
        if (r.m.outcome == INJ_INJECTED) {
            /* Reinvocation on the patched pod must be a no-op. */
            char *again = cJSON_PrintUnformatted(doc);
            if (!again)
                abort();
            inj_review r2;
            inj_review_handle_body(&cfg, again, strlen(again), mode, &r2);
            if (r2.status != 200 || r2.m.outcome != INJ_ALREADY_INJECTED || r2.m.patch)
                abort();
            inj_review_free(&r2);
            cJSON_free(again);
        }
        cJSON_Delete(doc);
    }
    inj_review_free(&r);
    inj_arena_end();
    return 0;
}

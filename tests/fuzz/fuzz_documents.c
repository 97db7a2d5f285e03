/* libFuzzer target: `mutate`'s input path. Any bytes through the JSON/YAML reader (the YAML to
 * cJSON conversion is ours), and any pod template found in the result through the mutation; a
 * returned patch must apply to the object it was computed for. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "config.h"
#include "docload.h"
#include "mutation.h"
#include "optin.h"
#include "patch.h"

static inj_config cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        inj_config_defaults(&cfg);
        ready = 1;
    }
    char err[256];
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    cJSON *doc = inj_doc_parse(text, size, err, sizeof err);
    free(text);
    if (!doc)
        return 0;
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(doc, "spec");
    cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(spec, "template");
    cJSON *pod = tmpl ? tmpl : doc;
    inj_pod_ctx ctx = {"apps", (size & 1) ? INJ_NS_ALL : INJ_NS_ANNOTATED,
                       tmpl ? "/spec/template" : "", tmpl ? "fuzz" : NULL};
    inj_mutation m;
    if (inj_mutate_pod(&cfg, pod, &ctx, &m) == 0 && m.patch &&
        inj_patch_apply(doc, m.patch, err, sizeof err) != 0)
        abort();
    inj_mutation_free(&m);
    char *out = cJSON_PrintUnformatted(doc);
    cJSON_free(out);
    cJSON_Delete(doc);
    return 0;
}

#include "admission.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "arena.h"
#include "docload.h"
#include "optin.h"

#define API_V1 "admission.k8s.io/v1"
#define API_V1BETA1 "admission.k8s.io/v1beta1"

static const char *str_item(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *base64(const char *data, size_t len)
{
    size_t out_len = 4 * ((len + 2) / 3) + 1;
    char *out = malloc(out_len);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)len);
    return out;
}

char *inj_review_response(const char *api_version, const char *uid, const inj_mutation *m)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "apiVersion", api_version);
    cJSON_AddStringToObject(root, "kind", "AdmissionReview");
    cJSON *resp = cJSON_AddObjectToObject(root, "response");
    cJSON_AddStringToObject(resp, "uid", uid);
    cJSON_AddBoolToObject(resp, "allowed", 1);
    if (m->patch && cJSON_GetArraySize(m->patch) > 0) {
        char *patch = cJSON_PrintUnformatted(m->patch);
        char *b64 = patch ? base64(patch, strlen(patch)) : NULL;
        if (b64) {
            cJSON_AddStringToObject(resp, "patchType", "JSONPatch");
            cJSON_AddStringToObject(resp, "patch", b64);
        }
        cJSON_free(patch);
        free(b64);
        if (!b64) {
            cJSON_Delete(root);
            return NULL;
        }
    }
    if (m->n_warnings > 0) {
        cJSON *w = cJSON_AddArrayToObject(resp, "warnings");
        for (int i = 0; i < m->n_warnings; i++)
            cJSON_AddItemToArray(w, cJSON_CreateString(m->warnings[i]));
    }
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

static void fail(inj_review *r, const char *msg)
{
    /* Allocated like every other body, so inj_review_free releases both the same way. */
    size_t n = strlen(msg) + 1;
    r->status = 400;
    /* kept where no allocation is needed too: the request's memory may be what ran out */
    snprintf(r->m.detail, sizeof r->m.detail, "%s", msg);
    r->body = cJSON_malloc(n);
    if (r->body)
        memcpy(r->body, msg, n);
}

static void ignore(inj_review *r, const char *why, int warn)
{
    r->m.outcome = INJ_IGNORED;
    snprintf(r->m.detail, sizeof r->m.detail, "%s", why);
    if (warn)
        inj_mutation_warn(&r->m, "%s", why);
}

void inj_review_handle(const inj_config *cfg, const cJSON *review, int mode, inj_review *r)
{
    memset(r, 0, sizeof *r);
    const char *api = str_item(review, "apiVersion");
    const char *kind = str_item(review, "kind");
    if (!cJSON_IsObject(review) || !api || !kind || strcmp(kind, "AdmissionReview") ||
        (strcmp(api, API_V1) && strcmp(api, API_V1BETA1))) {
        fail(r, "body is not an AdmissionReview (apiVersion admission.k8s.io/v1 or v1beta1)");
        return;
    }
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(review, "request");
    if (!cJSON_IsObject(req)) {
        fail(r, "AdmissionReview has no request");
        return;
    }
    const char *uid = str_item(req, "uid");
    if (!uid || !uid[0]) {
        fail(r, "AdmissionReview request has no uid");
        return;
    }
    snprintf(r->uid, sizeof r->uid, "%s", uid);
    snprintf(r->api, sizeof r->api, "%s", api);
    r->status = 200;

    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(req, "object");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *ns = str_item(req, "namespace");
    if (!ns || !ns[0])
        ns = str_item(meta, "namespace");
    snprintf(r->ns, sizeof r->ns, "%s", ns ? ns : "");
    const char *name = str_item(meta, "name");
    const char *gen = str_item(meta, "generateName");
    if (name && name[0])
        snprintf(r->name, sizeof r->name, "%s", name);
    else if (gen)
        snprintf(r->name, sizeof r->name, "%s*", gen);

    const cJSON *rkind = cJSON_GetObjectItemCaseSensitive(req, "kind");
    const char *group = str_item(rkind, "group");
    const char *res_kind = str_item(rkind, "kind");
    const char *op = str_item(req, "operation");
    const char *sub = str_item(req, "subResource");
    const char *okind = str_item(obj, "kind");
    if (!res_kind || strcmp(res_kind, "Pod") || (group && group[0])) {
        char why[160];
        snprintf(why, sizeof why, "only Pods are mutated, not %.60s", res_kind ? res_kind : "?");
        ignore(r, why, 1);
    } else if (sub && sub[0]) {
        ignore(r, "subresource requests are not mutated", 0);
    } else if (!op || strcmp(op, "CREATE")) {
        ignore(r, "only CREATE is mutated", 0);
    } else if (!cJSON_IsObject(obj) || (okind && strcmp(okind, "Pod"))) {
        ignore(r, "request.object is not a Pod", 1);
    } else {
        inj_pod_ctx ctx = {ns, mode, "", NULL};
        inj_mutate_pod(cfg, obj, &ctx, &r->m);
        if (r->m.outcome == INJ_IGNORED)
            inj_mutation_warn(&r->m, "%s", r->m.detail);
    }
    r->body = inj_review_response(api, uid, &r->m);
    if (!r->body)
        r->status = 500;
    else if (!strcmp(r->m.detail, "out of memory"))
        r->status = 500; /* answered, but not as decided: admit unchanged instead */
}

int inj_review_fail_open(inj_review *r)
{
    if (r->status != 500 || !r->uid[0])
        return -1;
    cJSON_free(r->body);
    r->body = NULL;
    inj_mutation_free(&r->m);
    memset(&r->m, 0, sizeof r->m);
    r->m.outcome = INJ_IGNORED;
    snprintf(r->m.detail, sizeof r->m.detail, "internal error (out of memory)");
    inj_mutation_warn(&r->m, "podprof: internal error (out of memory); pod admitted unchanged");
    r->body = inj_review_response(r->api, r->uid, &r->m);
    if (!r->body)
        return -1;
    r->status = 200;
    return 0;
}

void inj_review_handle_body(const inj_config *cfg, const char *body, size_t len, int mode,
                            inj_review *r)
{
    char err[160];
    cJSON *doc = inj_json_parse_bounded(body, len, err, sizeof err);
    if (!doc) {
        memset(r, 0, sizeof *r);
        fail(r, inj_arena_exhausted() ? "AdmissionReview too large to process" : err);
        return;
    }
    inj_review_handle(cfg, doc, mode, r);
    cJSON_Delete(doc);
}

void inj_review_free(inj_review *r)
{
    cJSON_free(r->body);
    r->body = NULL;
    inj_mutation_free(&r->m);
}

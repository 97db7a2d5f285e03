/* `podprof-injector mutate`: the server's mutation, offline, on an AdmissionReview, a Pod or a
 * workload's pod template. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "commands.h"
#include "config.h"
#include "docload.h"
#include "mutation.h"
#include "optin.h"
#include "patch.h"

struct workload_kind {
    const char *kind;
    const char *template_path; /* JSON pointer of the pod template */
};

static const struct workload_kind workloads[] = {
    {"Deployment", "/spec/template"}, {"StatefulSet", "/spec/template"},
    {"DaemonSet", "/spec/template"},  {"ReplicaSet", "/spec/template"},
    {"Job", "/spec/template"},        {"CronJob", "/spec/jobTemplate/spec/template"},
};

static cJSON *at_pointer(cJSON *doc, const char *pointer)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", pointer);
    cJSON *cur = doc;
    for (char *tok = strtok(buf, "/"); tok && cur; tok = strtok(NULL, "/"))
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    return cur;
}

static void print_json(const cJSON *doc)
{
    char *s = cJSON_Print(doc);
    if (s)
        puts(s);
    cJSON_free(s);
}

static int bad(const char *what, const char *msg)
{
    fprintf(stderr, "podprof-injector mutate: %s%s%s\n", what ? what : "", what ? ": " : "", msg);
    return 2;
}

static void mutate_usage(FILE *out)
{
    fprintf(out, "usage: podprof-injector mutate [-f FILE|-] [--patched] "
                 "[--namespace-mode annotated|all] [options]\n\n"
                 "Reads an AdmissionReview, a Pod, or a Deployment/StatefulSet/DaemonSet/"
                 "ReplicaSet/Job/CronJob (JSON or YAML)\nand prints the AdmissionReview response "
                 "(--patched: the mutated object). Exit 0, or 2 on bad input.\n\noptions:\n");
    inj_config_print_help(out, INJ_SCOPE_MUTATE);
}

static void report(const inj_mutation *m)
{
    fprintf(stderr, "podprof-injector mutate: %s (%s)\n", inj_outcome_name(m->outcome), m->detail);
    for (int i = 0; i < m->n_warnings; i++)
        fprintf(stderr, "warning: %s\n", m->warnings[i]);
}

int inj_cmd_mutate(int argc, char **argv)
{
    inj_config cfg;
    char err[300] = "";
    inj_config_defaults(&cfg);
    const char *file = "-";
    bool patched = false;
    int mode = INJ_NS_ANNOTATED, rc = 2;
    if (inj_config_load(&cfg, &argc, argv, INJ_SCOPE_MUTATE, err, sizeof err) < 0) {
        inj_config_free(&cfg);
        return bad(NULL, err);
    }
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-f") || !strcmp(argv[i], "--file")) && i + 1 < argc) {
            file = argv[++i];
        } else if (!strcmp(argv[i], "--patched")) {
            patched = true;
        } else if (!strcmp(argv[i], "--namespace-mode") && i + 1 < argc) {
            if ((mode = inj_ns_mode_from_name(argv[++i])) < 0) {
                inj_config_free(&cfg);
                return bad("--namespace-mode", "must be annotated or all");
            }
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            mutate_usage(stdout);
            inj_config_free(&cfg);
            return 0;
        } else {
            fprintf(stderr, "podprof-injector mutate: unknown argument '%s'\n", argv[i]);
            inj_config_free(&cfg);
            return 2;
        }
    }

    size_t len = 0;
    char *text = inj_read_file(file, &len, err, sizeof err);
    cJSON *doc = text ? inj_doc_parse(text, len, err, sizeof err) : NULL;
    free(text);
    if (!doc) {
        inj_config_free(&cfg);
        return bad(strcmp(file, "-") ? file : "stdin", err);
    }
    const cJSON *kind_item = cJSON_GetObjectItemCaseSensitive(doc, "kind");
    const char *kind = cJSON_IsString(kind_item) ? kind_item->valuestring : NULL;
    if (!cJSON_IsObject(doc) || !kind) {
        rc = bad(file, "not a Kubernetes object (no kind)");
        goto out;
    }

    if (!strcmp(kind, "AdmissionReview")) {
        inj_review r;
        inj_review_handle(&cfg, doc, mode, &r);
        if (r.status == 500)
            inj_review_fail_open(&r);
        if (r.status != 200) {
            rc = bad(file, r.body ? r.body : "out of memory");
        } else if (patched) {
            cJSON *obj =
                cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
                                    cJSON_GetObjectItemCaseSensitive(doc, "request"), "object"),
                                1);
            if (obj && (!r.m.patch || inj_patch_apply(obj, r.m.patch, err, sizeof err) == 0)) {
                print_json(obj);
                report(&r.m);
                rc = 0;
            } else {
                rc = bad(file, obj ? err : "request has no object");
            }
            cJSON_Delete(obj);
        } else {
            puts(r.body);
            report(&r.m);
            rc = 0;
        }
        inj_review_free(&r);
        goto out;
    }

    const char *prefix = NULL;
    if (!strcmp(kind, "Pod"))
        prefix = "";
    for (size_t i = 0; !prefix && i < sizeof workloads / sizeof workloads[0]; i++)
        if (!strcmp(kind, workloads[i].kind))
            prefix = workloads[i].template_path;
    if (!prefix) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "kind %.60s is not supported (AdmissionReview, Pod, Deployment, StatefulSet, "
                 "DaemonSet, ReplicaSet, Job, CronJob)",
                 kind);
        rc = bad(file, msg);
        goto out;
    }
    cJSON *pod = prefix[0] ? at_pointer(doc, prefix) : doc;
    if (!cJSON_IsObject(pod)) {
        rc = bad(file, "the workload has no pod template");
        goto out;
    }
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(meta, "namespace");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(meta, "uid");
    inj_pod_ctx ctx = {cJSON_IsString(ns) ? ns->valuestring : "default", mode, prefix,
                       prefix[0] && cJSON_IsString(name) ? name->valuestring : NULL};
    inj_mutation m;
    if (inj_mutate_pod(&cfg, pod, &ctx, &m) < 0) {
        rc = bad(file, m.detail);
        goto out;
    }
    if (m.outcome == INJ_IGNORED) {
        rc = bad(file, m.detail);
        inj_mutation_free(&m);
        goto out;
    }
    if (patched) {
        if (m.patch && inj_patch_apply(doc, m.patch, err, sizeof err) < 0) {
            rc = bad(file, err);
        } else {
            print_json(doc);
            rc = 0;
        }
    } else {
        char *resp = inj_review_response("admission.k8s.io/v1",
                                         cJSON_IsString(uid) ? uid->valuestring : "", &m);
        if (resp) {
            puts(resp);
            rc = 0;
        } else {
            rc = bad(file, "out of memory");
        }
        cJSON_free(resp);
    }
    if (rc == 0)
        report(&m);
    inj_mutation_free(&m);
out:
    cJSON_Delete(doc);
    inj_config_free(&cfg);
    return rc;
}

/* The AdmissionReview envelope (admission.k8s.io/v1 and v1beta1): validate a request, run the
 * mutation on its Pod, and build the response in the same version with the request's uid and a
 * base64 JSONPatch. Never denies: a review that cannot be mutated is allowed with a warning. */
#ifndef PODPROF_INJECTOR_ADMISSION_H
#define PODPROF_INJECTOR_ADMISSION_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "config.h"
#include "mutation.h"

typedef struct inj_review {
    int status;     /* HTTP status: 200, or 400 for a body that is not an AdmissionReview */
    char *body;     /* response body (malloc'd): the AdmissionReview JSON, or one error line */
    inj_mutation m; /* what was decided (m.patch is owned here) */
    char uid[80];   /* for logs, and the answer after an internal error */
    char api[40];   /* the request's apiVersion, likewise */
    char ns[64];
    char name[128]; /* pod name, or generateName + "*" */
} inj_review;

/* Handles a raw request body (the server's path). */
void inj_review_handle_body(const inj_config *cfg, const char *body, size_t len, int mode,
                            inj_review *r);
/* Handles an already-parsed AdmissionReview (the CLI's path, and the body path after parsing). */
void inj_review_handle(const inj_config *cfg, const cJSON *review, int mode, inj_review *r);
void inj_review_free(inj_review *r);

/* Fail-open in code, not only in the webhook's failurePolicy: after an internal error (status
 * 500, e.g. the request's memory ran out while answering; call it once that memory is released)
 * the answer admits the pod unchanged with a warning saying why, so even a webhook registered
 * with failurePolicy: Fail cannot block a pod. Returns 0, or -1 when even that answer cannot be
 * built (status stays 500). */
int inj_review_fail_open(inj_review *r);

/* Builds the AdmissionReview response for mutation m (allowed: true, patch when any). */
char *inj_review_response(const char *api_version, const char *uid, const inj_mutation *m);

#endif

/* Whether a pod is opted in. The webhook configuration already filtered namespaces by label and
 * chose the path (namespace mode); the server re-checks everything it can see itself. */
#ifndef PODPROF_INJECTOR_OPTIN_H
#define PODPROF_INJECTOR_OPTIN_H

#include <stdbool.h>
#include <cjson/cJSON.h>

enum inj_ns_mode {
    INJ_NS_ANNOTATED, /* namespace label "true": pods annotated "true" */
    INJ_NS_ALL,       /* namespace label "all": every pod unless annotated "false" */
};

/* "/mutate", "/mutate/annotated" -> ANNOTATED, "/mutate/all" -> ALL, else -1. */
int inj_ns_mode_from_path(const char *path);
/* "annotated" | "all" -> mode, else -1 (the CLI's --namespace-mode). */
int inj_ns_mode_from_name(const char *name);

typedef struct inj_optin {
    bool inject;
    const char *why; /* static text: why not (or "opted in") */
    bool bad_value;  /* the enabled annotation had a value other than true/false */
} inj_optin;

/* pod: the Pod (or pod template) object; ns: its namespace; own_ns: the injector's namespace. */
inj_optin inj_optin_decide(const cJSON *pod, const char *ns, int mode, const char *own_ns);

#endif

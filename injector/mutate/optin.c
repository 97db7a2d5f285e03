#include "optin.h"

#include <string.h>

#include "names.h"
#include "pod_json.h"

int inj_ns_mode_from_path(const char *path)
{
    if (!strcmp(path, "/mutate") || !strcmp(path, "/mutate/annotated"))
        return INJ_NS_ANNOTATED;
    if (!strcmp(path, "/mutate/all"))
        return INJ_NS_ALL;
    return -1;
}

int inj_ns_mode_from_name(const char *name)
{
    if (!strcmp(name, "annotated"))
        return INJ_NS_ANNOTATED;
    if (!strcmp(name, "all"))
        return INJ_NS_ALL;
    return -1;
}

inj_optin inj_optin_decide(const cJSON *pod, const char *ns, int mode, const char *own_ns)
{
    inj_optin r = {false, "not annotated " PP_ANN_ENABLED "=true", false};
    if (!ns || !ns[0]) {
        r.why = "namespace unknown";
        return r;
    }
    if (!strcmp(ns, PP_NAMESPACE_KUBE_SYSTEM)) {
        r.why = "namespace kube-system is never mutated";
        return r;
    }
    if (own_ns && own_ns[0] && !strcmp(ns, own_ns)) {
        r.why = "the injector's own namespace is never mutated";
        return r;
    }
    if (inj_pod_annotation(pod, PP_ANN_MIRROR_POD)) {
        r.why = "mirror (static) pods are never mutated";
        return r;
    }
    const char *v = inj_pod_annotation(pod, PP_ANN_ENABLED);
    if (v && !strcmp(v, "false")) {
        r.why = "annotated " PP_ANN_ENABLED "=false";
        return r;
    }
    if (v && !strcmp(v, "true")) {
        r.inject = true;
        r.why = "annotated " PP_ANN_ENABLED "=true";
        return r;
    }
    r.bad_value = v != NULL;
    if (mode == INJ_NS_ALL) {
        r.inject = true;
        r.why = "namespace mode all";
    }
    return r;
}

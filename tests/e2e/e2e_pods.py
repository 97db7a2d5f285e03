"""Pods, namespaces and Deployments for the e2e tests, and the checks of what the API server
stored: injected exactly as DESIGN.md §3 says, or untouched. Every pod made here can run on the
node: its image is the application image loaded into containerd and its command exists there."""
import json
import re
import time

from e2e_env import ROOT, pod_ready
from e2e_cluster import wait_until
from e2e_node import APP_IMAGE_NAME, app_image_tag

KEY = "profiling.datadoghq.com/enabled"
SAMPLER_IMAGE = "ghcr.io/podprof/podprof-sampler:" + re.search(
    r'PODPROF_VERSION "([^"]+)"', (ROOT / "include/podprof/version.h").read_text()).group(1)
VERSION = SAMPLER_IMAGE.rsplit(":", 1)[1]
PODPROF_CONTAINERS = {"podprof-init", "podprof-exporter"}
PODPROF_VOLUMES = {"podprof", "podprof-spool", "podprof-podinfo"}
APP_IMAGE = f"{APP_IMAGE_NAME}:{app_image_tag()}"
IDLE = ["python3", "-c", "import time; time.sleep(3600)"]
RESTRICTED_SC = {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                 "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def namespace(cluster, name, mode=None, labels=None):
    lab = dict(labels or {})
    if mode:
        lab[KEY] = mode
    cluster.apply({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": name, "labels": lab}})
    # Pods need the namespace's default ServiceAccount, made by the controller manager.
    deadline = time.monotonic() + 60
    while cluster.kubectl("get", "sa", "default", "-n", name, check=False).returncode != 0:
        assert time.monotonic() < deadline, f"no default ServiceAccount in {name}"
        time.sleep(0.2)
    return name


def pod_manifest(name, ns, annotations=None, labels=None, containers=None, **spec):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "annotations": annotations or {},
                         "labels": labels or {"app": name}},
            "spec": {"containers": containers or [{"name": "app", "image": APP_IMAGE,
                                                   "command": IDLE}],
                     **spec}}


def create(cluster, obj):
    r = cluster.kubectl("create", "-f", "-", "-o", "json", input=json.dumps(obj))
    return json.loads(r.stdout), r.stderr


def deployment(cluster, name, ns, annotations=None, labels=None):
    labels = labels or {"app": name}
    cluster.apply({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": name, "namespace": ns},
                   "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                            "template": {"metadata": {"labels": {"app": name, **labels},
                                                      "annotations": annotations or {}},
                                         "spec": {"containers": [{
                                             "name": "web", "image": APP_IMAGE,
                                             "command": ["python3", "-m", "http.server"]}]}}}})
    deadline = time.monotonic() + 60
    while True:
        pods = cluster.kubectl_json("get", "pods", "-n", ns, "-l", f"app={name}")["items"]
        if pods:
            return pods[0]
        assert time.monotonic() < deadline, f"Deployment {ns}/{name} made no pod"
        time.sleep(0.3)


def wait_running(cluster, ns, name, timeout_s=120):
    """The pod as stored once the kubelet reports it Ready."""
    got = {}

    def ready():
        got["pod"] = cluster.kubectl_json("get", "pod", name, "-n", ns)
        return pod_ready(got["pod"])
    try:
        wait_until(f"pod {ns}/{name} Ready", ready, timeout_s, 1)
    except TimeoutError:
        raise AssertionError(f"{ns}/{name} not Ready: {json.dumps(got.get('pod', {}).get('status'))}")
    return got["pod"]


def statuses(pod):
    """{container name: status} over init and regular containers."""
    st = pod["status"]
    return {c["name"]: c for c in st.get("initContainerStatuses", []) +
            st.get("containerStatuses", [])}


def assert_podprof_ran(pod):
    """What the kubelet reports for the injected containers: podprof-init ran to completion
    before anything else started, the exporter (a native sidecar) started next and is still
    running, never restarted."""
    st = statuses(pod)
    init = st["podprof-init"]["state"].get("terminated")
    assert init and init["exitCode"] == 0 and init["reason"] == "Completed", st["podprof-init"]
    exp = st["podprof-exporter"]
    assert "running" in exp["state"] and exp["started"] is True, exp
    assert exp["restartCount"] == 0, exp
    exp_started = exp["state"]["running"]["startedAt"]
    assert init["finishedAt"] <= exp_started, (init, exp)
    for c in pod["status"]["containerStatuses"]:
        started = (c["state"].get("running") or c["state"].get("terminated") or {})
        assert exp_started <= started.get("startedAt", "~"), (exp, c)
    return st


def names(items):
    return [i["name"] for i in items or []]


def env_map(c):
    return {e["name"]: e for e in c.get("env", [])}


def own_mounts(c):
    """A container's mounts without the service-account token the API server adds to all."""
    return [(m["name"], m["mountPath"]) for m in c.get("volumeMounts", [])
            if not m["name"].startswith("kube-api-access-")]


def assert_untouched(pod):
    spec, ann = pod["spec"], pod["metadata"].get("annotations", {})
    assert not PODPROF_CONTAINERS & set(names(spec.get("initContainers")) +
                                        names(spec["containers"])), "podprof containers added"
    assert not PODPROF_VOLUMES & set(names(spec.get("volumes"))), "podprof volumes added"
    assert "profiling.datadoghq.com/injected" not in ann
    for c in spec["containers"]:
        assert "/opt/podprof" not in json.dumps(c.get("env", [])), c["name"]


def assert_restricted_podprof_container(c):
    sc = c["securityContext"]
    for k, v in RESTRICTED_SC.items():
        assert sc.get(k) == v, f"{c['name']}.securityContext.{k} = {sc.get(k)}"
    assert sc.get("readOnlyRootFilesystem") is True
    assert isinstance(sc.get("runAsUser"), int) and sc["runAsUser"] > 0
    res = c["resources"]
    assert res["requests"] and res["requests"] == res["limits"], res
    assert c["image"] == SAMPLER_IMAGE


def assert_injected(pod, app_containers, native=True, labels_as_tags="*"):
    """The shape DESIGN.md §3 fixes, as the API server stored it."""
    spec = pod["spec"]
    assert pod["metadata"]["annotations"].get("profiling.datadoghq.com/injected") == VERSION
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["podprof"]["emptyDir"] == {"sizeLimit": "32Mi"}
    assert vols["podprof-spool"]["emptyDir"] == {"sizeLimit": "64Mi"}
    items = vols["podprof-podinfo"]["downwardAPI"]["items"]
    assert [(i["path"], i["fieldRef"]["fieldPath"]) for i in items] == [("labels",
                                                                         "metadata.labels")]
    inits = spec["initContainers"]
    init = inits[0]
    assert init["name"] == "podprof-init"
    assert init["command"] == ["/podprof/bin/podprof", "install", "/opt/podprof"]
    assert own_mounts(init) == [("podprof", "/opt/podprof")]
    assert_restricted_podprof_container(init)
    if native:
        exporter = inits[1]
        assert exporter.get("restartPolicy") == "Always"
    else:
        [exporter] = [c for c in spec["containers"] if c["name"] == "podprof-exporter"]
    assert exporter["name"] == "podprof-exporter"
    assert exporter["command"] == ["/podprof/bin/podprof", "export", "--spool",
                                   "/var/run/podprof"]
    assert dict(own_mounts(exporter)) == {"podprof-spool": "/var/run/podprof",
                      "podprof-podinfo": "/etc/podprof/podinfo"}
    assert_restricted_podprof_container(exporter)
    env = env_map(exporter)
    field = {k: v["valueFrom"]["fieldRef"]["fieldPath"] for k, v in env.items()
             if "valueFrom" in v and "fieldRef" in v["valueFrom"]}
    assert field["DD_AGENT_HOST"] == "status.hostIP"
    assert field["DD_ENTITY_ID"] == "metadata.uid"
    assert field["DD_PROFILING_K8S_POD_NAME"] == "metadata.name"
    assert field["DD_PROFILING_K8S_NAMESPACE"] == "metadata.namespace"
    assert field["DD_PROFILING_K8S_NODE"] == "spec.nodeName"
    assert env["DD_PROFILING_K8S_LABELS_FILE"]["value"] == "/etc/podprof/podinfo/labels"
    if labels_as_tags is None:
        assert "DD_PROFILING_POD_LABELS_AS_TAGS" not in env
    else:
        assert env["DD_PROFILING_POD_LABELS_AS_TAGS"]["value"] == labels_as_tags

    by_name = {c["name"]: c for c in spec["containers"]}
    for name in app_containers:
        c = by_name[name]
        mounts = {m["name"]: m for m in c["volumeMounts"]}
        assert mounts["podprof"]["mountPath"] == "/opt/podprof"
        assert mounts["podprof"].get("readOnly") is True
        assert mounts["podprof-spool"]["mountPath"] == "/var/run/podprof"
        env = env_map(c)
        assert env["LD_PRELOAD"]["value"].split(":")[0] == "/opt/podprof/libpodprof.so"
        assert env["DD_PROFILING_ENABLED"]["value"] == "true"
        assert env["DD_PROFILING_OUTPUT_PPROF"]["value"] == "/var/run/podprof/profile"
        assert env["DD_PROFILING_K8S_CONTAINER"]["value"] == name
        assert "DD_SERVICE" in env
    return inits

"""The chart installed with helm on the one-node cluster, the injector pods reached through their
Service: what the API server stores for real Deployments and Pods (DESIGN.md §3), and the pods
that must run do."""
import base64
import copy
import json
import re
import subprocess
import time
import uuid

import pytest

from e2e_cluster import wait_until
from e2e_env import RELEASE, RELEASE_NS
from e2e_pods import (APP_IMAGE, IDLE, KEY, PODPROF_CONTAINERS, PODPROF_VOLUMES, RESTRICTED_SC,
                      assert_injected, assert_podprof_ran, assert_untouched, create, deployment,
                      env_map, names, namespace, pod_manifest, wait_running)

@pytest.fixture(scope="module")
def true_ns(release):
    return namespace(release.cluster, "e2e-true", "true")


@pytest.fixture(scope="module")
def all_ns(release):
    return namespace(release.cluster, "e2e-all", "all")


@pytest.fixture(scope="module")
def plain_ns(release):
    return namespace(release.cluster, "e2e-plain")


def test_annotated_deployment_in_true_namespace_is_injected(release, true_ns):
    pod = deployment(release.cluster, "annotated", true_ns, annotations={KEY: "true"},
                     labels={"tags.datadoghq.com/service": "checkout",
                             "tags.datadoghq.com/env": "e2e"})
    assert_injected(pod, ["web"])
    env = env_map(pod["spec"]["containers"][0])
    assert env["DD_SERVICE"]["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.labels['tags.datadoghq.com/service']"
    assert env["DD_ENV"]["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.labels['tags.datadoghq.com/env']"
    # The app's own container keeps its command and image.
    web = pod["spec"]["containers"][0]
    assert web["command"] == ["python3", "-m", "http.server"]
    assert_podprof_ran(wait_running(release.cluster, true_ns, pod["metadata"]["name"]))
    assert [c["name"] for c in pod["spec"]["containers"]] == ["web"]


def test_unannotated_deployment_in_true_namespace_is_untouched(release, true_ns):
    assert_untouched(deployment(release.cluster, "unannotated", true_ns))


def test_pod_in_unlabelled_namespace_is_untouched(release, plain_ns):
    pod, _ = create(release.cluster, pod_manifest("p", plain_ns, annotations={KEY: "true"}))
    assert_untouched(pod)


@pytest.mark.parametrize("ns", ["kube-system", RELEASE_NS])
def test_system_and_release_namespaces_are_never_mutated(release, ns):
    """Even labelled "all" and with the pod annotated, kube-system and the injector's own
    namespace are excluded by the webhook's namespaceSelector."""
    c = release.cluster
    c.kubectl("label", "namespace", ns, f"{KEY}=all", "--overwrite")
    try:
        name = f"never-{uuid.uuid4().hex[:6]}"
        pod, _ = create(c, pod_manifest(name, ns, annotations={KEY: "true"}))
        assert_untouched(pod)
        c.kubectl("delete", "pod", name, "-n", ns, "--wait=false")
    finally:
        c.kubectl("label", "namespace", ns, f"{KEY}-")


def test_all_namespace_injects_unless_annotated_false(release, all_ns):
    c = release.cluster
    pod, _ = create(c, pod_manifest("unannotated", all_ns))
    assert_injected(pod, ["app"])
    pod, _ = create(c, pod_manifest("opted-out", all_ns, annotations={KEY: "false"}))
    assert_untouched(pod)
    pod = deployment(c, "all-deploy", all_ns)
    assert_injected(pod, ["web"])


def rich_pod(name, ns, annotations):
    """A pod with a native sidecar, an istio-style sidecar and many fields a careless
    round-trip through old types would drop (DataDog/datadog-operator#1116). It is only stored:
    no scheduler serves its schedulerName, since its images (istio, fluent-bit, linkerd) cannot
    be pulled here."""
    probe = {"httpGet": {"path": "/healthz/ready", "port": 15021}, "periodSeconds": 2,
             "failureThreshold": 30}
    return pod_manifest(
        name, ns, annotations=annotations,
        labels={"app": "rich", "tags.datadoghq.com/service": "rich"},
        initContainers=[
            {"name": "istio-init", "image": "istio/proxyv2:1.22.0",
             "args": ["istio-iptables", "-p", "15001"],
             "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}}},
            {"name": "istio-proxy", "image": "istio/proxyv2:1.22.0", "restartPolicy": "Always",
             "args": ["proxy", "sidecar"], "ports": [{"containerPort": 15090, "name":
                                                      "http-envoy-prom"}],
             "readinessProbe": probe, "startupProbe": probe,
             "env": [{"name": "POD_NAME",
                      "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
             "lifecycle": {"preStop": {"exec": {"command": ["pilot-agent", "wait"]}}}},
            {"name": "log-shipper", "image": "fluent/fluent-bit:3.0", "restartPolicy": "Always"},
        ],
        containers=[
            {"name": "app", "image": "python:3.12-slim", "command": ["python3", "app.py"],
             "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
             "env": [{"name": "EXISTING", "value": "1"},
                     {"name": "LD_PRELOAD", "value": "/usr/lib/libjemalloc.so.2"}],
             "envFrom": [{"configMapRef": {"name": "app-config", "optional": True}}],
             "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                           "limits": {"cpu": "1", "memory": "256Mi"}},
             "livenessProbe": {"tcpSocket": {"port": 8080}, "initialDelaySeconds": 3},
             "lifecycle": {"preStop": {"sleep": {"seconds": 2}}},
             "terminationMessagePolicy": "FallbackToLogsOnError",
             "volumeMounts": [{"name": "data", "mountPath": "/data"}],
             "securityContext": {"runAsUser": 1000, "allowPrivilegeEscalation": False}},
            {"name": "linkerd-proxy", "image": "cr.l5d.io/linkerd/proxy:stable-2.14.10"},
        ],
        volumes=[{"name": "data", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}}],
        tolerations=[{"key": "dedicated", "operator": "Equal", "value": "py",
                      "effect": "NoSchedule"}],
        affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 1, "preference": {"matchExpressions": [
                {"key": "zone", "operator": "In", "values": ["a"]}]}}]}},
        topologySpreadConstraints=[{"maxSkew": 1, "topologyKey": "zone",
                                    "whenUnsatisfiable": "ScheduleAnyway",
                                    "labelSelector": {"matchLabels": {"app": "rich"}}}],
        dnsConfig={"options": [{"name": "ndots", "value": "2"}]},
        hostAliases=[{"ip": "10.1.2.3", "hostnames": ["db.local"]}],
        terminationGracePeriodSeconds=45,
        securityContext={"fsGroup": 2000, "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start",
                                                       "value": "0"}]},
        priority=0, enableServiceLinks=False, schedulerName="e2e-stored-only")


def strip_injection(pod):
    """The stored pod minus exactly what podprof adds."""
    p = copy.deepcopy(pod)
    spec = p["spec"]
    spec["initContainers"] = [c for c in spec.get("initContainers", [])
                              if c["name"] not in PODPROF_CONTAINERS]
    spec["containers"] = [c for c in spec["containers"] if c["name"] not in PODPROF_CONTAINERS]
    spec["volumes"] = [v for v in spec["volumes"] if v["name"] not in PODPROF_VOLUMES]
    added = {"DD_PROFILING_ENABLED", "DD_PROFILING_OUTPUT_PPROF", "DD_PROFILING_K8S_CONTAINER",
             "DD_SERVICE", "DD_ENV", "DD_VERSION"}
    for c in spec["containers"]:
        c["volumeMounts"] = [m for m in c.get("volumeMounts", [])
                             if m["name"] not in PODPROF_VOLUMES]
        env = []
        for e in c.get("env", []):
            if e["name"] in added:
                continue
            if e["name"] == "LD_PRELOAD":
                rest = e["value"].split(":", 1)
                assert rest[0] == "/opt/podprof/libpodprof.so"
                if len(rest) == 1:
                    continue
                e = {**e, "value": rest[1]}
            env.append(e)
        c["env"] = env
        for k in ("env", "volumeMounts"):
            if not c[k]:
                del c[k]
    p["metadata"]["annotations"].pop("profiling.datadoghq.com/injected", None)
    return p


def comparable(pod):
    """Fields the API server sets differently for two pods regardless of podprof."""
    p = copy.deepcopy(pod)
    for k in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "namespace",
              "name"):
        p["metadata"].pop(k, None)
    p.pop("status", None)
    p["spec"].pop("nodeName", None)  # set by the scheduler, if it got there first
    text = json.dumps(p, sort_keys=True)
    return json.loads(re.sub(r"kube-api-access-[a-z0-9]{5}", "kube-api-access-X", text))


def test_native_and_istio_sidecars_keep_every_field(release, true_ns, plain_ns):
    c = release.cluster
    injected, _ = create(c, rich_pod("rich", true_ns, {KEY: "true"}))
    reference, _ = create(c, rich_pod("rich", plain_ns, {KEY: "true"}))
    assert_untouched(reference)
    inits = assert_injected(injected, ["app"])
    # podprof-init first, the exporter right after it, then the pod's own init containers.
    assert names(inits) == ["podprof-init", "podprof-exporter", "istio-init", "istio-proxy",
                            "log-shipper"]
    # Known mesh sidecars are not profiled.
    proxy = {x["name"]: x for x in injected["spec"]["containers"]}["linkerd-proxy"]
    assert "LD_PRELOAD" not in env_map(proxy)
    assert not {"podprof", "podprof-spool"} & {m["name"] for m in proxy.get("volumeMounts", [])}
    app = injected["spec"]["containers"][0]
    assert env_map(app)["LD_PRELOAD"]["value"] == \
        "/opt/podprof/libpodprof.so:/usr/lib/libjemalloc.so.2"
    assert env_map(app)["EXISTING"]["value"] == "1"
    assert comparable(strip_injection(injected)) == comparable(reference)


def test_pod_security_restricted_namespace_admits_the_injected_pod(release):
    c = release.cluster
    ns = namespace(c, "e2e-restricted", "true",
                   labels={"pod-security.kubernetes.io/enforce": "restricted",
                           "pod-security.kubernetes.io/enforce-version": "latest",
                           "pod-security.kubernetes.io/warn": "restricted"})
    app = {"name": "app", "image": APP_IMAGE, "command": IDLE,
           "securityContext": {**RESTRICTED_SC, "runAsUser": 1000}}
    manifest = pod_manifest("restricted", ns, annotations={KEY: "true"}, containers=[app],
                            securityContext={"runAsNonRoot": True,
                                             "seccompProfile": {"type": "RuntimeDefault"}})
    pod, warnings = create(c, manifest)
    assert_injected(pod, ["app"])
    assert "violate" not in warnings.lower(), warnings
    # ... and runs: the runtime accepts every injected container's securityContext.
    assert_podprof_ran(wait_running(c, ns, "restricted"))
    # The check is real: the same namespace rejects a pod that is not restricted.
    bad = pod_manifest("not-restricted", ns, annotations={KEY: "true"})
    r = c.kubectl("create", "-f", "-", input=json.dumps(bad), check=False)
    assert r.returncode != 0 and "violates PodSecurity" in r.stderr, r.stderr


OTHER_WEBHOOK = r'''
import base64, http.server, json, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_POST(self):
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        req = review["request"]
        inits = [c["name"] for c in req["object"]["spec"].get("initContainers", [])]
        print(json.dumps({"name": req.get("name"), "inits": inits}), flush=True)
        patch = [{"op": "add", "path": "/metadata/labels/other-webhook", "value": "was-here"}]
        resp = {"uid": req["uid"], "allowed": True, "patchType": "JSONPatch",
                "patch": base64.b64encode(json.dumps(patch).encode()).decode()}
        out = json.dumps({"apiVersion": review["apiVersion"], "kind": "AdmissionReview",
                          "response": resp}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
srv = http.server.HTTPServer(("0.0.0.0", 9443), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
'''


@pytest.fixture
def other_webhook(release, tmp_path):
    """Another mutating webhook, a pod behind its own Service, that changes every pod after
    podprof (like a mesh injector), so the API server reinvokes podprof (reinvocationPolicy
    IfNeeded). Yields a function returning what it saw (its log)."""
    c = release.cluster
    ns = namespace(c, "e2e-other")
    svc = "other-webhook"
    key, crt = tmp_path / "tls.key", tmp_path / "tls.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(crt), "-subj", f"/CN={svc}.{ns}.svc",
                    "-addext", f"subjectAltName=DNS:{svc}.{ns}.svc"],
                   check=True, capture_output=True)
    c.kubectl("create", "secret", "tls", svc, "-n", ns, f"--cert={crt}", f"--key={key}")
    c.apply({"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": svc, "namespace": ns, "labels": {"app": svc}},
             "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                 "name": "server", "image": APP_IMAGE,
                 "command": ["python3", "-u", "-c", OTHER_WEBHOOK, "/tls/tls.crt", "/tls/tls.key"],
                 "ports": [{"name": "https", "containerPort": 9443}],
                 "readinessProbe": {"tcpSocket": {"port": 9443}, "periodSeconds": 1},
                 "volumeMounts": [{"name": "tls", "mountPath": "/tls", "readOnly": True}]}],
                 "volumes": [{"name": "tls", "secret": {"secretName": svc}}]}})
    c.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": svc, "namespace": ns},
             "spec": {"selector": {"app": svc},
                      "ports": [{"name": "https", "port": 443, "targetPort": "https"}]}})
    wait_running(c, ns, svc)
    ca = base64.b64encode(crt.read_bytes()).decode()
    c.apply({"apiVersion": "admissionregistration.k8s.io/v1",
             "kind": "MutatingWebhookConfiguration", "metadata": {"name": "zz-other-webhook"},
             "webhooks": [{"name": "other.e2e.podprof.test", "admissionReviewVersions": ["v1"],
                           "sideEffects": "None", "failurePolicy": "Fail", "timeoutSeconds": 5,
                           "reinvocationPolicy": "IfNeeded",
                           "clientConfig": {"service": {"name": svc, "namespace": ns,
                                                        "port": 443}, "caBundle": ca},
                           "rules": [{"operations": ["CREATE"], "apiGroups": [""],
                                      "apiVersions": ["v1"], "resources": ["pods"]}],
                           "objectSelector": {"matchLabels": {"other-webhook": "wanted"}}}]})
    time.sleep(2)  # the API server's webhook configuration informer catches up
    try:
        yield lambda: c.kubectl("logs", svc, "-n", ns).stdout
    finally:
        c.kubectl("delete", "mutatingwebhookconfiguration", "zz-other-webhook", check=False)
        c.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def test_reinvocation_does_not_inject_twice(release, true_ns, other_webhook):
    c = release.cluster
    already = 'podprof_injector_admission_requests_total{result="already_injected"}'
    before = release.metric(already)
    pod, _ = create(c, pod_manifest("reinvoke-me", true_ns, annotations={KEY: "true"},
                                    labels={"app": "reinvoke", "other-webhook": "wanted"}))
    assert pod["metadata"]["labels"]["other-webhook"] == "was-here", "other webhook not called"
    inits = assert_injected(pod, ["app"])
    assert names(inits) == ["podprof-init", "podprof-exporter"]
    assert names(pod["spec"]["volumes"]).count("podprof") == 1
    assert [e["name"] for e in pod["spec"]["containers"][0]["env"]].count("LD_PRELOAD") == 1
    # The other webhook ran after podprof (it saw podprof-init), so the API server called
    # podprof again; that second call changed nothing.
    seen = [json.loads(line) for line in other_webhook().splitlines()]
    assert any("podprof-init" in s["inits"] for s in seen if s["name"] == "reinvoke-me"), seen
    assert release.metric(already) >= before + 1, "podprof was not reinvoked"


def test_readmission_of_an_injected_pod_does_not_inject_twice(release, true_ns):
    c = release.cluster
    pod = deployment(c, "readmit", true_ns, annotations={KEY: "true"})
    again = {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "readmitted", "namespace": true_ns,
                          "labels": pod["metadata"]["labels"],
                          "annotations": pod["metadata"]["annotations"]},
             "spec": {k: v for k, v in pod["spec"].items() if k != "nodeName"}}
    stored, _ = create(c, again)
    inits = assert_injected(stored, ["web"])
    assert names(inits) == ["podprof-init", "podprof-exporter"]
    assert comparable(stored)["spec"] == comparable(pod)["spec"]


def test_plain_container_sidecar_mode_after_helm_upgrade(release, true_ns):
    """sampler.sidecarMode=container (clusters before 1.29): the exporter is a plain container.
    The upgrade rolls the injector (its config changed) and the new pod serves the new mode."""
    c = release.cluster
    release.upgrade("--set", "sampler.sidecarMode=container")
    try:
        pod, _ = create(c, pod_manifest("plain-sidecar", true_ns, annotations={KEY: "true"}))
        inits = assert_injected(pod, ["app"], native=False)
        assert names(inits) == ["podprof-init"]
        assert names(pod["spec"]["containers"]) == ["app", "podprof-exporter"]
    finally:
        release.upgrade("--set", "sampler.sidecarMode=auto")
    pod, _ = create(c, pod_manifest("native-again", true_ns, annotations={KEY: "true"}))
    assert names(assert_injected(pod, ["app"])) == ["podprof-init", "podprof-exporter"]


def test_helm_test_hook_passes(release):
    """`helm test` for real: the kubelet runs the hook pod (the application image's sh and curl),
    which reaches the webhook through the Service's ClusterIP (kube-proxy) over verified TLS."""
    r = release.cluster.helm("test", RELEASE, "-n", RELEASE_NS, "--timeout", "180s",
                             check=False, timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr
    # The hook's script exits 0 only when /readyz and an AdmissionReview answered as expected.
    assert re.search(r"TEST SUITE:\s+podprof-injector-test.*Phase:\s+Succeeded", r.stdout,
                     re.S), r.stdout


def test_injector_runs_as_two_ready_pods_guarded_by_its_pdb(release):
    """What `helm install --wait` left running: both replicas Ready on their readinessProbe and
    published behind the Service, and the disruption controller counting them for the PDB."""
    pods = release.wait_ready()
    assert len(pods) == 2
    for pod in pods:
        [c] = pod["status"]["containerStatuses"]
        assert c["ready"] and c["restartCount"] == 0, c

    def pdb_counted():
        st = release.cluster.kubectl_json("get", "pdb", "podprof-injector", "-n",
                                          RELEASE_NS).get("status", {})
        return st.get("currentHealthy") == 2 and st.get("disruptionsAllowed") == 1
    wait_until("the PDB counting 2 healthy injector pods", pdb_counted, 60, 1)

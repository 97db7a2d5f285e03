"""The whole path on the real node: an annotated Deployment of 3 replicas in a namespace labelled
`true` rolls out, and a Job in a namespace labelled `all` completes. The kubelet runs each pod as
the API server stored it after the webhook call: podprof-init copies the library from the sampler
image into the emptyDir, the exporter starts next as a native sidecar and keeps running, the app
runs from the application image with the injected env under a restricted securityContext, and
its profiles reach the agent double on the node's address (status.hostIP), tagged with the pod's
service, namespace, name and labels. The Job's pod completes although its sidecar was running."""
import json

import pytest

from e2e_agent import AgentReceiver
from e2e_pods import (APP_IMAGE, KEY, RESTRICTED_SC, assert_injected, assert_podprof_ran,
                      namespace, statuses)

# What the app reports about itself, then pure-Python CPU work in a function the profiles must
# name. `rounds` None: forever (a Deployment), else that many rounds (a Job).
APP = """
import json, os, sys, time
def burn_cpu(seconds):
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        n += sum(i * i for i in range(500))
    return n
try:
    open("/written-to-root", "w")
    root_writable = True
except OSError:
    root_writable = False
print(json.dumps({
    "uid": os.getuid(), "gid": os.getgid(), "root_writable": root_writable,
    "preloaded": "/opt/podprof/libpodprof.so" in open("/proc/self/maps").read(),
    "env": {k: v for k, v in os.environ.items() if k.startswith(("DD_", "LD_PRELOAD"))},
}), flush=True)
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else None
i = 0
while rounds is None or i < rounds:
    burn_cpu(2)
    time.sleep(1)
    i += 1
"""
AGENT_PORT = 8126  # the Datadog Agent's port on the node: DD_AGENT_HOST=status.hostIP
LABELS = {"tags.datadoghq.com/service": "e2e-checkout", "tags.datadoghq.com/env": "e2e",
          "tags.datadoghq.com/version": "1.2.3", "team": "profiling"}
UPLOAD_TIMEOUT_S = 180


def app_container(*args):
    return {"name": "app", "image": APP_IMAGE, "command": ["python3", "-c", APP, *args],
            # Profiles every 5 s instead of 60, so a running pod uploads during the test.
            "env": [{"name": "DD_PROFILING_UPLOAD_INTERVAL", "value": "5"}],
            "securityContext": {**RESTRICTED_SC, "runAsUser": 1000, "runAsGroup": 1000,
                                "readOnlyRootFilesystem": True}}


def pod_template(annotations, *args, restart="Always"):
    return {"metadata": {"labels": {"app": "run", **LABELS}, "annotations": annotations},
            "spec": {"restartPolicy": restart, "terminationGracePeriodSeconds": 30,
                     "securityContext": {"runAsNonRoot": True,
                                         "seccompProfile": {"type": "RuntimeDefault"}},
                     "containers": [app_container(*args)]}}


def app_report(c, ns, pod):
    out = c.kubectl("logs", pod, "-n", ns, "-c", "app").stdout
    return json.loads(out.splitlines()[0])


def assert_app_ran_profiled(report, pod):
    assert report["preloaded"], "libpodprof.so is not mapped into the app"
    assert (report["uid"], report["gid"]) == (1000, 1000)
    assert report["root_writable"] is False, "readOnlyRootFilesystem not enforced"
    env = report["env"]
    assert env["LD_PRELOAD"].split(":")[0] == "/opt/podprof/libpodprof.so"
    assert env["DD_PROFILING_ENABLED"] == "true"
    # Resolved by the kubelet from the pod's labels (fieldRef), not copied by the webhook.
    assert env["DD_SERVICE"] == "e2e-checkout" and env["DD_ENV"] == "e2e", env
    assert env["DD_PROFILING_K8S_CONTAINER"] == "app"
    assert pod["status"]["hostIP"], "no hostIP"


def check_tags(up, pod, ns):
    tags = up.tags
    assert not up.errors, up.errors
    assert up.headers.get("Datadog-Entity-ID") == pod["metadata"]["uid"]
    assert tags.get("service") == "e2e-checkout", tags
    assert tags.get("env") == "e2e", tags
    assert tags.get("version") == "1.2.3", tags
    assert tags.get("kube_namespace") == ns, tags
    assert tags.get("kube_container_name") == "app", tags
    assert tags.get("team") == "profiling", tags
    assert up.event.get("family") == "python"


def by_pod(uploads):
    out = {}
    for up in uploads:
        out.setdefault(up.tags.get("pod_name"), []).append(up)
    return out


def names_burn_cpu(ups):
    return any("burn_cpu" in up.profile.string_table for up in ups if up.profile)


@pytest.fixture(scope="module")
def agent(cluster):
    with AgentReceiver(cluster.node.host_ip, AGENT_PORT) as a:
        yield a


def test_annotated_deployment_rolls_out_profiled(release, agent):
    c = release.cluster
    ns = namespace(c, "e2e-run", "true")
    c.apply({"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "run", "namespace": ns},
             "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "run"}},
                      "template": pod_template({KEY: "true"})}})
    c.kubectl("rollout", "status", "deployment/run", "-n", ns, "--timeout=240s", timeout=260)
    pods = c.kubectl_json("get", "pods", "-n", ns, "-l", "app=run")["items"]
    assert len(pods) == 3, [p["metadata"]["name"] for p in pods]
    for pod in pods:
        assert_injected(pod, ["app"])
        assert_podprof_ran(pod)
        assert_app_ran_profiled(app_report(c, ns, pod["metadata"]["name"]), pod)

    names = {p["metadata"]["name"]: p for p in pods}
    uploads = agent.wait_until(lambda ups: all(names_burn_cpu(by_pod(ups).get(n, []))
                                               for n in names), UPLOAD_TIMEOUT_S)
    got = by_pod(uploads)
    missing = [n for n in names if not names_burn_cpu(got.get(n, []))]
    assert not missing, (f"no profile naming burn_cpu from {missing}; uploads per pod: "
                         f"{ {k: len(v) for k, v in got.items()} }")
    for name, pod in names.items():
        for up in got[name]:
            check_tags(up, pod, ns)
    # The sidecar keeps running next to the app, and nothing restarted.
    for pod in c.kubectl_json("get", "pods", "-n", ns, "-l", "app=run")["items"]:
        st = assert_podprof_ran(pod)
        assert st["app"]["restartCount"] == 0 and "running" in st["app"]["state"], st["app"]


def test_job_with_the_sidecar_completes(release, agent):
    c = release.cluster
    ns = namespace(c, "e2e-job", "all")  # labelled `all`: profiled without an annotation
    c.apply({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "job", "namespace": ns},
             "spec": {"backoffLimit": 0,
                      "template": pod_template({}, "2", restart="Never")}})
    r = c.kubectl("wait", "--for=condition=complete", "job/job", "-n", ns, "--timeout=240s",
                  check=False, timeout=260)
    [pod] = c.kubectl_json("get", "pods", "-n", ns, "-l", "job-name=job")["items"]
    assert r.returncode == 0, json.dumps(pod["status"])
    assert_injected(pod, ["app"])
    assert pod["status"]["phase"] == "Succeeded"
    st = statuses(pod)
    assert st["app"]["state"]["terminated"]["exitCode"] == 0
    assert st["podprof-init"]["state"]["terminated"]["exitCode"] == 0
    # The kubelet stopped the sidecar after the app; it flushed and exited cleanly.
    assert st["podprof-exporter"]["state"]["terminated"]["exitCode"] == 0, st["podprof-exporter"]
    assert_app_ran_profiled(app_report(c, ns, pod["metadata"]["name"]), pod)
    name = pod["metadata"]["name"]
    uploads = agent.wait_until(lambda ups: names_burn_cpu(by_pod(ups).get(name, [])), 60)
    ups = by_pod(uploads).get(name, [])
    assert names_burn_cpu(ups), f"no profile naming burn_cpu from the Job's pod ({len(ups)})"
    for up in ups:
        check_tags(up, pod, ns)

"""Fail open: with the injector scaled to zero, hanging, or crashed while still published, opted-in
pods are still created (unprofiled) within the webhook's timeout. The broken servers are real pods
the kubelet runs, carrying the labels the injector's Service selects. Takes the session's
injector down: runs after the modules that need it (test_e2e_with_manifests installs its own)."""
import json
import time

from e2e_cluster import wait_until
from e2e_env import RELEASE_NS
from e2e_pods import APP_IMAGE, IDLE, KEY, assert_untouched, namespace, pod_manifest, wait_running

HANG = r'''
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8443))
s.listen(64)
held = []
while True:
    held.append(s.accept()[0])  # accept, never speak TLS
'''

# webhook timeoutSeconds (5) plus the API server's own work, with room for a loaded machine.
CREATE_BOUND_S = 20


def timed_create(cluster, pod):
    start = time.monotonic()
    r = cluster.kubectl("create", "-f", "-", "-o", "json", input=json.dumps(pod))
    took = time.monotonic() - start
    return json.loads(r.stdout), took


def endpoint_ips(cluster):
    eps = cluster.kubectl_json("get", "endpoints", "podprof-injector", "-n", RELEASE_NS)
    return {a["ip"] for s in eps.get("subsets") or [] for a in s.get("addresses", [])}


def impostor(cluster, name, command, readiness):
    """A Ready pod the injector's Service selects (its selector, not the ReplicaSet's, which
    also wants pod-template-hash), serving `command` on the injector's named port."""
    svc = cluster.kubectl_json("get", "service", "podprof-injector", "-n", RELEASE_NS)
    cluster.apply({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": name, "namespace": RELEASE_NS,
                                "labels": svc["spec"]["selector"]},
                   "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                       "name": "server", "image": APP_IMAGE, "command": command,
                       "ports": [{"name": "https", "containerPort": 8443}],
                       "readinessProbe": {**readiness, "periodSeconds": 1}}]}})
    pod = wait_running(cluster, RELEASE_NS, name)
    ip = pod["status"]["podIP"]
    wait_until(f"{name} published as the Service's endpoint",
               lambda: endpoint_ips(cluster) == {ip}, 60, 0.5)
    return pod


def test_pods_are_created_when_the_injector_is_down(release):
    c = release.cluster
    ns = namespace(c, "e2e-down", "true")
    took = {}

    # 1. Scaled to zero: the Service has no endpoints at all.
    c.kubectl("scale", "deployment", "podprof-injector", "-n", RELEASE_NS, "--replicas=0")
    wait_until("injector pods gone", lambda: not release.injector_pods(), 120, 1)
    assert not endpoint_ips(c)
    pod, took["no-endpoints"] = timed_create(c, pod_manifest("scaled-down", ns,
                                                             annotations={KEY: "true"}))
    assert_untouched(pod)

    # 2. Something accepts connections on the endpoint but never answers: timeoutSeconds.
    impostor(c, "hanging", ["python3", "-c", HANG], {"tcpSocket": {"port": 8443}})
    pod, took["hanging"] = timed_create(c, pod_manifest("hanging", ns, annotations={KEY: "true"}))
    assert_untouched(pod)
    c.kubectl("delete", "pod", "hanging", "-n", RELEASE_NS, "--wait=true", timeout=90)

    # 3. Crashed but still published (the readiness probe has not failed yet): refused.
    impostor(c, "crashed", IDLE, {"exec": {"command": ["true"]}})
    pod, took["refused"] = timed_create(c, pod_manifest("refused", ns, annotations={KEY: "true"}))
    assert_untouched(pod)
    c.kubectl("delete", "pod", "crashed", "-n", RELEASE_NS, "--wait=true", timeout=90)

    print("\npod creation with the webhook down: " +
          ", ".join(f"{k} {v:.2f} s" for k, v in took.items()))
    for case, seconds in took.items():
        assert seconds < CREATE_BOUND_S, f"{case}: pod creation took {seconds:.1f} s"
    # The unprofiled pods run.
    for name in ("scaled-down", "hanging", "refused"):
        wait_running(c, ns, name)

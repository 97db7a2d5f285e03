"""Fail open: with the injector hanging, gone, or scaled to zero, opted-in pods are still created
(unprofiled) within the webhook's timeout. Runs last: it takes the session's injector down."""
import json
import subprocess
import time

from e2e_pods import KEY, assert_untouched, namespace, pod_manifest

HANG = r'''
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8443))
s.listen(64)
held = []
end = time.monotonic() + 120
s.settimeout(1)
while time.monotonic() < end:
    try:
        held.append(s.accept()[0])  # accept, never speak TLS
    except OSError:
        pass
'''

# webhook timeoutSeconds (5) plus the API server's own work, with room for a loaded machine.
CREATE_BOUND_S = 20


def timed_create(cluster, pod):
    start = time.monotonic()
    r = cluster.kubectl("create", "-f", "-", "-o", "json", input=json.dumps(pod))
    took = time.monotonic() - start
    return json.loads(r.stdout), took


def test_pods_are_created_when_the_injector_hangs_is_gone_or_scaled_to_zero(release, tmp_path):
    c = release.cluster
    ns = namespace(c, "e2e-down", "true")
    release.stop_injector()
    took = {}

    # 1. Something accepts connections on the endpoint but never answers: timeoutSeconds.
    hang = subprocess.Popen([*c.netns.exec_prefix(), "python3", "-c", HANG],
                            start_new_session=True)
    try:
        time.sleep(1)
        pod, took["hanging"] = timed_create(c, pod_manifest("hanging", ns,
                                                            annotations={KEY: "true"}))
        assert_untouched(pod)
    finally:
        hang.terminate()
        hang.wait(10)

    # 2. The endpoint is published but nothing listens: connection refused.
    pod, took["refused"] = timed_create(c, pod_manifest("refused", ns, annotations={KEY: "true"}))
    assert_untouched(pod)

    # 3. Scaled to zero: the Service has no endpoints at all.
    c.kubectl("scale", "deployment", "podprof-injector", "-n", "podprof", "--replicas=0")
    # The bound pod waits for its kubelet to confirm the deletion; the double confirms it.
    c.kubectl("delete", "pods", "-n", "podprof", "-l", "app.kubernetes.io/component=injector",
              "--grace-period=0", "--force", check=False)
    deadline = time.monotonic() + 60
    endpoints = ("get", "endpoints", "podprof-injector", "-n", "podprof")
    while c.netns.ip in json.dumps(c.kubectl_json(*endpoints)):
        assert time.monotonic() < deadline, "endpoint not withdrawn after scaling to zero"
        time.sleep(0.5)
    pod, took["no-endpoints"] = timed_create(c, pod_manifest("scaled-down", ns,
                                                             annotations={KEY: "true"}))
    assert_untouched(pod)

    print("\npod creation with the webhook down: " +
          ", ".join(f"{k} {v:.2f} s" for k, v in took.items()))
    for case, seconds in took.items():
        assert seconds < CREATE_BOUND_S, f"{case}: pod creation took {seconds:.1f} s"

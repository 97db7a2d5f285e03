"""The whole path: a Deployment opted in, the pod the API server stored after the real webhook
call, then run as a kubelet would (tests/e2e/kubelet.py): podprof-init from the sampler image,
the exporter sidecar from the sampler image, the app's own command on this host's Python with the
pod's env. A profile must reach the agent double on the node's address, tagged with the pod's
service, namespace, name and labels."""

from e2e_agent import AgentReceiver
from e2e_kubelet import PodRunner
from e2e_pods import KEY, assert_injected, deployment, namespace

# The app: pure-Python CPU work in a function the profile must name, for a few seconds.
APP = """
import time
def burn_cpu(deadline):
    n = 0
    while time.monotonic() < deadline:
        n += sum(i * i for i in range(500))
    return n
burn_cpu(time.monotonic() + 3)
print("app done")
"""
AGENT_PORT = 8126  # the Datadog Agent's port on the node: DD_AGENT_HOST=status.hostIP


def test_injected_pod_runs_and_its_profile_arrives_tagged(release, images, tmp_path):
    c = release.cluster
    ns = namespace(c, "e2e-run", "true")
    labels = {"tags.datadoghq.com/service": "e2e-checkout", "tags.datadoghq.com/env": "e2e",
              "tags.datadoghq.com/version": "1.2.3", "team": "profiling"}
    c.apply({"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "run", "namespace": ns},
             "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "run"}},
                      "template": {"metadata": {"labels": {"app": "run", **labels},
                                                "annotations": {KEY: "true"}},
                                   "spec": {"containers": [{
                                       "name": "app", "image": "python:3.11",
                                       "command": ["/usr/bin/python3", "-c", APP]}]}}}})
    pod = deployment(c, "run", ns)  # waits for the ReplicaSet's pod
    assert_injected(pod, ["app"])
    pod = c.bind_and_report(pod, ready=False)
    name = pod["metadata"]["name"]
    sampler_root, sampler_config = images["podprof-sampler"]

    with AgentReceiver(c.netns.host_ip, AGENT_PORT, pod["metadata"]["uid"]) as agent:
        runner = PodRunner(pod, tmp_path / "pod", c, netns=c.netns.name)
        try:
            rc, out = runner.run("podprof-init", str(sampler_root), sampler_config, timeout=60)
            assert rc == 0, f"podprof-init failed: {out}"
            assert (runner.volumes["podprof"] / "libpodprof.so").is_file()
            exporter = runner.start("podprof-exporter", str(sampler_root), sampler_config)
            rc, out = runner.run("app", "/", timeout=120)
            assert rc == 0, f"the app failed under the profiler: {out}"
            assert "app done" in out
            uploads = agent.wait_for(1, timeout=90)
            assert exporter.poll() is None, \
                f"exporter exited: {exporter.log_path.read_text()[-3000:]}"
            # The kubelet stops sidecars after the app; the exporter drains and exits cleanly.
            assert runner.stop(exporter, grace=30) == 0, exporter.log_path.read_text()[-3000:]
        finally:
            runner.stop_all()
    assert uploads, ("no profile reached the agent double; exporter log:\n" +
                     (tmp_path / "pod/containers/podprof-exporter/log").read_text()[-3000:])
    up = uploads[0]
    assert not up.errors, up.errors
    tags = up.tags
    assert tags.get("service") == "e2e-checkout", tags
    assert tags.get("env") == "e2e", tags
    assert tags.get("version") == "1.2.3", tags
    assert tags.get("kube_namespace") == ns, tags
    assert tags.get("pod_name") == name, tags
    assert tags.get("kube_container_name") == "app", tags
    assert tags.get("team") == "profiling", tags
    assert up.event.get("family") == "python"
    # The profile names the app's function.
    assert "burn_cpu" in up.profile.string_table, "the profile does not name the app's function"

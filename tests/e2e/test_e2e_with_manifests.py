"""The kubectl path of docs/kubernetes.md, commands run as written: the helm release is replaced
by manifests/existing-secret/podprof.yaml, a Secret made with `podprof-injector certs` and the CA
bundle patched in; the injector pods those manifests define roll out on the node and inject pods.
Runs after the helm-based modules (it uninstalls the release)."""
import json
import re
import subprocess
import time

from e2e_cluster import wait_until
from e2e_env import BUILD, RELEASE, RELEASE_NS, ROOT, require_artefacts
from e2e_pods import KEY, assert_injected, create, namespace, pod_manifest


def docs_block(after):
    """The first ```sh block in docs/kubernetes.md after the line containing `after`."""
    text = (ROOT / "docs" / "kubernetes.md").read_text()
    start = text.index(after)
    m = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    return "\n".join(line.strip() for line in m.group(1).splitlines())


def test_manifests_install_as_documented(release, tmp_path):
    require_artefacts("bin/podprof-injector")
    c = release.cluster
    c.helm("uninstall", RELEASE, "-n", RELEASE_NS, "--wait", "--timeout", "120s")
    wait_until("the release's pods gone", lambda: not release.injector_pods(), 120, 1)

    (tmp_path / "manifests").symlink_to(ROOT / "manifests")
    env = c.env()
    env["PATH"] = f"{BUILD / 'bin'}:{env['PATH']}"
    script = docs_block("**`manifests/existing-secret/podprof.yaml`**")
    assert "podprof-injector certs" in script and "kubectl patch" in script
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr

    hook = c.kubectl_json("get", "mutatingwebhookconfiguration", "podprof")
    assert all(h["clientConfig"].get("caBundle") for h in hook["webhooks"])
    c.kubectl("rollout", "status", "deployment/podprof-injector", "-n", RELEASE_NS,
              "--timeout=180s", timeout=200)
    release.wait_ready()
    ns = namespace(c, "e2e-manifests", "true")
    deadline = time.monotonic() + 30
    while True:  # the API server's webhook client picks up the patched CA bundle
        pod, _ = create(c, pod_manifest(f"m{int(time.monotonic() * 1000) % 100000}", ns,
                                        annotations={KEY: "true"}))
        if pod["metadata"].get("annotations", {}).get("profiling.datadoghq.com/injected"):
            break
        assert time.monotonic() < deadline, json.dumps(pod["metadata"])
        time.sleep(1)
    assert_injected(pod, ["app"], labels_as_tags=None)

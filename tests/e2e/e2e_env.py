"""What the e2e modules share: paths, the release's names, loud skips, and the installed
release with its one running injector pod."""
import base64
import json
import ssl
import sys
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "cluster"))

import e2e_kubelet  # noqa: E402
from e2e_cluster import wait_until  # noqa: E402
from podprof_testenv import BUILD, ROOT  # noqa: E402,F401 (re-exported to the e2e modules)

RELEASE, RELEASE_NS = "podprof", "podprof"


def loud_skip(msg):
    banner = "!" * 78
    sys.stderr.write(f"\n{banner}\n{msg}\n{banner}\n")
    pytest.skip(msg)


def require_artefacts(*rel):
    missing = [r for r in rel if not (BUILD / r).exists()]
    if missing:
        pytest.fail(f"{missing} not built in {BUILD}: run `make` first")


class Release:
    """The installed chart and its one running injector pod."""

    def __init__(self, cluster, images, workdir):
        self.cluster, self.images, self.dir = cluster, images, Path(workdir)
        self.runner = None
        self.proc = None
        self.pod = None

    def injector_pods(self):
        sel = "app.kubernetes.io/instance=podprof,app.kubernetes.io/component=injector"
        return self.cluster.kubectl_json("get", "pods", "-n", RELEASE_NS, "-l", sel)["items"]

    def ca(self):
        secret = self.cluster.kubectl_json("get", "secret", "podprof-injector-tls", "-n",
                                           RELEASE_NS)
        path = self.dir / "ca.crt"
        path.write_bytes(base64.b64decode(secret["data"]["ca.crt"]))
        return path

    def start_injector(self, exclude=()):
        """Runs an injector pod of the Deployment (not one of `exclude`) as the kubelet would,
        probes /readyz like its readinessProbe, then reports it Ready so the endpoints
        controller publishes it."""
        pods = []

        def created():
            pods[:] = [p for p in self.injector_pods() if p["metadata"]["name"] not in exclude
                       and not p["metadata"].get("deletionTimestamp")]
            return pods
        wait_until("injector pods created", created, 60)
        pod = sorted(pods, key=lambda p: p["metadata"]["name"])[0]
        pod = self.cluster.bind_and_report(pod, ready=False)
        rootfs, config = self.images["podprof-injector"]
        self.runner = e2e_kubelet.PodRunner(pod, self.dir / pod["metadata"]["name"],
                                            self.cluster, netns=self.cluster.netns.name)
        self.proc = self.runner.start("injector", str(rootfs), config)
        ctx = ssl.create_default_context(cafile=str(self.ca()))
        svc_name = f"podprof-injector.{RELEASE_NS}.svc"
        ip = self.cluster.netns.ip

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"injector exited {self.proc.returncode}: "
                                   f"{self.proc.log_path.read_text()[-2000:]}")
            # Verify the certificate for the Service name, as the API server will.
            ctx.check_hostname = False
            with urllib.request.urlopen(f"https://{ip}:8443/readyz", timeout=2,
                                        context=ctx) as r:
                return r.status == 200
        wait_until("injector /readyz", ready, 30)
        self.pod = self.cluster.bind_and_report(pod, ready=True)
        wait_until("the Service's endpoint", lambda: ip in json.dumps(
            self.cluster.kubectl_json("get", "endpoints", "podprof-injector", "-n", RELEASE_NS)),
            60)
        self.svc_name = svc_name
        self.ssl = ctx

    def metric(self, series):
        """The value of one series of the injector's /metrics (Prometheus text)."""
        url = f"https://{self.cluster.netns.ip}:8443/metrics"
        with urllib.request.urlopen(url, timeout=5, context=self.ssl) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(series + " "):
                    return float(line.split()[-1])
        raise KeyError(f"{series} not in the injector's metrics")

    def upgrade(self, *set_args):
        """helm upgrade, then what the rollout needs from the kubelet: a new pod running."""
        before = {p["metadata"]["name"] for p in self.injector_pods()}
        self.cluster.helm("upgrade", RELEASE, str(ROOT / "charts" / "podprof"), "-n", RELEASE_NS,
                          "--reuse-values", *set_args)
        self.stop_injector()
        self.start_injector(exclude=before)

    def stop_injector(self):
        if self.runner:
            self.runner.stop_all()
            self.runner = None

    def log(self):
        return self.proc.log_path.read_text(errors="replace") if self.proc else ""

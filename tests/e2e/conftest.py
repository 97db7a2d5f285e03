"""Session fixtures of the e2e suite: the cached cluster binaries, the OCI images, a running
control plane, and the chart installed with helm whose injector pod runs (as a kubelet would) in
the cluster's network namespace, reached by the API server through the chart's Service."""
import base64
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE / "cluster"))
sys.path.insert(0, str(HERE))

from cluster import Cluster, cache_bin_dir, cached_binaries_present, wait_until  # noqa: E402
import kubelet  # noqa: E402
from e2e_env import NO_BUILD_FLAG, RELEASE, RELEASE_NS, loud_skip  # noqa: E402,F401
from podprof_testenv import BUILD  # noqa: E402


@pytest.fixture(scope="session")
def k8s_bin():
    if not cached_binaries_present():
        if os.environ.get(NO_BUILD_FLAG) == "1":
            loud_skip(f"E2E CLUSTER TESTS NOT RUN: no cached kube-apiserver/etcd/helm in "
                      f"{cache_bin_dir()} and {NO_BUILD_FLAG}=1 forbids building them "
                      "(tests/e2e/cluster/build.sh)")
        start = time.monotonic()
        subprocess.run(["nice", "-n", "10", str(HERE / "cluster" / "build.sh")], check=True,
                       timeout=3600, stdout=subprocess.DEVNULL)
        sys.stderr.write(f"e2e: built the cluster binaries in {time.monotonic() - start:.0f} s\n")
    return cache_bin_dir()


def require_artefacts(*rel):
    missing = [r for r in rel if not (BUILD / r).exists()]
    if missing:
        loud_skip(f"E2E TEST NOT RUN: {missing} not built in {BUILD} on this branch")


@pytest.fixture(scope="session")
def images(tmp_path_factory):
    """name -> (rootfs, image config) of the images `make images` would build."""
    require_artefacts("bin/podprof", "lib/libpodprof.so", "bin/podprof-injector")
    out = {}
    base = tmp_path_factory.mktemp("images")
    for name in ("podprof-sampler", "podprof-injector"):
        layout = base / name
        subprocess.run([sys.executable, str(ROOT / "images" / "oci_image.py"),
                        str(ROOT / "images" / f"{name}.json"), "--build", str(BUILD),
                        "--out", str(layout)], check=True, capture_output=True)
        rootfs = base / f"{name}-rootfs"
        out[name] = (rootfs, kubelet.unpack_image(layout, rootfs))
    return out


@pytest.fixture(scope="session")
def cluster(k8s_bin, tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"), k8s_bin)
    c.start()
    try:
        c.create_node()
        yield c
    finally:
        c.stop()


def crd(group, kind, plural):
    """A schemaless CustomResourceDefinition standing in for a third-party API (cert-manager,
    Prometheus operator) so manifests using it can be validated by the API server."""
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {
                                       "type": "object",
                                       "x-kubernetes-preserve-unknown-fields": True}}}]}}


@pytest.fixture(scope="session")
def third_party_crds(cluster):
    for obj in (crd("cert-manager.io", "Certificate", "certificates"),
                crd("cert-manager.io", "Issuer", "issuers"),
                crd("monitoring.coreos.com", "ServiceMonitor", "servicemonitors")):
        cluster.apply(obj)
    for name in ("certificates.cert-manager.io", "issuers.cert-manager.io",
                 "servicemonitors.monitoring.coreos.com"):
        cluster.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")


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

    def start_injector(self):
        """Runs the first injector pod of the Deployment as the kubelet would, probes /readyz
        like its readinessProbe, then reports it Ready so the endpoints controller publishes it."""
        pods = []
        wait_until("injector pods created",
                   lambda: pods.extend(self.injector_pods()) or len(pods) >= 1, 60)
        pod = sorted(pods, key=lambda p: p["metadata"]["name"])[0]
        pod = self.cluster.bind_and_report(pod, ready=False)
        rootfs, config = self.images["podprof-injector"]
        self.runner = kubelet.PodRunner(pod, self.dir / pod["metadata"]["name"], self.cluster,
                                        netns=self.cluster.netns.name)
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

    def stop_injector(self):
        if self.runner:
            self.runner.stop_all()
            self.runner = None

    def log(self):
        return self.proc.log_path.read_text(errors="replace") if self.proc else ""


@pytest.fixture(scope="session")
def release(cluster, images, tmp_path_factory):
    cluster.helm("install", RELEASE, str(ROOT / "charts" / "podprof"), "-n", RELEASE_NS,
                 "--create-namespace", "--set", "podLabelsAsTags=*")
    r = Release(cluster, images, tmp_path_factory.mktemp("release"))
    try:
        r.start_injector()
        yield r
    finally:
        sys.stderr.write("\n--- injector log (tail) ---\n" + r.log()[-3000:] + "\n")
        r.stop_injector()

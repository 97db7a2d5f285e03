"""Session fixtures of the e2e suite: the cached cluster binaries, the OCI images `make images`
builds, a running one-node cluster (a real kubelet on containerd and runc) with those images
loaded, and the chart installed with helm: its injector runs as real pods, reached by the API
server through the chart's Service."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cert_manager_crds  # noqa: E402
import e2e_env  # noqa: E402
from e2e_cluster import Cluster, cache_bin_dir, cached_binaries_present  # noqa: E402
from e2e_env import BUILD, HERE, RELEASE, RELEASE_NS, ROOT, loud_skip, require_artefacts  # noqa: E402,E501

NO_BUILD_FLAG = "PODPROF_E2E_NO_CLUSTER_BUILD"


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_sessionstart(session):
    # A CI timeout sends SIGTERM: unwind like Ctrl-C so the fixtures stop the cluster, its
    # containers, mounts, cgroups and network namespace instead of leaking them.
    signal.signal(signal.SIGTERM, _interrupt)


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


@pytest.fixture(scope="session")
def images(tmp_path_factory):
    """{image name without tag: OCI layout} of the images `make images` builds, built the same
    way (images/oci_image.py), tagged with the version the chart uses."""
    require_artefacts("bin/podprof", "lib/libpodprof.so", "bin/podprof-injector")
    out = {}
    base = tmp_path_factory.mktemp("images")
    for name in ("podprof-sampler", "podprof-injector"):
        layout = base / name
        subprocess.run([sys.executable, str(ROOT / "images" / "oci_image.py"),
                        str(ROOT / "images" / f"{name}.json"), "--build", str(BUILD),
                        "--out", str(layout)], check=True, capture_output=True)
        out[f"ghcr.io/podprof/{name}"] = layout
    return out


@pytest.fixture(scope="session")
def cluster(k8s_bin, images, tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"), k8s_bin)
    start = time.monotonic()
    c.start(images)
    sys.stderr.write(f"\ne2e: cluster with a Ready node in {time.monotonic() - start:.0f} s\n")
    try:
        yield c
    finally:
        c.stop()


def crd(group, kind, plural):
    """A schemaless CustomResourceDefinition standing in for a third-party API (the Prometheus
    operator) so manifests using it can be validated by the API server."""
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {
                                       "type": "object",
                                       "x-kubernetes-preserve-unknown-fields": True}}}]}}


@pytest.fixture(scope="session")
def third_party_crds(cluster, k8s_bin, tmp_path_factory):
    """cert-manager's real CRDs (cert_manager_crds.py); the Prometheus operator's ServiceMonitor
    is still a schemaless stand-in."""
    rendered = cert_manager_crds.render(Path(k8s_bin) / "helm", tmp_path_factory.mktemp("cm"))
    cluster.kubectl("apply", "-f", "-", input=rendered)
    cluster.apply(crd("monitoring.coreos.com", "ServiceMonitor", "servicemonitors"))
    for name in cert_manager_crds.names() + ["servicemonitors.monitoring.coreos.com"]:
        cluster.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s")


@pytest.fixture(scope="session")
def release(cluster):
    """The chart installed as a user would (`helm install --wait`: both injector pods Ready);
    `helm test` runs its hook with the application image, which has sh and curl."""
    app_repo, app_tag = cluster.node.app_image.rsplit(":", 1)
    cluster.helm("install", RELEASE, str(ROOT / "charts" / "podprof"), "-n", RELEASE_NS,
                 "--create-namespace", "--set", "podLabelsAsTags=*",
                 "--set", f"tests.image.repository={app_repo}",
                 "--set", f"tests.image.tag={app_tag}", "--wait", "--timeout", "180s")
    r = e2e_env.Release(cluster)
    r.wait_ready()
    try:
        yield r
    finally:
        sys.stderr.write("\n--- injector log (tail) ---\n" + r.log()[-3000:] + "\n")

"""What the e2e modules share: paths, the release's names, loud skips, and the installed
release whose injector pods the kubelet runs."""
import base64
import json
import ssl
import sys
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "cluster"))

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


INJECTOR_SELECTOR = "app.kubernetes.io/instance=podprof,app.kubernetes.io/component=injector"


def pod_ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in pod.get("status", {}).get("conditions", []))


class Release:
    """The installed chart: its injector Deployment's pods, their metrics and logs."""

    def __init__(self, cluster):
        self.cluster = cluster

    def injector_pods(self):
        return self.cluster.kubectl_json("get", "pods", "-n", RELEASE_NS, "-l",
                                         INJECTOR_SELECTOR)["items"]

    def ready_pods(self):
        return [p for p in self.injector_pods()
                if pod_ready(p) and not p["metadata"].get("deletionTimestamp")]

    def ca(self):
        secret = self.cluster.kubectl_json("get", "secret", "podprof-injector-tls", "-n",
                                           RELEASE_NS)
        return base64.b64decode(secret["data"]["ca.crt"]).decode()

    def wait_ready(self, replicas=2, timeout_s=180):
        """Every replica Ready (its readinessProbe passed) and published as the Service's
        endpoint, which is what the API server calls."""
        def ready():
            pods = self.ready_pods()
            if len(pods) != replicas:
                return False
            eps = json.dumps(self.cluster.kubectl_json("get", "endpoints", "podprof-injector",
                                                       "-n", RELEASE_NS))
            return all(p["status"]["podIP"] in eps for p in pods)
        wait_until(f"{replicas} injector pods Ready behind the Service", ready, timeout_s, 1)
        return self.ready_pods()

    def metric(self, series):
        """One series of the injector's /metrics (Prometheus text), summed over its pods: the
        API server may call either."""
        ctx = ssl.create_default_context(cadata=self.ca())
        ctx.check_hostname = False  # pods are reached by address; the name is the Service's
        total = 0.0
        for pod in self.ready_pods():
            url = f"https://{pod['status']['podIP']}:8443/metrics"
            with urllib.request.urlopen(url, timeout=5, context=ctx) as r:
                lines = [ln for ln in r.read().decode().splitlines()
                         if ln.startswith(series + " ")]
            if not lines:
                raise KeyError(f"{series} not in the injector's metrics")
            total += float(lines[0].split()[-1])
        return total

    def upgrade(self, *set_args):
        """helm upgrade, waiting like a user would for the rollout of the new injector pods."""
        self.cluster.helm("upgrade", RELEASE, str(ROOT / "charts" / "podprof"), "-n", RELEASE_NS,
                          "--reuse-values", "--wait", "--timeout", "180s", *set_args)
        self.wait_ready()

    def log(self):
        r = self.cluster.kubectl("logs", "-n", RELEASE_NS, "-l", INJECTOR_SELECTOR,
                                 "--prefix", "--tail", "40", check=False)
        return r.stdout + r.stderr

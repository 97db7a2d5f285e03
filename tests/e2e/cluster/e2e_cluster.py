"""A real one-node Kubernetes cluster for the e2e tests: etcd, kube-apiserver,
kube-controller-manager and kube-scheduler from the binaries tests/e2e/cluster/build.sh caches,
and one worker node (e2e_node.py: containerd, runc, a kubelet, kube-proxy, CNI bridge networking
in a network namespace of its own). The API server listens on the node's address (the host end of
the node's veth pair) so that the kubelet and kube-proxy reach it, and calls webhooks through
their Services with aggregator routing: it resolves a Service to a ready endpoint, a pod address
the host routes into the node's namespace.

Everything lives in one temp dir; every wait is bounded; stop() tears down whatever started, and
is safe to call after a failed start.

    python3 tests/e2e/cluster/e2e_cluster.py up DIR     start and print a kubeconfig path (manual
                                                        use; Ctrl-C or SIGTERM tears it down)
"""
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import ssl
from pathlib import Path

from daemons import Daemons
from e2e_node import Node, sweep_dead_runs

HERE = Path(__file__).resolve().parent
K8S_VERSION = "1.30.14"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet",
            "kube-proxy", "kubectl", "helm")
SERVICE_CIDR = "10.214.0.0/24"
START_TIMEOUT_S = 90


def cache_bin_dir():
    root = Path(os.environ.get("PODPROF_K8S_CACHE", Path.home() / ".cache" / "podprof"))
    return root / f"k8s-{K8S_VERSION}" / "bin"


def cached_binaries_present(bin_dir=None):
    bin_dir = Path(bin_dir or cache_bin_dir())
    return all((bin_dir / n).exists() and (bin_dir / f".{n}.ok").exists() for n in BINARIES)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, fn, timeout_s, interval_s=0.25):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            if fn():
                return
        except Exception as e:  # the thing waited for is not up yet
            last = e
        time.sleep(interval_s)
    raise TimeoutError(f"{what} not ready after {timeout_s} s (last error: {last})")


class Cluster:
    def __init__(self, workdir, bin_dir=None):
        self.dir = Path(workdir)
        self.bin = Path(bin_dir or cache_bin_dir())
        self.daemons = Daemons(self.dir)
        self.token = secrets.token_hex(16)
        self.node = Node(self.dir / "node", self.bin, str(os.getpid()))
        self.kubeconfig = self.dir / "kubeconfig"
        self.api_port = None

    # --- start -----------------------------------------------------------------------------
    def start(self, images):
        """images: {image name without tag: OCI layout directory} to load into the node."""
        self.dir.mkdir(parents=True, exist_ok=True)
        sweep_dead_runs()
        try:
            self.node.create_network()
            self._start_etcd()
            self._keys()
            self._start_apiserver()
            self._start_controller_manager()
            self._start_scheduler()
            self.node.start(self, images)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_etcd(self):
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        self.daemons.spawn("etcd", [
            str(self.bin / "etcd"), "--name", "e2e", "--data-dir", str(self.dir / "etcd"),
            "--listen-client-urls", self.etcd_url, "--advertise-client-urls", self.etcd_url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"e2e=http://127.0.0.1:{peer}",
            "--unsafe-no-fsync", "--log-level", "warn"])

        def healthy():
            self.daemons.alive("etcd")
            with urllib.request.urlopen(self.etcd_url + "/health", timeout=2) as r:
                return json.load(r).get("health") == "true"
        wait_until("etcd", healthy, START_TIMEOUT_S)

    def _keys(self):
        sa = self.dir / "sa.key"
        subprocess.run(["openssl", "genrsa", "-out", str(sa), "2048"], check=True,
                       capture_output=True)
        subprocess.run(["openssl", "rsa", "-in", str(sa), "-pubout", "-out",
                        str(self.dir / "sa.pub")], check=True, capture_output=True)
        (self.dir / "tokens.csv").write_text(
            f"{self.token},e2e-admin,e2e-admin-uid,system:masters\n")

    def _start_apiserver(self):
        self.api_port = free_port()
        self.server = f"https://{self.node.host_ip}:{self.api_port}"
        self.daemons.spawn("kube-apiserver", [
            str(self.bin / "kube-apiserver"),
            "--etcd-servers", self.etcd_url,
            "--bind-address", self.node.host_ip, "--advertise-address", self.node.host_ip,
            "--secure-port", str(self.api_port), "--cert-dir", str(self.dir / "apiserver-certs"),
            "--token-auth-file", str(self.dir / "tokens.csv"),
            "--authorization-mode", "RBAC",
            "--service-account-key-file", str(self.dir / "sa.pub"),
            "--service-account-signing-key-file", str(self.dir / "sa.key"),
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range", SERVICE_CIDR,
            "--enable-admission-plugins", "MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
            "--enable-aggregator-routing=true",
            # The node's name is not in any DNS: `kubectl logs` goes to its address.
            "--kubelet-preferred-address-types", "InternalIP",
            # Pods never call the API server: the `kubernetes` Service needs no endpoint.
            "--endpoint-reconciler-type", "none",
            "--allow-privileged=true",
            "--profiling=false"])
        self.kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "e2e",
            "clusters": [{"name": "e2e", "cluster": {
                "server": self.server, "insecure-skip-tls-verify": True}}],
            "users": [{"name": "e2e-admin", "user": {"token": self.token}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "e2e-admin"}}],
        }))
        self.kubeconfig.chmod(0o600)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE

        def ready():
            self.daemons.alive("kube-apiserver")
            req = urllib.request.Request(self.server + "/readyz",
                                         headers={"Authorization": f"Bearer {self.token}"})
            with urllib.request.urlopen(req, timeout=2, context=ctx) as r:
                return r.status == 200
        wait_until("kube-apiserver", ready, START_TIMEOUT_S, 0.5)

    def _start_controller_manager(self):
        self.daemons.spawn("kube-controller-manager", [
            str(self.bin / "kube-controller-manager"),
            "--kubeconfig", str(self.kubeconfig),
            "--authentication-kubeconfig", str(self.kubeconfig),
            "--authorization-kubeconfig", str(self.kubeconfig),
            "--bind-address", "127.0.0.1", "--secure-port", str(free_port()),
            "--leader-elect=false",
            "--service-account-private-key-file", str(self.dir / "sa.key"),
            "--root-ca-file", str(self.dir / "apiserver-certs" / "apiserver.crt"),
            "--service-cluster-ip-range", SERVICE_CIDR])

        def sa_ready():
            self.daemons.alive("kube-controller-manager")
            r = self.kubectl("get", "serviceaccount", "default", "-n", "default", check=False)
            return r.returncode == 0
        wait_until("kube-controller-manager (default service account)", sa_ready,
                   START_TIMEOUT_S, 0.5)

    def _start_scheduler(self):
        self.daemons.spawn("kube-scheduler", [
            str(self.bin / "kube-scheduler"),
            "--kubeconfig", str(self.kubeconfig),
            "--authentication-kubeconfig", str(self.kubeconfig),
            "--authorization-kubeconfig", str(self.kubeconfig),
            "--bind-address", "127.0.0.1", "--secure-port", str(free_port()),
            "--leader-elect=false"])

    # --- use -------------------------------------------------------------------------------
    def env(self):
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["PATH"] = f"{self.bin}:{env.get('PATH', '')}"
        env["HELM_CACHE_HOME"] = str(self.dir / "helm" / "cache")
        env["HELM_CONFIG_HOME"] = str(self.dir / "helm" / "config")
        env["HELM_DATA_HOME"] = str(self.dir / "helm" / "data")
        return env

    def kubectl(self, *args, input=None, check=True, timeout=60):
        r = subprocess.run([str(self.bin / "kubectl"), "--request-timeout=30s", *args],
                           input=input, capture_output=True, text=True, env=self.env(),
                           timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {r.stderr.strip()}")
        return r

    def kubectl_json(self, *args):
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def apply(self, obj, *args):
        text = obj if isinstance(obj, str) else json.dumps(obj)
        return self.kubectl("apply", "-f", "-", *args, input=text)

    def helm(self, *args, check=True, timeout=180):
        r = subprocess.run([str(self.bin / "helm"), *args], capture_output=True, text=True,
                           env=self.env(), timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError(f"helm {' '.join(args)} failed: {r.stderr.strip()}")
        return r

    # --- stop ------------------------------------------------------------------------------
    def stop(self):
        # A SIGTERM arriving now waits until everything is stopped, so it cannot cut the
        # teardown short and leak processes or the namespace.
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        try:
            try:
                self.node.stop()
            finally:
                self.daemons.stop_all()
                self.node.net.delete()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def main(argv):
    if len(argv) != 3 or argv[1] != "up":
        print(__doc__, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    c = Cluster(Path(argv[2]))
    try:
        c.start({})
        print(c.kubeconfig, flush=True)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        c.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

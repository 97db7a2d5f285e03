"""A real Kubernetes control plane on loopback for the e2e tests: etcd, kube-apiserver and
kube-controller-manager from the binaries tests/e2e/cluster/build.sh caches, plus a network
namespace the webhook server runs in, so the API server reaches it through its Service the way
it does in users' clusters (aggregator routing resolves a Service to an endpoint address, and
endpoint addresses may not be loopback).

Everything lives in one temp dir; every wait is bounded; stop() tears down whatever started, and
is safe to call after a failed start.

    python3 tests/e2e/cluster/e2e_cluster.py up DIR     start and print a kubeconfig path (manual use)
    python3 tests/e2e/cluster/e2e_cluster.py down DIR
"""
import ipaddress
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

HERE = Path(__file__).resolve().parent
K8S_VERSION = "1.30.14"
# A private /30 inside 10.213.0.0/16 that only this test run's two ends use (host side first,
# the pods' namespace second); chosen per process so concurrent runs do not collide.
NETNS_NET = ipaddress.ip_network("10.213.0.0/16")
NETNS_PREFIX = 30
SERVICE_CIDR = "10.214.0.0/24"
START_TIMEOUT_S = 90


def cache_bin_dir():
    root = Path(os.environ.get("PODPROF_K8S_CACHE", Path.home() / ".cache" / "podprof"))
    return root / f"k8s-{K8S_VERSION}" / "bin"


def cached_binaries_present(bin_dir=None):
    bin_dir = Path(bin_dir or cache_bin_dir())
    names = ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl", "helm")
    return all((bin_dir / n).exists() and (bin_dir / f".{n}.ok").exists() for n in names)


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


class NetNS:
    """A network namespace joined to the host by a veth pair on a private /30."""

    def __init__(self, tag):
        self.name = f"podprof-e2e-{tag}"
        self.host_if = f"ppe{tag}h"[:15]
        self.ns_if = f"ppe{tag}n"[:15]
        self.created = False
        used = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True).stdout
        subnets = list(NETNS_NET.subnets(new_prefix=NETNS_PREFIX))
        start = int(tag) % len(subnets)
        for i in range(len(subnets)):
            net = subnets[(start + i) % len(subnets)]
            host, pod = list(net.hosts())
            if f" {host}/" not in used and f" {pod}/" not in used:
                break
        self.host_ip, self.ip = str(host), str(pod)

    def _ip(self, *args):
        subprocess.run(["ip", *args], check=True, capture_output=True, text=True)

    def create(self):
        self.delete()
        self._ip("netns", "add", self.name)
        self.created = True
        self._ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        self._ip("link", "set", self.ns_if, "netns", self.name)
        self._ip("addr", "add", f"{self.host_ip}/{NETNS_PREFIX}", "dev", self.host_if)
        self._ip("link", "set", self.host_if, "up")
        self._ip("-n", self.name, "addr", "add", f"{self.ip}/{NETNS_PREFIX}", "dev", self.ns_if)
        self._ip("-n", self.name, "link", "set", self.ns_if, "up")
        self._ip("-n", self.name, "link", "set", "lo", "up")

    def exec_prefix(self):
        return ["ip", "netns", "exec", self.name]

    def delete(self):
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        self.created = False


class Cluster:
    def __init__(self, workdir, bin_dir=None):
        self.dir = Path(workdir)
        self.bin = Path(bin_dir or cache_bin_dir())
        self.procs = {}
        self.logs = {}
        self.token = secrets.token_hex(16)
        self.netns = NetNS(f"{os.getpid() % 100000}")
        self.kubeconfig = self.dir / "kubeconfig"
        self.api_port = None

    # --- processes -------------------------------------------------------------------------
    def _spawn(self, name, argv, prefix=()):
        log = open(self.dir / f"{name}.log", "w")
        self.logs[name] = log
        # A new session so stop() can signal the whole group (ip netns exec forks).
        self.procs[name] = subprocess.Popen([*prefix, *argv], stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return self.procs[name]

    def _stop_proc(self, name, timeout_s=10):
        p = self.procs.pop(name, None)
        if p is None:
            return
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
        log = self.logs.pop(name, None)
        if log:
            log.close()

    def log_tail(self, name, n=30):
        path = self.dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])

    def _alive(self, name):
        p = self.procs[name]
        if p.poll() is not None:
            raise RuntimeError(f"{name} exited with {p.returncode}:\n{self.log_tail(name)}")

    # --- start -----------------------------------------------------------------------------
    def start(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            self.netns.create()
            self._start_etcd()
            self._keys()
            self._start_apiserver()
            self._start_controller_manager()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_etcd(self):
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        self._spawn("etcd", [
            str(self.bin / "etcd"), "--name", "e2e", "--data-dir", str(self.dir / "etcd"),
            "--listen-client-urls", self.etcd_url, "--advertise-client-urls", self.etcd_url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"e2e=http://127.0.0.1:{peer}",
            "--unsafe-no-fsync", "--log-level", "warn"])

        def healthy():
            self._alive("etcd")
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
        self.server = f"https://127.0.0.1:{self.api_port}"
        self._spawn("kube-apiserver", [
            str(self.bin / "kube-apiserver"),
            "--etcd-servers", self.etcd_url,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
            "--secure-port", str(self.api_port), "--cert-dir", str(self.dir / "apiserver-certs"),
            "--token-auth-file", str(self.dir / "tokens.csv"),
            "--authorization-mode", "RBAC",
            "--service-account-key-file", str(self.dir / "sa.pub"),
            "--service-account-signing-key-file", str(self.dir / "sa.key"),
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range", SERVICE_CIDR,
            "--enable-admission-plugins", "MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
            "--enable-aggregator-routing=true",
            # No kubelet or kube-proxy: the loopback advertise address is never published.
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
            self._alive("kube-apiserver")
            req = urllib.request.Request(self.server + "/readyz",
                                         headers={"Authorization": f"Bearer {self.token}"})
            with urllib.request.urlopen(req, timeout=2, context=ctx) as r:
                return r.status == 200
        wait_until("kube-apiserver", ready, START_TIMEOUT_S, 0.5)

    def _start_controller_manager(self):
        self._spawn("kube-controller-manager", [
            str(self.bin / "kube-controller-manager"),
            "--kubeconfig", str(self.kubeconfig),
            "--authentication-kubeconfig", str(self.kubeconfig),
            "--authorization-kubeconfig", str(self.kubeconfig),
            "--bind-address", "127.0.0.1", "--secure-port", str(free_port()),
            "--leader-elect=false",
            "--service-account-private-key-file", str(self.dir / "sa.key"),
            "--root-ca-file", str(self.dir / "apiserver-certs" / "apiserver.crt"),
            # The one node is a kubelet double that never posts heartbeats: without this the
            # node would be marked unreachable and its pods evicted mid-test.
            "--controllers", "*,-nodelifecycle",
            "--cluster-cidr", "10.215.0.0/16", "--service-cluster-ip-range", SERVICE_CIDR])

        def sa_ready():
            self._alive("kube-controller-manager")
            r = self.kubectl("get", "serviceaccount", "default", "-n", "default", check=False)
            return r.returncode == 0
        wait_until("kube-controller-manager (default service account)", sa_ready,
                   START_TIMEOUT_S, 0.5)

    def create_node(self, name="e2e-node"):
        """The Node the kubelet double stands for, addressed at the host end of the veth pair."""
        self.node = name
        self.apply({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                          "kubernetes.io/os": "linux"}},
                    "status": {"addresses": [{"type": "InternalIP",
                                              "address": self.netns.host_ip}]}})
        return name

    def bind_and_report(self, pod, ready=True):
        """What the scheduler and the kubelet would do: bind `pod` to the node, then report it
        running with the network namespace's address (and Ready, so Services select it)."""
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        if not pod["spec"].get("nodeName"):
            self.kubectl("create", "--raw", f"/api/v1/namespaces/{ns}/pods/{name}/binding",
                         "-f", "-", input=json.dumps({
                             "apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
                             "target": {"apiVersion": "v1", "kind": "Node", "name": self.node}}))
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        cond = "True" if ready else "False"
        status = {"phase": "Running", "hostIP": self.netns.host_ip,
                  "hostIPs": [{"ip": self.netns.host_ip}], "podIP": self.netns.ip,
                  "podIPs": [{"ip": self.netns.ip}], "startTime": now,
                  "conditions": [{"type": t, "status": cond, "lastTransitionTime": now}
                                 for t in ("Initialized", "ContainersReady", "Ready",
                                           "PodScheduled")]}
        self.kubectl("patch", "pod", name, "-n", ns, "--subresource=status", "--type=merge",
                     "-p", json.dumps({"status": status}))
        return self.kubectl_json("get", "pod", name, "-n", ns)

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
            for name in list(self.procs)[::-1]:
                self._stop_proc(name)
            self.netns.delete()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def main(argv):
    if len(argv) != 3 or argv[1] not in ("up", "down"):
        print(__doc__, file=sys.stderr)
        return 2
    workdir = Path(argv[2])
    if argv[1] == "up":
        c = Cluster(workdir).start()
        pids = {n: p.pid for n, p in c.procs.items()}
        (workdir / "pids.json").write_text(json.dumps({"pids": pids, "netns": c.netns.name,
                                                       "host_if": c.netns.host_if}))
        print(c.kubeconfig)
        return 0
    state = json.loads((workdir / "pids.json").read_text())
    for pid in state["pids"].values():
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    subprocess.run(["ip", "link", "del", state["host_if"]], capture_output=True)
    subprocess.run(["ip", "netns", "del", state["netns"]], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

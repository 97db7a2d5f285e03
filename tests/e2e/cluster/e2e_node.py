"""The e2e cluster's one worker node, made of the real parts: Debian's containerd 1.6 with its CRI
plugin and runc, a kubelet (cgroupfs driver, static config file), kube-proxy (iptables mode), and
CNI bridge networking from Debian's containernetworking-plugins. The kubelet runs every pod; no
container is started any other way.

Where each part lives, so that nothing leaks into the host and two runs never collide:

- network: a namespace `podprof-e2e-<tag>` joined to the host by a veth pair on a private /30.
  The host end is the node's address (kubelet --node-ip, so status.hostIP; the API server binds
  there too, so kube-proxy reaches it). containerd runs inside the namespace, so the bridge plugin
  puts the bridge and every pod's veth there, pods get addresses from a private /24, and
  kube-proxy's iptables rules exist only there. The host routes that /24 to the namespace: the
  kubelet's probes and the API server's webhook calls (the Service resolved to a pod address by
  aggregator routing) reach pods directly.
- mounts: containerd, its shims, the kubelet and kube-proxy share one private mount namespace,
  held by a process that does nothing else. Every mount they make (image overlays, secret tmpfs,
  network namespace pins, the kubelet's shared root) lives and dies with it. Paths both programs
  hard-code (/run/containerd, /var/lib/cni, /var/log/containers) are private tmpfs there, and the
  kernel settings the kubelet would otherwise rewrite for the whole machine (vm.overcommit_memory,
  kernel.panic, kernel.panic_on_oops) are shown to it at the values it wants.
- cgroups: `/podprof-e2e-<tag>` in every cgroup v1 hierarchy is the kubelet's cgroupRoot (pods)
  and holds containerd's shims; stop() kills whatever is left in it and removes it.

stop() undoes everything that start() did, in reverse, and is safe after a failed start. The
daemons get SIGKILL if the test process dies without stopping them (PR_SET_PDEATHSIG); the next
run removes what such a run left (sweep_dead_runs): <tag> is the test process's PID.
"""
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from daemons import Daemons

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
CNI_BIN = Path("/usr/lib/cni")
RUNC = shutil.which("runc") or "/usr/sbin/runc"
NODE_NET = ipaddress.ip_network("10.213.0.0/16")  # /30s joining host and node namespace
POD_NETS = ipaddress.ip_network("10.216.0.0/16")  # one /24 of pods per run
CGROUP_FS = Path("/sys/fs/cgroup")
PAUSE_IMAGE = "podprof.test/pause:1"
APP_IMAGE_NAME = "podprof.test/python-app"
# What the kubelet sets at start unless they already have these values (container_manager_linux.go
# setupKernelTunables); shown to it, not written to the machine.
KUBELET_SYSCTLS = {"vm/overcommit_memory": "1", "vm/panic_on_oom": "0", "kernel/panic": "10",
                   "kernel/panic_on_oops": "1", "kernel/keys/root_maxkeys": "1000000",
                   "kernel/keys/root_maxbytes": "25000000"}
PRIVATE_TMPFS = ("/run/containerd", "/var/lib/cni", "/var/log/containers")
START_TIMEOUT_S = 120

def _run(*argv, **kw):
    return subprocess.run([str(a) for a in argv], check=True, capture_output=True, text=True, **kw)


def app_image_tag():
    return _run(HERE / "app_image.sh", "--tag").stdout.strip()


class NodeNetwork:
    """The node's network namespace, its veth pair to the host, and the pods' /24 routed to it."""

    def __init__(self, tag):
        self.name = f"podprof-e2e-{tag}"
        self.host_if, self.ns_if = f"ppe{tag}h"[:15], f"ppe{tag}n"[:15]
        used = subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True).stdout
        routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
        links = [n for n in NODE_NET.subnets(new_prefix=30)]
        start = int(tag) % len(links)
        for i in range(len(links)):
            host, router = list(links[(start + i) % len(links)].hosts())
            if f" {host}/" not in used and f" {router}/" not in used:
                break
        self.host_ip, self.router_ip = str(host), str(router)
        pods = list(POD_NETS.subnets(new_prefix=24))
        start = int(tag) % len(pods)
        for i in range(len(pods)):
            net = pods[(start + i) % len(pods)]
            if str(net) not in routes:
                break
        self.pod_net = str(net)

    def _ip(self, *args):
        _run("ip", *args)

    def create(self):
        self.delete()
        self._ip("netns", "add", self.name)
        self._ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        self._ip("link", "set", self.ns_if, "netns", self.name)
        self._ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
        self._ip("link", "set", self.host_if, "up")
        self._ip("-n", self.name, "addr", "add", f"{self.router_ip}/30", "dev", self.ns_if)
        self._ip("-n", self.name, "link", "set", self.ns_if, "up")
        self._ip("-n", self.name, "link", "set", "lo", "up")
        # Pods reach the node's address (and nothing beyond it) through the namespace.
        self._ip("-n", self.name, "route", "add", "default", "via", self.host_ip)
        self._ip("route", "add", self.pod_net, "via", self.router_ip, "dev", self.host_if)

    def delete(self):
        # Deleting the veth drops the route through it; the namespace takes the bridge along.
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


class NodeCgroup:
    """/podprof-e2e-<tag> in every cgroup v1 hierarchy (cgroupfs driver: the same path in each)."""

    def __init__(self, tag):
        self.path = f"/podprof-e2e-{tag}"
        self.hierarchies = [p for p in sorted(CGROUP_FS.iterdir())
                            if p.is_dir() and not p.is_symlink() and (p / "cgroup.procs").exists()
                            and p.name != "unified"]

    def create(self):
        for h in self.hierarchies:
            for sub in ("", "/shims"):
                d = h / (self.path.lstrip("/") + sub)
                d.mkdir(exist_ok=True)
                if h.name == "cpuset":  # a new cpuset has no CPUs until given its parent's
                    for f in ("cpuset.cpus", "cpuset.mems"):
                        (d / f).write_text((d.parent / f).read_text())

    def procs(self):
        out = set()
        for h in self.hierarchies:
            base = h / self.path.lstrip("/")
            if base.exists():
                for d, _, _ in os.walk(base):
                    try:
                        out |= {int(p) for p in Path(d, "cgroup.procs").read_text().split()}
                    except OSError:
                        pass
        return out

    def kill_all(self, timeout_s=30):
        deadline = time.monotonic() + timeout_s
        while (pids := self.procs()) and time.monotonic() < deadline:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)
        return self.procs()

    def remove(self):
        for h in self.hierarchies:
            base = h / self.path.lstrip("/")
            if not base.exists():
                continue
            for d, _, _ in sorted(os.walk(base), key=lambda w: -len(w[0])):
                for _ in range(50):
                    try:
                        os.rmdir(d)
                        break
                    except FileNotFoundError:
                        break
                    except OSError:  # a dying process still in it
                        time.sleep(0.1)


def sweep_dead_runs():
    """Containers, cgroups and network of runs whose test process was killed (SIGKILL leaves no
    chance to stop them). A run is dead when no process has its PID."""
    for d in sorted((CGROUP_FS / "pids").glob("podprof-e2e-*")):
        tag = d.name.rsplit("-", 1)[1]
        if not tag.isdigit() or Path(f"/proc/{tag}").exists():
            continue
        cg = NodeCgroup(tag)
        cg.kill_all()
        cg.remove()
        NodeNetwork(tag).delete()


class Node:
    NAME = "e2e-node"

    def __init__(self, workdir, bin_dir, tag):
        self.dir = Path(workdir)
        self.bin = Path(bin_dir)
        self.net = NodeNetwork(tag)
        self.cgroup = NodeCgroup(tag)
        self.sock = self.dir / "containerd.sock"
        self.daemons = Daemons(self.dir)
        self.app_image = None

    @property
    def host_ip(self):
        return self.net.host_ip

    # --- processes -------------------------------------------------------------------------
    def _spawn(self, name, argv, net_ns=False):
        """A daemon inside the node's mount namespace (and network namespace if net_ns)."""
        prefix = ["nsenter", "--target", str(self.daemons.pid("holder")), "--mount"]
        if net_ns:
            prefix += [f"--net=/run/netns/{self.net.name}"]
        return self.daemons.spawn(name, [*prefix, "--", *argv])

    # --- start -----------------------------------------------------------------------------
    def create_network(self):
        """First, because the API server binds the node's address."""
        self.net.create()

    def start(self, control_plane, images):
        """images: OCI layout directories to load, {image name without tag: layout}."""
        from e2e_cluster import wait_until
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cp = control_plane
        self.cgroup.create()
        self._start_holder()
        self._start_containerd(wait_until)
        self._load_images(images)
        self._start_kubelet(wait_until)
        self._start_kube_proxy()
        return self

    def _start_holder(self):
        """The private mount namespace's holder; its shell prepares the mounts first."""
        sysctl_dir = self.dir / "sysctl"
        sysctl_dir.mkdir()
        lines = ["set -e", "mount --make-rprivate /"]
        for d in PRIVATE_TMPFS:
            Path(d).mkdir(parents=True, exist_ok=True)
            lines.append(f"mount -t tmpfs -o mode=0755 podprof-e2e {d}")
        for key, want in KUBELET_SYSCTLS.items():
            f = sysctl_dir / key.replace("/", ".")
            f.write_text(want + "\n")
            lines.append(f"mount --bind {f} /proc/sys/{key}")
        ready = self.dir / "mounts.ready"
        lines += [f"touch {ready}", "exec sleep infinity"]
        holder = self.daemons.spawn("holder", ["unshare", "--mount", "--propagation", "private",
                                               "--", "sh", "-c", "\n".join(lines)])
        deadline = time.monotonic() + 10
        while not ready.exists():
            if holder.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mount namespace setup failed: " +
                                   (self.dir / "holder.log").read_text())
            time.sleep(0.05)

    def _containerd_config(self):
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        runc = f'{cri}.containerd.runtimes.runc'
        return f"""version = 2
root = "{self.dir}/containerd/root"
state = "{self.dir}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{self.sock}"
[ttrpc]
  address = "{self.dir}/containerd.ttrpc.sock"
[debug]
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "{self.dir}/containerd/opt"
[{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  # Lowering a process's oom_score_adj needs CAP_SYS_RESOURCE, which this machine's root lacks:
  # the kubelet's values (-998 for sandboxes) are raised to containerd's own instead.
  restrict_oom_score_adj = true
  stream_server_address = "{self.net.router_ip}"
  stream_server_port = "0"
[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[{runc}]
  runtime_type = "io.containerd.runc.v2"
[{runc}.options]
  BinaryName = "{RUNC}"
  Root = "{self.dir}/containerd/runc"
  SystemdCgroup = false
  ShimCgroup = "{self.cgroup.path}/shims"
[{cri}.cni]
  bin_dir = "{CNI_BIN}"
  conf_dir = "{self.dir}/cni"
  max_conf_num = 1
"""

    def _cni_config(self):
        return {"cniVersion": "1.0.0", "name": "podprof-e2e", "plugins": [
            {"type": "bridge", "bridge": "cni0", "isGateway": True, "hairpinMode": True,
             "ipam": {"type": "host-local", "dataDir": str(self.dir / "cni-ipam"),
                      "ranges": [[{"subnet": self.net.pod_net}]],
                      "routes": [{"dst": "0.0.0.0/0"}]}}]}

    def _start_containerd(self, wait_until):
        (self.dir / "cni").mkdir()
        (self.dir / "cni" / "10-podprof-e2e.conflist").write_text(json.dumps(self._cni_config()))
        cfg = self.dir / "containerd.toml"
        cfg.write_text(self._containerd_config())
        self._spawn("containerd", ["containerd", "--config", cfg], net_ns=True)

        def up():
            self.daemons.alive("containerd")
            return self.ctr("version", check=False).returncode == 0
        wait_until("containerd", up, START_TIMEOUT_S, 0.2)

    def ctr(self, *args, check=True, **kw):
        r = subprocess.run(["ctr", "--address", str(self.sock), "--namespace", "k8s.io",
                            *map(str, args)], capture_output=True, text=True, **kw)
        if check and r.returncode != 0:
            raise RuntimeError(f"ctr {' '.join(map(str, args))}: {r.stderr.strip()}")
        return r

    def _load_images(self, images):
        """`ctr images import` of each OCI layout, named <name>:<the layout's ref.name>."""
        layouts = dict(images)
        layouts["podprof.test/pause"] = self._pause_layout()
        app = Path(_run(HERE / "app_image.sh").stdout.strip().splitlines()[-1])
        layouts[APP_IMAGE_NAME] = app
        for name, layout in layouts.items():
            archive = self.dir / "images" / (name.replace("/", "_") + ".tar")
            archive.parent.mkdir(exist_ok=True)
            with tarfile.open(archive, "w") as tar:
                for entry in sorted(os.listdir(layout)):
                    tar.add(Path(layout) / entry, arcname=entry)
            self.ctr("images", "import", "--base-name", name, archive, timeout=300)
            archive.unlink()
        tag = json.loads((app / "index.json").read_text())["manifests"][0]["annotations"][
            "org.opencontainers.image.ref.name"]
        self.app_image = f"{APP_IMAGE_NAME}:{tag}"
        names = self.ctr("images", "ls", "-q").stdout.split()
        missing = [n for n in [PAUSE_IMAGE, self.app_image] if n not in names]
        if missing:
            raise RuntimeError(f"images not in containerd after import: {missing} (has {names})")

    def _pause_layout(self):
        out = self.dir / "pause"
        out.mkdir()
        _run("cc", "-static", "-Os", "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wextra",
             "-Werror", "-o", out / "pause", HERE / "pause.c")
        _run(sys.executable, ROOT / "images" / "oci_image.py", HERE / "pause.json", "--build", out,
             "--out", out / "layout", "--tag", PAUSE_IMAGE.rsplit(":", 1)[1])
        return out / "layout"

    def _start_kubelet(self, wait_until):
        from e2e_cluster import free_port
        root = self.dir / "kubelet"
        root.mkdir()
        resolv = self.dir / "resolv.conf"
        resolv.write_text("")  # no cluster DNS; pods resolve nothing outside /etc/hosts
        cfg = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "address": self.host_ip, "port": free_port(), "readOnlyPort": 0,
            "healthzPort": 0,
            "authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": False}},
            "authorization": {"mode": "AlwaysAllow"},
            "cgroupDriver": "cgroupfs", "cgroupRoot": self.cgroup.path, "cgroupsPerQOS": True,
            "containerRuntimeEndpoint": f"unix://{self.sock}",
            "failSwapOn": True, "makeIPTablesUtilChains": False, "resolvConf": str(resolv),
            "podLogsDir": str(self.dir / "pod-logs"),
            "volumePluginDir": str(self.dir / "volume-plugins"),
            "registerNode": True, "serializeImagePulls": False,
            # Images cannot be pulled here: never collect the imported ones; disk pressure on a
            # shared machine must not evict test pods.
            "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
            "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%",
                             "imagefs.available": "1%", "nodefs.inodesFree": "1%"},
            "syncFrequency": "10s", "fileCheckFrequency": "10s",
            "shutdownGracePeriod": "0s",
        }
        (self.dir / "kubelet.yaml").write_text(json.dumps(cfg))
        self._spawn("kubelet", [self.bin / "kubelet", "--config", self.dir / "kubelet.yaml",
                                "--kubeconfig", self.cp.kubeconfig, "--root-dir", root,
                                "--hostname-override", self.NAME, "--node-ip", self.host_ip,
                                "--v=1"])

        def ready():
            self.daemons.alive("containerd")
            self.daemons.alive("kubelet")
            r = self.cp.kubectl("get", "node", self.NAME, "-o", "json", check=False)
            if r.returncode != 0:
                return False
            conds = {c["type"]: c["status"] for c in json.loads(r.stdout)["status"]["conditions"]}
            return conds.get("Ready") == "True"
        wait_until("the kubelet's node Ready", ready, START_TIMEOUT_S, 0.5)

    def _start_kube_proxy(self):
        cfg = {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(self.cp.kubeconfig)},
            "hostnameOverride": self.NAME, "mode": "iptables", "clusterCIDR": self.net.pod_net,
            "bindAddress": self.net.router_ip,
            "healthzBindAddress": f"{self.net.router_ip}:10256",
            "metricsBindAddress": f"{self.net.router_ip}:10249",
            # Pods and Services share one bridge: masquerade so replies come back through it.
            "iptables": {"masqueradeAll": True},
            # The conntrack table size is the machine's, not this namespace's: leave it alone.
            "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s",
                          "tcpCloseWaitTimeout": "0s"},
        }
        (self.dir / "kube-proxy.yaml").write_text(json.dumps(cfg))
        self._spawn("kube-proxy", [self.bin / "kube-proxy", "--config",
                                   self.dir / "kube-proxy.yaml"], net_ns=True)

    # --- stop ------------------------------------------------------------------------------
    def stop(self):
        for name in ("kube-proxy", "kubelet"):
            self.daemons.stop(name)
        # Containers and shims: whatever is left in the node's cgroup.
        left = self.cgroup.kill_all()
        self.daemons.stop_all()  # containerd, then the mount namespace's holder
        self.cgroup.remove()
        self.net.delete()
        # Image snapshots and pod volumes, unmounted with the mount namespace; owned by pod users.
        shutil.rmtree(self.dir / "containerd", ignore_errors=True)
        shutil.rmtree(self.dir / "kubelet", ignore_errors=True)
        if left:
            raise RuntimeError(f"processes left in the node's cgroup: {sorted(left)}")

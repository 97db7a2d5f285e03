"""Runs the containers of a Pod stored by the API server the way a kubelet would, as far as this
machine allows, so the e2e tests prove the stored spec works rather than our idea of it:

- each container gets its own mount namespace and root: an overlay whose lower layer is its
  image (an unpacked OCI layout from `make images`) or, for the app, this host's root;
- the pod's volumes are directories shared by its containers (emptyDir 0777, downwardAPI files
  written in the kubelet's format, configMap/secret files from the API) bind-mounted at each
  volumeMount's path, read-only where the mount says so, under a read-only root where the
  securityContext says so;
- env is resolved like the kubelet does (value, fieldRef, secretKeyRef, configMapKeyRef, then
  $(VAR) references), the process runs as the securityContext's user, in the pod's network
  namespace when given.
"""
import ctypes
import json
import os
import re
import signal
import subprocess
import tarfile
import gzip
import io
from pathlib import Path

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                       ctypes.c_char_p]
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18


def _check(rc, what):
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def _mount(src, dst, fstype, flags, data=None):
    enc = (lambda s: s.encode() if s is not None else None)
    _check(libc.mount(enc(src), enc(dst), enc(fstype), flags, enc(data)), f"mount {dst}")


def unpack_image(layout, dest):
    """Unpacks the single-platform OCI layout `layout` into `dest` (layers in order)."""
    layout, dest = Path(layout), Path(dest)
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs/sha256" / digest).read_bytes())
    config = json.loads((layout / "blobs/sha256" / manifest["config"]["digest"].split(":")[1])
                        .read_bytes())
    dest.mkdir(parents=True, exist_ok=True)
    for layer in manifest["layers"]:
        raw = gzip.decompress((layout / "blobs/sha256" / layer["digest"].split(":")[1])
                              .read_bytes())
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            tar.extractall(dest)
    return config["config"]


def in_root(root, path):
    """`path` inside `root`, following the root's own symlinks (an absolute link target is
    relative to root), so nothing is created on the host through a link like /var/run -> /run."""
    cur = root
    for part in [p for p in path.split("/") if p]:
        nxt = os.path.join(cur, part)
        for _ in range(20):
            if not os.path.islink(nxt):
                break
            t = os.readlink(nxt)
            nxt = os.path.join(root, t.lstrip("/")) if t.startswith("/") else \
                os.path.normpath(os.path.join(cur, t))
        cur = nxt
    return cur


def downward_labels(labels):
    # The kubelet writes key="value" lines sorted by key, values quoted like Go's %q.
    return "".join(f"{k}={json.dumps(v)}\n" for k, v in sorted(labels.items()))


_FIELD = re.compile(r"^metadata\.(labels|annotations)\['([^']+)'\]$")


def field_value(pod, path):
    meta, spec, status = pod["metadata"], pod["spec"], pod.get("status", {})
    simple = {
        "metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""), "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.hostIP": status.get("hostIP", ""), "status.podIP": status.get("podIP", ""),
    }
    if path in simple:
        return simple[path]
    m = _FIELD.match(path)
    if m:
        return meta.get(m.group(1), {}).get(m.group(2), "")
    raise ValueError(f"fieldRef {path} not supported by the kubelet double")


def expand(s, env):
    """$(VAR) -> value of VAR if defined, $$ -> $, like the kubelet's expansion."""
    out, i = [], 0
    while i < len(s):
        if s.startswith("$$", i):
            out.append("$")
            i += 2
        elif s.startswith("$(", i) and ")" in s[i:]:
            j = s.index(")", i)
            name = s[i + 2:j]
            out.append(env[name] if name in env else s[i:j + 1])
            i = j + 1
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


class PodRunner:
    def __init__(self, pod, workdir, cluster, netns=None):
        self.pod = pod
        self.dir = Path(workdir)
        self.cluster = cluster
        self.netns = netns
        self.volumes = {}
        self.procs = []
        self.dir.mkdir(parents=True, exist_ok=True)
        self._materialise_volumes()

    def _api_data(self, kind, name):
        obj = self.cluster.kubectl_json("get", kind, name, "-n", self.pod["metadata"]["namespace"])
        if kind == "secret":
            import base64
            return {k: base64.b64decode(v) for k, v in obj.get("data", {}).items()}
        return {k: v.encode() for k, v in obj.get("data", {}).items()}

    def _materialise_volumes(self):
        for v in self.pod["spec"].get("volumes", []):
            d = self.dir / "volumes" / v["name"]
            d.mkdir(parents=True, exist_ok=True)
            files = {}
            if "emptyDir" in v:
                os.chmod(d, 0o777)
            elif "downwardAPI" in v:
                for item in v["downwardAPI"]["items"]:
                    path = item["fieldRef"]["fieldPath"]
                    if path == "metadata.labels":
                        files[item["path"]] = downward_labels(self.pod["metadata"].get("labels", {}))
                    elif path == "metadata.annotations":
                        files[item["path"]] = downward_labels(
                            self.pod["metadata"].get("annotations", {}))
                    else:
                        files[item["path"]] = field_value(self.pod, path)
            elif "configMap" in v or "secret" in v:
                kind = "configmap" if "configMap" in v else "secret"
                src = v.get("configMap") or v.get("secret")
                name = src.get("name") or src.get("secretName")
                data = self._api_data(kind, name)
                items = src.get("items") or [{"key": k, "path": k} for k in data]
                for it in items:
                    if it["key"] in data:
                        files[it["path"]] = data[it["key"]]
            elif "projected" in v:
                # The service-account token volume: no token is issued (no kubelet), the
                # namespace file is real.
                files = {"namespace": self.pod["metadata"]["namespace"], "token": "", "ca.crt": ""}
            for rel, content in files.items():
                p = d / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(content if isinstance(content, bytes) else content.encode())
                os.chmod(p, 0o644)
            self.volumes[v["name"]] = d

    def container(self, name):
        for kind in ("initContainers", "containers"):
            for c in self.pod["spec"].get(kind, []):
                if c["name"] == name:
                    return c
        raise KeyError(f"no container {name} in pod {self.pod['metadata'].get('name')}")

    def env_of(self, c):
        env = {}
        ns = self.pod["metadata"]["namespace"]
        for e in c.get("env", []):
            if "valueFrom" in e:
                vf = e["valueFrom"]
                if "fieldRef" in vf:
                    env[e["name"]] = field_value(self.pod, vf["fieldRef"]["fieldPath"])
                elif "secretKeyRef" in vf or "configMapKeyRef" in vf:
                    kind = "secret" if "secretKeyRef" in vf else "configmap"
                    ref = vf.get("secretKeyRef") or vf.get("configMapKeyRef")
                    data = self._api_data(kind, ref["name"]) if ns else {}
                    env[e["name"]] = data.get(ref["key"], b"").decode()
                else:
                    raise ValueError(f"env {e['name']}: {vf} not supported by the kubelet double")
            else:
                env[e["name"]] = expand(e.get("value", ""), env)
        return env

    def hosts_file(self, dns):
        """/etc/hosts as the kubelet writes it (localhost, the pod, hostAliases); `dns` maps
        extra names to addresses, standing in for cluster DNS."""
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        ip = self.pod.get("status", {}).get("podIP")
        if ip:
            lines.append(f"{ip}\t{self.pod['metadata']['name']}")
        for alias in self.pod["spec"].get("hostAliases", []):
            lines.append(f"{alias['ip']}\t{' '.join(alias['hostnames'])}")
        for host, addr in (dns or {}).items():
            lines.append(f"{addr}\t{host}")
        return "\n".join(lines) + "\n"

    def start(self, name, lower, image_config=None, log=None, extra_env=None, dns=None):
        """Starts container `name` with root filesystem `lower` (image rootfs or '/')."""
        c = self.container(name)
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
        for kv in (image_config or {}).get("Env", []):
            k, _, v = kv.partition("=")
            env[k] = v
        env.update(self.env_of(c))
        env.update(extra_env or {})
        entry = list((image_config or {}).get("Entrypoint") or [])
        cmd = list((image_config or {}).get("Cmd") or [])
        if "command" in c:
            entry, cmd = c["command"], c.get("args", [])
        elif "args" in c:
            cmd = c["args"]
        argv = [expand(a, env) for a in entry + cmd]
        assert argv, f"container {name} has nothing to run"

        pod_sc = self.pod["spec"].get("securityContext", {})
        sc = c.get("securityContext", {})
        uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
        gid = sc.get("runAsGroup", pod_sc.get("runAsGroup"))
        if uid is None and image_config and image_config.get("User"):
            u, _, g = image_config["User"].partition(":")
            uid, gid = int(u), int(g or u)
        uid = 0 if uid is None else uid
        gid = uid if gid is None else gid
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) and uid == 0:
            raise RuntimeError(f"container {name}: runAsNonRoot with user 0 would not start")
        read_only = bool(sc.get("readOnlyRootFilesystem"))

        cdir = self.dir / "containers" / name
        for sub in ("upper", "work", "root"):
            (cdir / sub).mkdir(parents=True, exist_ok=True)
        root = str(cdir / "root")
        mounts = [(str(self.volumes[m["name"]]), m["mountPath"], bool(m.get("readOnly")))
                  for m in c.get("volumeMounts", [])]
        netns = self.netns
        workdir = c.get("workingDir", "/")

        host_root = os.path.realpath(lower) == "/"
        hosts = self.hosts_file(dns)
        upper, work = cdir / "upper", cdir / "work"

        def enter():
            if netns:
                fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
                _check(libc.setns(fd, CLONE_NEWNET), "setns")
                os.close(fd)
            _check(libc.unshare(CLONE_NEWNS), "unshare")
            _mount(None, "/", None, MS_REC | MS_PRIVATE)
            if host_root:
                # An overlay of "/" would contain its own upper dir, so each top-level
                # directory of the host gets its own overlay under a tmpfs root.
                _mount("tmpfs", root, "tmpfs", 0, "mode=755")
                for entry in sorted(os.listdir("/")):
                    src = "/" + entry
                    if entry in ("proc", "sys", "dev", "tmp", "run"):
                        continue
                    if os.path.islink(src):
                        os.symlink(os.readlink(src), f"{root}/{entry}")
                    elif os.path.isdir(src):
                        for d in (upper / entry, work / entry, Path(root) / entry):
                            os.makedirs(d, exist_ok=True)
                        _mount("overlay", f"{root}/{entry}", "overlay", 0,
                               f"lowerdir={src},upperdir={upper / entry},workdir={work / entry}")
            else:
                _mount("overlay", root, "overlay", 0,
                       f"lowerdir={lower},upperdir={upper},workdir={work}")
            for d, mode in (("proc", 0o555), ("dev", 0o755), ("tmp", 0o1777), ("run", 0o755)):
                os.makedirs(in_root(root, d), exist_ok=True)
                os.chmod(in_root(root, d), mode)
            _mount("proc", in_root(root, "proc"), "proc", 0)
            _mount("/dev", in_root(root, "dev"), None, MS_BIND | MS_REC)
            _mount("tmpfs", in_root(root, "run"), "tmpfs", 0, "mode=755")
            os.makedirs(in_root(root, "etc"), exist_ok=True)
            with open(in_root(root, "etc/hosts"), "w") as f:
                f.write(hosts)
            for src, dst, ro in mounts:
                target = in_root(root, dst)
                os.makedirs(target, exist_ok=True)
                _mount(src, target, None, MS_BIND | MS_REC)
                if ro:
                    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
            if read_only and not host_root:
                _mount(None, root, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
            os.chroot(root)
            os.chdir(workdir)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)

        out = open(log or (cdir / "log"), "w")
        p = subprocess.Popen(argv, env=env, preexec_fn=enter, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
        p.log_path = Path(out.name)
        p.container = name
        self.procs.append(p)
        return p

    def run(self, name, lower, image_config=None, timeout=60, extra_env=None, dns=None):
        p = self.start(name, lower, image_config, extra_env=extra_env, dns=dns)
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop(p)
            raise
        return rc, p.log_path.read_text(errors="replace")

    def stop(self, p, grace=10):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)
        return p.returncode

    def stop_all(self):
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        try:
            for p in self.procs[::-1]:
                self.stop(p)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

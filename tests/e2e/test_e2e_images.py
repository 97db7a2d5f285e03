"""The OCI images `make images` produces: layout and digests per the image-spec, user, entrypoint,
files, that every ELF's shared libraries and loader are inside the image (read with readelf, not
the ldd the builder used), size; and, on the e2e node, that the kubelet runs each image's program
as the image's user, and that the sampler image's exporter uploads with its own libraries."""
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from e2e_agent import AgentReceiver
from e2e_pods import APP_IMAGE, namespace
from podprof_testenv import BUILD, ROOT

SAMPLER_MAX_BYTES = 15 * 1024 * 1024
VERSION = re.search(r'PODPROF_VERSION "([^"]+)"',
                    (ROOT / "include/podprof/version.h").read_text()).group(1)
LIB_DIRS = ["usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu", "usr/lib64", "lib64", "usr/lib",
            "lib"]

IMAGES = {
    "podprof-sampler": {"artefacts": ["bin/podprof", "lib/libpodprof.so"],
                        "files": ["podprof/bin/podprof", "podprof/lib/libpodprof.so"],
                        "entrypoint": ["/podprof/bin/podprof"],
                        "run": ["/podprof/bin/podprof", "version"]},
    "podprof-injector": {"artefacts": ["bin/podprof-injector"],
                         "files": ["podprof/bin/podprof-injector"],
                         "entrypoint": ["/podprof/bin/podprof-injector"]},
}


def build(name, out):
    subprocess.run([sys.executable, str(ROOT / "images" / "oci_image.py"),
                    str(ROOT / "images" / f"{name}.json"), "--build", str(BUILD),
                    "--out", str(out)], check=True, capture_output=True, text=True)


def blob(layout, digest, size=None):
    algo, hexd = digest.split(":")
    assert algo == "sha256"
    data = (layout / "blobs" / "sha256" / hexd).read_bytes()
    assert hashlib.sha256(data).hexdigest() == hexd, f"blob {digest} content does not match"
    if size is not None:
        assert len(data) == size, f"blob {digest} size {len(data)} != descriptor {size}"
    return data


def read_image(layout):
    assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((layout / "index.json").read_text())
    assert index["schemaVersion"] == 2
    [desc] = index["manifests"]
    assert desc["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    manifest = json.loads(blob(layout, desc["digest"], desc["size"]))
    config = json.loads(blob(layout, manifest["config"]["digest"], manifest["config"]["size"]))
    layers = [blob(layout, layer["digest"], layer["size"]) for layer in manifest["layers"]]
    raw = [gzip.decompress(layer) for layer in layers]
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(r).hexdigest() for r in raw]
    return desc, manifest, config, layers, raw


def check_layer_entries(raw_layers):
    for raw in raw_layers:
        tar = tarfile.open(fileobj=io.BytesIO(raw))
        for m in tar.getmembers():
            assert not m.name.startswith("/") and ".." not in m.name.split("/"), m.name
            assert m.uid == 0 and m.gid == 0


def unpack_with_umoci(layout, tag, bundle):
    """Unpacks with umoci, an independent OCI image-spec implementation."""
    subprocess.run(["umoci", "unpack", "--image", f"{layout}:{tag}", str(bundle)], check=True,
                   capture_output=True, text=True)
    return bundle / "rootfs"


def elf_files(rootfs):
    for p in sorted(rootfs.rglob("*")):
        if p.is_file() and not p.is_symlink():
            with open(p, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    yield p


def needed_and_interp(path):
    dyn = subprocess.run(["readelf", "-dW", str(path)], capture_output=True, text=True,
                         check=True).stdout
    needed = [line.split("[", 1)[1].rstrip("]").strip() for line in dyn.splitlines()
              if "(NEEDED)" in line]
    hdr = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True,
                         check=True).stdout
    interp = None
    for line in hdr.splitlines():
        if "Requesting program interpreter:" in line:
            interp = line.split(":", 1)[1].strip().rstrip("]")
    return needed, interp


def inside(rootfs, path):
    """Resolve `path` as the image would, following its own symlinks (not the host's)."""
    p = rootfs
    for part in Path(path).parts[1:] if path.startswith("/") else Path(path).parts:
        p = p / part
        hops = 0
        while p.is_symlink() and hops < 10:
            target = os.readlink(p)
            p = (rootfs / target.lstrip("/")) if target.startswith("/") else (p.parent / target)
            hops += 1
    return p


@pytest.fixture(params=sorted(IMAGES))
def image(request, tmp_path):
    name = request.param
    spec = IMAGES[name]
    missing = [a for a in spec["artefacts"] if not (BUILD / a).exists()]
    if missing:
        pytest.fail(f"{name} needs {missing} in {BUILD}: run `make` first")
    build(name, tmp_path / name)
    return name, spec, tmp_path / name


def test_image_layout_user_entrypoint_files_libraries_size(image, tmp_path):
    name, spec, layout = image
    desc, manifest, config, layers, raw = read_image(layout)
    cfg = config["config"]
    assert config["os"] == "linux" and config["architecture"] == "amd64"
    uid, gid = (int(x) for x in cfg["User"].split(":"))
    assert uid != 0 and gid != 0, "the image must run as a non-root user"
    assert cfg["Entrypoint"] == spec["entrypoint"]

    check_layer_entries(raw)
    tag = desc["annotations"]["org.opencontainers.image.ref.name"]
    # skopeo, another independent reader, sees the same config.
    seen = json.loads(subprocess.run(["skopeo", "inspect", "--config", f"oci:{layout}:{tag}"],
                                     check=True, capture_output=True, text=True).stdout)
    assert seen["config"] == cfg
    rootfs = unpack_with_umoci(layout, tag, tmp_path / "bundle")
    for f in spec["files"]:
        assert (rootfs / f).is_file(), f"{f} missing from {name}"
    assert not inside(rootfs, "/bin/sh").exists(), "no shell in the image"
    passwd = (rootfs / "etc/passwd").read_text()
    assert any(line.split(":")[2] == str(uid) for line in passwd.splitlines())

    elves = list(elf_files(rootfs))
    assert elves
    for elf in elves:
        needed, interp = needed_and_interp(elf)
        if interp:
            assert inside(rootfs, interp).is_file(), f"{elf}: loader {interp} not in image"
        for lib in needed:
            found = [d for d in LIB_DIRS if inside(rootfs, f"/{d}/{lib}").is_file()]
            assert found, f"{elf.relative_to(rootfs)} needs {lib}, which is not in {name}"

    compressed = desc["size"] + manifest["config"]["size"] + sum(len(b) for b in layers)
    unpacked = sum(len(r) for r in raw)
    print(f"\n{name}: {compressed / 1048576:.2f} MiB compressed, {unpacked / 1048576:.2f} MiB "
          f"uncompressed, {len(elves)} ELF files")
    if name == "podprof-sampler":
        # DESIGN.md §6: the target is on what a node stores, the unpacked layers
        assert unpacked <= SAMPLER_MAX_BYTES, f"sampler image is {unpacked} bytes unpacked"


# What the exporter never uses and Debian's libcurl4 would bring along (GnuTLS through librtmp,
# Kerberos, LDAP, SSH, IDN, PSL, HTTP/2, brotli).
NOT_IN_SAMPLER = ("libgnutls", "librtmp", "libldap", "liblber", "libsasl2", "libgssapi", "libkrb5",
                  "libk5crypto", "libssh", "libidn2", "libunistring", "libpsl", "libnghttp2",
                  "libbrotli", "libp11-kit", "libnettle", "libhogweed", "libgmp", "libtasn1")


def make_cert(dirpath, name, ip):
    key, crt = dirpath / f"{name}.key", dirpath / f"{name}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName=IP:{ip}",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    return crt, key


def image_ref(name):
    """As the chart names it, and as the e2e node loaded it."""
    return f"ghcr.io/podprof/{name}:{VERSION}"


def run_pod(cluster, ns, name, spec, timeout_s=120):
    """Creates a run-once pod and waits until it ended; returns the stored pod and its log."""
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
                   "spec": {"restartPolicy": "Never", "automountServiceAccountToken": False,
                            **spec}})
    r = cluster.kubectl("wait", f"pod/{name}", "-n", ns,
                        "--for=jsonpath={.status.phase}=Succeeded", f"--timeout={timeout_s}s",
                        check=False, timeout=timeout_s + 20)
    pod = cluster.kubectl_json("get", "pod", name, "-n", ns)
    log = cluster.kubectl("logs", name, "-n", ns, "--all-containers", check=False)
    assert r.returncode == 0, (f"{name}: {json.dumps(pod['status'])}\n{log.stdout}{log.stderr}")
    return pod, log.stdout


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_the_kubelet_runs_the_image_as_its_user(cluster, name):
    """The loader and libraries in the image are enough: its program runs from the image, with
    the image's own entrypoint and user (runAsNonRoot is checked against it by the kubelet)."""
    ns = namespace(cluster, "e2e-images")
    pod, log = run_pod(cluster, ns, f"{name}-version", {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "version", "image": image_ref(name), "args": ["version"],
                        "securityContext": {"allowPrivilegeEscalation": False,
                                            "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}}]})
    assert log.strip(), "the version command printed nothing"


# What the exporter never uses and Debian's libcurl4 would bring along (GnuTLS through librtmp,
# Kerberos, LDAP, SSH, IDN, PSL, HTTP/2, brotli).
NOT_IN_SAMPLER = ("libgnutls", "librtmp", "libldap", "liblber", "libsasl2", "libgssapi", "libkrb5",
                  "libk5crypto", "libssh", "libidn2", "libunistring", "libpsl", "libnghttp2",
                  "libbrotli", "libp11-kit", "libnettle", "libhogweed", "libgmp", "libtasn1")


def test_sampler_image_carries_a_slim_libcurl(tmp_path):
    """The sampler image's libcurl (scripts/build_min_curl.sh) has none of the libraries the
    exporter never uses."""
    layout = tmp_path / "layout"
    build("podprof-sampler", layout)
    index = json.loads((layout / "index.json").read_text())
    tag = index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
    rootfs = unpack_with_umoci(layout, tag, tmp_path / "bundle")
    names = {p.name for p in rootfs.rglob("*.so*")}
    assert not [n for n in names if n.startswith(NOT_IN_SAMPLER)], sorted(names)
    curl = inside(rootfs, "/usr/lib/x86_64-linux-gnu/libcurl.so.4")
    needed, _ = needed_and_interp(curl)
    assert set(needed) <= {"libssl.so.3", "libcrypto.so.3", "libz.so.1", "libc.so.6"}, needed


def test_sampler_image_uploads_with_its_own_libraries(cluster, tmp_path):
    """`podprof export --once`, run by the kubelet from the sampler image as its user, uploads a
    spooled profile with the image's slim libcurl: to an agent over HTTP and to an intake over
    verified TLS (OpenSSL, a CA file mounted from a ConfigMap), each upload checked by the
    strict validator."""
    sys.path.insert(0, str(ROOT / "tests" / "exporter"))
    from agent_double import tls_server_context
    from exporter_helpers import write_pair

    c = cluster
    ns = namespace(c, "e2e-images")
    host = c.node.host_ip
    for seq in (1, 2):
        (tmp_path / f"spool{seq}").mkdir()
        write_pair(tmp_path / f"spool{seq}", seq=seq)
        c.kubectl("create", "configmap", f"spool{seq}", "-n", ns,
                  f"--from-file={tmp_path / f'spool{seq}'}")
    crt, key = make_cert(tmp_path, "intake", host)
    c.kubectl("create", "configmap", "intake-ca", "-n", ns, f"--from-file=intake.crt={crt}")

    def exporter_pod(name, seq, env):
        # The spool must be writable (the exporter removes what it sent): the app image's sh
        # copies the ConfigMap's files into an emptyDir first; the sampler image has no shell.
        return run_pod(c, ns, name, {
            "initContainers": [{"name": "seed", "image": APP_IMAGE,
                                "command": ["sh", "-c", "cp /seed/* /spool/ && chmod 666 /spool/*"],
                                "volumeMounts": [{"name": "seed", "mountPath": "/seed"},
                                                 {"name": "spool", "mountPath": "/spool"}]}],
            "containers": [{"name": "export", "image": image_ref("podprof-sampler"),
                            "args": ["export", "--spool", "/spool", "--once"],
                            "env": [{"name": k, "value": str(v)} for k, v in env.items()],
                            "volumeMounts": [{"name": "spool", "mountPath": "/spool"},
                                             {"name": "ca", "mountPath": "/ca"}]}],
            "volumes": [{"name": "seed", "configMap": {"name": f"spool{seq}"}},
                        {"name": "spool", "emptyDir": {}},
                        {"name": "ca", "configMap": {"name": "intake-ca"}}]})

    with AgentReceiver(host, 0) as agent:
        exporter_pod("export-agent", 1, {"DD_TRACE_AGENT_URL": f"http://{host}:{agent.port}",
                                         "PODPROF_EXPORT_RESCAN_S": 1})
        ups = agent.wait_until(lambda u: u, 30)
        assert len(ups) == 1 and ups[0].errors == [], [u.errors for u in ups]
    with AgentReceiver(host, 0, tls_context=tls_server_context(crt, key), agentless=True,
                       expect_api_key="k-img") as intake:
        exporter_pod("export-intake", 2, {
            "DD_PROFILING_AGENTLESS": "true", "DD_API_KEY": "k-img",
            "PODPROF_EXPORT_INTAKE_URL": f"https://{host}:{intake.port}/api/v2/profile",
            "PODPROF_EXPORT_CA_FILE": "/ca/intake.crt"})
        ups = intake.wait_until(lambda u: u, 30)
        assert len(ups) == 1 and ups[0].errors == [], [u.errors for u in ups]


def test_image_build_is_reproducible(image, tmp_path):
    name, _, layout = image
    again = tmp_path / "again"
    build(name, again)
    assert (layout / "index.json").read_text() == (again / "index.json").read_text()

#!/usr/bin/env python3
"""Builds an OCI image layout (image-spec v1.1: oci-layout, index.json, blobs/sha256) from an
image definition (images/<name>.json), without a container engine.

A definition names the files to copy and the ELF programs whose whole shared-library closure
(as the dynamic loader resolves it on this machine, read from `ldd`) goes into the image beside
them; `library_scripts` name scripts printing a directory of libraries that replace the system's
(scripts/build_min_curl.sh: a libcurl without the protocols the exporter never uses). Layers are reproducible: sorted entries, fixed mtime (SOURCE_DATE_EPOCH, default 0),
owner 0:0, gzip without a timestamp. So two builds from the same inputs have the same digests.

    images/oci_image.py DEFINITION.json --build BUILD_DIR --out OUT_DIR [--tag TAG]
"""
import argparse
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SYSTEM_LIB_DIR = Path("/usr/lib/x86_64-linux-gnu")
LDD_LINE = re.compile(r"^\s*(?:(\S+)\s+=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)\s*$")


def fail(msg):
    print(f"oci_image: {msg}", file=sys.stderr)
    sys.exit(1)


def ldd_closure(path, library_dirs=()):
    """Absolute paths of every shared object `path` loads, including the dynamic loader; libraries
    in library_dirs are taken before the system's."""
    env = dict(os.environ)
    if library_dirs:
        env["LD_LIBRARY_PATH"] = ":".join(str(d) for d in library_dirs)
    r = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        if "not a dynamic executable" in (r.stdout + r.stderr):
            return []
        fail(f"ldd {path}: {r.stderr.strip() or r.stdout.strip()}")
    libs = []
    for line in r.stdout.splitlines():
        if "not found" in line:
            fail(f"{path}: shared library missing on the build machine: {line.strip()}")
        m = LDD_LINE.match(line)
        if m:
            libs.append(m.group(2))
    return libs


class Layer:
    """A tar layer assembled in memory, entries sorted by path when written."""

    def __init__(self, mtime):
        self.entries = {}  # path in image (no leading '/') -> (kind, data/target, mode)
        self.mtime = mtime

    def add_dirs(self, path):
        parts = Path(path).parts[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            self.entries.setdefault(d, ("dir", None, 0o755))

    def add_file(self, path, data, mode):
        path = path.lstrip("/")
        self.add_dirs(path)
        self.entries[path] = ("file", data, mode)

    def add_symlink(self, path, target):
        path = path.lstrip("/")
        self.add_dirs(path)
        self.entries[path] = ("symlink", target, 0o777)

    def add_dir(self, path, mode=0o755):
        path = path.lstrip("/")
        self.add_dirs(path + "/x")
        self.entries[path] = ("dir", None, mode)

    def tar_bytes(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(self.entries):
                kind, data, mode = self.entries[path]
                info = tarfile.TarInfo(path)
                info.mtime = self.mtime
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode = mode
                if kind == "dir":
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif kind == "symlink":
                    info.type = tarfile.SYMTYPE
                    info.linkname = data
                    tar.addfile(info)
                else:
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()


def write_blob(out, data):
    digest = hashlib.sha256(data).hexdigest()
    blob = out / "blobs" / "sha256" / digest
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    return f"sha256:{digest}", len(data)


def resolve(spec_path, build):
    return Path(str(spec_path).replace("$BUILD", str(build)))


def build_image(defn, build, out, tag, mtime):
    base = Layer(mtime)
    app = Layer(mtime)
    user = defn["user"]
    uid, gid = (int(x) for x in user.split(":"))
    name = defn.get("user_name", "nonroot")
    base.add_file("/etc/passwd", f"root:x:0:0:root:/root:/sbin/nologin\n"
                                 f"{name}:x:{uid}:{gid}:{name}:/home/{name}:/sbin/nologin\n"
                                 .encode(), 0o644)
    base.add_file("/etc/group", f"root:x:0:\n{name}:x:{gid}:\n".encode(), 0o644)
    base.add_dir(f"/home/{name}", 0o755)
    base.add_dir("/tmp", 0o1777)
    # Merged /usr as on Debian: the loader path /lib64/ld-linux-x86-64.so.2 and /lib paths resolve.
    base.add_symlink("/lib", "usr/lib")
    base.add_symlink("/lib64", "usr/lib64")

    elves = []
    for f in defn["files"]:
        src = resolve(f["src"], build)
        if not src.is_file():
            fail(f"{src} is missing: run `make` first")
        mode = 0o755 if f.get("executable") else 0o644
        app.add_file(f["dst"], src.read_bytes(), mode)
        if f.get("elf"):
            elves.append(src)
    for f in defn.get("system_files", []):
        src = Path(f["src"])
        if not src.exists():
            fail(f"{src} is missing on the build machine")
        base.add_file(f.get("dst", f["src"]), src.read_bytes(), 0o644)

    # A definition may replace system libraries by builds of its own (a slimmer libcurl): the
    # script named prints the directory holding them, building them first if needed. They go
    # where the system's copies would, so the loader finds them on its default path.
    library_dirs = []
    for script in defn.get("library_scripts", []):
        r = subprocess.run([str(ROOT / script)], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"{script} failed: {r.stderr.strip()[-2000:]}")
        library_dirs.append(Path(r.stdout.strip().splitlines()[-1]).resolve())
    seen = set()
    for elf in elves:
        for lib in ldd_closure(elf, library_dirs):
            # Store each library under its canonical /usr path, at the name the loader asks for.
            real = Path(os.path.realpath(lib))
            parent = Path(lib).parent.resolve()
            if parent in library_dirs:
                parent = SYSTEM_LIB_DIR
            dst = str(parent / Path(lib).name)
            if dst in seen:
                continue
            seen.add(dst)
            base.add_file(dst, real.read_bytes(), 0o755)

    out.mkdir(parents=True, exist_ok=True)
    layers, diff_ids = [], []
    for layer in (base, app):
        raw = layer.tar_bytes()
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        gz = gzip.compress(raw, compresslevel=9, mtime=0)
        digest, size = write_blob(out, gz)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": digest, "size": size})
    created = "1970-01-01T00:00:00Z" if mtime == 0 else \
        __import__("datetime").datetime.utcfromtimestamp(mtime).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = {
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "User": user,
            "Entrypoint": defn["entrypoint"],
            "Cmd": defn.get("cmd", []),
            "Env": defn.get("env", []),
            "WorkingDir": "/",
            "Labels": {"org.opencontainers.image.title": defn["name"],
                       "org.opencontainers.image.version": tag,
                       "org.opencontainers.image.description": defn["description"]},
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": created, "created_by": "images/oci_image.py: system files"},
                    {"created": created, "created_by": "images/oci_image.py: podprof files"}],
    }
    cfg_digest, cfg_size = write_blob(out, json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": cfg_digest, "size": cfg_size},
        "layers": layers,
    }
    man_digest, man_size = write_blob(out, json.dumps(manifest, sort_keys=True).encode())
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": man_digest, "size": man_size,
                       "platform": {"architecture": "amd64", "os": "linux"},
                       "annotations": {"org.opencontainers.image.ref.name": tag}}],
    }
    (out / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    (out / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}) + "\n")
    # Drop blobs of earlier builds that the new manifest does not reference.
    keep = {cfg_digest, man_digest, *(layer["digest"] for layer in layers)}
    for blob in (out / "blobs" / "sha256").iterdir():
        if f"sha256:{blob.name}" not in keep:
            blob.unlink()
    total = cfg_size + man_size + sum(layer["size"] for layer in layers)
    print(f"{defn['name']}:{tag} -> {out} ({total / 1048576:.2f} MiB compressed)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("definition")
    ap.add_argument("--build", required=True, help="build directory holding the artefacts")
    ap.add_argument("--out", required=True, help="directory of the OCI layout to write")
    ap.add_argument("--tag", default=None)
    args = ap.parse_args()
    defn = json.loads(Path(args.definition).read_text())
    tag = args.tag
    if tag is None:
        m = re.search(r'PODPROF_VERSION "([^"]+)"',
                      (ROOT / "include" / "podprof" / "version.h").read_text())
        tag = m.group(1) if m else "latest"
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    build_image(defn, Path(args.build).resolve(), Path(args.out), tag, mtime)


if __name__ == "__main__":
    main()

"""`podprof install DIR`: the init container's copy of the library, as root and as an unprivileged
user on a read-only root filesystem where only DIR is writable."""
import hashlib
import os
import shutil
import stat
import subprocess
import tempfile

import pytest

from podprof_pprof import BUILD

PODPROF = BUILD / "bin" / "podprof"
LIBRARY = BUILD / "lib" / "libpodprof.so"
NOBODY = 65534


def install(*args, **kw):
    return subprocess.run([str(PODPROF), "install", *map(str, args)], capture_output=True,
                          text=True, timeout=60, **kw)


def test_copies_verifies_and_reports(tmp_path):
    r = install(tmp_path)
    assert r.returncode == 0, r.stderr
    dest = tmp_path / "libpodprof.so"
    data = LIBRARY.read_bytes()
    assert dest.read_bytes() == data
    assert stat.S_IMODE(dest.stat().st_mode) == 0o555
    digest = hashlib.sha256(data).hexdigest()
    assert r.stdout == f"podprof install: {dest} ({len(data)} bytes, sha256 {digest})\n"
    assert r.stderr == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["libpodprof.so"]


def test_replaces_an_existing_copy(tmp_path):
    old = tmp_path / "libpodprof.so"
    old.write_bytes(b"stale")
    old.chmod(0o444)
    assert install(tmp_path).returncode == 0
    assert old.read_bytes() == LIBRARY.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["libpodprof.so"]


@pytest.mark.parametrize("case", ["missing", "file"])
def test_bad_directory_is_one_line(tmp_path, case):
    target = tmp_path / "nope"
    if case == "file":
        target.write_text("x")
    r = install(target)
    assert r.returncode == 2
    reason = "No such file or directory" if case == "missing" else "not a directory"
    assert r.stderr == f"podprof install: {target}: {reason}\n"


def test_usage_errors(tmp_path):
    assert install().returncode == 2
    assert install(tmp_path, tmp_path).returncode == 2
    r = install("--bogus", tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--bogus" in r.stderr


def test_library_missing_or_not_elf(tmp_path):
    (tmp_path / "bin").mkdir()
    exe = tmp_path / "bin" / "podprof"
    shutil.copy(PODPROF, exe)
    dest = tmp_path / "dest"
    dest.mkdir()
    r = subprocess.run([str(exe), "install", str(dest)], capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.startswith("podprof: libpodprof.so not found at ")
    assert r.stderr.count("\n") == 1
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "libpodprof.so").write_bytes(b"#!/bin/sh\necho not a library\n" * 10)
    r = subprocess.run([str(exe), "install", str(dest)], capture_output=True, text=True)
    assert r.returncode == 1
    assert "is not a shared library for this machine" in r.stderr
    assert r.stderr.count("\n") == 1
    assert list(dest.iterdir()) == []


def _can_unshare():
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv"):
        return False
    return subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_unshare(), reason="needs root to build a mount namespace")
def test_unprivileged_on_read_only_root():
    """As in the pod: uid 65534, every filesystem read-only except the emptyDir mounted at DIR."""
    top = tempfile.mkdtemp(prefix="podprof-ro-")
    try:
        os.chmod(top, 0o755)
        # nobody runs a copy inside top: the checkout's own directories need not be
        # world-traversable (a clone under a `mktemp -d` folder is not)
        tool = os.path.join(top, "tool")
        os.mkdir(tool)
        podprof = os.path.join(tool, "podprof")
        shutil.copy(PODPROF, podprof)
        shutil.copy(LIBRARY, os.path.join(tool, "libpodprof.so"))
        for f in (tool, podprof):
            os.chmod(f, 0o755)
        os.chmod(os.path.join(tool, "libpodprof.so"), 0o644)
        volume, mountpoint, other = (os.path.join(top, n) for n in ("vol", "opt", "other"))
        for d in (volume, mountpoint, other):
            os.mkdir(d)
            os.chown(d, NOBODY, NOBODY)
        as_nobody = f"setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups"
        script = f"""
            set -e
            mount --bind {volume} {mountpoint}
            mount -o remount,bind,ro /
            mount -o remount,bind,ro {top} 2>/dev/null || true
            mount -o remount,bind,rw {mountpoint}
            if touch {top}/probe 2>/dev/null; then echo "root still writable"; exit 9; fi
            set +e
            {as_nobody} {podprof} install {mountpoint}; echo "rc=$?"
            {as_nobody} {podprof} install {other}; echo "rc=$?"
        """
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                           capture_output=True, text=True, timeout=60)
        assert "root still writable" not in r.stdout
        lines = r.stdout.splitlines()
        assert lines[0].startswith(f"podprof install: {mountpoint}/libpodprof.so (")
        assert lines[1] == "rc=0"
        assert lines[2] == "rc=1"
        assert r.stderr == (f"podprof install: cannot create a file in {other}: Read-only file "
                            f"system (it must be writable by uid {NOBODY})\n")
        installed = os.path.join(volume, "libpodprof.so")
        with open(installed, "rb") as f:
            assert f.read() == LIBRARY.read_bytes()
        st = os.stat(installed)
        assert st.st_uid == NOBODY
        assert os.listdir(volume) == ["libpodprof.so"]
    finally:
        shutil.rmtree(top, ignore_errors=True)

"""The CPython interpreters the sampler suites and benchmarks run, by name:

- every pyenv CPython 3.8-3.13 (`--enable-shared`, internal headers installed);
- Debian's /usr/bin/python3 (3.11, static);
- 3.14 and 3.15 from Debian's unstable suite, in the Debian sid chroot scripts/pychroot.sh builds
  (they need a newer glibc than the host's): each is a launcher in the build tree that runs the
  interpreter inside the chroot, with the checkout, the build tree and /tmp at the same paths and
  the caller's pid, so a test treats it like any other python;
- 3.13t, the free-threaded build scripts/build_python_ft.sh makes from Debian's python3.13
  source.

The chroot and 3.13t are built once and cached (~/.cache/podprof); asking for them here builds
what is missing (the layout checks, which run first in `make check`, usually already have)."""
import os
import subprocess
from pathlib import Path

from podprof_testenv import BUILD, ROOT

PYENV = Path(subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
             or Path.home() / ".pyenv")
PYENV_VERSIONS = ("3.8.18", "3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0")
CHROOT_VERSIONS = ("3.14", "3.15")
FREE_THREADED = ("3.13t",)


def _script(name, *args):
    """Runs a provisioning script (it builds what is missing) and returns the path it prints."""
    r = subprocess.run([str(ROOT / "scripts" / name), *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (name, r.stderr[-3000:]))
    return Path(r.stdout.strip().splitlines()[-1])


def chroot_python(version):
    """A launcher for python<version> of the sid chroot, written into the build tree."""
    _script("pychroot.sh", "build")
    launcher = BUILD / "pythons" / ("python" + version)
    text = "#!/bin/sh\nexec %s exec /usr/bin/python%s \"$@\"\n" % (ROOT / "scripts" / "pychroot.sh",
                                                                  version)
    if not launcher.exists() or launcher.read_text() != text:
        launcher.parent.mkdir(parents=True, exist_ok=True)
        tmp = launcher.with_suffix(".%d" % os.getpid())
        tmp.write_text(text)
        tmp.chmod(0o755)
        tmp.rename(launcher)
    return launcher


def free_threaded_python():
    return _script("build_python_ft.sh") / "bin" / "python3.13t"


def slowdown(python):
    """How many times longer than a GIL build this interpreter may take to start and import on a
    busy machine. The free-threaded 3.13 spins (40 sched_yield calls) before it sleeps on a mutex,
    also on the type lock it takes again, nested, whenever a class with a metaclass is created
    (ABCMeta, enum, ctypes); with other processes on the cores every yield hands them a time
    slice. Measured here with four busy processes on the two cores and no profiler: `python -c
    pass` 3.5 s, the attribution workload 18 s where 3.13 (GIL) takes 2.4 s. Free-threaded
    builds are named python3.Xt."""
    return 8 if Path(python).name.endswith("t") else 1


def all_pythons():
    """{name: executable} of every interpreter the suites run."""
    found = {v: PYENV / "versions" / v / "bin" / "python3" for v in PYENV_VERSIONS}
    found["debian"] = Path("/usr/bin/python3")
    for v in CHROOT_VERSIONS:
        found[v] = chroot_python(v)
    found["3.13t"] = free_threaded_python()
    return found

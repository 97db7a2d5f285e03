"""The servers the entry-point tests run, and ddtrace for the coexistence test, installed from PyPI
once and cached.

Pure-Python packages (gunicorn, uvicorn and their dependencies, all py3-none-any wheels) go into
one directory every interpreter imports through PYTHONPATH. uWSGI is C and compiles against one
interpreter (a pyenv CPython with a shared libpython), so it has a directory of its own. Every
version is pinned (dependencies included: --no-deps), and a directory is named after a hash of
its pins, so a changed pin installs afresh and an unchanged one costs nothing.

Run it directly to fill the cache ahead of the tests:
    python3 tests/sampler/entry_deps.py [PYTHON_TO_BUILD_UWSGI_FOR]
"""
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

PURE = ["gunicorn==23.0.0", "packaging==24.2", "uvicorn==0.33.0", "click==8.1.7",
        "h11==0.14.0", "typing_extensions==4.12.2"]
# uWSGI's setup.py needs setuptools; pinned here instead of letting pip's build isolation pick
# the newest.
UWSGI = ["uwsgi==2.0.28"]
UWSGI_BUILD_TOOLS = ["setuptools==75.3.0", "wheel==0.45.1"]
# Datadog's tracer with its profiler (binary wheels for one CPython), and what it needs, pinned:
# the version tests/bench/sampler_overhead.py measures against.
DDTRACE = ["ddtrace==4.16.0", "ddtrace-internal==0.1.0", "bytecode==0.19.1", "envier==0.6.1",
           "opentelemetry-api==1.45.3", "typing_extensions==4.16.0", "wrapt==2.5.2"]

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "podprof" / "entrypoints"
PIP = ["-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-input"]


def _key(*parts):
    return hashlib.sha256("\n".join(str(p) for p in parts).encode()).hexdigest()[:12]


def _install(name, key, fill):
    """The cached directory name-key, filled by fill(tmp_dir) the first time only."""
    dest = CACHE / ("%s-%s" % (name, key))
    if (dest / ".complete").exists():
        return dest
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (dest / ".complete").exists():
            return dest
        tmp = dest.with_name(dest.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        fill(tmp)
        (tmp / ".complete").write_text("ok\n")
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    return dest


def _pip(python, args, env=None):
    r = subprocess.run([str(python)] + PIP + args, capture_output=True, text=True, env=env,
                       timeout=900)
    if r.returncode != 0:
        raise RuntimeError("pip install %s failed:\n%s%s" % (" ".join(args), r.stdout, r.stderr))


def pure_packages(python):
    """Directory to put on PYTHONPATH for gunicorn and uvicorn (any CPython 3.8+)."""
    return _install("pure", _key(*PURE), lambda d: _pip(
        python, ["--no-deps", "--only-binary=:all:", "--target", str(d)] + PURE))


def uwsgi(python):
    """Path of a uwsgi binary built against this python's libpython."""
    python = Path(python)

    def fill(d):
        tools = d / "build-tools"
        _pip(python, ["--no-deps", "--only-binary=:all:", "--target", str(tools)]
             + UWSGI_BUILD_TOOLS)
        env = dict(os.environ, PYTHONPATH=str(tools))
        _pip(python, ["--no-deps", "--no-build-isolation", "--no-binary=:all:", "--target",
                      str(d / "site")] + UWSGI, env=env)

    return _install("uwsgi", _key(python.resolve(), *UWSGI, *UWSGI_BUILD_TOOLS),
                    fill) / "site" / "bin" / "uwsgi"


def ddtrace(python):
    """Directory to put on PYTHONPATH for ddtrace (binary wheels built for this python)."""
    python = Path(python)
    return _install("ddtrace", _key(python.resolve(), *DDTRACE), lambda d: _pip(
        python, ["--no-deps", "--only-binary=:all:", "--target", str(d)] + DDTRACE))


if __name__ == "__main__":
    print(pure_packages(sys.executable))
    if len(sys.argv) > 1:
        print(uwsgi(sys.argv[1]))

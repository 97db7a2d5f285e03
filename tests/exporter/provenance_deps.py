"""The distributions the code-provenance tests run, installed from PyPI once and cached (as
tests/sampler/entry_deps.py does for the entry-point servers), in the layouts applications use:

- a virtualenv of a pyenv CPython (site-packages), created by that interpreter's own venv module;
- for Debian's python3, a dist-packages directory (pip --target), put on PYTHONPATH beside
  Debian's own /usr/lib/python3/dist-packages.

Every version is pinned in provenance-requirements.txt; a directory is named after a hash of the
pins and the interpreter, so a changed pin installs afresh and an unchanged one costs nothing.

    python3 tests/exporter/provenance_deps.py PYTHON...   # fill the cache ahead of the tests
"""
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sampler"))
import entry_deps  # noqa: E402

REQUIREMENTS = Path(__file__).resolve().parent / "provenance-requirements.txt"
PINS = REQUIREMENTS.read_text()
PIP_ARGS = ["--no-deps", "--only-binary=:all:", "-r", str(REQUIREMENTS)]


def virtualenv(python):
    """A venv of `python` with the pinned distributions: the path of its python."""
    python = Path(python)

    def fill(d):
        r = subprocess.run([str(python), "-m", "venv", str(d)], capture_output=True, text=True,
                           timeout=300)
        if r.returncode != 0:
            raise RuntimeError("venv %s failed:\n%s" % (d, r.stderr))
        # the venv's own pip, so the distributions land exactly as an application's do
        entry_deps._pip(d / "bin" / "python", PIP_ARGS)

    # the venv's python is found through its pyvenv.cfg, so the directory may be renamed
    return entry_deps._install("provenance-venv", entry_deps._key(python.resolve(), PINS),
                               fill) / "bin" / "python"


def dist_packages(pip_python):
    """A dist-packages directory with the pinned distributions for the interpreter pip_python
    runs as (Debian's python3 for the test environment's .venv)."""
    pip_python = Path(pip_python)

    def fill(d):
        entry_deps._pip(pip_python, ["--target", str(d / "dist-packages")] + PIP_ARGS)

    return entry_deps._install("provenance-dist", entry_deps._key(pip_python, PINS),
                               fill) / "dist-packages"


if __name__ == "__main__":
    for py in sys.argv[1:]:
        print(virtualenv(py))

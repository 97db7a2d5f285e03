"""Shared pytest fixtures: where the build under test lives and how to run it under the sanitizers."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("PODPROF_BUILD", ROOT / "build")).resolve()
SANITIZED = os.environ.get("PODPROF_SAN") == "1"


def asan_runtime_preload():
    """LD_PRELOAD entries an uninstrumented host (python) needs before an ASan-built library."""
    if not SANITIZED:
        return []
    libs = []
    for name in ("libasan.so", "libubsan.so"):
        path = subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True,
                              text=True, check=True).stdout.strip()
        libs.append(os.path.realpath(path))
    return libs


@pytest.fixture(scope="session")
def build_dir():
    return BUILD


@pytest.fixture(scope="session")
def root_dir():
    return ROOT

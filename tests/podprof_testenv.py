"""What every test suite shares: where the build under test lives and how to run it under the
sanitizers. Imported as `from podprof_testenv import ...` (pytest.ini puts tests/ on sys.path);
a test never imports `conftest`, whose name every suite's own conftest.py shares."""
import os
import subprocess
from pathlib import Path

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

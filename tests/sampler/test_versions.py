"""Which CPython the library profiles is decided by the layout table alone: a version newer than
the table (here a process whose _PyRuntime announces 3.16 in its _Py_DebugOffsets header, GIL or
free-threaded) is refused with one clear line, writes nothing and is left alone."""
import subprocess

import pytest

from test_sampler import WORKLOADS, preload_env


@pytest.mark.parametrize("free_threaded,name", [(0, "3.16"), (1, "3.16t")])
def test_newer_cpython_is_refused_with_one_line(free_threaded, name, tmp_path):
    exe = tmp_path / "fake-python"
    cc = subprocess.run(["cc", "-O1", "-rdynamic", "-DFAKE_FREE_THREADED=%d" % free_threaded,
                         "-o", str(exe), str(WORKLOADS / "fake_runtime.c")],
                        capture_output=True, text=True, timeout=120)
    assert cc.returncode == 0, cc.stderr
    out = tmp_path / "out"
    out.mkdir()
    r = subprocess.run([str(exe)], env=preload_env(out), capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines == ["podprof: CPython %s (_Py_DebugOffsets) is not supported; not profiling"
                     % name], r.stderr
    assert list(out.iterdir()) == []

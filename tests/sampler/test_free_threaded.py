"""Free-threaded CPython (3.13t): Python threads run truly in parallel while the sampler reads
their frames, so its reads race the threads far more often than under the GIL. Torn reads must
stay rare and be dropped, never attributed to another thread or function."""
import json

import pytest

from interpreters import FREE_THREADED
from test_sampler import PYTHONS, WORKLOADS, names, profiles, run

WORKERS = ("work_1", "work_2", "work_3", "work_4")


@pytest.mark.parametrize("version", FREE_THREADED)
def test_parallel_threads_known_split(version, tmp_path):
    r = run(PYTHONS[version], [WORKLOADS / "parallel.py", tmp_path / "out.json"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "out.json").read_text())["gil"] is False
    samples = [s for prof, _ in profiles(tmp_path) for s in prof["samples"]]
    cpu = dict.fromkeys(WORKERS, 0)
    for s in samples:
        in_stack = [fn for fn in WORKERS if fn in names(s)]
        if not in_stack:
            continue
        # one worker per stack, on its own thread, called from run(): nothing mixed up
        assert len(in_stack) == 1, names(s)
        fn = in_stack[0]
        assert s["labels"]["thread name"] == "par-" + fn, (s["labels"], names(s))
        assert names(s)[names(s).index(fn) + 1] == "run", names(s)
        cpu[fn] += s["values"]["cpu-time"]
    total = sum(cpu.values())
    assert total > 0, cpu
    # the 1:2:3:4 split of thread CPU time, each within 2 percentage points
    for i, fn in enumerate(WORKERS, 1):
        assert abs(cpu[fn] / total - i / 10) <= 0.02, (fn, {k: v / total for k, v in cpu.items()})
    # torn reads are counted and dropped, and rare
    counters = profiles(tmp_path)[-1][1]["counters"]
    assert counters["cycles"] + counters["read_failures"] <= max(2, counters["samples"] // 100), \
        counters

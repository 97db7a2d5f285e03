"""Thread names learnt late (a thread `threading` listed only after it was sampled) are given to
that thread only: a pthread_t ident is reused once its thread has ended, and a later thread with
the same ident must not rename the earlier one's samples (seen on 3.13t, where the attribution
workload's OS-named thread ended before a threading.Thread started)."""
import json

import pytest

from test_sampler import PYTHONS, WORKLOADS, all_samples, names, run


@pytest.mark.parametrize("version", ["3.12.1", "3.13t"])
def test_reused_ident_keeps_each_threads_name(version, tmp_path):
    r = run(PYTHONS[version], [WORKLOADS / "ident_reuse.py", tmp_path / "out.json"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "out.json").read_text())["reused"], "no ident was reused"
    samples = all_samples(tmp_path)
    # A sample taken before `first` named itself carries the name it had then; what must never
    # happen is one thread's samples carrying the other's name.
    for fn, name, other in (("first", "pp-first", "pp-second"), ("second", "pp-second", "pp-first")):
        seen = {s["labels"]["thread name"] for s in samples if fn in names(s)}
        assert name in seen and other not in seen, (fn, seen)

"""The timeline (DD_PROFILING_TIMELINE_ENABLED, on by default): with a real CPython, every CPU and
wall sample (not the allocation samples of memory profiles, which are summed) carries an end_timestamp_ns label inside its profile's time window; a thread's samples
cover disjoint intervals [end - wall-time, end] that follow each other; a phase of known wall-clock
time shows up at that time; nothing is lost against the counters; `go tool pprof` reads the
profiles; and switched off, no timestamp is written at all."""
import gzip
import json
import subprocess
from collections import defaultdict

from test_sampler import GO, PYTHONS, WORKLOADS, names, profiles, python, run  # noqa: F401

TS = "end_timestamp_ns"


def leaf_phase(sample):
    return next((n for n in names(sample) if n in ("phase_a", "phase_b")), None)


def test_samples_carry_their_time(python, tmp_path):  # noqa: F811 (fixture)
    windows_path = tmp_path / "windows.json"
    r = run(python, [WORKLOADS / "timeline.py", windows_path], tmp_path,
            DD_PROFILING_UPLOAD_INTERVAL=0.5)
    assert r.returncode == 0, r.stderr
    windows = json.loads(windows_path.read_text())
    profs = profiles(tmp_path)
    assert len(profs) >= 2, "expected several profiles at a 0.5 s interval"
    previous_samples = 0
    in_phase = {"phase_a": 0, "phase_b": 0}
    total_phase = {"phase_a": 0, "phase_b": 0}
    for prof, meta in profs:
        counters = meta["counters"]
        assert counters["timeline_full"] == 0
        samples = prof["samples"]
        # every observation of this profile is one of its samples' counts, timed
        assert sum(s["values"]["wall-samples"] for s in samples) == \
            counters["samples"] - previous_samples
        previous_samples = counters["samples"]
        lo, hi = prof["time_nanos"], prof["time_nanos"] + prof["duration_nanos"]
        by_thread = defaultdict(list)
        for s in samples:
            if s["values"]["wall-samples"] == 0 and s["values"]["cpu-samples"] == 0:
                # an allocation, exception, lock or GIL wait sample (those are not timed): no CPU or
                # wall of its own (the interpreter itself may raise and catch, e.g. inside re on
                # 3.13t; a thread waits for the GIL in Event.wait)
                assert any(s["values"].get(t, 0) for t in
                           ("alloc-samples", "heap-live-samples", "exception-samples",
                            "lock-acquire", "lock-acquire-wait", "lock-release", "gil-wait")), s
                assert TS not in s["labels"], s
                continue
            assert TS in s["labels"], s
            end = s["labels"][TS]
            assert isinstance(end, int) and lo <= end <= hi, (lo, end, hi)
            assert s["values"]["wall-samples"] == s["values"]["cpu-samples"] >= 1
            by_thread[s["labels"]["thread native id"]].append(
                (end, s["values"]["wall-time"], s))
        for tid, items in by_thread.items():
            items.sort(key=lambda x: x[0])
            for (end0, _, _), (end1, wall1, s1) in zip(items, items[1:]):
                # one sample per thread per pass: ends differ, and the intervals never overlap
                assert end1 > end0, (tid, end0, end1)
                if end1 < hi:  # the last may have been clamped to the window's end
                    assert end1 - wall1 >= end0, (tid, end0, end1, wall1)
        for s in samples:
            phase = leaf_phase(s)
            # only timed samples place a phase in time (a GIL wait inside a phase is untimed)
            if phase and s["values"]["wall-samples"]:
                total_phase[phase] += 1
                end = s["labels"][TS]
                # seen while the phase ran: the pass's clock is read just before the stack
                if any(start - 20_000_000 <= end <= stop for start, stop in windows[phase]):
                    in_phase[phase] += 1
    for phase in ("phase_a", "phase_b"):
        assert total_phase[phase] >= 3, total_phase
        assert in_phase[phase] >= 0.9 * total_phase[phase], (phase, in_phase, total_phase)


def test_go_pprof_reads_timeline_profiles(tmp_path):
    r = run(PYTHONS["3.12.1"], [WORKLOADS / "timeline.py", tmp_path / "w.json"], tmp_path)
    assert r.returncode == 0, r.stderr
    pprof = sorted(tmp_path.glob("prof.*.pprof"))
    assert pprof
    raw = subprocess.run([GO, "tool", "pprof", "-raw", str(pprof[-1])],
                         capture_output=True, text=True, timeout=120)
    assert raw.returncode == 0, raw.stderr
    assert TS + ":[" in raw.stdout
    top = subprocess.run([GO, "tool", "pprof", "-top", "-sample_index=cpu-time", str(pprof[-1])],
                         capture_output=True, text=True, timeout=120)
    assert top.returncode == 0, top.stderr
    assert "spin" in top.stdout


def test_switched_off_no_timestamps(tmp_path):
    r = run(PYTHONS["3.12.1"], [WORKLOADS / "timeline.py", tmp_path / "w.json"], tmp_path,
            DD_PROFILING_TIMELINE_ENABLED="false")
    assert r.returncode == 0, r.stderr
    profs = profiles(tmp_path)
    assert profs
    for prof, _ in profs:
        assert prof["samples"]
        for s in prof["samples"]:
            assert TS not in s["labels"]
    for p in tmp_path.glob("prof.*.pprof"):
        assert TS.encode() not in gzip.decompress(p.read_bytes())

"""A hook's record is named against what the sampler thread resolved for its thread last (the
stable tail, resolve_memo.h), and its stack is found in the profile against the thread's last
stack (aggregate.c): a record that shares its leaf and every frame below its middle with the
thread's previous one must still be named after its own middle frame and depth
(workloads/record_tails.py).

Certain, not statistical: with a mean sample size of 64 KiB every 1 MiB allocation is sampled
(p = 1 - exp(-16), weight 1 after rounding; the chance that any of the 1,200 is not is 1.4e-4),
so each shape carries exactly its count of alloc-samples unless a ring drop lost some (counted):
a shape with more, or a stack of no shape, is a record named after another record's frames."""
import json

from test_sampler import PYTHONS, WORKLOADS, profiles, python_fixture, run

python = python_fixture(sorted(PYTHONS))


def shape_of(frames, expect):
    """The shape a stack through the workload's leaf was made by, else what it is instead."""
    names = [f[0].rsplit(".", 1)[-1] for f in frames]  # (3.11+: qualified names)
    tops = 0
    while 3 + tops < len(names) and names[3 + tops] == "top":
        tops += 1
    well_formed = names[:2] == ["leaf", "below"] and names[3 + tops:4 + tops] == ["worker"]
    if not well_formed:
        return tuple(names)
    shape = None
    if names[2] == "mid_other":
        shape = "mid_other"
    elif names[2] == "mid":
        shape = {v: k for k, v in expect["mid_lines"].items()}.get(frames[2][2])
        if shape == "mid_first" and tops == expect["depth"] + 2:
            return "deeper"
    return shape if shape and tops == expect["depth"] + 1 else (tuple(names), frames[2][2])


def test_records_differing_in_a_middle_frame_keep_their_own_names(python, tmp_path):
    expect_path = tmp_path / "expect.json"
    r = run(python, [WORKLOADS / "record_tails.py", expect_path], tmp_path, timeout=240,
            DD_PROFILING_MEMORY_ENABLED="true", DD_PROFILING_HEAP_SAMPLE_SIZE=65536)
    assert r.returncode == 0, r.stderr
    expect = json.loads(expect_path.read_text())
    counts, dropped = {}, 0
    for prof, meta in profiles(tmp_path):
        dropped = max(dropped, meta["counters"]["alloc_samples_dropped"])
        for s in prof["samples"]:
            n = s["values"].get("alloc-samples", 0)
            frames = s["frames"]
            if not n or not frames or frames[0][0].rsplit(".", 1)[-1] != "leaf":
                continue
            assert frames[0][2] == expect["leaf_line"], frames
            shape = shape_of(frames, expect)
            counts[shape] = counts.get(shape, 0) + n
    wrong = {k: v for k, v in counts.items() if k not in expect["shapes"]}
    assert not wrong, wrong
    if dropped:
        assert all(counts.get(k, 0) <= v for k, v in expect["shapes"].items()), (counts, dropped)
        assert sum(counts.values()) + dropped >= sum(expect["shapes"].values()), counts
    else:
        assert counts == expect["shapes"], counts

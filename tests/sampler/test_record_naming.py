"""Stacks recorded by the allocation hook are named by the sampler thread later, after the code
objects they ran may have been freed and others allocated at the same addresses
(workloads/record_naming.py). A freed code object's header may linger in memory unchanged but
for the allocator's free-list link, its strings and line table already given to other objects:
an entry built from it would name a stack after the wrong lines (seen: gen_128 at gen_129's).

Certain, not statistical: with a mean sample size of 64 KiB every 1 MiB allocation is sampled
(p = 1 - exp(-16), weight 1 after rounding), so gen_K's line carries exactly CALLS samples unless
a ring drop lost some (counted): more than CALLS, another name or another line would be a stack
named after a code object that did not record it.

A record is also named against what the sampler thread resolved for its thread last (the stable
tail, resolve_memo.h), and its stack found in the profile against the thread's last stack
(aggregate.c): a record that shares its leaf and every frame below its middle with the thread's
previous one must still be named after its own middle frame and depth (workloads/record_tails.py,
1,200 allocations, the same certainty)."""
import json

from test_sampler import PYTHONS, WORKLOADS, profiles, python_fixture, run

python = python_fixture(sorted(PYTHONS))
GONE = "<code freed before it was named>"


def every_allocation_sampled(python, tmp_path, workload):
    """Runs a workload whose 1 MiB allocations are all sampled, weight 1; what it expects."""
    expect_path = tmp_path / "expect.json"
    r = run(python, [WORKLOADS / workload, expect_path], tmp_path, timeout=240,
            DD_PROFILING_MEMORY_ENABLED="true", DD_PROFILING_HEAP_SAMPLE_SIZE=65536)
    assert r.returncode == 0, r.stderr
    return json.loads(expect_path.read_text())


def test_reused_code_addresses_name_their_own_code(python, tmp_path):
    expect = every_allocation_sampled(python, tmp_path, "record_naming.py")
    iterations, calls = expect["iterations"], expect["calls"]
    # the allocator did reuse the addresses of freed code objects (else this checks nothing)
    assert expect["code_addresses"] < iterations, expect
    per_name = {}
    for prof, _ in profiles(tmp_path):
        for s in prof["samples"]:
            n = s["values"].get("alloc-samples", 0)
            leaf = s["frames"][0] if s["frames"] else None
            if not n or not leaf or not (leaf[0].startswith("gen_") or leaf[0] == GONE):
                continue
            if leaf[0] == GONE:
                continue  # freed before the sampler thread read it: named as such, not wrongly
            k = int(leaf[0][len("gen_"):])
            assert 0 <= k < iterations, leaf
            # (its frame or iterator, on the def line or the next: weighed by their small size)
            assert leaf[2] in (2, 3, expect["alloc_line"] + k % 3), (leaf, s["frames"])
            if leaf[2] == expect["alloc_line"] + k % 3:
                per_name[k] = per_name.get(k, 0) + n
    over = {k: v for k, v in per_name.items() if v > calls}
    assert not over, over
    # something was named at all (else this checks nothing). The sampler thread drains the ring
    # each pass and whenever it is a quarter full, so most iterations are named on a quiet
    # machine; a starved one names a freed function's records as such (skipped above) or drops
    # them when the ring is full: a tenth is far below what timing can take away here.
    assert len(per_name) >= iterations // 10, len(per_name)


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
    expect = every_allocation_sampled(python, tmp_path, "record_tails.py")
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
    # a record named after another's frames is one shape over its count (and another under);
    # under alone is a ring drop (counted) or, for 3 or more, p < 1e-12 (unsampled ones)
    over = {k: v for k, v in counts.items() if v > expect["shapes"][k]}
    assert not over, (counts, expect["shapes"])
    assert sum(counts.values()) + dropped >= sum(expect["shapes"].values()) - 2, (counts, dropped)

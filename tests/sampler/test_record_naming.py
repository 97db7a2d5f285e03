"""Stacks recorded by the allocation hook are named by the sampler thread later, after the code
objects they ran may have been freed and others allocated at the same addresses
(workloads/record_naming.py). A freed code object's header may linger in memory unchanged but
for the allocator's free-list link, its strings and line table already given to other objects:
an entry built from it would name a stack after the wrong lines (seen: gen_128 at gen_129's).

Certain, not statistical: with a mean sample size of 64 KiB every 1 MiB allocation is sampled
(p = 1 - exp(-16), weight 1 after rounding), so gen_K's line carries exactly CALLS samples unless
a ring drop lost some (counted): more than CALLS, another name or another line would be a stack
named after a code object that did not record it."""
import json

from test_sampler import PYTHONS, WORKLOADS, profiles, python_fixture, run

python = python_fixture(sorted(PYTHONS))
GONE = "<code freed before it was named>"


def test_reused_code_addresses_name_their_own_code(python, tmp_path):
    expect_path = tmp_path / "expect.json"
    r = run(python, [WORKLOADS / "record_naming.py", expect_path], tmp_path, timeout=240,
            DD_PROFILING_MEMORY_ENABLED="true", DD_PROFILING_HEAP_SAMPLE_SIZE=65536)
    assert r.returncode == 0, r.stderr
    expect = json.loads(expect_path.read_text())
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

"""The library's count of freed code objects (sampler/lib/code_frees.h): with it installed the
sampler thread verifies a code object once for as long as no code object is freed, instead of once
per pass; a free starts a new verification pass; and a code object allocated at a freed one's
address is never named after it (workloads/code_frees.py). Counters from the profile's metadata
(cumulative per process): code_checks (headers read to verify), code_check_passes (verification
passes begun, one per sampling pass without the hook), code_frees (the hook's count)."""
import json

from test_sampler import PYTHONS, WORKLOADS, all_samples, profiles, python_fixture, run

python = python_fixture(sorted(PYTHONS))
# CPU and wall sampling alone: no in-process hook, so no count of frees either
CPU_ONLY = {"DD_PROFILING_MEMORY_ENABLED": "false", "DD_PROFILING_EXCEPTION_ENABLED": "false",
            "DD_PROFILING_GIL_ENABLED": "false", "DD_PROFILING_LOCK_ENABLED": "false"}


def run_workload(python, tmp_path, mode, hooked=True, **extra):
    expect_path = tmp_path / "expect.json"
    env = dict(extra, EXPECT_WRAPPER="1" if hooked else "0")
    if not hooked:
        env.update(CPU_ONLY)
    r = run(python, [WORKLOADS / "code_frees.py", expect_path, mode], tmp_path, timeout=120, **env)
    assert r.returncode == 0, r.stderr
    expect = json.loads(expect_path.read_text())
    assert expect["hooked"] == hooked, expect
    return expect, profiles(tmp_path)[-1][1]["counters"]


def test_steady_code_is_verified_once(python, tmp_path):
    """Two threads run the same functions for 2 s, freeing no code object: with the hook the
    verification passes are the few begun while the program started (imports free code objects),
    against one per sampling pass without it, and so are the headers read."""
    (tmp_path / "hooked").mkdir()
    (tmp_path / "cpu").mkdir()
    expect, hooked = run_workload(python, tmp_path / "hooked", "steady")
    _, plain = run_workload(python, tmp_path / "cpu", "steady", hooked=False)
    assert hooked["code_frees"] >= expect["freed"], (expect, hooked)
    assert hooked["code_check_passes"] <= hooked["passes"] // 4, hooked
    assert plain["code_frees"] == 0, plain
    assert plain["code_check_passes"] == plain["passes"] + 1, plain
    # the threads' frames are verified on every pass without the hook
    assert plain["code_checks"] >= plain["passes"], plain
    per_pass = hooked["code_checks"] / hooked["passes"]
    assert per_pass < 0.5 * plain["code_checks"] / plain["passes"], (hooked, plain)


def test_frees_start_a_new_verification_pass(python, tmp_path):
    """After each of BURSTS bursts of frees the threads run on for 0.25 s, many sampling
    intervals: the first pass after a burst begins a verification pass. Half of the bursts
    leaves room for a starved sampler thread."""
    expect, c = run_workload(python, tmp_path, "bursts")
    assert c["code_frees"] >= expect["freed"], (expect, c)
    assert c["code_check_passes"] >= expect["bursts"] // 2 + 1, (expect, c)


def test_reused_address_is_named_after_its_own_code(python, tmp_path):
    """gen_K's allocation record is named from gen_K's header after gen_K was freed (a freed
    object's header lingers); gen_K+1, made at gen_K's address, then spins 0.2 s while no code
    object is freed. An entry verified from the freed header and trusted
    while no code object is freed would name gen_K+1's frames gen_K, under the other parity's
    caller: certain to show, since gen_K+1 spins through many passes."""
    expect, c = run_workload(python, tmp_path, "reuse", DD_PROFILING_HEAP_SAMPLE_SIZE=65536)
    # the addresses were reused (else this checks nothing)
    assert expect["reused"] >= expect["pairs"] // 2, expect
    spun = set()
    for s in all_samples(tmp_path):
        names = [f[0] for f in s["frames"]]
        if not names or not names[0].startswith("gen_"):
            continue
        k = int(names[0][len("gen_"):])
        assert 0 <= k < expect["pairs"], names
        caller = "call_even" if k % 2 == 0 else "call_odd"
        assert names[1:2] == [caller], names
        if s["values"].get("cpu-time", 0):
            spun.add(k)
    # the spinning was seen (else this checks nothing): most of the 0.2 s spins on a quiet machine
    assert len(spun) >= expect["pairs"] // 3, spun

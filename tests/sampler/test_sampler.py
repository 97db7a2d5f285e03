"""libpodprof.so preloaded into every CPython of interpreters.py (pyenv 3.8-3.13, Debian's python3,
3.14 and 3.15 in a Debian sid chroot, free-threaded 3.13t): what it writes is decoded by an
independent decoder (pprof_decode.py) and by `go tool pprof`, and checked against what the
workloads are known to do."""
import json
import re
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from podprof_testenv import BUILD, asan_runtime_preload

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pprof_decode import decode  # noqa: E402
from interpreters import all_pythons, slowdown  # noqa: E402

LIB = BUILD / "lib" / "libpodprof.so"
WORKLOADS = Path(__file__).resolve().parent / "workloads"
PYTHONS = all_pythons()
GO = "/usr/local/go/bin/go"


def preload_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DD_")}
    env["LD_PRELOAD"] = ":".join(asan_runtime_preload() + [str(LIB)])
    env["ASAN_OPTIONS"] = "detect_leaks=0"
    env["DD_PROFILING_ENABLED"] = "true"
    env["DD_PROFILING_OUTPUT_PPROF"] = str(tmp_path / "prof")
    # A loaded CI machine (and ASan) makes passes slow; a generous budget keeps the rate, and so
    # the statistics the tests check, stable. test_adaptive_rate checks the budget itself.
    env["DD_PROFILING_MAX_TIME_USAGE_PCT"] = "25"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(python, args, tmp_path, timeout=60, **extra):
    """Runs python with the library preloaded; timeout is for a GIL build (see slowdown)."""
    return subprocess.run([str(python)] + [str(a) for a in args], env=preload_env(tmp_path, **extra),
                          capture_output=True, text=True, timeout=timeout * slowdown(python))


def profiles(tmp_path, pid=None):
    """(decoded pprof, metadata) of every profile written, in order."""
    out = []
    for meta_path in sorted(tmp_path.glob("prof.*.json"),
                            key=lambda p: [int(x) for x in p.name.split(".")[1:3]]):
        meta = json.loads(meta_path.read_text())
        if pid is None or meta["pid"] == pid:
            out.append((decode(meta_path.with_suffix(".pprof")), meta))
    return out


def all_samples(tmp_path, pid=None):
    return [s for prof, _ in profiles(tmp_path, pid) for s in prof["samples"]]


def names(sample):
    return [f[0] for f in sample["frames"]]


def python_fixture(params):
    """The `python` fixture of a suite: one run per interpreter named in params, failing (not
    skipping) when one is missing."""
    @pytest.fixture(params=params, ids=str)
    def python(request):
        if not PYTHONS[request.param].exists():
            pytest.fail("missing interpreter %s" % PYTHONS[request.param])
        return PYTHONS[request.param]
    return python


python = python_fixture(sorted(PYTHONS))


def test_attribution(python, tmp_path):
    expect_path = tmp_path / "expect.json"
    r = run(python, [WORKLOADS / "attribution.py", expect_path], tmp_path)
    assert r.returncode == 0, r.stderr
    expect = json.loads(expect_path.read_text())
    assert expect["profiler_ready"], "the library's first pass never registered its atexit callback"
    samples = all_samples(tmp_path)
    assert samples, "no samples"

    # the 3:1 CPU split, within 2 percentage points
    cpu = {"alpha": 0, "beta": 0}
    for s in samples:
        for fn in cpu:
            if fn in names(s):
                cpu[fn] += s["values"]["cpu-time"]
    share = cpu["alpha"] / (cpu["alpha"] + cpu["beta"])
    assert abs(share - 0.75) <= 0.02, (share, cpu)

    # exact caller lines, and the file
    for fn, key in (("alpha", "alpha_call"), ("beta", "beta_call")):
        frames = [f for s in samples for f in s["frames"] if f[0] == fn]
        assert frames and {f[2] for f in frames} == {expect[key]}, (fn, set(frames))
        assert {f[1] for f in frames} == {expect["file"]}

    # the sleeping thread: wall time, no CPU, its Python name (non-ASCII) from threading
    sleep = [s for s in samples if "sleeper" in names(s)]
    assert sleep
    assert sum(s["values"]["wall-time"] for s in sleep) >= 0.5e9
    assert sum(s["values"]["cpu-time"] for s in sleep) <= 0.02e9
    # every sample, the GIL wait it records as it wakes too, drained after the thread ended
    # (when other threads' starts had re-read the name table several times since, such a record
    # once carried the fallback name Thread-<tid>)
    assert {s["labels"]["thread name"] for s in sleep} == {"pp-sleeper-é"}
    # a thread the threading module does not know: its OS name, picked up within 100 ms
    os_named = [s for s in samples if "os_named" in names(s)]
    named = sum(s["values"]["wall-time"] for s in os_named
                if s["labels"]["thread name"] == "pp-os-named")
    assert named >= 0.5e9, {s["labels"]["thread name"] for s in os_named}
    assert any(s["labels"].get("thread name") == "MainThread" for s in samples)
    for s in samples:
        assert int(s["labels"]["thread native id"]) > 0 and int(s["labels"]["thread id"]) > 0

    # recursion: 21 nested recurse frames under the leaf, each caller on the recursive call line
    rec = [s for s in samples if names(s)[:2] == ["spin_until", "recurse"]]
    assert rec
    for s in rec:
        frames = [f for f in s["frames"] if f[0] == "recurse"]
        assert len(frames) == 21
        assert {f[2] for f in frames[1:]} == {expect["recurse_call"]}

    # truncation at DD_PROFILING_MAX_FRAMES (64): the omitted frames become one root frame
    # (only samples from its spin: one caught while the 101 frames are pushed or popped is shorter)
    deep = [s for s in samples if names(s)[:2] == ["spin_until", "deep"]]
    assert deep
    for s in deep:
        assert len(s["frames"]) == 65
        omitted = s["frames"][-1][0]
        assert omitted.endswith("frames omitted>"), omitted
        assert int(omitted.strip("<").split()[0]) >= 101 + 1 - 64

    # stacks read while threads run may be torn now and then (frames recycled under the reader,
    # counted and dropped), but never systematically
    counters = profiles(tmp_path)[-1][1]["counters"]
    assert counters["cycles"] + counters["read_failures"] <= max(2, counters["samples"] // 100), \
        counters

    # non-ASCII names survive intact: UCS-2 and Latin-1 names, a UCS-4 file name
    assert any("naïve_计算" in names(s) for s in samples)
    assert any(("café", "fichier_😀.py", 2) in s["frames"] for s in samples)


def test_idle_threads_reuse_their_stacks(python, tmp_path):
    """A thread whose CPU clock did not move is charged its previous stack without a walk; once it
    runs again its new stack is read."""
    r = run(python, [WORKLOADS / "idle.py"], tmp_path, DD_PROFILING_SAMPLE_RATE=100)
    assert r.returncode == 0, r.stderr
    [(prof, meta)] = profiles(tmp_path)
    assert meta["counters"]["unchanged_stacks"] > 0
    samples = prof["samples"]
    waiting = [s for s in samples if "wait_here" in names(s) and "after_wake" not in names(s)]
    woken = [s for s in samples if names(s)[:3] == ["spin", "after_wake", "wait_here"]]
    # each waiter waited about as long as the main thread was busy, on the line of event.wait()
    wait_line = next(i for i, text in enumerate(open(WORKLOADS / "idle.py"), 1)
                     if "event.wait()" in text)
    waiters = {s["labels"]["thread name"] for s in waiting}
    assert waiters == {f"waiter-{i}" for i in range(12)}, waiters
    for name in waiters:
        mine = [s for s in waiting if s["labels"]["thread name"] == name]
        at_wait = [s for s in mine
                   if any(f[0] == "wait_here" and f[2] == wait_line for f in s["frames"])]
        assert sum(s["values"]["wall-time"] for s in at_wait) >= 0.8e9
        # a walk may also catch the woken thread on the next line, between event.wait() and the
        # call of after_wake or after after_wake returned (seen once under ASan on 3.9)
        lines = {f[2] for s in mine for f in s["frames"] if f[0] == "wait_here"}
        assert lines <= {wait_line, wait_line + 1}, lines
    # what a thread burns after waking is on its new stack, not its old one
    assert sum(s["values"]["cpu-time"] for s in waiting) <= 0.05e9 * 12
    assert sum(s["values"]["cpu-time"] for s in woken) >= 0.5 * 12 * 0.15e9
    assert len({s["labels"]["thread name"] for s in woken}) >= 10
    # the same frame, asleep then running on another line: the CPU is on the running line
    lines = {tag: next(i for i, text in enumerate(open(WORKLOADS / "idle.py"), 1)
                       if f"# line: {tag}" in text) for tag in ("asleep", "running")}
    phase = [s for s in samples if names(s)[-1:] == ["phases"] or names(s)[:1] == ["phases"]]
    by_line = {}
    for s in phase:
        line = next(f[2] for f in s["frames"] if f[0] == "phases")
        cpu, wall = by_line.get(line, (0, 0))
        by_line[line] = (cpu + s["values"]["cpu-time"], wall + s["values"]["wall-time"])
    assert by_line[lines["asleep"]][1] >= 0.3e9 and by_line[lines["asleep"]][0] <= 0.03e9, by_line
    assert by_line[lines["running"]][0] >= 0.2e9, by_line


def test_go_pprof_reads_profiles(tmp_path):
    r = run(PYTHONS["3.12.1"], [WORKLOADS / "attribution.py", tmp_path / "e.json"], tmp_path)
    assert r.returncode == 0, r.stderr
    pprof = sorted(tmp_path.glob("prof.*.pprof"))
    assert pprof
    top = subprocess.run([GO, "tool", "pprof", "-top", "-sample_index=cpu-time", str(pprof[-1])],
                         capture_output=True, text=True, timeout=120)
    assert top.returncode == 0, top.stderr
    assert "spin_until" in top.stdout
    traces = subprocess.run([GO, "tool", "pprof", "-traces", str(pprof[-1])],
                            capture_output=True, text=True, timeout=120)
    assert traces.returncode == 0, traces.stderr
    assert "alpha" in traces.stdout and "pp-sleeper" in traces.stdout


def test_safety(python, tmp_path):
    r = run(python, [WORKLOADS / "safety.py"], tmp_path, DD_PROFILING_UPLOAD_INTERVAL=0.5)
    assert r.returncode == 0, r.stderr
    samples = all_samples(tmp_path)
    # 500 threads were all seen
    waiting = {s["labels"]["thread native id"] for s in samples
               if "many_threads" not in names(s) and names(s)[-1].endswith("_bootstrap")
               and any(n.split(".")[-1] == "wait" for n in names(s))}
    assert len(waiting) >= 450, len(waiting)
    # 5,000-deep recursion: 64 frames kept, the rest counted
    deep = [s for s in samples if "deep_recursion" in names(s)]
    assert deep
    # (a sample taken while the recursion winds up or down is shallower and not cut)
    omitted = [int(m.group(1)) for s in deep
               for m in [re.fullmatch(r"<(\d+) frames omitted>", s["frames"][-1][0])] if m]
    assert any(n >= 5000 - 64 for n in omitted), omitted
    # code objects freed and reallocated are never attributed to another function or file
    # churn_K is defined on line K+1 and calls spin_until on line K+2. While it calls, the line
    # is K+2; only a leaf churn_K, caught on its first instruction (RESUME, which CPython
    # locates on the def line), may be at K+1.
    churn = [(i, f) for s in samples for i, f in enumerate(s["frames"])
             if re.fullmatch(r"churn_\d", f[0])]
    assert churn
    for depth, (name, filename, line) in churn:
        k = int(name.split("_")[1])
        lines = {k + 1, k + 2} if depth == 0 else {k + 2}
        assert filename == "churn_file_%d.py" % k and line in lines, (depth, name, filename, line)
    # DD_PROFILING_UPLOAD_INTERVAL=0.5: several complete profiles, in sequence
    assert len(profiles(tmp_path)) >= 2
    # counters are in the metadata: every pprof sample was counted; the churn of threads that
    # exit between the thread list and the clock read was handled, not fatal
    metas = [m for _, m in profiles(tmp_path)]
    counted = metas[-1]["counters"]["samples"]  # counters are cumulative per process
    observed = sum(s["values"]["wall-samples"] for s in samples)
    assert counted == observed, (counted, observed)
    assert max(m["counters"]["threads_seen"] for m in metas) >= 1
    # a profile with a pass in it has a rate (one with only hook samples, e.g. GIL waits drained
    # at the exit flush right after the previous flush, may have had no pass)
    assert all(m["effective_sampling_rate_hz"] > 0 for prof, m in profiles(tmp_path)
               if any(s["values"]["wall-samples"] for s in prof["samples"]))


def test_subinterpreter_is_sampled(python, tmp_path):
    probe = subprocess.run([str(python), "-c", "import _xxsubinterpreters"], capture_output=True)
    probe13 = subprocess.run([str(python), "-c", "import _interpreters"], capture_output=True)
    if probe.returncode and probe13.returncode:
        pytest.skip("no sub-interpreter module in this build")
    r = run(python, [WORKLOADS / "subinterpreter.py"], tmp_path)
    assert r.returncode == 0, r.stderr
    samples = all_samples(tmp_path)
    sub = [s for s in samples if "sub_work" in names(s)]
    assert sub and all(s["frames"][0][1] == "<sub>" for s in sub)
    assert any("main_work" in names(s) for s in samples)


def test_adaptive_rate(tmp_path):
    """A starved budget stretches the interval and the profile says so; a generous one does not."""
    rates = {}
    for pct in ("0.01", "100"):
        out = tmp_path / pct
        out.mkdir()
        r = run(PYTHONS["3.12.1"], [WORKLOADS / "safety.py"], out,
                DD_PROFILING_MAX_TIME_USAGE_PCT=pct)
        assert r.returncode == 0, r.stderr
        metas = [m for _, m in profiles(out)]
        passes = metas[-1]["counters"]["passes"]
        rates[pct] = (passes, metas[-1]["effective_sampling_rate_hz"])
    assert rates["0.01"][1] < rates["100"][1] / 3, rates
    assert rates["0.01"][0] < rates["100"][0] / 3, rates


def test_proc_mem_fallback_reads(tmp_path):
    r = run(PYTHONS["3.12.1"], [WORKLOADS / "lifecycle.py", "exit"], tmp_path,
            PODPROF_TEST_FORCE_PROC_MEM_READS=1)
    assert r.returncode == 3, r.stderr
    assert any("work_exit" in names(s) for s in all_samples(tmp_path))


@pytest.mark.parametrize("how", ["exit", "raise", "sigterm", "fork", "mpfork"])
def test_lifecycle(python, how, tmp_path):
    r = run(python, [WORKLOADS / "lifecycle.py", how], tmp_path)
    expected_rc = {"exit": 3, "raise": 1, "sigterm": -signal.SIGTERM, "fork": 0, "mpfork": 0}[how]
    assert r.returncode == expected_rc, r.stderr
    samples = all_samples(tmp_path)
    assert any("work_" + how in names(s) for s in samples), how
    if how == "fork":
        metas = [m for _, m in profiles(tmp_path)]
        pids = {m["pid"] for m in metas}
        assert len(pids) == 2, pids
        by_pid = {pid: [names(s) for s in all_samples(tmp_path, pid)] for pid in pids}
        child = [pid for pid, stacks in by_pid.items() if any("child_work" in n for n in stacks)]
        # the parent spins in work_fork itself; the child may be caught in work_fork too, just
        # after the fork and before it calls child_work
        parent = [pid for pid, stacks in by_pid.items()
                  if any(n[:2] == ["spin_until", "work_fork"] for n in stacks)]
        assert len(child) == 1 and len(parent) == 1 and child != parent, by_pid.keys()
        # the child never reports the parent's samples, and has its own runtime id
        assert not any("child_work" in n for n in by_pid[parent[0]])
        assert len({m["runtime-id"] for m in metas}) == 2


def test_runtime_found_in_elf_symbol_table(tmp_path):
    r = run(PYTHONS["debian"], [WORKLOADS / "lifecycle.py", "exit"], tmp_path,
            PODPROF_TEST_FORCE_ELF_SYMBOLS=1, DD_PROFILING_LOG_LEVEL="info")
    assert r.returncode == 3, r.stderr
    assert "ELF symbol table" in r.stderr
    assert any("work_exit" in names(s) for s in all_samples(tmp_path))


def test_bad_setting_logs_one_line_and_falls_back(tmp_path):
    r = run(PYTHONS["3.11.7"], [WORKLOADS / "lifecycle.py", "exit"], tmp_path,
            DD_PROFILING_SAMPLE_RATE="fast")
    assert r.returncode == 3
    lines = [l for l in r.stderr.splitlines() if "DD_PROFILING_SAMPLE_RATE" in l]
    assert len(lines) == 1 and "default" in lines[0]
    meta = profiles(tmp_path)[-1][1]
    assert meta["sampling_rate_hz"] == 100


THREAD_COUNT = "import os; print(len(os.listdir('/proc/self/task')))"


@pytest.mark.parametrize("cmd", [["/bin/true"], ["sh", "-c", "ls /proc/$$/task | wc -l"]],
                         ids=["true", "sh"])
def test_inert_outside_python(cmd, tmp_path):
    r = subprocess.run(cmd, env=preload_env(tmp_path), capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    if cmd[0] == "sh":
        assert r.stdout.strip() == "1"
    assert r.stderr == ""
    assert list(tmp_path.iterdir()) == []


def test_inert_when_not_enabled(tmp_path):
    env = preload_env(tmp_path)
    del env["DD_PROFILING_ENABLED"]
    r = subprocess.run([str(PYTHONS["3.11.7"]), "-c", THREAD_COUNT], env=env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.strip() == "1", r.stderr
    assert list(tmp_path.iterdir()) == []

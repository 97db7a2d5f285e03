"""Lock profiles (lock-acquire, lock-acquire-wait, lock-release, lock-release-hold, label `lock
name`) of workloads whose contention they measure themselves (workloads/lock_contention.py),
under every CPython the suites run.

The contended run. For each of Lock, RLock, Condition, Semaphore, BoundedSemaphore and
queue.Queue, a holder makes a waiter wait 15 times for 20 ms (about 0.3 s); the waiter times its
own blocking calls, the holder of a Lock or RLock its holds. Waits are sampled at 1 kHz (one
sample point per 1 ms of waiting on average): a 20 ms wait escapes every point with probability
e^-20 = 2e-9, and a sampled wait counts wait / (1 - e^-20), so the estimate equals the truth but
for what the clocks see differently (the workload's clock also counts the time to take the GIL
back after the wait): within +-25 % is certain. Acquisitions are all captured (capture 100 %),
so holds and releases are exact: through 3.12 seen at the locks' semaphores, from 3.13 (PyMutex,
no libc call unless contended) at the wrapped methods of _thread.lock and _thread.RLock, where
an RLock's nested acquire and release do not count (as through 3.12).

The uncontended run. One thread takes and releases a Lock 200,000 times at the default capture of
1 %: each acquisition is sampled with probability 0.01 and counts for 100, so the estimate has
sd 100 * sqrt(200000 * 0.01 * 0.99) = 4450 (2.2 %), and the +-25 % bounds are 11 sd away; the
same for releases (each sampled acquisition's release is recorded). Nothing waits: no wait
time (certain)."""
import json
import re
import subprocess

import pytest

from test_sampler import GO, PYTHONS, WORKLOADS, names, profiles, python_fixture, run

WORKLOAD = WORKLOADS / "lock_contention.py"
WAITERS = ("wait_lock", "wait_rlock", "wait_condition", "wait_semaphore",
           "wait_bounded_semaphore", "wait_queue")
HOLDERS = ("hold_lock", "hold_rlock", "notify_condition")
ACQUIRE = [("lock-acquire", "count"), ("lock-acquire-wait", "nanoseconds")]
RELEASE = [("lock-release", "count"), ("lock-release-hold", "nanoseconds")]
SPIN = "spin_for_gil"


def sites():
    """{function: 'lock_contention.py:LINE'} of the lines marked `# site:NAME`."""
    found = {}
    for number, line in enumerate(WORKLOAD.read_text().splitlines(), 1):
        m = re.search(r"# site:(\w+)", line)
        if m:
            found[m.group(1)] = "lock_contention.py:%d" % number
    return found


def workload(python, tmp_path, mode, **extra):
    truth_path = tmp_path / "truth.json"
    r = run(python, [WORKLOAD, truth_path, mode], tmp_path, timeout=120, **extra)
    assert r.returncode == 0, r.stderr
    return json.loads(truth_path.read_text())


def totals(tmp_path, functions):
    """{(function, lock name): {type: summed value}} of the samples whose stack holds one of
    functions (the innermost), and the profiles' type lists."""
    out, types = {}, []
    for prof, _ in profiles(tmp_path):
        types.append(prof["types"])
        for s in prof["samples"]:
            fn = next((f for f in names(s) if f in functions), None)
            if fn is None:
                continue
            key = (fn, s["labels"].get("lock name"))
            values = out.setdefault(key, {})
            for t, v in s["values"].items():
                values[t] = values.get(t, 0) + v
    return out, types


def summed(found, fn, value_type, name=None):
    return sum(v.get(value_type, 0) for (f, n), v in found.items()
               if f == fn and (name is None or n == name))


python = python_fixture(sorted(PYTHONS))


def test_contended_waits_and_holds(python, tmp_path):
    truth = workload(python, tmp_path, "contended", DD_PROFILING_SAMPLE_RATE=1000,
                     DD_PROFILING_CAPTURE_PCT=100)
    found, types = totals(tmp_path, WAITERS + HOLDERS + ("put_queue",))
    site = sites()
    detail = (truth, found)
    for fn in WAITERS:
        expected = truth["waited"][fn] * 1e9
        waited = summed(found, fn, "lock-acquire-wait")
        assert 0.75 * expected <= waited <= 1.25 * expected, (fn, waited / 1e9, detail)
        # named where the waiter asked for the lock, through threading's and queue's frames
        assert summed(found, fn, "lock-acquire-wait", site[fn]) >= 0.9 * waited, (fn, detail)
        # the acquisitions that waited are counted (how many of the 15 rounds made the waiter
        # wait depends on the scheduler; a free-threaded build's lock taken while the waiter
        # still spins is counted at the wrapped method)
        assert summed(found, fn, "lock-acquire", site[fn]) >= 1, (fn, detail)
        # the GIL profile does not see the lock waits (the holders sleep: the GIL is free)
        assert summed(found, fn, "gil-wait") <= 0.1 * expected, (fn, detail)
    assert types
    for t in types:
        assert all(x in t for x in ACQUIRE), t
        assert all(x in t for x in RELEASE), t
    for fn in HOLDERS:
        # a Lock, an RLock taken twice (the hold ends at the release that frees it) and a
        # Condition's RLock, held for known times, released at the marked line
        expected = truth["held"][fn] * 1e9
        held = summed(found, fn, "lock-release-hold", site[fn])
        assert 0.75 * expected <= held <= 1.25 * expected, (fn, held / 1e9, detail)
        assert summed(found, fn, "lock-release", site[fn]) == 15, (fn, detail)
    # each put releases the queue's mutex, and at most once a getter's waiter lock (it notifies)
    puts = summed(found, "put_queue", "lock-release", site["put_queue"])
    assert 15 <= puts <= 30, (puts, detail)
    for _, meta in profiles(tmp_path):
        assert meta["counters"]["lock_hook_installed"] == 1
        assert meta["counters"]["lock_samples_dropped"] == 0


def test_uncontended_acquisitions_are_counted(python, tmp_path):
    truth = workload(python, tmp_path, "uncontended")
    found, _ = totals(tmp_path, ("count_uncontended",))
    expected = truth["acquired"]["count_uncontended"]
    # acquired at the `with` line, released where the interpreter exits the block (the next
    # line before 3.10)
    acquired = summed(found, "count_uncontended", "lock-acquire", sites()["count_uncontended"])
    released = summed(found, "count_uncontended", "lock-release")
    # records the ring dropped while the sampler thread was starved (counted: each stands for
    # 100 acquisitions or releases, nearly all of this loop's)
    dropped = sum(meta["counters"]["lock_samples_dropped"] for _, meta in profiles(tmp_path))
    for value in (acquired, released):
        assert 0.75 * expected <= value + 100 * dropped, (value, dropped, found)
        assert value <= 1.25 * expected, (value, found)
    assert summed(found, "count_uncontended", "lock-acquire-wait") == 0, found


def test_lock_freed_while_held_is_forgotten(python, tmp_path):
    """100 locks are freed while held (their sampled acquisitions remembered, capture 100 %) 0.5 s
    after they were taken; 100 new locks, mostly at the same addresses, are then taken and
    released at once. Were the first entries kept, the new releases would find them (holds of
    about 0.5 s each), or the new acquisitions would find no free slot (releases missing). A few
    of the first 100 may find no slot themselves (8 probes in 128 slots): that is not checked.
    Certain either way."""
    truth = workload(python, tmp_path, "dropped", DD_PROFILING_CAPTURE_PCT=100)
    found, _ = totals(tmp_path, ("take_fresh",))
    site = sites()["take_fresh"]
    assert summed(found, "take_fresh", "lock-release", site) == truth["released"]["take_fresh"], \
        found
    # 100 holds of microseconds each (a loaded machine may preempt a few for milliseconds)
    assert summed(found, "take_fresh", "lock-release-hold", site) < 0.1e9, found


@pytest.mark.parametrize("enabled", ["true", "false"])
def test_lock_methods_wrapped_only_when_enabled(enabled, tmp_path):
    """From 3.13 the lock methods' C functions are replaced by the library's wrappers; with the
    lock profile off, nothing is touched."""
    for version in ("3.13.0", "3.13t", "3.15"):
        out = tmp_path / version
        out.mkdir()
        truth = workload(PYTHONS[version], out, "methods", DD_PROFILING_LOCK_ENABLED=enabled)
        assert set(truth["wrapped"].values()) == {enabled == "true"}, (version, truth)


def test_lock_methods_wrapped_when_thread_module_came_back(tmp_path):
    """The installers' first try finds no _thread in sys.modules (a sitecustomize took it out;
    the first try runs after that but for a start-up race) and tries again 0.1 s, 1 s and 10 s
    later: the workload puts _thread back once the first try has run, and the methods end up
    wrapped."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\nsys._podprof_test_thread = sys.modules.pop('_thread')\n")
    for version in ("3.13.0", "3.13t", "3.15"):
        out = tmp_path / version
        out.mkdir()
        truth = workload(PYTHONS[version], out, "late_thread", PYTHONPATH=str(site))
        assert set(truth["wrapped"].values()) == {True}, (version, truth)


def test_lock_profile_does_not_see_gil_waits(tmp_path):
    """Four threads competing for the GIL wait about 6 s for it; the only lock they take (to
    record their times at the end) is held for microseconds."""
    r = run(PYTHONS["3.11.7"], [WORKLOADS / "gil_contention.py", tmp_path / "e.json", 4, 2.0],
            tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    found, _ = totals(tmp_path, (SPIN,))
    gil = summed(found, SPIN, "gil-wait")
    assert gil >= 1e9, found
    assert summed(found, SPIN, "lock-acquire-wait") <= 0.05 * gil, found


def test_off_when_disabled(tmp_path):
    workload(PYTHONS["3.12.1"], tmp_path, "uncontended", DD_PROFILING_LOCK_ENABLED="false")
    found = profiles(tmp_path)
    assert found
    for prof, meta in found:
        assert not [t for t, _ in prof["types"] if t.startswith("lock-")], prof["types"]
        assert ("cpu-time", "nanoseconds") in prof["types"]
        assert meta["counters"].get("lock_hook_installed", 0) == 0


def test_go_pprof_reads_lock_profiles(tmp_path):
    workload(PYTHONS["3.11.7"], tmp_path, "contended", DD_PROFILING_CAPTURE_PCT=100)
    pprof = sorted(tmp_path.glob("prof.*.pprof"))
    assert pprof
    for index, function in (("lock-acquire-wait", "wait_lock"),
                            ("lock-release-hold", "hold_lock")):
        top = subprocess.run([GO, "tool", "pprof", "-top", "-sample_index=" + index,
                              "-tagfocus=lock name=" + sites()[function], str(pprof[-1])],
                             capture_output=True, text=True, timeout=120)
        assert top.returncode == 0, top.stderr
        assert "Type: " + index in top.stdout, top.stdout
        assert function in top.stdout, top.stdout

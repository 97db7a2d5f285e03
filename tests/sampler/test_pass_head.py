"""The reads each pass starts with (runtime state, interpreter, every thread state, and before 3.11
each thread's tid in its struct pthread) are copied in one system call from the addresses the
previous pass read (sampler/lib/pass_head.c), on every interpreter of the suite: the library's
own read counters show it, and every thread is still sampled, on its own stack, whether the
thread list stays put or changes at every pass (workloads/pass_head.py)."""
import json

from test_sampler import WORKLOADS, names, profiles, python_fixture, PYTHONS, run

python = python_fixture(sorted(PYTHONS))
WAITERS = 16
SOURCE = (WORKLOADS / "pass_head.py").read_text().splitlines()
LINES = {tag: next(i for i, text in enumerate(SOURCE, 1) if f"# line: {tag}" in text)
         for tag in ("waits", "churns")}


def run_workload(python, tmp_path, mode):
    out = tmp_path / "out.json"
    # 0.3 s profiles: the counters, cumulative per process, are read at each
    r = run(python, [WORKLOADS / "pass_head.py", out, mode], tmp_path, timeout=120,
            DD_PROFILING_SAMPLE_RATE=100, DD_PROFILING_UPLOAD_INTERVAL=0.3)
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text()), profiles(tmp_path)


def check_waiters(found, waited_s):
    """Every waiter is charged the whole wait on its own stack: wait_for_end on the line of
    event.wait(), calling a wait. Wall time is charged at each pass that reads the thread, so a
    pass that missed a waiter would take 10 ms (one interval) off it; 20 % is allowed."""
    wall = {}
    for prof, _ in found:
        for s in prof["samples"]:
            frames = s["frames"]
            at = next((i for i, f in enumerate(frames) if f[0] == "wait_for_end"), None)
            if at is None or at == 0:
                continue
            if frames[at][2] == LINES["waits"] and frames[at - 1][0].split(".")[-1] == "wait":
                name = s["labels"]["thread name"]
                wall[name] = wall.get(name, 0) + s["values"]["wall-time"]
    assert set(wall) == {f"waiter-{i}" for i in range(WAITERS)}, wall
    for name, ns in wall.items():
        assert ns >= 0.8 * waited_s * 1e9, (name, ns, waited_s)


def test_pass_head_reads_idle_threads_in_one_call(python, tmp_path):
    """17 threads that wait without running (16 waiters and the main thread, which sleeps in
    short steps). Without the batch each pass reads each thread state on its own: at least 17
    reads a pass, whatever else happens. With it a pass takes one read for all of them, plus the
    walks of the main thread's wake-ups. Thread names are re-read once a second (about ten reads
    a thread), so the bound is on the 0.3 s profile that read the fewest per pass: of the six or
    more full ones after start-up, at most three can hold a re-read."""
    result, found = run_workload(python, tmp_path, "idle")
    counters = [meta["counters"] for _, meta in found]
    windows = [(b["read_calls"] - a["read_calls"], b["passes"] - a["passes"])
               for a, b in zip(counters[1:], counters[2:])]
    windows = [(reads, passes) for reads, passes in windows if passes >= 10]
    assert len(windows) >= 4, counters
    fewest = min(reads / passes for reads, passes in windows)
    assert fewest <= 6, (fewest, windows)
    assert max(c["threads_seen"] for c in counters) == WAITERS + 1, counters
    check_waiters(found, result["waited_s"])


def test_pass_head_follows_a_changing_thread_list(python, tmp_path):
    """Two short threads at a time start and end all through the run, so each pass finds a thread
    list that differs from the one the previous pass read, and what it planned to read only
    partly matches. Every waiter is still charged its whole wait on its own stack, and the
    churning threads are sampled too: what a pass charges them is one interval per thread it finds
    in churn_work, so over some 250 passes their wall time there comes to about the time they
    spent in it; half is asked for."""
    result, found = run_workload(python, tmp_path, "churn")
    assert result["churned"] >= 40, result
    check_waiters(found, result["waited_s"])
    churn_wall = sum(s["values"]["wall-time"] for prof, _ in found for s in prof["samples"]
                     if "churn_work" in names(s))
    assert churn_wall >= 0.5 * result["churn_s"] * 1e9, (churn_wall, result)

"""The stress suite: real CPython processes doing what real services do to the process the library
lives in (workloads/stress.py), each checking that the application's own results are intact and
that the library still profiled where a profile is due. No crash, no deadlock, no lost data.

Sample checks only ask for CPU spent long enough that missing it is impossible in practice: a
second or more of one function's CPU at the tests' rate (≥ 10 Hz even when the adaptive interval
backs off for 5,000-deep stacks) is ≥ 10 expected samples, so all missing has a probability below
e^-10 per run; the other cases assert only what is certain."""
import json
import os
import subprocess
import time

import pytest

from test_entrypoints import cc
from test_sampler import PYTHONS, WORKLOADS, all_samples, names, preload_env, profiles, run

# The oldest and the newest pyenv interpreter: the two frame models (frame objects, interpreter
# frames) and both ends of the layout table, in bounded time.
VERSIONS = ["3.8.18", "3.13.0"]


def stress(python, case, tmp_path, *args, wrapper=(), timeout=120, **extra):
    env = preload_env(tmp_path, **extra)
    r = subprocess.run([str(w) for w in wrapper] + [str(python), str(WORKLOADS / "stress.py"), case]
                       + [str(a) for a in args], env=env, capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    lines = r.stdout.splitlines()
    return (json.loads(lines[-1]) if lines else None), r


def sampled(tmp_path, fn, pid=None):
    return sum(1 for s in all_samples(tmp_path, pid) if fn in names(s))


@pytest.mark.parametrize("version", VERSIONS)
def test_500_threads_in_waves(version, tmp_path):
    result, _ = stress(PYTHONS[version], "threads", tmp_path)
    assert result == {"threads": 500, "alive": 1}
    assert profiles(tmp_path), "no profile from a process that ran 1 s of Python"


@pytest.mark.parametrize("version", VERSIONS)
def test_recursion_5000_deep(version, tmp_path):
    result, _ = stress(PYTHONS[version], "recursion", tmp_path)
    assert result == {"depth": 5000}
    assert sampled(tmp_path, "stress_recursion_down") >= 1


@pytest.mark.parametrize("version", VERSIONS)
def test_code_objects_created_and_freed(version, tmp_path):
    """Code objects die and their addresses are reused while sampled: every profile still decodes
    (string table valid UTF-8) and the program computes what it must."""
    result, _ = stress(PYTHONS[version], "exec_churn", tmp_path)
    assert result["total"] == result["expected"]
    assert profiles(tmp_path)


@pytest.mark.parametrize("version", VERSIONS)
def test_fork_storm(version, tmp_path):
    """100 forks from 4 threads while a fifth burns CPU and the sampler samples: every child ends
    with its status and its output, none hangs. Half end by sys.exit, which ends only the forking
    thread: the process must end with it, not live on in the library's thread (it did)."""
    result, _ = stress(PYTHONS[version], "fork_storm", tmp_path)
    assert result == {"ok": 100, "hung": 0, "bad": 0}


@pytest.mark.parametrize("version", VERSIONS)
def test_daemonised_process_is_profiled(version, tmp_path):
    """python-daemon / celery --detach: double fork, setsid, every descriptor closed; the daemon
    computes its result and its profile is written."""
    out = tmp_path / "daemon.json"
    # profiles every 0.5 s while it works: the check does not hang on the exit flush, which
    # exit waits at most 3 s for (seen to miss under ASan on a loaded machine)
    stress(PYTHONS[version], "daemon", tmp_path, out, DD_PROFILING_UPLOAD_INTERVAL=0.5)
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.exists(), "the daemon never finished"
    result = json.loads(out.read_text())
    assert result["value"] == sum(range(1000))
    # its last profile is written as it exits, just after the result
    while time.monotonic() < deadline:
        try:
            os.kill(result["pid"], 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    assert sampled(tmp_path, "stress_daemon_work", result["pid"]) >= 1


@pytest.mark.parametrize("refused", ["process_vm_readv", "close_range",
                                     "process_vm_readv,close_range"])
@pytest.mark.parametrize("version", VERSIONS)
def test_seccomp_refusing_system_calls(version, refused, tmp_path):
    """Container seccomp profiles refuse system calls the library uses: Docker's default refuses
    process_vm_readv (then reads go through /proc/self/mem), a profile older than Linux 5.9
    refuses close_range (then the sampler thread has no private descriptor table, so no pipe for
    scattered reads). The library says so once and samples a 5,000-deep stack either way; the
    pipe serves the sampler thread's scattered reads whenever close_range works, whichever way
    the rest is read."""
    wrapper = cc(tmp_path / "refuse_syscalls", WORKLOADS / "refuse_syscalls.c")
    result, r = stress(PYTHONS[version], "recursion", tmp_path, wrapper=[wrapper, refused],
                       DD_PROFILING_LOG_LEVEL="info")
    assert result == {"depth": 5000}
    assert ("reading through /proc/self/mem" in r.stderr) == ("process_vm_readv" in refused), \
        r.stderr
    assert ("no private descriptor table" in r.stderr) == ("close_range" in refused), r.stderr
    pipe_calls = max(meta["counters"]["pipe_read_calls"] for _, meta in profiles(tmp_path))
    assert (pipe_calls > 0) == ("close_range" not in refused), pipe_calls
    assert sampled(tmp_path, "stress_recursion_down") >= 1

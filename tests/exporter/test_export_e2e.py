"""End to end: a real CPython with libpodprof.so preloaded writes profiles into the spool while
`podprof export` ships them to the agent double, or to Datadog's test agent with every profile
type; and a CPU-bound app's throughput with a hanging agent compared with a healthy one (the app
never waits for the exporter)."""
import base64
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from agent_double import AgentDouble, Upload, free_port, validate
from exporter_helpers import spool  # noqa: F401  (fixture)
from exporter_helpers import BUILD, SANITIZED, DatadogTestAgent, Exporter, wait_until
from podprof_testenv import asan_runtime_preload

LIB = BUILD / "lib" / "libpodprof.so"

APP = r"""
import sys, threading, time
def burn_cpu(n):
    s = 0
    for i in range(n):
        s += i * i
    return s
def worker(rounds):
    for _ in range(rounds):
        burn_cpu(20000)
rounds = int(sys.argv[1])
t0 = time.perf_counter()
threads = [threading.Thread(target=worker, args=(rounds,)) for _ in range(2)]
for t in threads: t.start()
for t in threads: t.join()
print(f"{time.perf_counter() - t0:.6f}")
"""


def python_exe():
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
        for v in ("3.12", "3.11", "3.13"):
            found = sorted(Path(root, "versions").glob(f"{v}.*/bin/python3"))
            if found:
                return str(found[0])
    return "/usr/bin/python3"


def app_env(spool, **extra):
    preload = asan_runtime_preload() + [str(LIB)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DD_")}
    env.update({"LD_PRELOAD": ":".join(preload), "DD_PROFILING_ENABLED": "true",
                "DD_PROFILING_OUTPUT_PPROF": str(spool / "profile"),
                "DD_PROFILING_UPLOAD_INTERVAL": "1", "DD_SERVICE": "e2e-shop", "DD_ENV": "test",
                "DD_VERSION": "9.9", "DD_TAGS": "team:e2e", "DD_PROFILING_K8S_CONTAINER": "app",
                "ASAN_OPTIONS": "detect_leaks=0"})
    env.update(extra)
    return env


def run_app(spool, rounds, timeout=180):
    return subprocess.run([python_exe(), "-c", APP, str(rounds)], env=app_env(spool),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def sampler_works(tmp_path_factory):
    # A library that writes nothing is a failure, not a skip.
    probe = tmp_path_factory.mktemp("probe")
    r = run_app(probe, 200)
    assert r.returncode == 0, r.stderr
    assert list(probe.glob("profile.*.json")), f"no profile written: {r.stderr}"
    return True


def test_real_app_profiles_reach_the_agent(spool, sampler_works):
    with AgentDouble() as agent:
        with Exporter(spool, DD_TRACE_AGENT_URL=agent.url, DD_PROFILING_K8S_NAMESPACE="shop",
                      DD_PROFILING_K8S_POD_NAME="e2e-pod") as ex:
            r = run_app(spool, 600)
            assert r.returncode == 0, r.stderr
            written = len(list(spool.glob("*.json"))) + len(agent.uploads)
            assert wait_until(lambda: not list(spool.glob("*.json")), timeout=60)
            assert ex.stop() == 0
        ups = list(agent.uploads)
    assert written >= 1 and len(ups) >= 1
    assert all(u.errors == [] for u in ups), [u.errors for u in ups]
    funcs = set()
    for u in ups:
        funcs |= {u.profile.string_table[f.name] for f in u.profile.function}
        t = u.tags
        assert t["service"] == "e2e-shop" and t["env"] == "test" and t["version"] == "9.9"
        assert t["team"] == "e2e" and t["kube_container_name"] == "app"
        assert t["kube_namespace"] == "shop" and t["pod_name"] == "e2e-pod"
        assert t["runtime_version"].startswith("3.") and len(t["runtime-id"]) >= 32
        assert int(t["process_id"]) > 0
        assert u.event["internal"]["sampler"]  # the sampler's own counters came through
    assert "burn_cpu" in funcs
    assert not list(spool.iterdir())


def test_cpu_bound_app_with_dead_agent_vs_healthy(tmp_path, sampler_works):
    rounds = 400 if SANITIZED else 1200
    results = {}
    with AgentDouble() as healthy, AgentDouble(default={"stall": 60}) as hung:
        scenarios = (("healthy", healthy.url), ("hanging", hung.url),
                     ("refused", f"http://127.0.0.1:{free_port()}"))
        # interleaved repetitions, best of each: a shared machine is noisy
        for rep in range(2):
            for name, url in scenarios:
                spool = tmp_path / f"{name}{rep}"
                spool.mkdir()
                with Exporter(spool, DD_TRACE_AGENT_URL=url, DD_PROFILING_API_TIMEOUT_MS=2000,
                              PODPROF_EXPORT_DRAIN_MS=1000) as ex:
                    r = run_app(spool, rounds)
                    assert r.returncode == 0, r.stderr
                    took = float(r.stdout.strip().splitlines()[-1])
                    results[name] = min(results.get(name, took), took)
                    assert ex.alive()  # the exporter survives whatever the agent does
                    assert ex.stop() == 0
    assert len(healthy.uploads) >= 1 and not hung.uploads
    print("CPU-bound app wall time (best of 2): " +
          ", ".join(f"{k} {v:.3f}s" for k, v in results.items()))
    print(f"ratio hanging/healthy {results['hanging'] / results['healthy']:.3f}, "
          f"refused/healthy {results['refused'] / results['healthy']:.3f} (1.0 = no effect)")


def test_full_spool_volume(tmp_path, sampler_works):
    """A spool emptyDir that is full: the app still runs to completion, the exporter keeps
    running, nothing half-written is sent, and profiles flow again once there is room."""
    spool = tmp_path / "spool"
    spool.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs",
                                            str(spool)], capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a small tmpfs")
    try:
        junk = spool / "junk"
        fd = os.open(junk, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            for _ in range(1024):  # 256 KiB volume: full long before this bound
                os.write(fd, b"\0" * 1024)
        except OSError:
            pass
        finally:
            os.close(fd)
        with AgentDouble() as agent:
            with Exporter(spool, DD_TRACE_AGENT_URL=agent.url) as ex:
                r = run_app(spool, 300)
                assert r.returncode == 0, r.stderr
                assert ex.alive()
                assert not list(spool.glob("*.json"))
                junk.unlink()
                r = run_app(spool, 300)
                assert r.returncode == 0, r.stderr
                assert wait_until(lambda: agent.uploads and not list(spool.glob("*.json")), 30)
                assert ex.stop() == 0
            assert agent.uploads and all(u.errors == [] for u in agent.uploads)
    finally:
        subprocess.run(["umount", "-l", str(spool)], capture_output=True)


EVERY_TYPE_APP = r"""
import threading, time
def spin(seconds):  # two of these hand the GIL to each other
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
def allocate(n):
    keep = []
    for i in range(n):
        keep.append(bytearray(1024))
        if len(keep) > 1000:
            keep.clear()
def raise_often(n):
    for i in range(n):
        try:
            raise ValueError(i)
        except ValueError:
            pass
def hold(lock, done):  # 25 holds of 20 ms
    for i in range(25):
        with lock:
            time.sleep(0.02)
        time.sleep(0.005)
    done.set()
def wait(lock, done):  # waits for most of them
    while not done.is_set():
        with lock:
            pass
        time.sleep(0.001)
threads = [threading.Thread(target=spin, args=(1.0,)) for _ in range(2)]
for t in threads: t.start()
for t in threads: t.join()
lock, done = threading.Lock(), threading.Event()
threads = [threading.Thread(target=hold, args=(lock, done)),
           threading.Thread(target=wait, args=(lock, done))]
for t in threads: t.start()
for t in threads: t.join()
for i in range(100000):
    with lock:
        pass
allocate(200000)
kept = [bytearray(1 << 20) for _ in range(32)]  # live across a whole profile: in its heap
raise_often(100000)
time.sleep(1.5)
"""


def test_every_profile_type_reaches_ddapm_test_agent(spool, tmp_path, sampler_works):
    """A real app with CPU, GIL and lock contention, allocations and exceptions: what the
    exporter ships carries every sample type the library writes, each with samples, and Datadog's
    own test agent stores uploads that pass the strict checks. The counts are far from luck: two
    threads wait about 1 s for the GIL and one about 0.5 s for a lock (a sample per 10 ms waited
    on average), 200 MiB are allocated (one sample per 1 MiB on average), 32 MiB stay live over a
    profile's end, 100,000 raises are sampled 1 in 100 and 100,000 lock acquisitions (with their
    releases, on 3.8-3.12) 1 in 100."""
    python = python_exe()
    version = subprocess.run([python, "-c", "import sys; print(sys.version_info[1])"],
                             capture_output=True, text=True).stdout.strip()
    assert int(version) >= 12, "exception profiles need CPython 3.12: " + python
    with DatadogTestAgent(tmp_path / "snapshots") as test_agent:
        with Exporter(spool, DD_TRACE_AGENT_URL=test_agent.url) as ex:
            r = subprocess.run([python, "-c", EVERY_TYPE_APP], capture_output=True, text=True, timeout=300,
                               env=app_env(spool, DD_PROFILING_HEAP_SAMPLE_SIZE=str(1 << 20)))
            assert r.returncode == 0, r.stderr
            assert wait_until(lambda: not list(spool.glob("*.json")), timeout=60)
            assert ex.stop() == 0
        reqs = [q for q in test_agent.requests() if q["url"].endswith("/profiling/v1/input")]
    assert reqs
    totals = {}
    for q in reqs:
        up = Upload("POST", "/profiling/v1/input", q["headers"], base64.b64decode(q["body"]))
        validate(up)
        assert up.errors == [], up.errors
        p = up.profile
        names = [p.string_table[t.type] for t in p.sample_type]
        for s in p.sample:
            for name, v in zip(names, s.value):
                totals[name] = totals.get(name, 0) + v
    locks = ("lock-acquire", "lock-acquire-wait") + (
        ("lock-release", "lock-release-hold") if int(version) < 13 else ())
    for name in ("cpu-samples", "wall-samples", "alloc-samples", "heap-live-samples",
                 "exception-samples", "gil-wait") + locks:
        assert totals.get(name, 0) > 0, (name, totals)

"""Helpers for the exporter tests: spool pairs as the sampler writes them, and `podprof export`
run as a subprocess with a clean environment."""
import gzip
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pprof_proto
import pytest

from podprof_testenv import BUILD, ROOT, SANITIZED  # noqa: F401  (re-exported to the tests)
PODPROF = BUILD / "bin" / "podprof"
STACKS = [([("compute", "/app/work.py", 12), ("main", "/app/app.py", 40)], 70_000_000, 80_000_000),
          ([("sleep", "/app/io.py", 7), ("main", "/app/app.py", 41)], 0, 30_000_000)]


def rfc3339(ns):
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


def write_pair(spool, pid=4242, seq=1, prefix="profile", meta=None, stacks=STACKS, pprof=None):
    """Writes <prefix>.<pid>.<seq>.pprof (gzip) then .json, as the sampler does (the keys of
    include/podprof/spool_format.h)."""
    spool = Path(spool)
    base = spool / f"{prefix}.{pid}.{seq}"
    start = time.time_ns() - 60_000_000_000
    doc = {
        "start": rfc3339(start), "end": rfc3339(start + 60_000_000_123),
        "pid": pid, "runtime-id": str(uuid.uuid4()), "python_version": "3.12.1",
        "service": "checkout", "env": "prod", "version": "1.2.3",
        "tags": "team:payments,owner:alice", "profiling_tags": "track:canary",
        "container": "app", "sampling_rate_hz": 100.0, "effective_sampling_rate_hz": 97.5,
        "period_ns": 10_000_000, "profiler": "podprof", "profiler_version": "0.1.0",
        "counters": {"samples": 5800, "read_failures": 3},
    }
    if meta:
        doc.update(meta)
        doc = {k: v for k, v in doc.items() if v is not None}
    if pprof is None:
        pprof = gzip.compress(pprof_proto.make_profile(stacks, time_nanos=start).SerializeToString())
    tmp = Path(str(base) + ".pprof.tmp")
    tmp.write_bytes(pprof)
    tmp.rename(Path(str(base) + ".pprof"))
    tmpj = Path(str(base) + ".json.tmp")
    tmpj.write_text(json.dumps(doc))
    tmpj.rename(Path(str(base) + ".json"))
    return base, doc


def exporter_env(**overrides):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DD_", "PODPROF_EXPORT_"))}
    env.update({"PODPROF_EXPORT_RETRY_BASE_MS": "100", "PODPROF_EXPORT_RESCAN_S": "1",
                "DD_PROFILING_API_TIMEOUT_MS": "3000"})
    env.update({k: str(v) for k, v in overrides.items() if v is not None})
    return env


def run_once(spool, timeout=60, **env):
    return subprocess.run([str(PODPROF), "export", "--spool", str(spool), "--once"],
                          env=exporter_env(**env), capture_output=True, text=True,
                          timeout=timeout)


class Exporter:
    """`podprof export` as a running sidecar."""

    def __init__(self, spool, extra_args=(), **env):
        self.proc = subprocess.Popen([str(PODPROF), "export", "--spool", str(spool), *extra_args],
                                     env=exporter_env(**env), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.stderr = ""

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, self.stderr = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, self.stderr = self.proc.communicate()
            raise
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def wait_until(cond, timeout=20.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


@pytest.fixture
def spool(tmp_path):
    """An empty spool directory (test modules import this fixture: a conftest.py here would
    shadow tests/conftest.py, which other suites import as `conftest`)."""
    d = tmp_path / "spool"
    d.mkdir()
    return d

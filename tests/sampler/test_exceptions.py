"""Exception profiles (exception-samples, label `exception type`) of a workload whose raises are
known exactly (workloads/exceptions.py), under every supported CPython from 3.12 (sys.monitoring).

Each raise is sampled with probability p = 1 / interval, independently, and a sample counts for
interval raises. With interval 10, the 120 000 ValueErrors give S_v ~ Binomial(120000, 0.1)
samples (mean 12 000, sd 104) and the 40 000 KeyErrors S_k (mean 4 000, sd 60). So:
- each estimated total (10 S) has a relative sd of 0.87 % (ValueError) and 1.5 % (KeyError):
  the 10 % bound is 11 and 6.7 sd away;
- the ratio S_v / S_k = 3 has a relative sd of sqrt(0.9/12000 + 0.9/4000) = 1.73 %, i.e. 0.052:
  the issue's +-0.3 bound is 5.8 sd away.
A false failure is below 1e-8 per check."""
import json
import subprocess

import pytest

from test_sampler import GO, PYTHONS, WORKLOADS, names, profiles, python_fixture, run

MONITORED = sorted(v for v in PYTHONS if v not in ("debian",) and
                   tuple(int(x) for x in v.rstrip("t").split(".")[:2]) >= (3, 12))
INTERVAL = 10
# The caller's frame, or (for a raise the sampler thread names after the interpreter began to
# finalize and freed main's code: the last raises before exit, on a loaded machine) its stand-in.
CALLER = ("main", "<code freed before it was named>")


def workload(python, tmp_path, wait="wait", **extra):
    expect_path = tmp_path / "expect.json"
    r = run(python, [WORKLOADS / "exceptions.py", expect_path, wait], tmp_path, timeout=240,
            **extra)
    assert r.returncode == 0, r.stderr
    return json.loads(expect_path.read_text()), r


def exception_samples(tmp_path):
    return [s for prof, _ in profiles(tmp_path) for s in prof["samples"]
            if s["values"].get("exception-samples")]


python = python_fixture(MONITORED)


def test_exception_mix(python, tmp_path):
    expect, _ = workload(python, tmp_path,
                         DD_PROFILING_EXCEPTION_SAMPLING_INTERVAL=INTERVAL)
    assert "podprof" in expect["tools"].values()
    by_raiser = {}
    for s in exception_samples(tmp_path):
        # every value is a whole number of samples, each worth the interval
        assert s["values"]["exception-samples"] % INTERVAL == 0
        leaf = names(s)[0]
        if leaf in ("raise_value", "raise_key"):
            # taken where the exception was raised, in the raising thread, with its type
            assert names(s)[1] in CALLER, names(s)
            assert s["labels"]["thread name"] == "MainThread"
            key = (leaf, s["labels"]["exception type"])
            by_raiser[key] = by_raiser.get(key, 0) + s["values"]["exception-samples"]
    # (the interpreter raises and catches others itself, e.g. KeyErrors in re's cache at import)
    assert set(by_raiser) == {("raise_value", "builtins.ValueError"),
                              ("raise_key", "builtins.KeyError")}, by_raiser
    v, k = by_raiser[("raise_value", "builtins.ValueError")], by_raiser[("raise_key", "builtins.KeyError")]
    assert abs(v - expect["raised"]["ValueError"]) <= 0.10 * expect["raised"]["ValueError"], by_raiser
    assert abs(k - expect["raised"]["KeyError"]) <= 0.10 * expect["raised"]["KeyError"], by_raiser
    assert abs(v / k - 3.0) <= 0.3, by_raiser
    for prof, meta in profiles(tmp_path):
        assert meta["counters"]["exception_samples_dropped"] == 0
        assert meta["counters"]["exception_hook_installed"] == 1


def test_every_raise_is_counted_once_with_its_qualified_type(tmp_path):
    """Interval 1 samples every raise: the nested class is there with its qualified name, once
    (its raise also unwinds through main(), which must not count again)."""
    workload(PYTHONS["3.12.1"], tmp_path, DD_PROFILING_EXCEPTION_SAMPLING_INTERVAL=1,
             DD_PROFILING_UPLOAD_INTERVAL=0.5)
    inner = [s for s in exception_samples(tmp_path)
             if s["labels"]["exception type"] == "__main__.Outer.Inner"]
    assert sum(s["values"]["exception-samples"] for s in inner) == 1, inner
    assert names(inner[0])[:2] == ["raise_inner", "main"], names(inner[0])


def test_off_when_disabled(tmp_path):
    expect, _ = workload(PYTHONS["3.12.1"], tmp_path, wait="nowait",
                         DD_PROFILING_EXCEPTION_ENABLED="false")
    assert "podprof" not in expect["tools"].values()
    for prof, _ in profiles(tmp_path):
        assert ("exception-samples", "count") not in prof["types"]


def test_older_pythons_have_no_exception_profile(tmp_path):
    """Before 3.12 there is no sys.monitoring: the setting is a no-op (one info line, not shown at
    the default log level) and the other profiles are unaffected."""
    expect, r = workload(PYTHONS["3.11.7"], tmp_path, wait="nowait")
    assert expect["tools"] == {}
    assert "exception" not in r.stderr
    found = profiles(tmp_path)
    assert found
    for prof, _ in found:
        assert ("exception-samples", "count") not in prof["types"]
        assert ("cpu-time", "nanoseconds") in prof["types"]


def test_go_pprof_reads_exception_profiles(tmp_path):
    workload(PYTHONS["3.12.1"], tmp_path, DD_PROFILING_EXCEPTION_SAMPLING_INTERVAL=INTERVAL)
    pprof = sorted(tmp_path.glob("prof.*.pprof"))
    assert pprof
    top = subprocess.run([GO, "tool", "pprof", "-top", "-sample_index=exception-samples",
                          "-tagfocus=exception type=builtins.KeyError", str(pprof[-1])],
                         capture_output=True, text=True, timeout=120)
    assert top.returncode == 0, top.stderr
    assert "raise_key" in top.stdout and "raise_value" not in top.stdout, top.stdout

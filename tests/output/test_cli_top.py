"""`podprof top`: flat and cumulative CPU and wall time per function over known profiles, and one
clear line per unreadable file."""
import gzip
import re
import subprocess

import pytest

from podprof_pprof import BUILD, flush_line, profile_class, run_fixture, stack_line

PODPROF = BUILD / "bin" / "podprof"
S = 1_000_000_000
START = 1_700_000_000_000_000_000

# CPU: busy 3 s (in main), helper 1 s (in busy, in main), recurse 2 s (recursive, 3 deep).
# Wall: the same plus a sleeping thread 4 s.
STACKS = [
    (1, 11, "MainThread", 3 * S, 3 * S, [("busy", "/app/w.py", 10), ("main", "/app/w.py", 2)]),
    (1, 11, "MainThread", 1 * S, 1 * S,
     [("helper", "/app/h.py", 4), ("busy", "/app/w.py", 12), ("main", "/app/w.py", 2)]),
    (1, 11, "MainThread", 2 * S, 2 * S,
     [("recurse", "/app/r.py", 7), ("recurse", "/app/r.py", 8), ("recurse", "/app/r.py", 8),
      ("main", "/app/w.py", 3)]),
    (2, 12, "sleeper", 0, 4 * S, [("sleep", "/app/s.py", 1)]),
]


def write_profile(tmp_path, name="p", stacks=STACKS, start=START):
    script = "".join(stack_line(t, n, tn, c, w, 1, fr) for t, n, tn, c, w, fr in stacks)
    run_fixture(BUILD, script + flush_line(start, start + 10 * S), "--prefix", tmp_path / name)
    return sorted(tmp_path.glob(f"{name}.*.pprof"))[-1]


def top(*args):
    return subprocess.run([str(PODPROF), "top", *map(str, args)], capture_output=True,
                          text=True, timeout=60)


ROW = re.compile(r"^\s*(\S+)\s+([\d.]+)%\s+(\S+)\s+([\d.]+)%\s+(.*)$")


def tables(out):
    """{'CPU time': [(flat, flat%, cum, cum%, function)], 'wall time': [...]}"""
    result, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"^Top functions by (CPU time|wall time)", line)
        if m:
            cur = result.setdefault(m.group(1), [])
            continue
        m = ROW.match(line)
        if cur is not None and m:
            cur.append((m.group(1), float(m.group(2)), m.group(3), float(m.group(4)),
                        m.group(5)))
    return result


def test_flat_and_cumulative(tmp_path):
    r = top(write_profile(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.splitlines()[0] == (
        "1 profile over 10.00s: CPU 6.00s in 4 samples, wall 10.00s in 4 samples")
    t = tables(r.stdout)
    assert t["CPU time"] == [
        ("3.00s", 50.0, "4.00s", 66.7, "busy (/app/w.py)"),
        ("2.00s", 33.3, "2.00s", 33.3, "recurse (/app/r.py)"),  # recursion counted once
        ("1.00s", 16.7, "1.00s", 16.7, "helper (/app/h.py)"),
        ("0ns", 0.0, "6.00s", 100.0, "main (/app/w.py)"),
    ]
    assert t["wall time"] == [
        ("4.00s", 40.0, "4.00s", 40.0, "sleep (/app/s.py)"),
        ("3.00s", 30.0, "4.00s", 40.0, "busy (/app/w.py)"),
        ("2.00s", 20.0, "2.00s", 20.0, "recurse (/app/r.py)"),
        ("1.00s", 10.0, "1.00s", 10.0, "helper (/app/h.py)"),
        ("0ns", 0.0, "6.00s", 60.0, "main (/app/w.py)"),
    ]


def test_sums_files_and_limits_rows(tmp_path):
    a = write_profile(tmp_path, "a")
    b = write_profile(tmp_path, "b", stacks=[(1, 11, "MainThread", 6 * S, 6 * S,
                                              [("helper", "/app/h.py", 5)])])
    r = top("--limit", "2", a, b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith("2 profiles over 20.00s: CPU 12.00s in 5 samples")
    t = tables(r.stdout)
    assert t["CPU time"] == [
        ("7.00s", 58.3, "7.00s", 58.3, "helper (/app/h.py)"),
        ("3.00s", 25.0, "4.00s", 33.3, "busy (/app/w.py)"),
    ]
    assert len(t["wall time"]) == 2


def test_raw_protobuf_and_go_style_types(tmp_path):
    """Any pprof: uncompressed, with Go's cpu/nanoseconds sample type and no wall time."""
    Profile = profile_class()
    p = Profile()
    p.string_table.extend(["", "samples", "count", "cpu", "nanoseconds", "f", "x.go"])
    p.sample_type.add(type=1, unit=2)
    p.sample_type.add(type=3, unit=4)
    p.function.add(id=7, name=5, filename=6)
    p.location.add(id=9).line.add(function_id=7, line=3)
    p.sample.add(location_id=[9], value=[5, 50_000_000])
    path = tmp_path / "go.pb"
    path.write_bytes(p.SerializeToString())
    r = top(path)
    assert r.returncode == 0, r.stderr
    t = tables(r.stdout)
    assert t["CPU time"] == [("50.00ms", 100.0, "50.00ms", 100.0, "f (x.go)")]
    assert "(no wall time in these profiles)" in r.stdout


def bad_profiles(tmp_path, good):
    Profile = profile_class()
    data = good.read_bytes()
    cases = {
        "empty": b"",
        "random": bytes(range(256)) * 4,
        "truncated-gzip": data[: len(data) // 2],
        "gzip-of-garbage": gzip.compress(b"\xff" * 1000),
        "text": b"hello, I am not a profile\n",
    }
    p = Profile()
    p.string_table.extend(["", "cpu-time", "nanoseconds"])
    p.sample_type.add(type=1, unit=2)
    p.function.add(id=1, name=99, filename=0)  # string index out of range
    cases["bad-string-index"] = gzip.compress(p.SerializeToString())
    p = Profile()
    p.string_table.extend(["", "cpu-time", "nanoseconds"])
    p.sample_type.add(type=1, unit=2)
    p.sample.add(location_id=[5], value=[1])  # no such location
    cases["missing-location"] = gzip.compress(p.SerializeToString())
    p = Profile()
    p.string_table.extend(["", "cpu-time", "nanoseconds"])
    p.sample_type.add(type=1, unit=2)
    p.sample.add(location_id=[], value=[1, 2])  # more values than sample types
    cases["value-count"] = gzip.compress(p.SerializeToString())
    p = Profile()
    p.string_table.extend(["x", "cpu-time"])
    cases["string0"] = p.SerializeToString()
    paths = {}
    for name, blob in cases.items():
        paths[name] = tmp_path / f"{name}.pprof"
        paths[name].write_bytes(blob)
    return paths


def test_corrupt_files_are_one_line_each(tmp_path):
    good = write_profile(tmp_path)
    bad = bad_profiles(tmp_path, good)
    missing = tmp_path / "missing.pprof"
    r = top(*bad.values(), missing, tmp_path, good)
    assert r.returncode == 2
    errors = r.stderr.splitlines()
    assert len(errors) == len(bad) + 2
    for line, path in zip(errors, [*bad.values(), missing, tmp_path]):
        assert line.startswith(f"podprof top: {path}: ")
    reasons = dict(zip(bad, errors))
    assert reasons["empty"].endswith("empty file")
    assert "gzip" in reasons["truncated-gzip"]
    assert "string index out of range" in reasons["bad-string-index"]
    assert "missing location 5" in reasons["missing-location"]
    assert "2 values for 1 sample types" in reasons["value-count"]
    assert "string_table[0]" in reasons["string0"]
    assert errors[-2].endswith("No such file or directory")
    assert errors[-1].endswith("Is a directory")
    # The readable profile is still summarised, exactly as alone.
    assert r.stdout == top(good).stdout
    # These inputs seed the fuzz target over the same reader (make fuzz-pprof-summary).
    corpus = BUILD / "fuzz" / "corpus-pprof-summary"
    corpus.mkdir(parents=True, exist_ok=True)
    for path in [good, *bad.values()]:
        (corpus / f"seed-{path.stem.split('.')[0]}").write_bytes(path.read_bytes())


@pytest.mark.parametrize("args", [[], ["--limit", "0", "x"], ["--limit"], ["--nope", "x"]])
def test_usage_errors(args):
    r = top(*args)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("podprof top: ")

"""Profiles written by the library's aggregate/pprof/output code from stacks known in advance,
decoded by Google's protobuf runtime and by `go tool pprof`, field by field."""
import gzip
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from podprof_pprof import (BUILD, Decoded, check_well_formed, decode, flush_line, go_pprof,
                           go_raw_samples, run_fixture, stack_line)

START = 1_700_000_000_123_456_789
END = START + 60_000_000_000

MAIN = [("leaf", "/app/a.py", 10), ("mid", "/app/a.py", 20), ("main", "/app/m\u00e9.py", 5)]
MAIN_LINE11 = [("leaf", "/app/a.py", 11)] + MAIN[1:]
OTHER_FILE = [("leaf", "/app/b.py", 10)] + MAIN[1:]
DEEP = [(f"rec_{i}", "/app/deep.py", 100 + i) for i in range(70)]
NAMES = {"main": "MainThread", "worker": "w\u00f6rker \u2713 \u65e5\u672c"}


def pairs(d):
    return sorted(p for p in Path(d).iterdir() if p.suffix in (".pprof", ".json"))


@pytest.fixture
def known_profile(tmp_path):
    script = (stack_line(1, 101, NAMES["main"], 1000, 10000, 3, MAIN)
              + stack_line(1, 101, NAMES["main"], 2000, 10000, 2, MAIN_LINE11)
              + stack_line(2, 102, NAMES["worker"], 0, 50000, 4, MAIN)
              + stack_line(1, 101, NAMES["main"], 7, 8, 1, OTHER_FILE)
              + stack_line(3, 103, "", 5, 6, 1, MAIN)
              + stack_line(1, 101, NAMES["main"], 9, 9, 1, DEEP)
              + flush_line(START, END))
    r = run_fixture(BUILD, script, "--prefix", tmp_path / "prof", "--effective-rate", "73.25")
    assert r.stdout.decode() == "flush rc=0 generation=0 dropped=0\n"
    files = pairs(tmp_path)
    assert [p.suffix for p in files] == [".json", ".pprof"]
    return files[1]


EXPECTED = {
    (1, 101, "MainThread", tuple(MAIN)): (3000, 3, 30000, 3),
    (1, 101, "MainThread", tuple(MAIN_LINE11)): (4000, 2, 20000, 2),
    (2, 102, NAMES["worker"], tuple(MAIN)): (0, 4, 200000, 4),
    (1, 101, "MainThread", tuple(OTHER_FILE)): (7, 1, 8, 1),
    # An unnamed thread is labelled with its id, as ddtrace does.
    (3, 103, "3", tuple(MAIN)): (5, 1, 6, 1),
    (1, 101, "MainThread", tuple(DEEP[:64]) + (("<6 frames omitted>", "", 0),)): (9, 1, 9, 1),
}


def test_protobuf_decoder_sees_every_field(known_profile):
    prof = decode(known_profile)
    check_well_formed(prof)
    d = Decoded(prof)
    assert d.samples == EXPECTED
    assert prof.time_nanos == START
    assert prof.duration_nanos == END - START
    assert prof.period == 10_000_000
    assert [d.strings[c] for c in prof.comment] == ["podprof effective sampling rate 73.250 Hz"]
    assert len(prof.mapping) == 0
    # (leaf,a.py) (mid,a.py) (main,mé.py) (leaf,b.py), 70 rec_i, one truncation frame
    assert len(prof.function) == 3 + 1 + 64 + 1
    # leaf:10 leaf:11 mid:20 main:5, b.py leaf:10, 64 deep, one truncation
    assert len(prof.location) == 5 + 64 + 1
    for s in prof.sample:
        keys = [d.strings[lab.key] for lab in s.label]
        assert keys == ["thread id", "thread native id", "thread name"]
        assert s.label[0].num and not s.label[0].str
        assert s.label[2].str and not s.label[2].num


def test_go_pprof_reads_the_same_profile(known_profile):
    text, samples = go_raw_samples(known_profile)
    assert samples == EXPECTED
    assert "PeriodType: cpu-time nanoseconds" in text
    assert "Period: 10000000" in text
    assert "Duration: 1m0s" in text
    traces = go_pprof("-traces", known_profile)
    assert "thread name:  w\u00f6rker \u2713 \u65e5\u672c" in traces
    assert "<6 frames omitted>" in traces
    top = go_pprof("-top", "-sample_index=wall-time", known_profile)
    # 30000+20000+200000+6 of 250023 ns wall are in leaf (a.py); b.py's leaf is the same name.
    assert "leaf" in top and "main" in top


def test_metadata_json_next_to_it(known_profile, tmp_path):
    meta = json.loads(known_profile.with_suffix(".json").read_text())
    assert meta["pprof"] == known_profile.name
    assert meta["start"] == "2023-11-14T22:13:20.123456789Z"
    assert meta["end"] == "2023-11-14T22:14:20.123456789Z"
    assert meta["effective_sampling_rate_hz"] == 73.25
    assert meta["sampling_rate_hz"] == 100
    assert meta["period_ns"] == 10_000_000
    assert meta["counters"]["samples"] == 12
    assert meta["counters"]["stacks_dropped"] == 0
    name = known_profile.name.split(".")
    assert name[0] == "prof" and name[1] == str(meta["pid"]) and name[2] == "1"


def test_stack_bound_folds_into_dropped_stack(tmp_path):
    script = "".join(stack_line(1, 1, "t", 10, 100, 1, [("f", "x.py", i)]) for i in range(1, 7))
    script += flush_line(START, END)
    r = run_fixture(BUILD, script, "--prefix", tmp_path / "p", "--max-stacks", 4)
    assert r.stdout.decode() == "flush rc=0 generation=0 dropped=2\n"
    pprof = next(tmp_path.glob("*.pprof"))
    prof = decode(pprof)
    check_well_formed(prof)
    d = Decoded(prof)
    assert d.samples[(None, None, None, (("<stacks dropped>", "", 0),))] == (20, 2, 200, 2)
    assert len(d.samples) == 5
    assert go_raw_samples(pprof)[1] == d.samples
    meta = json.loads(pprof.with_suffix(".json").read_text())
    assert meta["counters"]["stacks_dropped"] == 2


def test_string_table_reset_between_profiles(tmp_path):
    names = [f"function_with_a_long_name_{i}" for i in range(200)]
    first = "".join(stack_line(1, 1, "t", 1, 1, 1, [(n, "s.py", 1)]) for n in names)
    second = stack_line(1, 1, "t", 1, 1, 1, [("after_reset", "s.py", 2)])
    script = first + flush_line(START, END) + second + flush_line(END, END + 10**9)
    r = run_fixture(BUILD, script, "--prefix", tmp_path / "p", "--max-string-bytes", 4096)
    out = r.stdout.decode().splitlines()
    assert out == ["flush rc=0 generation=0 dropped=0", "flush rc=0 generation=1 dropped=0"]
    p1, p2 = sorted(tmp_path.glob("*.pprof"), key=lambda p: int(p.name.split(".")[2]))
    d1 = Decoded(decode(p1))
    check_well_formed(d1.prof)
    fn_names = {frames[0][0] for (_, _, _, frames) in d1.samples}
    # Strings past the bound are named by the placeholder, never by a wrong function's name.
    assert "<string table full>" in fn_names
    assert fn_names - {"<string table full>"} <= set(names)
    assert len(fn_names) < 200
    d2 = Decoded(decode(p2))
    check_well_formed(d2.prof)
    assert list(d2.samples) == [(1, 1, "t", (("after_reset", "s.py", 2),))]
    assert go_raw_samples(p2)[1] == d2.samples


def test_hostile_environment_values_stay_valid_json(tmp_path):
    env = dict(os.environb)
    env.update({
        b"DD_SERVICE": b'svc"}, "pid": 0, "x": "',
        b"DD_ENV": b"line1\nline2\r\t\x1b[31m\\",
        b"DD_VERSION": b"\xff\xfe not utf-8 \xc3",
        b"DD_TAGS": "team:caf\u00e9,\u2603:\U0001f600".encode(),
        b"DD_PROFILING_TAGS": b"a:b,\x7f",
        b"DD_PROFILING_K8S_CONTAINER": b"app",
    })
    run_fixture(BUILD, stack_line(1, 1, "t", 1, 1, 1, MAIN) + flush_line(START, END),
                "--prefix", tmp_path / "p", env=env)
    meta = json.loads(next(tmp_path.glob("*.json")).read_bytes().decode("utf-8"))
    assert meta["service"] == 'svc"}, "pid": 0, "x": "'
    assert isinstance(meta["pid"], int) and meta["pid"] > 0
    assert meta["env"] == "line1\nline2\r\t\x1b[31m\\"
    assert meta["version"] == "\ufffd\ufffd not utf-8 \ufffd"
    assert meta["tags"] == "team:caf\u00e9,\u2603:\U0001f600"
    assert meta["profiling_tags"] == "a:b,\x7f"
    assert meta["container"] == "app"


def test_readers_never_see_partial_files(tmp_path):
    """A reader polling the directory while profiles are written only ever finds complete
    files: every visible .pprof decodes, every .json parses and names an existing .pprof."""
    big = "".join(stack_line(t, t, f"thread-{t}", 1, 1, 1,
                             [(f"fn_{t}_{i}", f"/app/mod_{i % 7}.py", i) for i in range(40)])
                  for t in range(300))
    script = (big + flush_line(START, END)) * 25
    proc = subprocess.Popen([str(BUILD / "tests/output/pprof_fixture"), "--prefix",
                             str(tmp_path / "p")], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    feeder = threading.Thread(target=lambda: (proc.stdin.write(script.encode()),
                                              proc.stdin.close()))
    feeder.start()
    checked = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = proc.poll() is not None
        for p in list(tmp_path.iterdir()):
            if p.name.startswith("."):
                continue  # temporary files are hidden; readers skip dot files
            assert p.suffix in (".pprof", ".json"), p.name
            try:
                data = p.read_bytes()
            except FileNotFoundError:
                continue  # dropped by the unread bound meanwhile
            if p.suffix == ".json":
                meta = json.loads(data)
                assert (tmp_path / meta["pprof"]).exists() or not (tmp_path / p.name).exists()
            else:
                profile_bytes = gzip.decompress(data)
                assert len(profile_bytes) > 1000
            checked += 1
        if done:
            break
    feeder.join(timeout=30)
    assert proc.wait(timeout=30) == 0, proc.stderr.read()
    assert checked > 25
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert len(list(tmp_path.glob("*.json"))) == 25

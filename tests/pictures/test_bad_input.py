"""Bad input to the picture commands: every unreadable profile gives one line naming the file,
exit status 2 and no output file, within bounded memory (a gzip bomb stops at the inflate
bound)."""
import gzip
import os
import subprocess
import zlib

import pytest

from picture_helpers import PODPROF, S, fixture_profile, podprof, profile_class
from podprof_testenv import BUILD, SANITIZED
from test_cli_top import bad_profiles as top_bad_profiles  # tests/output, via picture_helpers

# pprof_input.h: PPROF_INPUT_MAX_PROFILE_BYTES
INFLATE_BOUND = 256 << 20


def gzip_bomb(path, size=INFLATE_BOUND + (64 << 20)):
    """size bytes of zeros, gzip-compressed in a streaming way (about 1/1000 of size)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    with open(path, "wb") as f:
        for _ in range(size >> 20):
            f.write(z.compress(chunk))
        f.write(z.flush())
    return path


def bad_profiles(tmp_path, good):
    """`podprof top`'s bad inputs (one reader serves every command) and more."""
    paths = top_bad_profiles(tmp_path, good)
    Profile = profile_class()
    cases = {"truncated-protobuf": gzip.decompress(good.read_bytes())[:-7]}
    p = Profile()
    p.string_table.extend(["", "cpu-time", "nanoseconds"])
    p.sample_type.add(type=1, unit=2)
    p.sample.add(location_id=[], value=[1])
    p.sample[0].label.add(key=77, str=1)  # label key out of range
    cases["bad-label"] = gzip.compress(p.SerializeToString())
    p = Profile()
    p.string_table.extend(["", "cpu-time", "nanoseconds"])
    p.sample_type.add(type=1, unit=2)
    p.location.add(id=3).line.add(function_id=9, line=1)  # no such function
    cases["missing-function"] = gzip.compress(p.SerializeToString())
    p = Profile()
    p.string_table.extend(["", "cpu-time", "nanoseconds"])
    p.sample_type.add(type=5, unit=2)  # type name out of range
    cases["bad-type-string"] = p.SerializeToString()
    for name, blob in cases.items():
        paths[name] = tmp_path / f"{name}.pprof"
        paths[name].write_bytes(blob)
    return paths


@pytest.fixture
def good(tmp_path):
    return fixture_profile(tmp_path, "good", [
        (1, 1, "MainThread", S, S, [("f", "/a.py", 1)])])


REASONS = {
    "empty": "empty file",
    "random": "not a pprof profile",
    "truncated-gzip": "corrupt or truncated gzip data",
    "truncated-protobuf": "not a pprof profile (protobuf decoding failed)",
    "gzip-of-garbage": "not a pprof profile",
    "text": "not a pprof profile",
    "bad-string-index": "string index out of range",
    "missing-location": "names missing location 5",
    "value-count": "2 values for 1 sample types",
    "string0": "string_table[0]",
    "bad-label": "label string index out of range",
    "missing-function": "names missing function 9",
    "bad-type-string": "sample type 0 has a string index out of range",
}


@pytest.mark.parametrize("command", ["flamegraph", "collapse", "diff-base", "diff-new"])
def test_each_bad_file_is_one_line_and_exit_2(tmp_path, good, command):
    bad = bad_profiles(tmp_path, good)
    bad["missing"] = tmp_path / "missing.pprof"
    bad["directory"] = tmp_path
    for name, path in bad.items():
        out = tmp_path / "out.svg"
        if command == "diff-base":
            args = ["diff", "-o", out, path, good]
        elif command == "diff-new":
            args = ["diff", "-o", out, good, path]
        else:
            args = [command, "-o", out, good, path]
        r = podprof(*args)
        cmd = args[0]
        assert r.returncode == 2, (name, r.stderr)
        assert r.stderr.count("\n") == 1 and r.stderr.startswith(f"podprof {cmd}: {path}: "), (
            name, r.stderr)
        reason = REASONS.get(name, {"missing": "No such file or directory",
                                    "directory": "Is a directory"}.get(name))
        assert reason in r.stderr, (name, r.stderr)
        assert not out.exists() and not list(tmp_path.glob("out.svg*")), name
    # These inputs seed the fuzz target over the same reader and writers (make fuzz-pictures):
    # its first byte picks the options.
    corpus = BUILD / "fuzz" / "corpus-pictures"
    corpus.mkdir(parents=True, exist_ok=True)
    for name, path in bad.items():
        if path.is_file():
            for flags in (0, 0x15):
                (corpus / f"seed-{name}-{flags}").write_bytes(bytes([flags]) + path.read_bytes())
    (corpus / "seed-good").write_bytes(b"\x00" + good.read_bytes())
    (corpus / "seed-good-lines").write_bytes(b"\x31" + good.read_bytes())


def peak_rss_kib(args):
    proc = subprocess.Popen([str(PODPROF), *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    return proc.returncode, stderr, usage.ru_maxrss


@pytest.mark.parametrize("command", ["flamegraph", "collapse", "top"])
def test_gzip_bomb_stops_at_the_bound(tmp_path, command):
    bomb = gzip_bomb(tmp_path / "bomb.pprof")
    assert bomb.stat().st_size < 1 << 20
    out = tmp_path / "out.svg"
    args = [command, bomb] if command == "top" else [command, "-o", out, bomb]
    rc, stderr, rss_kib = peak_rss_kib(args)
    assert rc == 2
    assert stderr == f"podprof {command}: {bomb}: decompresses to more than 256 MiB\n"
    assert not out.exists()
    if not SANITIZED:  # ASan's quarantine and shadow memory change what RSS means
        assert rss_kib < (INFLATE_BOUND >> 10) + 64 * 1024, rss_kib


def test_a_large_valid_profile_within_the_bound_is_read(tmp_path):
    """The bound is on the inflated size, not a guess from the compressed one."""
    Profile = profile_class()
    p = Profile()
    p.string_table.extend(["", "cpu-time", "nanoseconds", "f", "/a.py", "x" * (40 << 20)])
    p.sample_type.add(type=1, unit=2)
    p.function.add(id=1, name=3, filename=4)
    p.location.add(id=1).line.add(function_id=1, line=1)
    p.sample.add(location_id=[1], value=[5])
    path = tmp_path / "big.pprof"
    path.write_bytes(gzip.compress(p.SerializeToString(), 1))
    r = podprof("collapse", path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "f (/a.py) 5\n"

"""Reading pprof files back two independent ways: Google's protobuf runtime (PyPI `protobuf`) with
a descriptor compiled by `protoc` from Debian's profile.proto, and `go tool pprof`."""
import gzip
import os
import re
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from podprof_testenv import BUILD, ROOT  # noqa: F401 (re-exported for the output tests)

PROTO_DIR = "/usr/share/gocode/src/github.com/google/pprof/proto"
GO = "/usr/local/go/bin/go"
FIELD_SEP = "\x1f"


@lru_cache(maxsize=1)
def profile_class():
    out = Path(tempfile.mkdtemp(prefix="podprof-desc-")) / "profile.desc"
    subprocess.run(["protoc", f"-I{PROTO_DIR}", f"--descriptor_set_out={out}", "profile.proto"],
                   check=True)
    fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("perftools.profiles.Profile"))


def decode(path):
    data = Path(path).read_bytes()
    assert data[:2] == b"\x1f\x8b", "pprof files are gzip"
    return profile_class().FromString(gzip.decompress(data))


class Decoded:
    """A profile resolved to plain values: samples keyed by (thread labels, frames)."""

    def __init__(self, prof):
        self.prof = prof
        st = list(prof.string_table)
        self.strings = st
        self.functions = {f.id: (st[f.name], st[f.filename]) for f in prof.function}
        self.locations = {}
        for loc in prof.location:
            assert len(loc.line) == 1
            self.locations[loc.id] = (*self.functions[loc.line[0].function_id], loc.line[0].line)
        self.samples = {}
        for s in prof.sample:
            labels = {}
            for lab in s.label:
                key = st[lab.key]
                assert key not in labels
                labels[key] = st[lab.str] if lab.str else lab.num
            frames = tuple(self.locations[i] for i in s.location_id)
            key = (labels.get("thread id"), labels.get("thread native id"),
                   labels.get("thread name"), frames)
            assert key not in self.samples, "one sample per distinct stack"
            self.samples[key] = tuple(s.value)


def check_well_formed(prof):
    """The profile.proto rules every consumer relies on."""
    st = prof.string_table
    assert st[0] == ""
    assert len(set(st)) == len(st), "no duplicate strings"
    ids = [f.id for f in prof.function]
    assert sorted(ids) == list(range(1, len(ids) + 1))
    ids = [loc.id for loc in prof.location]
    assert sorted(ids) == list(range(1, len(ids) + 1))
    fn_keys = [(f.name, f.filename) for f in prof.function]
    assert len(set(fn_keys)) == len(fn_keys), "one Function per (name, filename)"
    loc_keys = [(loc.line[0].function_id, loc.line[0].line) for loc in prof.location]
    assert len(set(loc_keys)) == len(loc_keys), "one Location per (function, line)"
    for loc in prof.location:
        assert loc.mapping_id == 0 and loc.address == 0
        for line in loc.line:
            assert 1 <= line.function_id <= len(prof.function)
    for s in prof.sample:
        assert len(s.value) == len(prof.sample_type)
        for i in s.location_id:
            assert 1 <= i <= len(prof.location)
    assert [(st[t.type], st[t.unit]) for t in prof.sample_type] == [
        ("cpu-time", "nanoseconds"), ("cpu-samples", "count"),
        ("wall-time", "nanoseconds"), ("wall-samples", "count")]
    assert (st[prof.period_type.type], st[prof.period_type.unit]) == ("cpu-time", "nanoseconds")


def go_pprof(*args):
    env = dict(os.environ, GOFLAGS="-mod=mod", GOTOOLCHAIN="local", HOME=os.environ.get(
        "HOME", "/tmp"))
    r = subprocess.run([GO, "tool", "pprof", *map(str, args)], capture_output=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout.decode()


_LOC_RE = re.compile(r"^\s*(\d+): 0x[0-9a-f]+ M=\d+ (.*) (\S*):(-?\d+):\d+ s=\d+")
_SAMPLE_RE = re.compile(r"^\s*(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+): ((?:\d+ )*)$")
_LABEL_RE = re.compile(r"([a-z ]+):\[([^\]]*)\]")


def go_raw_samples(path):
    """`go tool pprof -raw` parsed into the same shape as Decoded.samples."""
    text = go_pprof("-raw", path)
    lines = text.splitlines()
    locs = {}
    in_locs = False
    for line in lines:
        if line.startswith("Locations"):
            in_locs = True
        elif line.startswith("Mappings"):
            in_locs = False
        elif in_locs:
            m = _LOC_RE.match(line)
            assert m, line
            locs[int(m.group(1))] = (m.group(2), m.group(3), int(m.group(4)))
    samples, cur = {}, None

    def close(cur):
        if cur:
            vals, ids, labels = cur
            key = (labels.get("thread id"), labels.get("thread native id"),
                   labels.get("thread name"), tuple(locs[i] for i in ids))
            samples[key] = vals

    in_samples = False
    for line in lines:
        if line.startswith("Samples:"):
            in_samples = True
            continue
        if line.startswith("Locations"):
            break
        if not in_samples or line.startswith("cpu-time/"):
            continue
        m = _SAMPLE_RE.match(line)
        if m:
            close(cur)
            cur = (tuple(int(m.group(i)) for i in range(1, 5)),
                   [int(x) for x in m.group(5).split()], {})
            continue
        for k, v in _LABEL_RE.findall(line):
            cur[2][k.strip()] = int(v) if k.strip() != "thread name" else v
    close(cur)
    return text, samples


def stack_line(tid, native, name, cpu, wall, repeat, frames):
    fields = ["S", str(tid), str(native), name, str(cpu), str(wall), str(repeat)]
    fields += [f"{fn}{FIELD_SEP}{file}{FIELD_SEP}{line}" for fn, file, line in frames]
    return "\t".join(fields) + "\n"


def flush_line(start_ns, end_ns):
    return f"F\t{start_ns}\t{end_ns}\n"


def run_fixture(build, script, *args, env=None, check=True):
    r = subprocess.run([str(build / "tests/output/pprof_fixture"), *map(str, args)],
                       input=script.encode() if isinstance(script, str) else script,
                       capture_output=True, env=env, timeout=120)
    if check:
        assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r

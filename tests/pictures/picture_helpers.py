"""What the picture tests share: running podprof, building profiles with known values (the output
tests' fixture writer for what the sampler writes; protobuf for any other sample type), and
reading a flame graph SVG back as a list of frames."""
import gzip
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from podprof_testenv import BUILD, ROOT

sys.path.insert(0, str(ROOT / "tests" / "output"))
from podprof_pprof import flush_line, profile_class, run_fixture, stack_line  # noqa: E402

PODPROF = BUILD / "bin" / "podprof"
S = 1_000_000_000
MS = 1_000_000
SVG_NS = "{http://www.w3.org/2000/svg}"
# What the sampler writes, and the types it is to write next, with their units (dd-trace-py's names).
SAMPLER_TYPES = [("cpu-time", "nanoseconds"), ("cpu-samples", "count"),
                 ("wall-time", "nanoseconds"), ("wall-samples", "count")]
UPCOMING_TYPES = [("exception-samples", "count"), ("lock-acquire-wait", "nanoseconds"),
                  ("lock-acquire", "count"), ("lock-release-hold", "nanoseconds"),
                  ("lock-release", "count"), ("alloc-space", "bytes"), ("alloc-samples", "count"),
                  ("heap-space", "bytes"), ("heap-live-samples", "count"),
                  ("gil-wait", "nanoseconds")]


def podprof(*args, timeout=120, **kw):
    return subprocess.run([str(PODPROF), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, **kw)


def fixture_profile(tmp_path, name, stacks, start=0):
    """stacks: (tid, native id, thread name, cpu ns, wall ns, frames leaf first)."""
    script = "".join(stack_line(t, n, tn, c, w, 1, fr) for t, n, tn, c, w, fr in stacks)
    run_fixture(BUILD, script + flush_line(start, start + 10 * S), "--prefix", tmp_path / name)
    return sorted(tmp_path.glob(f"{name}.*.pprof"))[-1]


def typed_profile(path, types, samples, compress=True):
    """A pprof with any sample types: samples are (frames leaf first as (name, file, line),
    values in the order of types, thread name or None)."""
    p = profile_class()()
    strings = {"": 0}

    def s(text):
        if text not in strings:
            strings[text] = len(strings)
        return strings[text]

    for name, unit in types:
        p.sample_type.add(type=s(name), unit=s(unit))
    functions, locations = {}, {}
    for frames, values, thread in samples:
        ids = []
        for name, file, line in frames:
            if (name, file) not in functions:
                functions[(name, file)] = len(functions) + 1
                p.function.add(id=functions[(name, file)], name=s(name), filename=s(file))
            fid = functions[(name, file)]
            lid = locations.get((fid, line))
            if lid is None:
                lid = locations[(fid, line)] = len(locations) + 1
                p.location.add(id=lid).line.add(function_id=fid, line=line)
            ids.append(lid)
        sample = p.sample.add(location_id=ids, value=values)
        if thread is not None:
            sample.label.add(key=s("thread name"), str=s(thread))
    p.string_table.extend(sorted(strings, key=strings.get))
    data = p.SerializeToString()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@dataclass
class Frame:
    name: str
    info: str
    o: int
    v: int
    d: int
    x: float
    w: float
    fill: str
    label: str


def svg_frames(path):
    root = ET.parse(path).getroot()
    frames = []
    for g in root.iter(f"{SVG_NS}g"):
        if g.get("class") != "f":
            continue
        title = g.find(f"{SVG_NS}title").text
        rect = g.find(f"{SVG_NS}rect")
        frames.append(Frame(title.split("\n")[0], title, int(g.get("data-o")), int(g.get("data-v")),
                            int(g.get("data-d")), float(rect.get("x")), float(rect.get("width")),
                            rect.get("fill"), g.find(f"{SVG_NS}text").text or ""))
    return root, frames


def by_name(frames):
    out = {}
    for f in frames:
        assert f.name not in out, f"{f.name} drawn twice"
        out[f.name] = f
    return out


def folded(text):
    """Folded stacks as {path: value}."""
    out = {}
    for line in text.splitlines():
        path, value = line.rsplit(" ", 1)
        assert path not in out
        out[path] = int(value)
    return out

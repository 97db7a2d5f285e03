"""`podprof collapse` (folded stacks, named as in the pictures), `podprof diff` (NEW's shape,
coloured by the change of share against BASE), `podprof top --type` and `podprof run
--flamegraph`."""
import os
import re
import subprocess

import pytest

from picture_helpers import (BUILD, S, SVG_NS, by_name, fixture_profile, flush_line, folded,
                             podprof, stack_line, svg_frames, typed_profile)
from podprof_testenv import SANITIZED, asan_runtime_preload

STACKS = [
    (1, 11, "MainThread", 2 * S, 2 * S, [("busy", "/app/w.py", 10), ("main", "/app/w.py", 2)]),
    (1, 11, "MainThread", 1 * S, 1 * S,
     [("lazy", "/usr/lib/python3.12/json/decoder.py", 353), ("main", "/app/w.py", 3)]),
    (1, 11, "MainThread", 1 * S, 1 * S,
     [("rec", "/app/r.py", 5), ("rec", "/app/r.py", 6), ("main", "/app/w.py", 4)]),
    (2, 12, "worker-1", 0, 4 * S,
     [("sleep", "/app/s.py", 1), ("run", "/usr/lib/python3.12/threading.py", 982)]),
]


@pytest.fixture
def profile(tmp_path):
    return fixture_profile(tmp_path, "p", STACKS)


# ---- collapse ----

def test_collapse_is_folded_stacks(profile):
    r = podprof("collapse", profile)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "main (/app/w.py);busy (/app/w.py) 2000000000\n"
        "main (/app/w.py);lazy (json/decoder.py) 1000000000\n"
        "main (/app/w.py);rec (/app/r.py);rec (/app/r.py) 1000000000\n")
    # The format flamegraph.pl documents: frames joined by ';', a space, an integer.
    for line in r.stdout.splitlines():
        assert re.fullmatch(r"[^;\n]+(;[^;\n]+)* \d+", line)


def test_collapse_types_filters_and_lines(profile):
    wall = folded(podprof("collapse", "--type", "wall", "--thread", "worker-1", profile).stdout)
    assert wall == {"run (threading.py);sleep (/app/s.py)": 4 * S}
    lines = folded(podprof("collapse", "--lines", "--ignore", "rec|lazy", profile).stdout)
    assert lines == {"main (/app/w.py:2);busy (/app/w.py:10)": 2 * S}


def test_collapse_and_flamegraph_name_frames_alike(tmp_path, profile):
    stacks = folded(podprof("collapse", "--type", "wall", profile).stdout)
    svg = tmp_path / "p.svg"
    assert podprof("flamegraph", "--type", "wall", "-o", svg, profile).returncode == 0
    _, frames = svg_frames(svg)
    names = {f.name for f in frames} - {"all"}
    assert names == {frame for path in stacks for frame in path.split(";")}
    assert sum(stacks.values()) == frames[0].v and frames[0].name == "all"


def test_collapse_escapes_the_separator(tmp_path):
    prof = typed_profile(tmp_path / "s.pprof", [("cpu-time", "nanoseconds")], [
        ([("a;b", "/x;y.py", 1), ("m\tn", "/m.py", 1)], [3], None)])
    assert podprof("collapse", prof).stdout == "m?n (/m.py);a_b (/x_y.py) 3\n"


def test_collapse_to_a_file(tmp_path, profile):
    out = tmp_path / "p.folded"
    r = podprof("collapse", profile, "-o", out)
    assert r.returncode == 0 and r.stdout == ""
    assert out.read_text() == podprof("collapse", profile).stdout


# ---- diff ----

def test_diff_colours_by_change_of_share(tmp_path):
    base = fixture_profile(tmp_path, "base", [
        (1, 1, "MainThread", 1 * S, S, [("busy", "/w.py", 1), ("main", "/w.py", 1)]),
        (1, 1, "MainThread", 1 * S, S, [("lazy", "/w.py", 2), ("main", "/w.py", 1)]),
        (1, 1, "MainThread", 2 * S, S, [("gone", "/w.py", 3), ("main", "/w.py", 1)]),
    ])
    new = fixture_profile(tmp_path, "new", [
        (1, 1, "MainThread", 6 * S, S, [("busy", "/w.py", 1), ("main", "/w.py", 1)]),
        (1, 1, "MainThread", 1 * S, S, [("lazy", "/w.py", 2), ("main", "/w.py", 1)]),
        (1, 1, "MainThread", 1 * S, S, [("fresh", "/w.py", 4), ("main", "/w.py", 1)]),
    ])
    out = tmp_path / "d.svg"
    r = podprof("diff", base, new, "-o", out)  # options after the profiles, as documented
    assert r.returncode == 0, r.stderr
    root, frames = svg_frames(out)
    f = by_name(frames)
    # NEW's shape: its values and frames; BASE-only frames are absent.
    assert set(f) == {"all", "main (/w.py)", "busy (/w.py)", "lazy (/w.py)", "fresh (/w.py)"}
    assert (f["busy (/w.py)"].v, f["lazy (/w.py)"].v, f["all"].v) == (6 * S, S, 8 * S)
    # busy: 25 % -> 75 % (+50 points, the largest change: deepest red);
    # lazy: 25 % -> 12.5 % (blue); fresh: 0 -> 12.5 % (light red); main: 100 % -> 100 %.
    assert f["busy (/w.py)"].info.endswith(
        "NEW 6.00s, 75.00% | BASE 1.00s, 25.00% | +50.00 points")
    assert f["lazy (/w.py)"].info.endswith("| -12.50 points")
    assert f["fresh (/w.py)"].info.endswith("NEW 1.00s, 12.50% | BASE 0ns, 0.00% | +12.50 points")
    assert f["busy (/w.py)"].fill == "#ff3737"
    assert f["main (/w.py)"].fill == "#ffffff"
    red, blue = f["fresh (/w.py)"].fill, f["lazy (/w.py)"].fill
    assert red[1:3] == "ff" and red[3:5] == red[5:7] and red != "#ffffff"
    assert blue[5:7] == "ff" and blue[1:3] == blue[3:5] and blue[1:3] == red[3:5]
    subtitle = root.find(f"{SVG_NS}text[@id='podprof-subtitle']").text
    assert subtitle.startswith(f"NEW {new.name}: 8.00s | BASE {base.name}: 4.00s")
    assert subtitle.endswith("| 50.00% of BASE is in call paths NEW lacks")
    assert root.find(f"{SVG_NS}text[@id='podprof-title']").text == (
        "Differential flame graph: CPU time (cpu-time)")


def test_diff_needs_the_type_and_samples_in_both(tmp_path, profile):
    wall_only = typed_profile(tmp_path / "w.pprof", [("wall-time", "nanoseconds")],
                              [([("f", "/a.py", 1)], [7], None)])
    r = podprof("diff", "-o", tmp_path / "d.svg", profile, wall_only)
    assert r.returncode == 2
    assert r.stderr.startswith(f"podprof diff: {wall_only}: no sample type 'cpu-time'")
    r = podprof("diff", "--thread", "worker-1", "-o", tmp_path / "d.svg", profile, profile)
    assert r.returncode == 2
    assert r.stderr == (f"podprof diff: {profile}: no cpu-time samples left after the filters, "
                        "nothing to compare\n")
    for args in ([profile], [profile, profile, profile], []):
        r = podprof("diff", "-o", tmp_path / "d.svg", *args)
        assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert not list(tmp_path.glob("d.svg*"))


def test_diff_of_a_profile_with_itself_is_white(tmp_path, profile):
    out = tmp_path / "same.svg"
    assert podprof("diff", "--type", "wall", profile, profile, "-o", out).returncode == 0
    _, frames = svg_frames(out)
    assert {f.fill for f in frames} == {"#ffffff"}


# ---- top --type ----

def test_top_type(tmp_path, profile):
    r = podprof("top", "--type", "wall", profile)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "1 profile over 10.00s: wall 8.00s in 4 samples"
    assert "Top functions by wall time" in r.stdout and "CPU time" not in r.stdout
    assert re.search(r"4\.00s\s+50\.0%\s+4\.00s\s+50\.0%\s+sleep \(/app/s\.py\)", r.stdout)
    heap = typed_profile(tmp_path / "h.pprof", [("heap-space", "bytes"),
                                                ("heap-live-samples", "count")], [
        ([("load", "/m.py", 1), ("main", "/m.py", 9)], [3 << 20, 12], "T"),
        ([("cache", "/m.py", 2), ("main", "/m.py", 9)], [1 << 20, 4], "T")])
    r = podprof("top", "--type", "heap", heap)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "1 profile over 0ns: live heap 4.00MiB in 2 samples"
    assert "Top functions by live heap bytes" in r.stdout
    assert re.search(r"3\.00MiB\s+75\.0%\s+3\.00MiB\s+75\.0%\s+load \(/m\.py\)", r.stdout)
    r = podprof("top", "--type", "heap-live-samples", heap)
    assert re.search(r"\s12\s+75\.0%\s+12\s+75\.0%\s+load \(/m\.py\)", r.stdout), r.stdout


def test_top_type_missing_is_one_line_per_file(tmp_path, profile):
    r = podprof("top", "--type", "gil", profile, profile)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"podprof top: {profile}: no sample type 'gil' in this profile (it has: "
        "cpu-time/nanoseconds, cpu-samples/count, wall-time/nanoseconds, wall-samples/count)"] * 2
    assert r.stdout == ""


# ---- run --flamegraph ----

def run_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DD_") and k != "LD_PRELOAD"}
    if SANITIZED:  # the ASan-built library in sh needs the ASan runtime loaded first
        env["LD_PRELOAD"] = ":".join(asan_runtime_preload())
        env["ASAN_OPTIONS"] = "verify_asan_link_order=0:detect_leaks=0"
    return env


def test_run_draws_the_runs_profiles(tmp_path):
    script = tmp_path / "script"
    script.write_text(stack_line(1, 1, "MainThread", 3 * S, 3 * S, 1,
                                 [("hot", "/app/hot.py", 3), ("main", "/app/m.py", 1)])
                      + stack_line(1, 1, "MainThread", S, S, 1,
                                   [("warm", "/app/hot.py", 9), ("main", "/app/m.py", 1)])
                      + flush_line(0, 4 * S))
    fixture = BUILD / "tests" / "output" / "pprof_fixture"
    out = tmp_path / "run.svg"
    r = subprocess.run([str(BUILD / "bin" / "podprof"), "run", "--output", tmp_path / "prof",
                        "--flamegraph", out, "--", "sh", "-c",
                        f'{fixture} --prefix "$DD_PROFILING_OUTPUT_PPROF" < {script}; exit 3'],
                       capture_output=True, text=True, timeout=120, env=run_env())
    assert r.returncode == 3, r.stderr
    assert f"podprof run: wrote {out} (1 profile, 2 samples, 4.00s in all)" in r.stderr
    _, frames = svg_frames(out)
    f = by_name(frames)
    assert (f["hot (/app/hot.py)"].v, f["warm (/app/hot.py)"].v) == (3 * S, S)


# ---- against go tool pprof ----

GO = "/usr/local/go/bin/go"


def go_raw(path):
    """`go tool pprof -raw`: [(values, [function, file] leaf first)] as Go's reader sees them."""
    env = dict(os.environ, GOFLAGS="-mod=mod", GOTOOLCHAIN="local",
               HOME=os.environ.get("HOME", "/tmp"))
    r = subprocess.run([GO, "tool", "pprof", "-raw", str(path)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    text = r.stdout
    locs = dict((int(m.group(1)), (m.group(2), m.group(3))) for m in re.finditer(
        r"^\s*(\d+): 0x[0-9a-f]+ M=\d+ (\S+) (\S+):\d+:\d+ s=", text, re.M))
    samples = []
    for m in re.finditer(r"^((?:\s+-?\d+)+): ((?:\d+ )*)$", text, re.M):
        samples.append(([int(v) for v in m.group(1).split()],
                        [locs[int(i)] for i in m.group(2).split()]))
    return samples


def test_collapse_agrees_with_go_pprof(tmp_path):
    """A random profile (seeded) with every sample type: for several types, podprof's folded
    stacks equal what Go's own pprof reader finds in the same file, summed per call path."""
    import random
    from picture_helpers import SAMPLER_TYPES, UPCOMING_TYPES
    types = SAMPLER_TYPES + UPCOMING_TYPES
    rnd = random.Random(15)
    files = [f"/srv/app/m{i}.py" for i in range(4)] + [
        "/opt/venv/lib/python3.12/site-packages/requests/api.py"]
    samples = []
    for _ in range(300):
        frames = [(f"f{rnd.randrange(30)}", rnd.choice(files), rnd.randrange(1, 50))
                  for _ in range(rnd.randint(1, 12))]
        samples.append((frames, [rnd.choice([0, rnd.randrange(1, 10**9)]) for _ in types],
                        rnd.choice(["a", "b"])))
    prof = typed_profile(tmp_path / "random.pprof", types, samples)
    raw = go_raw(prof)
    assert len(raw) == 300

    def short(file):
        return re.sub(r"^.*/site-packages/", "", file)

    for type_name in ("cpu-time", "wall-samples", "alloc-space", "exception-samples", "gil-wait"):
        ix = [t for t, _ in types].index(type_name)
        expected = {}
        for values, frames in raw:
            if values[ix] > 0:
                path = ";".join(f"{fn} ({short(file)})" for fn, file in reversed(frames))
                expected[path] = expected.get(path, 0) + values[ix]
        r = podprof("collapse", "--type", type_name, prof)
        assert r.returncode == 0, r.stderr
        assert folded(r.stdout) == expected, type_name

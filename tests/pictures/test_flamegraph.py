"""`podprof flamegraph`: a valid, self-contained SVG whose boxes have the profile's values, for
every sample type, with filters that select what they say."""
import re
import xml.etree.ElementTree as ET

import pytest

from picture_helpers import (MS, S, SAMPLER_TYPES, SVG_NS, UPCOMING_TYPES, by_name,
                             fixture_profile, podprof, svg_frames, typed_profile)

# CPU: busy 2 s and lazy 1 s under main (a 2:1 split); wall adds a worker thread asleep 4 s.
STACKS = [
    (1, 11, "MainThread", 2 * S, 2 * S, [("busy", "/app/w.py", 10), ("main", "/app/w.py", 2)]),
    (1, 11, "MainThread", 1 * S, 1 * S,
     [("lazy", "/usr/lib/python3.12/json/decoder.py", 353), ("main", "/app/w.py", 3)]),
    (2, 12, "worker-1", 0, 4 * S,
     [("sleep", "/app/s.py", 1), ("run", "/usr/lib/python3.12/threading.py", 982)]),
]


@pytest.fixture
def profile(tmp_path):
    return fixture_profile(tmp_path, "p", STACKS)


def draw(tmp_path, *args, name="out.svg"):
    out = tmp_path / name
    r = podprof("flamegraph", "-o", out, *args)
    assert r.returncode == 0, r.stderr
    return out


def test_svg_is_valid_xml_with_no_external_reference(tmp_path, profile):
    out = draw(tmp_path, profile)
    root = ET.parse(out).getroot()  # well-formed XML, or this raises
    assert root.tag == f"{SVG_NS}svg"
    assert root.get("data-generator").startswith("podprof flamegraph")
    text = out.read_text()
    # Nothing is fetched: no link, image, stylesheet or font from elsewhere, no network API.
    for el in root.iter():
        assert el.tag.split("}")[1] not in ("image", "use", "foreignObject", "a", "link")
        for key, value in el.attrib.items():
            assert "href" not in key and key != "src", (el.tag, key)
            assert "url(" not in value or "url(#" in value
    without_ns = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for needle in ("http:", "https:", "//cdn", "@import", "fetch(", "XMLHttpRequest",
                   "import(", "url("):
        assert needle not in without_ns, needle
    script = root.find(f"{SVG_NS}script")
    assert script is not None and "podprof-flame" in script.text


def test_box_widths_follow_the_values(tmp_path, profile):
    _, frames = svg_frames(draw(tmp_path, profile))
    f = by_name(frames)
    assert set(f) == {"all", "main (/app/w.py)", "busy (/app/w.py)", "lazy (json/decoder.py)"}
    assert f["all"].v == f["main (/app/w.py)"].v == 3 * S
    assert (f["busy (/app/w.py)"].v, f["lazy (json/decoder.py)"].v) == (2 * S, S)
    ratio = f["busy (/app/w.py)"].w / f["lazy (json/decoder.py)"].w
    assert abs(ratio - 2) < 0.1, ratio  # 2:1 within 5 %
    assert abs(f["all"].w - 1179) < 1.5
    # Callees sit on their caller: same left edge, one row up.
    busy, main = f["busy (/app/w.py)"], f["main (/app/w.py)"]
    assert busy.x == main.x and busy.d == main.d + 1
    lazy = f["lazy (json/decoder.py)"]
    assert abs(lazy.x - (busy.x + busy.w + 1)) < 0.02
    # Hover titles: the value in its unit's form and the share of the total.
    assert busy.info == "busy (/app/w.py)\n2.00s, 66.67%"
    assert lazy.info == "lazy (json/decoder.py)\n1.00s, 33.33%"
    assert busy.label == "busy (/app/w.py)"


def test_colours_are_stable_per_module(tmp_path, profile):
    _, frames = svg_frames(draw(tmp_path, profile))
    f = by_name(frames)
    other = typed_profile(tmp_path / "other.pprof", [("cpu-time", "nanoseconds")], [
        ([("lazy", "/opt/venv/lib/python3.12/json/decoder.py", 1), ("x", "/y.py", 1)], [5], None),
    ])
    _, frames2 = svg_frames(draw(tmp_path, other, name="other.svg"))
    g = by_name(frames2)
    hue = lambda c: colorsys_hue(c)  # noqa: E731
    # The same module (json/decoder.py, from two different installs) has the same hue.
    assert abs(hue(f["lazy (json/decoder.py)"].fill) - hue(g["lazy (json/decoder.py)"].fill)) < 3
    assert f["all"].fill == "#c8c8c8"


def colorsys_hue(hex_colour):
    import colorsys
    r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(r, g, b)[0] * 360


def test_default_is_cpu_then_wall(tmp_path, profile):
    root, frames = svg_frames(draw(tmp_path, profile))
    assert root.get("data-type") == "cpu-time" and "sleep (/app/s.py)" not in by_name(frames)
    wall_only = typed_profile(tmp_path / "w.pprof", [("wall-time", "nanoseconds")],
                              [([("f", "/a.py", 1)], [7], None)])
    root, _ = svg_frames(draw(tmp_path, wall_only, name="w.svg"))
    assert root.get("data-type") == "wall-time"


@pytest.mark.parametrize("alias", ["wall", "wall-time", "WALL_TIME", "wall-time/nanoseconds"])
def test_wall_time_by_any_spelling(tmp_path, profile, alias):
    root, frames = svg_frames(draw(tmp_path, "--type", alias, profile))
    f = by_name(frames)
    assert root.get("data-type") == "wall-time"
    assert f["all"].v == 7 * S and f["sleep (/app/s.py)"].v == 4 * S
    assert root.find(f"{SVG_NS}text[@id='podprof-title']").text == (
        "Flame graph: wall time (wall-time)")


ALL_TYPES = SAMPLER_TYPES + UPCOMING_TYPES
ALIASES = {"cpu-time": "cpu", "wall-time": "wall", "exception-samples": "exceptions",
           "lock-acquire-wait": "lock-wait", "lock-release-hold": "lock-hold",
           "alloc-space": "alloc", "heap-space": "heap", "gil-wait": "gil"}


def every_type_profile(tmp_path):
    """Two stacks whose values differ per type: type i gives a (i+1) and b (2*(i+1)), so the
    widths show which type was drawn."""
    n = len(ALL_TYPES)
    return typed_profile(tmp_path / "all-types.pprof", ALL_TYPES, [
        ([("a", "/m.py", 1), ("main", "/m.py", 9)], [(i + 1) * 1000 for i in range(n)], "T"),
        ([("b", "/m.py", 2), ("main", "/m.py", 9)], [(i + 1) * 2000 + i for i in range(n)],
         "T"),
    ])


@pytest.mark.parametrize("index", range(len(ALL_TYPES)), ids=[t for t, _ in ALL_TYPES])
def test_every_sample_type_by_name_and_alias(tmp_path, index):
    prof = every_type_profile(tmp_path)
    name, unit = ALL_TYPES[index]
    spellings = [name] + ([ALIASES[name]] if name in ALIASES else [])
    for spelling in spellings:
        root, frames = svg_frames(draw(tmp_path, "--type", spelling, prof))
        f = by_name(frames)
        assert root.get("data-type") == name and root.get("data-unit") == unit
        a, b = (index + 1) * 1000, (index + 1) * 2000 + index
        assert (f["a (/m.py)"].v, f["b (/m.py)"].v, f["all"].v) == (a, b, a + b)
        value = {"nanoseconds": f"{b / 1000:.2f}us", "bytes": f"{b / 1024:.2f}KiB",
                 "count": str(b)}[unit]
        assert f["b (/m.py)"].info == f"b (/m.py)\n{value}, {100 * b / (a + b):.2f}%"


def test_type_the_profile_lacks(tmp_path, profile):
    out = tmp_path / "x.svg"
    r = podprof("flamegraph", "--type", "alloc-space", "-o", out, profile)
    assert r.returncode == 2
    assert r.stderr == (f"podprof flamegraph: {profile}: no sample type 'alloc-space' in this "
                        "profile (it has: cpu-time/nanoseconds, cpu-samples/count, "
                        "wall-time/nanoseconds, wall-samples/count)\n")
    assert not out.exists() and not list(tmp_path.glob("x.svg*"))


def test_merges_files_and_refuses_mixed_units(tmp_path, profile):
    second = fixture_profile(tmp_path, "q", [
        (1, 11, "MainThread", 6 * S, 6 * S, [("busy", "/app/w.py", 10), ("main", "/app/w.py", 2)])
    ])
    _, frames = svg_frames(draw(tmp_path, profile, second))
    f = by_name(frames)
    assert f["busy (/app/w.py)"].v == 8 * S and f["all"].v == 9 * S
    odd = typed_profile(tmp_path / "odd.pprof", [("cpu-time", "microseconds")],
                        [([("f", "/a.py", 1)], [7], None)])
    r = podprof("flamegraph", "-o", tmp_path / "y.svg", profile, odd)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "cpu-time is in microseconds here but in nanoseconds" in r.stderr


def test_thread_filter(tmp_path, profile):
    root, frames = svg_frames(draw(tmp_path, "--type", "wall", "--thread", "worker-*", profile))
    assert set(by_name(frames)) == {"all", "run (threading.py)", "sleep (/app/s.py)"}
    assert "thread: worker-*" in root.find(f"{SVG_NS}text[@id='podprof-subtitle']").text
    _, frames = svg_frames(draw(tmp_path, "--type", "wall", "--thread", "MainThread", profile))
    assert by_name(frames)["all"].v == 3 * S


def test_focus_and_ignore(tmp_path, profile):
    _, frames = svg_frames(draw(tmp_path, "--focus", "^busy", profile))
    assert set(by_name(frames)) == {"all", "main (/app/w.py)", "busy (/app/w.py)"}
    _, frames = svg_frames(draw(tmp_path, "--ignore", r"json/", profile))
    assert set(by_name(frames)) == {"all", "main (/app/w.py)", "busy (/app/w.py)"}
    _, frames = svg_frames(draw(tmp_path, "--type", "wall", "--focus", "main|run",
                                "--ignore", "busy", profile))
    assert set(by_name(frames)) == {"all", "main (/app/w.py)", "lazy (json/decoder.py)",
                                    "run (threading.py)", "sleep (/app/s.py)"}


def test_lines_split_frames_by_line(tmp_path, profile):
    _, frames = svg_frames(draw(tmp_path, "--lines", profile))
    assert set(by_name(frames)) == {"all", "main (/app/w.py:2)", "main (/app/w.py:3)",
                                    "busy (/app/w.py:10)", "lazy (json/decoder.py:353)"}


def test_empty_after_filters_still_draws(tmp_path, profile):
    out = tmp_path / "e.svg"
    r = podprof("flamegraph", "--focus", "nothing-like-this", "-o", out, profile)
    assert r.returncode == 0
    assert r.stderr == ("podprof flamegraph: no cpu-time samples left after the filters: the "
                        "picture is empty\n")
    root, frames = svg_frames(out)
    assert frames == [] and "No samples" in out.read_text()


def test_labels_are_cut_to_fit_and_names_escaped(tmp_path):
    long = "f" * 400
    hostile = "<script>alert(1)</script>&\"x\x01\xff"
    prof = typed_profile(tmp_path / "h.pprof", [("cpu-time", "nanoseconds")], [
        ([(long, "/a.py", 1)], [1000], None),
        ([(hostile, "/b.py", 1)], [1], None),
    ])
    out = draw(tmp_path, prof)
    _, frames = svg_frames(out)  # still well-formed
    f = by_name(frames)
    long_frame = f[f"{long} (/a.py)"]
    assert long_frame.label.endswith("..") and len(long_frame.label) * 7.08 <= long_frame.w
    assert "<script>alert" not in out.read_text()


def test_html_page(tmp_path, profile):
    out = draw(tmp_path, profile, name="p.html")
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and 'id="podprof-search-input"' in text
    svg = text[text.index("<svg"):text.index("</svg>") + 6]
    root = ET.fromstring(svg)
    assert root.get("width") == "100%"


def test_stdout_and_usage(tmp_path, profile):
    r = podprof("flamegraph", profile)
    assert r.returncode == 0 and r.stdout.startswith("<?xml")
    for args in ([], ["--type"], ["--nope", profile], ["--focus", "(", profile],
                 ["--max-nodes", "1", profile]):
        r = podprof("flamegraph", *args)
        assert r.returncode == 2, args
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("podprof flamegraph: ")


def test_node_limit_keeps_totals_and_says_so(tmp_path):
    samples = [([(f"leaf{i:03d}", "/l.py", i), ("main", "/m.py", 1)], [10], None)
               for i in range(200)]
    prof = typed_profile(tmp_path / "wide.pprof", [("cpu-time", "nanoseconds")], samples)
    root, frames = svg_frames(draw(tmp_path, "--max-nodes", "50", prof))
    f = by_name(frames)
    assert len(frames) == 50 and f["all"].v == 2000 and f["main (/m.py)"].v == 2000
    subtitle = root.find(f"{SVG_NS}text[@id='podprof-subtitle']").text
    assert re.search(r"\| 76\.00% drawn short of its full stack", subtitle), subtitle


def test_types_listing():
    r = podprof("flamegraph", "--types")
    assert r.returncode == 0
    listed = [line.split()[0] for line in r.stdout.splitlines()]
    assert listed == [t for t, _ in ALL_TYPES]


def test_time_units(tmp_path):
    prof = typed_profile(tmp_path / "t.pprof", [("lock-acquire-wait", "nanoseconds")], [
        ([("w", "/a.py", 1)], [1500 * MS], None), ([("v", "/a.py", 2)], [2500 * 1000], None)])
    _, frames = svg_frames(draw(tmp_path, "--type", "lock-wait", prof))
    f = by_name(frames)
    assert f["w (/a.py)"].info.split("\n")[1].startswith("1.50s, ")
    assert f["v (/a.py)"].info.split("\n")[1].startswith("2.50ms, ")

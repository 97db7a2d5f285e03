"""The pictures in a real browser (headless Chromium over the DevTools protocol): the boxes render
with the profile's proportions, the script runs without an error, a click zooms (and zooms back),
the search highlights matches and shows their share, and the differential graph and the HTML page
work the same way. Everything is read from the page itself after the events a user would cause."""
import json

import pytest

from cdp_browser import Browser
from picture_helpers import S, fixture_profile, podprof

STACKS = [
    (1, 11, "MainThread", 2 * S, 2 * S, [("busy", "/app/w.py", 10), ("main", "/app/w.py", 2)]),
    (1, 11, "MainThread", 1 * S, 1 * S,
     [("lazy", "/usr/lib/python3.12/json/decoder.py", 353), ("main", "/app/w.py", 3)]),
    (1, 11, "MainThread", 1 * S, 1 * S,
     [("busy", "/app/w.py", 20), ("rec", "/app/r.py", 6), ("rec", "/app/r.py", 6),
      ("main", "/app/w.py", 4)]),
]


@pytest.fixture(scope="module")
def browser():
    b = Browser()
    yield b
    b.close()


@pytest.fixture
def profile(tmp_path):
    return fixture_profile(tmp_path, "p", STACKS)


FRAMES_JS = """[...document.querySelectorAll('g.f')].map(g => {
    const r = g.querySelector('rect').getBoundingClientRect();
    return {name: g.querySelector('title').textContent.split('\\n')[0], cls: g.className.baseVal,
            x: r.left, w: r.width, h: r.height, label: g.querySelector('text').textContent,
            fill: getComputedStyle(g.querySelector('rect')).fill,
            shown: getComputedStyle(g).display !== 'none'};
})"""


def frames(page):
    return page.eval(FRAMES_JS)


def first_by_name(drawn):
    """The first (outermost) frame of each name."""
    out = {}
    for f in drawn:
        out.setdefault(f["name"], f)
    return out


def named(page, name):
    found = [f for f in frames(page) if f["name"] == name]
    assert len(found) == 1, (name, found)
    return found[0]


def open_picture(browser, path):
    page = browser.open_page(path.as_uri())
    page.wait_for("document.getElementById('podprof-flame') && "
                  "document.getElementById('podprof-flame').getAttribute('data-ready')")
    return page


def text_of(page, id_):
    return page.eval(f"document.getElementById({json.dumps('podprof-' + id_)}).textContent")


def test_boxes_render_with_the_profiles_proportions(browser, tmp_path, profile):
    out = tmp_path / "f.svg"
    assert podprof("flamegraph", "-o", out, profile).returncode == 0
    page = open_picture(browser, out)
    drawn = frames(page)
    assert [f["name"] for f in drawn if f["shown"]] == [
        "all", "main (/app/w.py)", "busy (/app/w.py)", "lazy (json/decoder.py)",
        "rec (/app/r.py)", "rec (/app/r.py)", "busy (/app/w.py)"]
    by = first_by_name(drawn)
    assert all(f["w"] > 0 and f["h"] == 15 for f in drawn)
    # busy 2 s : lazy 1 s, as laid out by the browser (a 2:1 CPU split within 5 %).
    ratio = by["busy (/app/w.py)"]["w"] / by["lazy (json/decoder.py)"]["w"]
    assert abs(ratio - 2) < 0.1, ratio
    assert abs(by["all"]["w"] - 1179) < 1
    assert by["busy (/app/w.py)"]["label"] == "busy (/app/w.py)"
    assert page.exceptions() == []


def test_click_zooms_and_reset_zooms_out(browser, tmp_path, profile):
    out = tmp_path / "f.svg"
    assert podprof("flamegraph", "-o", out, profile).returncode == 0
    page = open_picture(browser, out)
    assert "hide" in page.eval("document.getElementById('podprof-unzoom').className.baseVal")
    before = frames(page)
    page.click_element("g.f:nth-child(4) rect")  # lazy (json/decoder.py)
    after = first_by_name(frames(page))
    lazy = after["lazy (json/decoder.py)"]
    assert lazy["shown"] and abs(lazy["w"] - 1179) < 1 and abs(lazy["x"] - 10) < 1
    assert not after["busy (/app/w.py)"]["shown"] or after["busy (/app/w.py)"]["w"] == 0
    # Its callers stay, full width and dimmed, to show where it was called from.
    assert after["main (/app/w.py)"]["shown"] and "anc" in after["main (/app/w.py)"]["cls"]
    assert "hide" not in page.eval(
        "document.getElementById('podprof-unzoom').className.baseVal")
    page.click_element("#podprof-unzoom")
    assert frames(page) == before
    # Zooming into a frame with callees widens them in proportion.
    page.click_element("g.f:nth-child(5) rect")  # rec (/app/r.py), the outer one
    inner = [f for f in frames(page) if f["shown"] and f["name"] == "busy (/app/w.py)"]
    assert len(inner) == 1 and abs(inner[0]["w"] - 1179) < 1
    page.click_element("g.f:nth-child(1) rect")  # "all" zooms out too
    assert frames(page) == before
    assert page.exceptions() == []


def test_search_highlights_and_shows_the_share(browser, tmp_path, profile):
    out = tmp_path / "f.svg"
    assert podprof("flamegraph", "-o", out, profile).returncode == 0
    page = open_picture(browser, out)
    plain = named(page, "lazy (json/decoder.py)")["fill"]
    page.prompt_answers.append("^busy")
    page.click_element("#podprof-search")  # opens a prompt, answered "^busy"
    page.wait_for("document.getElementById('podprof-matched').textContent")
    # busy runs 2 s directly under main and 1 s under rec: 3 of 4 s.
    assert text_of(page, "matched") == "Matched: 75.00% (2 frames)"
    hl = [f for f in frames(page) if "hl" in f["cls"]]
    assert [f["name"] for f in hl] == ["busy (/app/w.py)"] * 2
    assert all(f["fill"] == "rgb(224, 64, 224)" for f in hl)
    assert named(page, "lazy (json/decoder.py)")["fill"] == plain
    assert text_of(page, "search") == "Reset search"
    # A recursive function counts once: rec within rec is 1 s, 25 %.
    page.click_element("#podprof-search")  # resets
    assert text_of(page, "matched") == "" and not [f for f in frames(page) if "hl" in f["cls"]]
    page.prompt_answers.append("rec")
    page.click_element("#podprof-search")
    page.wait_for("document.getElementById('podprof-matched').textContent")
    assert text_of(page, "matched") == "Matched: 25.00% (2 frames)"
    assert page.exceptions() == []


def test_hover_shows_details(browser, tmp_path, profile):
    out = tmp_path / "f.svg"
    assert podprof("flamegraph", "-o", out, profile).returncode == 0
    page = open_picture(browser, out)
    box = page.eval("""(() => { const r = document.querySelector('g.f:nth-child(4) rect')
        .getBoundingClientRect(); return [r.left + 5, r.top + 5]; })()""")
    page.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box[0], "y": box[1]})
    assert text_of(page, "details") == "lazy (json/decoder.py) | 1.00s, 25.00%"


def test_html_page_search_box(browser, tmp_path, profile):
    out = tmp_path / "f.html"
    assert podprof("flamegraph", "-o", out, profile).returncode == 0
    page = open_picture(browser, out)
    page.click_element("#podprof-search-input")
    page.type_text("lazy")
    assert text_of(page, "matched") == "Matched: 25.00% (1 frame)"
    assert [f["name"] for f in frames(page) if "hl" in f["cls"]] == ["lazy (json/decoder.py)"]
    # The SVG scales to the page; proportions hold.
    by = first_by_name(frames(page))
    assert abs(by["busy (/app/w.py)"]["w"] / by["lazy (json/decoder.py)"]["w"] - 2) < 0.1
    page.click_element("g.f:nth-child(2) rect")  # main: zoom still works
    assert "hide" not in page.eval(
        "document.getElementById('podprof-unzoom').className.baseVal")
    assert page.exceptions() == []


def test_differential_graph_renders_its_colours(browser, tmp_path):
    base = fixture_profile(tmp_path, "base", [
        (1, 1, "MainThread", S, S, [("busy", "/w.py", 1), ("main", "/w.py", 1)]),
        (1, 1, "MainThread", S, S, [("lazy", "/w.py", 2), ("main", "/w.py", 1)])])
    new = fixture_profile(tmp_path, "new", [
        (1, 1, "MainThread", 3 * S, S, [("busy", "/w.py", 1), ("main", "/w.py", 1)]),
        (1, 1, "MainThread", S, S, [("lazy", "/w.py", 2), ("main", "/w.py", 1)])])
    out = tmp_path / "d.svg"
    assert podprof("diff", base, new, "-o", out).returncode == 0
    page = open_picture(browser, out)
    by = {f["name"]: f for f in frames(page)}
    assert by["busy (/w.py)"]["fill"] == "rgb(255, 55, 55)"   # grew most: deepest red
    assert by["lazy (/w.py)"]["fill"] == "rgb(55, 55, 255)"   # shrank as much: deepest blue
    assert by["main (/w.py)"]["fill"] == "rgb(255, 255, 255)"
    assert abs(by["busy (/w.py)"]["w"] / by["lazy (/w.py)"]["w"] - 3) < 0.15  # NEW's widths
    page.click_element("g.f:nth-child(3) rect")
    assert abs({f["name"]: f for f in frames(page)}["busy (/w.py)"]["w"] - 1179) < 1
    assert page.exceptions() == []

"""The flame graphs in docs/ are what the current generator draws from the committed demo profile
(byte for byte: the pictures are a pure function of the profile), the profile is a real one of
demo/app.py, and the user guide shows them."""
import subprocess

from picture_helpers import svg_frames
from podprof_testenv import BUILD, ROOT

PICTURES = ROOT / "docs" / "pictures"


def test_committed_pictures_are_regenerable(tmp_path):
    r = subprocess.run([str(ROOT / "scripts" / "docs_pictures.sh"), str(BUILD), "--redraw",
                        str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    for name in ("demo-cpu.svg", "demo-wall.svg"):
        fresh, committed = (tmp_path / name).read_bytes(), (PICTURES / name).read_bytes()
        assert fresh == committed, (
            f"docs/pictures/{name} is not what this podprof draws: run `make docs-pictures` "
            "(or scripts/docs_pictures.sh build --redraw docs/pictures) and commit the result")


def test_the_profile_is_the_demo_apps():
    _, cpu = svg_frames(PICTURES / "demo-cpu.svg")
    names = {f.name: f for f in cpu}
    total = names["all"].v
    # demo/app.py's two CPU-bound functions, roughly 3:1 (not asserted closer: it was sampled).
    parse, render = names["parse_request (demo/app.py)"].v, names["render_response (demo/app.py)"].v
    assert parse > render > 0 and parse + render > total / 2
    _, wall = svg_frames(PICTURES / "demo-wall.svg")
    assert "poll_backend (demo/app.py)" in {f.name for f in wall}
    # No trace of the checkout the profile was taken in.
    assert "/demo/app.py" not in (PICTURES / "demo-cpu.svg").read_text()


def test_user_guide_shows_the_pictures():
    guide = (ROOT / "docs" / "user-guide.md").read_text()
    assert "](pictures/demo-cpu.svg)" in guide and "](pictures/demo-wall.svg)" in guide

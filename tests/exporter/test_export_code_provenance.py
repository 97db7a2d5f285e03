"""Code provenance end to end: a Flask application (tests/exporter/provenance_app) with real
distributions from PyPI, pinned in provenance-requirements.txt, runs under CPython 3.8 and 3.12 in
virtualenvs (site-packages) and under Debian's python3 with a dist-packages directory beside
Debian's own /usr/lib/python3/dist-packages (Pygments as Debian installs it). libpodprof.so finds
what each profiled file belongs to, `podprof export` sends code-provenance.json before
profile.pprof, and the strict agent double and Datadog's ddapm-test-agent check every upload.
Then, for every file of every profile: a distribution's file belongs to that distribution with its
pinned version, a standard-library file (and a frozen module) to the standard library, the
application's own files (an .egg-info of its own beside them) to nothing. Switched off, no
attachment is sent."""
import base64
import json
import re
import subprocess
from pathlib import Path

import pytest

import provenance_deps
from agent_double import AgentDouble, Upload, validate
from exporter_helpers import ROOT, DatadogTestAgent, run_once
from test_export_e2e import app_env

APP_DIR = Path(__file__).resolve().parent / "provenance_app"
PYENV = Path(subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
             or Path.home() / ".pyenv") / "versions"
DEBIAN = Path("/usr/bin/python3")
DEBIAN_DIST = Path("/usr/lib/python3/dist-packages")
SECONDS = 2.5
# the top-level package of each pinned distribution
PACKAGES = {"flask": "flask", "werkzeug": "werkzeug", "jinja2": "jinja2",
            "markupsafe": "markupsafe", "itsdangerous": "itsdangerous", "click": "click",
            "blinker": "blinker", "importlib_metadata": "importlib-metadata", "zipp": "zipp"}


def pins():
    out = {}
    for line in provenance_deps.PINS.splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^;\s]+)", line)
        if m:
            out[normalized(m.group(1))] = m.group(2)
    return out


def normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def python_info(python, **env):
    code = ("import json, sys, sysconfig; print(json.dumps({'stdlib': sysconfig.get_path('stdlib'),"
            " 'version': '%d.%d.%d' % sys.version_info[:3], 'path': sys.path}))")
    r = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True,
                       env=dict(env, PATH="/usr/bin:/bin"))
    return json.loads(r.stdout)


class Shop:
    """One interpreter and where its distributions are."""

    def __init__(self, name, python, site, env):
        self.name, self.python, self.site, self.env = name, python, site, env
        self.info = python_info(python, **env)


@pytest.fixture(scope="module", params=["3.8.18", "3.12.1", "debian"])
def shop(request):
    if request.param == "debian":
        site = provenance_deps.dist_packages(ROOT / ".venv" / "bin" / "python")
        shop = Shop("debian", DEBIAN, site, {"PYTHONPATH": str(site)})
        # Debian's own layout must be there too (deps/apt.txt installs python3-pygments)
        assert (DEBIAN_DIST / "pygments").is_dir(), "python3-pygments is not installed"
        return shop
    base = PYENV / request.param / "bin" / "python3"
    if not base.exists():
        pytest.fail(f"missing interpreter {base}")
    python = provenance_deps.virtualenv(base)
    site = Path(python_info(python)["path"][-1])
    assert site.name == "site-packages", site
    return Shop(request.param, python, site, {})


def run_shop(shop, spool, **extra):
    env = app_env(spool, **shop.env, **extra)
    r = subprocess.run([str(shop.python), "-m", "shopapp", str(SECONDS)], cwd=APP_DIR, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    metas = [json.loads(p.read_text()) for p in sorted(spool.glob("profile.*.json"))]
    assert metas, "no profile written"
    return metas


def covers(lib, path):
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in lib["paths"])


def files_of(up):
    return {up.profile.string_table[f.filename] for f in up.profile.function}


def debian_version(dist):
    info = next(DEBIAN_DIST.glob(f"{dist}-*.egg-info"))
    return re.search(r"^Version: (\S+)", (info / "PKG-INFO").read_text(), re.M).group(1)


def check_upload(up, shop, seen):
    """Every file of the profile belongs where it should, and nothing else is listed."""
    assert up.errors == [], up.errors
    doc = up.provenance["v1"]
    stdlib, libraries = doc[0], doc[1:]
    assert stdlib["version"] == shop.info["version"]
    expected = pins()
    stdlib_dir = shop.info["stdlib"]
    app = str(APP_DIR)
    used = set()
    for f in files_of(up):
        owners = [lib for lib in libraries if covers(lib, f)]
        in_stdlib = covers(stdlib, f)
        if f.startswith(str(shop.site) + "/") or f.startswith(str(DEBIAN_DIST) + "/"):
            # installed by exactly one distribution, and by the one pinned for it
            assert len(owners) == 1 and owners[0]["kind"] == "library" and not in_stdlib, \
                (f, owners)
            package = f.split("-packages/", 1)[1].split("/")[0]
            if f.startswith(str(DEBIAN_DIST / "pygments") + "/"):
                assert (owners[0]["name"], owners[0]["version"]) == \
                    ("Pygments", debian_version("Pygments")), (f, owners)
                seen.add("pygments")
            elif f.startswith(str(shop.site) + "/") and package in PACKAGES:
                dist = PACKAGES[package]
                assert normalized(owners[0]["name"]) == dist, (f, owners)
                assert owners[0]["version"] == expected[dist], (f, owners)
                seen.add(dist)
        elif f.startswith(stdlib_dir + "/") or f.startswith("<frozen "):
            assert in_stdlib and not owners, (f, owners)
            seen.add("stdlib")
            if f.startswith("<frozen "):
                seen.add(f)
        else:
            # the application's own files, and pseudo-files such as <template>
            assert not owners and not in_stdlib, (f, owners)
            if f.startswith(app + "/"):
                seen.add("app")
        used.update(id(o) for o in owners)
    # only what this profile runs is listed (besides the native entry)
    for lib in libraries:
        assert lib["name"] == "native" or id(lib) in used, lib
        assert not any(p.startswith(app) for p in lib["paths"]), lib
        assert normalized(lib["name"]) != "shopapp"


def test_provenance_of_every_file(shop, tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    metas = run_shop(shop, spool)
    assert all("code_provenance" in m for m in metas)
    assert all(m["counters"]["provenance_truncated"] == 0 for m in metas)
    with AgentDouble(expect_code_provenance=True) as agent:
        r = run_once(spool, DD_TRACE_AGENT_URL=agent.url)
        assert r.returncode == 0, r.stderr
        ups = agent.wait_for(len(metas))
    assert len(ups) == len(metas)
    seen = set()
    for up in ups:
        check_upload(up, shop, seen)
    # what every sample of the worker runs through, and the main thread's runpy frames
    want = {"flask", "werkzeug", "jinja2", "stdlib", "app"}
    if shop.name == "debian":
        want.add("pygments")
    if tuple(int(x) for x in shop.info["version"].split(".")) >= (3, 11):
        want.add("<frozen runpy>")
    assert want <= seen, want - seen


def test_switched_off_sends_no_attachment(tmp_path):
    shop = Shop("3.12.1", provenance_deps.virtualenv(PYENV / "3.12.1" / "bin" / "python3"), None,
                {})
    spool = tmp_path / "spool"
    spool.mkdir()
    metas = run_shop(shop, spool, DD_PROFILING_ENABLE_CODE_PROVENANCE="false")
    assert not any("code_provenance" in m for m in metas)
    with AgentDouble(expect_code_provenance=False) as agent:
        r = run_once(spool, DD_TRACE_AGENT_URL=agent.url)
        assert r.returncode == 0, r.stderr
        ups = agent.wait_for(len(metas))
    assert len(ups) == len(metas) and all(u.errors == [] for u in ups), [u.errors for u in ups]
    assert all(u.event["attachments"] == ["profile.pprof"] for u in ups)


def test_ddapm_test_agent_accepts_code_provenance(tmp_path):
    shop = Shop("3.12.1", provenance_deps.virtualenv(PYENV / "3.12.1" / "bin" / "python3"), None,
                {})
    spool = tmp_path / "spool"
    spool.mkdir()
    metas = run_shop(shop, spool)
    with DatadogTestAgent(tmp_path / "snapshots") as test_agent:
        r = run_once(spool, DD_TRACE_AGENT_URL=test_agent.url)
        assert r.returncode == 0, r.stderr
        reqs = [q for q in test_agent.requests() if q["url"].endswith("/profiling/v1/input")]
    assert len(reqs) == len(metas), reqs
    for q in reqs:
        up = Upload("POST", "/profiling/v1/input", q["headers"], base64.b64decode(q["body"]))
        validate(up, expect_code_provenance=True)
        assert up.errors == [], up.errors
        assert up.event["attachments"] == ["code-provenance.json", "profile.pprof"]
        names = {lib["name"] for lib in up.provenance["v1"]}
        assert {"stdlib", "native", "Flask"} <= names, names

"""Runs scripts/demo.sh (what `make demo` runs) and checks that each step did what it says."""
import re
import subprocess

from podprof_testenv import BUILD, ROOT


def test_demo_runs_the_whole_path():
    r = subprocess.run(["bash", str(ROOT / "scripts" / "demo.sh"), str(BUILD.relative_to(ROOT))],
                       cwd=ROOT, capture_output=True, text=True, timeout=180)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    # 1. the injector injected the sample pod
    assert "init container podprof-init" in out and "(native sidecar)" in out, out
    assert '"LD_PRELOAD": "/opt/podprof/libpodprof.so"' in out, out
    # 3. the exporter's upload was accepted by the strict agent double, tagged from the pod
    upload = re.search(r"^upload 1: (\S+);.*tags (.*)$", out, re.M)
    assert upload and upload.group(1) == "OK", out
    tags = set(upload.group(2).split(","))
    assert {"service:checkout", "kube_namespace:shop", "app:checkout",
            "kube_container_name:app"} <= tags, tags
    assert not any(t.startswith("pod-template-hash") for t in tags), tags
    # 5. the summary ranks the function that burns most of the CPU first
    cpu = out.split("Top functions by CPU time")[1].split("Top functions by wall time")[0]
    first = [ln for ln in cpu.splitlines() if re.match(r"\s+\S+\s+\d", ln)][0]
    assert "parse_request" in first, cpu
    # 5. and the flame graph of the same profile shows the functions the app runs
    svg = BUILD / "demo" / "flamegraph.svg"
    assert f"podprof flamegraph: wrote {svg} (1 profile, " in out, out
    text = svg.read_text()
    assert "parse_request (" in text and "render_response (" in text

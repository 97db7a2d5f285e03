"""cert-manager's own CustomResourceDefinitions (Certificate, Issuer, ClusterIssuer), so the
chart's certManager TLS mode is validated by the API server against cert-manager's real schema.

They come from cert-manager's Go module at a pinned version (the Go module proxy is reachable;
GitHub is not), and are rendered from its chart's CRD templates with the real helm, the way
`helm install cert-manager --set crds.enabled=true` would."""
import json
import os
import shutil
import subprocess
from pathlib import Path

CERT_MANAGER_VERSION = "v1.16.2"
KINDS = ("certificates", "issuers", "clusterissuers")
GO = shutil.which("go") or "/usr/local/go/bin/go"


def module_dir():
    """The unpacked module, from the machine's Go module cache (downloaded once)."""
    env = dict(os.environ, GOFLAGS="-mod=mod", GO111MODULE="on")
    r = subprocess.run([GO, "mod", "download", "-json",
                        f"github.com/cert-manager/cert-manager@{CERT_MANAGER_VERSION}"],
                       capture_output=True, text=True, timeout=600, env=env, cwd="/")
    if r.returncode != 0:
        raise RuntimeError(f"go mod download cert-manager: {r.stderr.strip()[-1000:]}")
    return Path(json.loads(r.stdout)["Dir"])


def render(helm, workdir):
    """The three CRDs as one multi-document YAML string."""
    mod = module_dir()
    chart = Path(workdir) / "cert-manager"
    shutil.copytree(mod / "deploy" / "charts" / "cert-manager", chart)
    for p in chart.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    # The release tool writes Chart.yaml from this template; only the placeholder matters here.
    text = (chart / "Chart.template.yaml").read_text().replace("{{IS_PRERELEASE}}", "false")
    (chart / "Chart.yaml").write_text(text)
    args = []
    for kind in KINDS:
        shutil.copy(mod / "deploy" / "crds" / f"crd-{kind}.yaml", chart / "templates")
        args += ["--show-only", f"templates/crd-{kind}.yaml"]
    r = subprocess.run([str(helm), "template", "cert-manager", str(chart), "--set",
                        "crds.enabled=true", *args], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"helm template cert-manager CRDs: {r.stderr.strip()[-1000:]}")
    return r.stdout


def names():
    return [f"{kind}.cert-manager.io" for kind in KINDS]

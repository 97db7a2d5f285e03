"""The chart on its own: lint, rendered manifests kept current, every TLS mode and option accepted
by the real API server (server-side dry run), bad values rejected by the schema with a clear
message, and no certificate churn on upgrade."""
import json
import subprocess

import pytest
import yaml

from e2e_env import ROOT

CHART = str(ROOT / "charts" / "podprof")


def helm_bin(k8s_bin):
    return str(k8s_bin / "helm")


def test_helm_lint_is_clean(k8s_bin):
    for extra in ([], ["--set", "tls.mode=certManager"],
                  ["--set", "tls.mode=secret", "--set", "tls.secret.name=x"]):
        r = subprocess.run([helm_bin(k8s_bin), "lint", "--strict", CHART, *extra],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "[WARNING]" not in r.stdout and "[ERROR]" not in r.stdout, r.stdout


def test_manifests_match_fresh_helm_template(k8s_bin, tmp_path):
    subprocess.run([str(ROOT / "manifests" / "render.sh"), helm_bin(k8s_bin), str(tmp_path)],
                   check=True, capture_output=True)
    for rel in ("podprof.yaml", "existing-secret/podprof.yaml"):
        fresh = (tmp_path / rel).read_text()
        committed = (ROOT / "manifests" / rel).read_text()
        assert committed == fresh, f"manifests/{rel} is stale: run `make manifests`"
    docs = [d for d in yaml.safe_load_all((ROOT / "manifests" / "podprof.yaml").read_text()) if d]
    kinds = {d["kind"] for d in docs}
    assert {"Namespace", "Deployment", "Service", "MutatingWebhookConfiguration",
            "Certificate"} <= kinds
    assert "Pod" not in kinds, "the helm test pod must not be in the manifests"


TLS_MODES = {
    "generate": [],
    "certManager": ["--set", "tls.mode=certManager"],
    "certManager-issuer": ["--set", "tls.mode=certManager",
                           "--set", "tls.certManager.issuerRef.name=corp-ca",
                           "--set", "tls.certManager.issuerRef.kind=ClusterIssuer"],
    "secret": ["--set", "tls.mode=secret", "--set", "tls.secret.name=my-webhook-tls"],
    "all-options": ["--set", "networkPolicy.enabled=true", "--set", "serviceMonitor.enabled=true",
                    "--set", "agent.url=http://datadog-agent.datadog.svc:8126",
                    "--set", "sampler.sidecarMode=container",
                    "--set", "sampler.settings.DD_PROFILING_SAMPLE_RATE=50",
                    "--set", "defaultEnv.DD_ENV=prod", "--set", "podLabelsAsTags=team=team",
                    "--set", "webhook.excludeNamespaces={monitoring}"],
}


@pytest.mark.parametrize("mode", sorted(TLS_MODES))
def test_template_is_accepted_by_the_api_server(cluster, third_party_crds, mode):
    ns = "podprof-dryrun"
    cluster.kubectl("create", "namespace", ns, check=False)
    rendered = cluster.helm("template", "dry", CHART, "-n", ns, *TLS_MODES[mode]).stdout
    r = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=rendered, check=False)
    assert r.returncode == 0, r.stderr
    kinds = {d["kind"] for d in yaml.safe_load_all(rendered) if d}
    assert "MutatingWebhookConfiguration" in kinds
    assert r.stdout.count("(server dry run)") == sum(1 for d in yaml.safe_load_all(rendered) if d)


def test_cert_manager_schema_is_enforced(cluster, third_party_crds):
    """The certManager mode is checked against cert-manager's own schema, not a stand-in: the
    same Certificate with a field cert-manager does not have, or a wrong type, is refused."""
    ns = "podprof-dryrun"
    cluster.kubectl("create", "namespace", ns, check=False)
    rendered = cluster.helm("template", "dry", CHART, "-n", ns, *TLS_MODES["certManager"]).stdout
    [cert] = [d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "Certificate"]
    ok = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(cert),
                         check=False)
    assert ok.returncode == 0, ok.stderr
    for field, value, complaint in (("renewBeforeDays", "7", "unknown field"),
                                    ("dnsNames", "not-a-list", "dnsNames")):
        bad = dict(cert, spec=dict(cert["spec"], **{field: value}))
        r = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump(bad),
                            check=False)
        assert r.returncode != 0 and complaint in r.stderr, (field, r.stderr)


def test_manifests_are_accepted_by_the_api_server(cluster, third_party_crds):
    for rel in ("podprof.yaml", "existing-secret/podprof.yaml"):
        text = (ROOT / "manifests" / rel).read_text()
        # The namespace does not persist in a dry run; create it so namespaced objects validate.
        cluster.kubectl("create", "namespace", "podprof", check=False)
        r = cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=text, check=False)
        assert r.returncode == 0, f"{rel}: {r.stderr}"


@pytest.mark.parametrize("args,expect", [
    (["--set", "webhook.failurePolicy=Sometimes"], "failurePolicy"),
    (["--set", "injector.replicaCount=3"], "Additional property replicaCount is not allowed"),
    (["--set", "webhook.timeoutSeconds=60"], "timeoutSeconds"),
    (["--set", "tls.mode=selfsigned"], "mode"),
    (["--set", "sampler.initResources.memory=lots"], "memory"),
    (["--set", "agent.url=datadog:8126"], "url"),
    (["--set", "sampler.settings.SAMPLE_RATE=1"], "SAMPLE_RATE"),
])
def test_bad_value_fails_install_with_a_schema_error(cluster, args, expect):
    r = cluster.helm("install", "bad", CHART, "-n", "podprof-bad", "--create-namespace", *args,
                     check=False)
    assert r.returncode != 0, "helm install accepted a bad value"
    assert "values don't meet the specifications of the schema" in r.stderr, r.stderr
    assert expect in r.stderr, r.stderr
    assert cluster.helm("status", "bad", "-n", "podprof-bad", check=False).returncode != 0


def test_generated_certificate_survives_upgrade(cluster):
    """GitOps/upgrade churn: the chart-generated CA is reused, not regenerated."""
    ns = "podprof-upgrade"
    cluster.helm("install", "up", CHART, "-n", ns, "--create-namespace",
                 "--set", "injector.replicas=1")

    def state():
        s = cluster.kubectl_json("get", "secret", "up-podprof-injector-tls", "-n", ns)["data"]
        w = cluster.kubectl_json("get", "mutatingwebhookconfiguration", "up-podprof")
        return s, [h["clientConfig"]["caBundle"] for h in w["webhooks"]]
    before_secret, before_bundles = state()
    assert before_bundles == [before_secret["ca.crt"]] * 2
    cluster.helm("upgrade", "up", CHART, "-n", ns, "--set", "injector.replicas=1",
                 "--set", "injector.logLevel=debug")
    after_secret, after_bundles = state()
    assert after_secret == before_secret
    assert after_bundles == before_bundles
    cluster.helm("uninstall", "up", "-n", ns, "--wait", "--timeout", "60s")


def test_webhook_configuration_as_installed(cluster, third_party_crds):
    """What the API server stored for the chart's webhook: DESIGN.md §3's settings."""
    ns = "podprof-cfg"
    cluster.helm("install", "cfg", CHART, "-n", ns, "--create-namespace",
                 "--set", "injector.replicas=1")
    try:
        w = cluster.kubectl_json("get", "mutatingwebhookconfiguration", "cfg-podprof")
        by_path = {h["clientConfig"]["service"]["path"]: h for h in w["webhooks"]}
        assert set(by_path) == {"/mutate/annotated", "/mutate/all"}
        for path, label in (("/mutate/annotated", "true"), ("/mutate/all", "all")):
            h = by_path[path]
            assert h["failurePolicy"] == "Ignore"
            assert h["timeoutSeconds"] == 5
            assert h["reinvocationPolicy"] == "IfNeeded"
            assert h["sideEffects"] == "None"
            assert h["matchPolicy"] == "Equivalent"
            assert h["rules"] == [{"apiGroups": [""], "apiVersions": ["v1"],
                                   "operations": ["CREATE"], "resources": ["pods"],
                                   "scope": "Namespaced"}]
            svc = h["clientConfig"]["service"]
            assert (svc["name"], svc["namespace"], svc["port"]) == ("cfg-podprof-injector", ns,
                                                                    443)
            exprs = {e["key"]: e for e in h["namespaceSelector"]["matchExpressions"]}
            assert exprs["profiling.datadoghq.com/enabled"]["values"] == [label]
            assert exprs["kubernetes.io/metadata.name"]["operator"] == "NotIn"
            assert set(exprs["kubernetes.io/metadata.name"]["values"]) == {"kube-system", ns}
            assert len(h["matchConditions"]) == 1
        d = cluster.kubectl_json("get", "deployment", "cfg-podprof-injector", "-n", ns)
        c = d["spec"]["template"]["spec"]["containers"][0]
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        cm = cluster.kubectl_json("get", "configmap", "cfg-podprof-injector", "-n", ns)
        cfg = json.loads(cm["data"]["injector.json"])
        assert cfg["sidecar_mode"] == "native"  # the cluster is 1.30
    finally:
        cluster.helm("uninstall", "cfg", "-n", ns, "--wait", "--timeout", "60s")



def leaf_paths(values, schema, prefix=""):
    """Value paths down to a leaf, or to a free-form object (a schema node without properties)."""
    for k, v in values.items():
        path = f"{prefix}{k}"
        props = schema.get("properties", {})
        assert k in props, f"{path}: not in values.schema.json"
        if isinstance(v, dict) and v and "properties" in props[k]:
            yield from leaf_paths(v, props[k], path + ".")
        else:
            yield path


def test_every_value_is_in_the_schema_and_documented():
    values = yaml.safe_load((ROOT / "charts/podprof/values.yaml").read_text())
    schema = json.loads((ROOT / "charts/podprof/values.schema.json").read_text())
    doc_rows = [line for line in (ROOT / "docs/kubernetes.md").read_text().splitlines()
                if line.startswith("| `")]
    undocumented = []
    for path in leaf_paths(values, schema):
        parent, _, last = path.rpartition(".")
        # A row names the full path, or the parent path with `.last` beside it.
        if not any(f"`{path}`" in row or (parent and parent in row and f"`.{last}`" in row)
                   or (parent and f"`{parent}.*`" in row) for row in doc_rows):
            undocumented.append(path)
    assert not undocumented, f"values missing from docs/kubernetes.md: {undocumented}"

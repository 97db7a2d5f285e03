"""docs/config-injector.md is generated from the settings table; flags, env and file agree."""
import json

from injector_harness import run_injector
from podprof_testenv import ROOT


def test_doc_matches_table():
    r = run_injector("config-doc")
    assert r.returncode == 0
    doc = (ROOT / "docs" / "config-injector.md").read_text()
    assert doc == r.stdout, "docs/config-injector.md is stale: run build/bin/podprof-injector config-doc"


def test_every_flag_in_help_and_doc():
    help_text = run_injector("serve", "--help").stdout
    doc = (ROOT / "docs" / "config-injector.md").read_text()
    for flag in ["--listen", "--tls-cert", "--tls-key", "--sampler-image", "--init-cpu",
                 "--agent-url", "--sidecar-mode", "--skip-containers", "--default-env",
                 "--pod-labels-as-tags", "--agentless", "--api-key-secret", "--namespace"]:
        assert flag in help_text and f"`{flag} " in doc


def _image_of(stdout):
    pod = json.loads(stdout)
    return pod["spec"]["initContainers"][0]["image"]


POD = json.dumps({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": "p", "namespace": "apps",
                               "annotations": {"profiling.datadoghq.com/enabled": "true"}},
                  "spec": {"containers": [{"name": "app", "image": "python:3.12"}]}})


def test_precedence_file_env_flag(tmp_path, monkeypatch):
    cfg = tmp_path / "injector.yaml"
    cfg.write_text("sampler_image: from-file:1\ninit_cpu: 20m\n")
    r = run_injector("mutate", "--patched", "--config", str(cfg), input_text=POD)
    assert r.returncode == 0, r.stderr
    assert _image_of(r.stdout) == "from-file:1"
    monkeypatch.setenv("PODPROF_INJECTOR_SAMPLER_IMAGE", "from-env:2")
    r = run_injector("mutate", "--patched", "--config", str(cfg), input_text=POD)
    assert _image_of(r.stdout) == "from-env:2"
    r = run_injector("mutate", "--patched", "--config", str(cfg), "--sampler-image", "flag:3",
                     input_text=POD)
    assert _image_of(r.stdout) == "flag:3"
    pod = json.loads(r.stdout)
    assert pod["spec"]["initContainers"][0]["resources"]["limits"]["cpu"] == "20m"


def test_json_config_with_lists_and_env_map(tmp_path):
    cfg = tmp_path / "injector.json"
    cfg.write_text(json.dumps({"skip_containers": ["sidecar"], "default_env": {"DD_TAGS": "team:x"},
                               "sidecar_mode": "container", "pod_labels_as_tags": "app=app"}))
    pod = json.loads(POD)
    pod["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    r = run_injector("mutate", "--patched", "--config", str(cfg), input_text=json.dumps(pod))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    names = [c["name"] for c in out["spec"]["containers"]]
    assert names == ["app", "sidecar", "podprof-exporter"]
    app_env = {e["name"]: e.get("value") for e in out["spec"]["containers"][0]["env"]}
    assert app_env["DD_TAGS"] == "team:x"
    assert "env" not in out["spec"]["containers"][1]
    exp_env = {e["name"]: e.get("value") for e in out["spec"]["containers"][2]["env"]}
    assert exp_env["DD_PROFILING_POD_LABELS_AS_TAGS"] == "app=app"
    r = run_injector("mutate", "--patched", "--pod-labels-as-tags", "none", input_text=POD)
    exporter = json.loads(r.stdout)["spec"]["initContainers"][1]
    assert {"name": "DD_PROFILING_POD_LABELS_AS_TAGS", "value": ""} in exporter["env"]
    r = run_injector("mutate", "--patched", input_text=POD)
    exporter = json.loads(r.stdout)["spec"]["initContainers"][1]
    assert "DD_PROFILING_POD_LABELS_AS_TAGS" not in {e["name"] for e in exporter["env"]}
    assert "restartPolicy" not in out["spec"]["containers"][2]


def test_bad_settings_fail_with_one_line(tmp_path):
    cases = [
        (["--init-cpu", "lots"], "--init-cpu"),
        (["--sidecar-mode", "sometimes"], "--sidecar-mode"),
        (["--agent-url", "ftp://x"], "--agent-url"),
        (["--agentless"], "--api-key-secret"),
        (["--default-env", "1BAD=x"], "--default-env"),
        (["--pod-labels-as-tags", "app"], "--pod-labels-as-tags"),
        (["--skip-containers", "Bad_Name"], "--skip-containers"),
    ]
    for args, needle in cases:
        r = run_injector("mutate", *args, input_text=POD)
        assert r.returncode == 2, args
        assert needle in r.stderr and r.stderr.count("\n") == 1, (args, r.stderr)
    bad = tmp_path / "bad.yaml"
    bad.write_text("no_such_setting: 1\n")
    r = run_injector("mutate", "--config", str(bad), input_text=POD)
    assert r.returncode == 2 and "unknown setting 'no_such_setting'" in r.stderr
    r = run_injector("serve", "--workers", "many")
    assert r.returncode == 2 and "--workers" in r.stderr
    r = run_injector("serve", "--listen", "127.0.0.1:0", "--tls-cert", str(tmp_path / "none.crt"),
                     "--tls-key", str(tmp_path / "none.key"))
    assert r.returncode == 2 and "none.crt" in r.stderr

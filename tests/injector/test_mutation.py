"""The mutation over real TLS: every patch is applied with the independent `jsonpatch` package and
the result decoded by the official Kubernetes client's models; `mutate` must agree exactly."""
import base64
import copy
import json

import pytest

from injector_harness import (ENABLED, admission_review, apply_patch, cert_dir, decode_patch,  # noqa: F401
                              make_pod, run_injector, server, validate_pod)

LIB = "/opt/podprof/libpodprof.so"


def env_of(container):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def by_name(items, name):
    return next(i for i in items if i["name"] == name)


def admit(server, pod, path="/mutate/annotated", namespace="apps", version="v1"):
    """Server response, the patch, the patched pod; and `mutate` must give the same patch."""
    review = admission_review(pod, namespace=namespace, version=version)
    resp = server.review(review, path=path)
    assert resp["apiVersion"] == f"admission.k8s.io/{version}"
    assert resp["kind"] == "AdmissionReview"
    assert resp["response"]["uid"] == review["request"]["uid"]
    assert resp["response"]["allowed"] is True
    ops = decode_patch(resp)
    for op in ops:
        assert op["op"] in ("add", "replace"), op
    mode = "all" if path.endswith("/all") else "annotated"
    cli = run_injector("mutate", "--namespace", "podprof", "--namespace-mode", mode,
                       input_text=json.dumps(review))
    assert cli.returncode == 0, cli.stderr
    assert decode_patch(json.loads(cli.stdout)) == ops
    patched = apply_patch(copy.deepcopy(pod), ops)
    if ops:
        validate_pod(patched)
        cli = run_injector("mutate", "--patched", "--namespace", "podprof", "--namespace-mode",
                           mode, input_text=json.dumps(review))
        assert json.loads(cli.stdout) == patched
    return resp, ops, patched


def assert_injected_shape(pod, app_names):
    spec = pod["spec"]
    assert pod["metadata"]["annotations"]["profiling.datadoghq.com/injected"] == "0.1.0"
    vols = {v["name"]: v for v in spec["volumes"]}
    assert vols["podprof"]["emptyDir"] == {"sizeLimit": "32Mi"}
    assert vols["podprof-spool"]["emptyDir"] == {"sizeLimit": "64Mi"}
    assert vols["podprof-podinfo"]["downwardAPI"]["items"] == [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]
    init = spec["initContainers"][0]
    assert init["name"] == "podprof-init"
    assert init["command"] == ["/podprof/bin/podprof", "install", "/opt/podprof"]
    assert init["volumeMounts"] == [{"name": "podprof", "mountPath": "/opt/podprof"}]
    exporter = spec["initContainers"][1]
    assert exporter["name"] == "podprof-exporter" and exporter["restartPolicy"] == "Always"
    assert exporter["command"] == ["/podprof/bin/podprof", "export", "--spool", "/var/run/podprof"]
    assert {m["mountPath"]: m["name"] for m in exporter["volumeMounts"]} == {
        "/var/run/podprof": "podprof-spool", "/etc/podprof/podinfo": "podprof-podinfo"}
    env = env_of(exporter)
    assert env["DD_AGENT_HOST"] == {"fieldRef": {"fieldPath": "status.hostIP"}}
    assert env["DD_ENTITY_ID"] == {"fieldRef": {"fieldPath": "metadata.uid"}}
    assert env["DD_PROFILING_K8S_POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["DD_PROFILING_K8S_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert env["DD_PROFILING_K8S_NODE"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    assert env["DD_PROFILING_K8S_LABELS_FILE"] == "/etc/podprof/podinfo/labels"
    for c in (init, exporter):
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] and not sc["allowPrivilegeEscalation"]
        assert sc["readOnlyRootFilesystem"] and sc["capabilities"]["drop"] == ["ALL"]
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        assert c["resources"]["requests"] == c["resources"]["limits"]
    for c in spec["containers"]:
        env = env_of(c)
        mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
        if c["name"] in app_names:
            assert LIB in env["LD_PRELOAD"].split(":")
            assert env["DD_PROFILING_ENABLED"] == "true"
            assert env["DD_PROFILING_OUTPUT_PPROF"] == "/var/run/podprof/profile"
            assert env["DD_PROFILING_K8S_CONTAINER"] == c["name"]
            assert mounts["/opt/podprof"] == {"name": "podprof", "mountPath": "/opt/podprof",
                                              "readOnly": True}
            assert mounts["/var/run/podprof"]["name"] == "podprof-spool"
        else:
            assert "LD_PRELOAD" not in env and "/opt/podprof" not in mounts


def test_plain_pod(server):
    pod = make_pod(annotations=dict(ENABLED), labels={"app.kubernetes.io/name": "shop"})
    resp, ops, patched = admit(server, pod)
    assert_injected_shape(patched, {"app"})
    assert env_of(patched["spec"]["containers"][0])["DD_SERVICE"] == "shop"
    # Absent lists are created with one "add" each; nothing is replaced wholesale.
    paths = [o["path"] for o in ops]
    assert "/spec/volumes" in paths and "/spec/initContainers" in paths
    assert not any(o["op"] == "replace" for o in ops)


def test_deployment_generated_pod(server):
    pod = make_pod(name=None, generate_name="checkout-5f7c9d8b6-",
                   annotations=dict(ENABLED),
                   labels={"pod-template-hash": "5f7c9d8b6", "tags.datadoghq.com/env": "prod",
                           "tags.datadoghq.com/version": "1.4.2"},
                   owner={"apiVersion": "apps/v1", "kind": "ReplicaSet",
                          "name": "checkout-5f7c9d8b6", "uid": "u-rs", "controller": True,
                          "blockOwnerDeletion": True})
    _, _, patched = admit(server, pod)
    assert_injected_shape(patched, {"app"})
    env = env_of(patched["spec"]["containers"][0])
    assert env["DD_SERVICE"] == "checkout"
    assert env["DD_ENV"] == {"fieldRef": {"fieldPath": "metadata.labels['tags.datadoghq.com/env']"}}
    assert env["DD_VERSION"] == {
        "fieldRef": {"fieldPath": "metadata.labels['tags.datadoghq.com/version']"}}


def test_service_label_wins_and_cronjob_owner(server):
    pod = make_pod(annotations=dict(ENABLED), labels={"tags.datadoghq.com/service": "billing"})
    _, _, patched = admit(server, pod)
    assert env_of(patched["spec"]["containers"][0])["DD_SERVICE"] == {
        "fieldRef": {"fieldPath": "metadata.labels['tags.datadoghq.com/service']"}}
    pod = make_pod(name=None, generate_name="nightly-29012345-", annotations=dict(ENABLED),
                   owner={"apiVersion": "batch/v1", "kind": "Job", "name": "nightly-29012345",
                          "uid": "u-job", "controller": True})
    _, _, patched = admit(server, pod)
    assert env_of(patched["spec"]["containers"][0])["DD_SERVICE"] == "nightly"


def test_existing_env_ld_preload_volumes(server):
    containers = [{"name": "app", "image": "python:3.12",
                   "env": [{"name": "LD_PRELOAD", "value": "/usr/lib/libjemalloc.so"},
                           {"name": "DD_SERVICE", "value": "mine"},
                           {"name": "DD_PROFILING_ENABLED", "value": "1"}],
                   "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]
    volumes = [{"name": "data", "emptyDir": {}}]
    pod = make_pod(annotations=dict(ENABLED), containers=containers, volumes=volumes)
    _, ops, patched = admit(server, pod)
    app = patched["spec"]["containers"][0]
    env = env_of(app)
    assert env["LD_PRELOAD"] == f"{LIB}:/usr/lib/libjemalloc.so"
    assert env["DD_SERVICE"] == "mine"
    assert env["DD_PROFILING_ENABLED"] == "1"  # the user's spelling stands
    assert [e["name"] for e in app["env"]].count("DD_PROFILING_ENABLED") == 1
    assert [e["name"] for e in app["env"]].count("DD_SERVICE") == 1
    assert app["volumeMounts"][0] == {"name": "data", "mountPath": "/data"}
    assert [v["name"] for v in patched["spec"]["volumes"]] == [
        "data", "podprof", "podprof-spool", "podprof-podinfo"]
    assert {"op": "replace", "path": "/spec/containers/0/env/0/value",
            "value": f"{LIB}:/usr/lib/libjemalloc.so"} in ops


def test_profiling_disabled_in_env_is_skipped(server):
    """DD_PROFILING_ENABLED=false set by the container: the library would do nothing, so the pod
    gets no init container or sidecar, and says why (it used to get both, silently unprofiled)."""
    containers = [{"name": "app", "image": "python:3.12",
                   "env": [{"name": "DD_PROFILING_ENABLED", "value": "false"}]}]
    pod = make_pod(annotations=dict(ENABLED), containers=containers)
    resp, ops, patched = admit(server, pod)
    assert ops == [{"op": "add",
                    "path": "/metadata/annotations/profiling.datadoghq.com~1skipped",
                    "value": "every selected container sets DD_PROFILING_ENABLED=false (app)"}]
    assert any("DD_PROFILING_ENABLED=false" in w for w in resp["response"]["warnings"])


def test_ld_preload_value_from_is_skipped(server):
    containers = [{"name": "app", "image": "python:3.12",
                   "env": [{"name": "LD_PRELOAD", "valueFrom": {
                       "configMapKeyRef": {"name": "cfg", "key": "preload"}}}]}]
    pod = make_pod(annotations=dict(ENABLED), containers=containers)
    resp, ops, patched = admit(server, pod)
    assert ops == [{"op": "add",
                    "path": "/metadata/annotations/profiling.datadoghq.com~1skipped",
                    "value": "LD_PRELOAD of container app comes from valueFrom"}]
    assert "initContainers" not in patched["spec"]
    assert any("valueFrom" in w for w in resp["response"]["warnings"])


def test_existing_init_containers_and_native_istio(server):
    init = [{"name": "istio-proxy", "image": "istio/proxyv2:1.22", "restartPolicy": "Always",
             "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}}},
            {"name": "migrate", "image": "python:3.12", "command": ["python", "migrate.py"]}]
    containers = [{"name": "app", "image": "python:3.12"},
                  {"name": "istio-proxy", "image": "istio/proxyv2:1.22"}]
    pod = make_pod(annotations=dict(ENABLED), containers=containers, init_containers=init)
    _, _, patched = admit(server, pod)
    names = [c["name"] for c in patched["spec"]["initContainers"]]
    assert names == ["podprof-init", "podprof-exporter", "istio-proxy", "migrate"]
    assert patched["spec"]["initContainers"][2] == init[0]  # restartPolicy: Always survives
    assert_injected_shape(patched, {"app"})


def test_containers_annotation_and_linkerd(server):
    containers = [{"name": "web", "image": "python"}, {"name": "worker", "image": "python"},
                  {"name": "linkerd-proxy", "image": "linkerd"}]
    pod = make_pod(annotations={**ENABLED, "profiling.datadoghq.com/containers": "worker, nope"},
                   containers=containers)
    resp, _, patched = admit(server, pod)
    assert_injected_shape(patched, {"worker"})
    assert any("nope" in w for w in resp["response"]["warnings"])
    pod = make_pod(annotations=dict(ENABLED), containers=containers)
    _, _, patched = admit(server, pod)
    assert_injected_shape(patched, {"web", "worker"})


def test_config_annotations_pass_through(server):
    ann = {**ENABLED, "profiling.datadoghq.com/config.DD_PROFILING_SAMPLE_RATE": "50",
           "profiling.datadoghq.com/config.DD_PROFILING_API_TIMEOUT_MS": "3000",
           "profiling.datadoghq.com/config.DD_PROFILING_OUTPUT_PPROF": "/tmp/evil"}
    resp, _, patched = admit(server, make_pod(annotations=ann))
    app = env_of(patched["spec"]["containers"][0])
    exporter = env_of(patched["spec"]["initContainers"][1])
    assert app["DD_PROFILING_SAMPLE_RATE"] == "50"
    assert app["DD_PROFILING_OUTPUT_PPROF"] == "/var/run/podprof/profile"
    assert exporter["DD_PROFILING_API_TIMEOUT_MS"] == "3000"
    assert "DD_PROFILING_API_TIMEOUT_MS" not in app
    assert any("DD_PROFILING_OUTPUT_PPROF" in w for w in resp["response"]["warnings"])


def test_opt_out_and_not_opted_in(server):
    for path, ann in [("/mutate/annotated", None), ("/mutate", {"other": "x"}),
                      ("/mutate/all", {"profiling.datadoghq.com/enabled": "false"}),
                      ("/mutate/annotated", {"profiling.datadoghq.com/enabled": "false"})]:
        pod = make_pod(annotations=ann)
        resp, ops, _ = admit(server, pod, path=path)
        assert ops == [] and "patch" not in resp["response"], path


def test_namespace_mode_all(server):
    pod = make_pod()
    _, _, patched = admit(server, pod, path="/mutate/all")
    assert_injected_shape(patched, {"app"})
    # The annotation key is created even though the pod had no annotations at all.
    assert patched["metadata"]["annotations"] == {"profiling.datadoghq.com/injected": "0.1.0"}


def test_protected_namespaces(server):
    for ns in ("kube-system", "podprof"):
        pod = make_pod(namespace=ns, annotations=dict(ENABLED))
        _, ops, _ = admit(server, pod, path="/mutate/all", namespace=ns)
        assert ops == [], ns


def test_already_injected_gets_empty_patch(server):
    pod = make_pod(annotations=dict(ENABLED))
    _, _, patched = admit(server, pod)
    resp, ops, again = admit(server, patched)
    assert ops == [] and again == patched


def test_v1beta1(server):
    resp, _, patched = admit(server, make_pod(annotations=dict(ENABLED)), version="v1beta1")
    assert resp["apiVersion"] == "admission.k8s.io/v1beta1"
    assert_injected_shape(patched, {"app"})


def test_unknown_fields_survive(server):
    """Fields the injector does not know (future API fields, huge numbers) stay byte-identical:
    the patch only adds, it never re-serialises the pod."""
    pod = make_pod(annotations=dict(ENABLED), someFutureField={"x": [1, 2, {"y": None}]},
                   priority=2147483647)
    pod["spec"]["containers"][0]["futureContainerField"] = {"enabled": True}
    review = admission_review(pod)
    raw = json.dumps(review).replace('"priority": 2147483647', '"priority": 18446744073709551617')
    status, body, _ = server.request("POST", "/mutate", raw)
    assert status == 200
    ops = decode_patch(json.loads(body))
    for op in ops:
        assert "someFutureField" not in op["path"] and "futureContainerField" not in json.dumps(op)
    patched = apply_patch(json.loads(raw)["request"]["object"], ops)
    assert patched["spec"]["priority"] == 18446744073709551617
    assert patched["spec"]["someFutureField"] == {"x": [1, 2, {"y": None}]}
    assert patched["spec"]["containers"][0]["futureContainerField"] == {"enabled": True}


def test_annotation_keys_are_escaped(server):
    pod = make_pod(annotations={**ENABLED, "a~b/c": "v"})
    _, ops, patched = admit(server, pod)
    assert any(o["path"] == "/metadata/annotations/profiling.datadoghq.com~1injected" for o in ops)
    assert patched["metadata"]["annotations"]["a~b/c"] == "v"


def test_non_pod_review_is_allowed_with_warning(server):
    review = admission_review({"apiVersion": "apps/v1", "kind": "Deployment",
                               "metadata": {"name": "d"}}, kind="Deployment")
    review["request"]["kind"]["group"] = "apps"
    resp = server.review(review)
    assert resp["response"]["allowed"] is True and "patch" not in resp["response"]
    assert any("only Pods" in w for w in resp["response"]["warnings"])
    review = admission_review(make_pod(annotations=dict(ENABLED)), operation="UPDATE")
    resp = server.review(review)
    assert "patch" not in resp["response"]


@pytest.mark.parametrize("kind,template", [("Deployment", ["spec", "template"]),
                                           ("StatefulSet", ["spec", "template"]),
                                           ("DaemonSet", ["spec", "template"]),
                                           ("Job", ["spec", "template"]),
                                           ("CronJob", ["spec", "jobTemplate", "spec", "template"])])
def test_mutate_workloads(tmp_path, kind, template):
    pod = make_pod(annotations=dict(ENABLED))
    tmpl = {"metadata": {"annotations": dict(ENABLED), "labels": {"app": "api"}},
            "spec": pod["spec"]}
    obj = {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "api", "namespace": "apps"},
           "spec": {}}
    cur = obj
    for key in template[:-1]:
        cur = cur.setdefault(key, {})
    cur[template[-1]] = tmpl
    import yaml
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(obj))
    r = run_injector("mutate", "--patched", "-f", str(path))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    t = out
    for key in template:
        t = t[key]
    validate_pod({"apiVersion": "v1", "kind": "Pod", **t})
    assert_injected_shape(t, {"app"})
    assert env_of(t["spec"]["containers"][0])["DD_SERVICE"] == "api"
    r = run_injector("mutate", "-f", str(path))
    ops = decode_patch(json.loads(r.stdout))
    assert all(o["path"].startswith("/" + "/".join(template)) for o in ops)
    assert apply_patch(obj, ops) == out


def test_mutate_bad_input():
    cases = [("{", "invalid JSON"), ("[1,2", "invalid JSON"), ("kind: Namespace\n", "not supported"),
             ("a: [\n", "invalid YAML"), ("x: &a 1\ny: *a\n", "aliases"),
             ("---\nkind: Pod\n---\nkind: Pod\n", "more than one"), ("", "empty"),
             ('{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1"}', "no request"),
             ('{"kind":"Pod","metadata":{}}', "spec.containers"), ("[" * 100000, "nested"),
             ('{"kind":"Pod","spec":{"containers":["app"]}}', "malformed"),
             ('{"kind":"Pod","spec":{"containers":[{"name":"a","env":{}}]}}', "malformed"),
             ('{"kind":"Pod","metadata":{"annotations":[]},"spec":{"containers":[{"name":"a"}]}}',
              "malformed")]
    for text, needle in cases:
        r = run_injector("mutate", input_text=text)
        assert r.returncode == 2, text[:40]
        assert needle in r.stderr and r.stderr.count("\n") == 1, (text[:40], r.stderr)
    r = run_injector("mutate", "-f", "/nonexistent.yaml")
    assert r.returncode == 2 and "No such file" in r.stderr


def test_plain_sidecar_mode():
    pod = make_pod(annotations=dict(ENABLED), containers=[{"name": "app", "image": "python"}])
    r = run_injector("mutate", "--patched", "--sidecar-mode", "container", "--agent-url",
                     "unix:///var/run/datadog/apm.socket", "--agentless", "--api-key-secret",
                     "dd-api", input_text=json.dumps(pod))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    validate_pod(out)
    assert [c["name"] for c in out["spec"]["initContainers"]] == ["podprof-init"]
    exporter = out["spec"]["containers"][1]
    assert exporter["name"] == "podprof-exporter" and "restartPolicy" not in exporter
    env = env_of(exporter)
    assert env["DD_TRACE_AGENT_URL"] == "unix:///var/run/datadog/apm.socket"
    assert "DD_AGENT_HOST" not in env
    assert env["DD_API_KEY"] == {"secretKeyRef": {"name": "dd-api", "key": "api-key"}}
    assert env["DD_PROFILING_AGENTLESS"] == "true"


def test_demo_pod():
    from podprof_testenv import ROOT
    r = run_injector("mutate", "--patched", "-f", str(ROOT / "demo" / "pod.yaml"))
    assert r.returncode == 0, r.stderr
    pod = json.loads(r.stdout)
    validate_pod(pod)
    assert_injected_shape(pod, {"app"})
    env = env_of(pod["spec"]["containers"][0])
    assert env["DD_SERVICE"] == "checkout" and env["PYTHONUNBUFFERED"] == "1"
    assert pod["spec"]["containers"][0]["args"][0].startswith("import time")

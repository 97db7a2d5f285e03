"""Running the real podprof-injector: certificates from `certs`, a `serve` process on a loopback
port, a TLS client trusting the generated CA, and `mutate` on files."""
import base64
import http.client
import json
import os
import resource
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import jsonpatch
from kubernetes.client import ApiClient

from podprof_testenv import BUILD, ROOT, SANITIZED

INJECTOR = BUILD / "bin" / "podprof-injector"
SERVICE, NAMESPACE = "podprof-injector", "podprof"
SERVER_NAME = f"{SERVICE}.{NAMESPACE}.svc"
PODS = Path(__file__).resolve().parent / "pods"


def run_injector(*args, input_text=None, timeout=30):
    return subprocess.run([str(INJECTOR), *args], input=input_text, capture_output=True,
                          text=True, timeout=timeout)


def make_certs(out_dir, days=30):
    r = run_injector("certs", "--service", SERVICE, "--namespace", NAMESPACE, "--out",
                     str(out_dir), "--days", str(days))
    assert r.returncode == 0, r.stderr
    return out_dir


class TLSConnection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 verifying the certificate for the webhook Service's DNS name, as the
    API server does."""

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=SERVER_NAME)


class Server:
    """`podprof-injector serve` on 127.0.0.1:<free port>, its JSON log lines collected."""

    def __init__(self, cert_dir, *extra, workers=2, max_files=None):
        self.cert_dir = Path(cert_dir)
        self.log_path = self.cert_dir / f"serve-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "w+")
        env = dict(os.environ)
        if SANITIZED:
            env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=66"
        self.proc = subprocess.Popen(
            [str(INJECTOR), "serve", "--listen", "127.0.0.1:0",
             "--tls-cert", str(self.cert_dir / "tls.crt"), "--tls-key", str(self.cert_dir / "tls.key"),
             "--workers", str(workers), "--cert-check-interval", "1", *extra],
            stdout=subprocess.DEVNULL, stderr=self.log, env=env,
            preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (max_files, max_files)))
            if max_files else None)
        self.port = self._wait_port()

    def logs(self):
        if not self.log.closed:
            self.log.flush()
        lines = []
        for line in self.log_path.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                lines.append({"raw": line})
        return lines

    def _wait_port(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for entry in self.logs():
                if entry.get("msg") == "listening":
                    return int(entry["port"])
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: {self.log_path.read_text()}")
            time.sleep(0.02)
        raise AssertionError("serve did not start: " + self.log_path.read_text())

    def context(self):
        ctx = ssl.create_default_context(cafile=str(self.cert_dir / "ca.crt"))
        return ctx

    def connection(self, timeout=10):
        return TLSConnection("127.0.0.1", self.port, timeout=timeout, context=self.context())

    def request(self, method, path, body=None, headers=None, conn=None):
        own = conn is None
        conn = conn or self.connection()
        try:
            hdrs = {"Content-Type": "application/json"}
            hdrs.update(headers or {})
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, resp.read(), resp
        finally:
            if own:
                conn.close()

    def review(self, review, path="/mutate/annotated", conn=None):
        status, body, _ = self.request("POST", path, json.dumps(review), conn=conn)
        assert status == 200, body
        return json.loads(body)

    def metrics(self):
        status, body, _ = self.request("GET", "/metrics")
        assert status == 200
        values = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("serve did not stop after SIGTERM")
        self.log.close()
        return self.proc.returncode


def admission_review(pod, namespace="apps", uid="7f0c7a4e-1b1e-4d5e-9a37-3e1b2c3d4e5f",
                     version="v1", operation="CREATE", kind="Pod"):
    return {
        "apiVersion": f"admission.k8s.io/{version}",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": kind},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": kind},
            "namespace": namespace,
            "operation": operation,
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
            "object": pod,
            "oldObject": None,
            "dryRun": False,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"},
        },
    }


def decode_patch(response):
    """The response's JSON Patch as a list (empty when there is none)."""
    resp = response["response"]
    if "patch" not in resp:
        assert "patchType" not in resp
        return []
    assert resp["patchType"] == "JSONPatch"
    return json.loads(base64.b64decode(resp["patch"]))


def apply_patch(pod, ops):
    """Applies ops with the independent `jsonpatch` implementation."""
    return jsonpatch.apply_patch(pod, ops) if ops else pod


class _Resp:
    def __init__(self, data):
        self.data = json.dumps(data)


def validate_pod(pod):
    """Decodes the pod with the official Kubernetes client's models, which reject unknown or
    mistyped fields in client-side validation; returns the V1Pod."""
    from kubernetes.client import Configuration
    cfg = Configuration()
    cfg.client_side_validation = True
    api = ApiClient(configuration=cfg)
    v1pod = api.deserialize(_Resp(pod), "V1Pod")
    # Round-trip through the model: every field we produced must be a known model attribute.
    back = api.sanitize_for_serialization(v1pod)
    _assert_known(pod, back, "")
    return v1pod


def _assert_known(orig, back, path):
    if isinstance(orig, dict):
        assert isinstance(back, dict), path
        for key, value in orig.items():
            if value is None:
                continue
            assert key in back, f"{path}/{key} is not a field the Kubernetes model knows"
            _assert_known(value, back[key], f"{path}/{key}")
    elif isinstance(orig, list):
        assert isinstance(back, list) and len(back) == len(orig), path
        for i, (a, b) in enumerate(zip(orig, back)):
            _assert_known(a, b, f"{path}/{i}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


import pytest  # noqa: E402


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def server(cert_dir):
    srv = Server(cert_dir, "--namespace", "podprof")
    yield srv
    assert srv.stop() == 0, srv.log_path.read_text()
    assert not [e for e in srv.logs() if "raw" in e and "ERROR" in e["raw"]], srv.log_path.read_text()


def make_pod(name="web-1", namespace="apps", annotations=None, labels=None, containers=None,
             init_containers=None, volumes=None, generate_name=None, owner=None, **spec_extra):
    meta = {"namespace": namespace, "uid": "0b7e2f6a-0000-4000-8000-000000000001"}
    if name:
        meta["name"] = name
    if generate_name:
        meta["generateName"] = generate_name
    if annotations is not None:
        meta["annotations"] = annotations
    if labels is not None:
        meta["labels"] = labels
    if owner:
        meta["ownerReferences"] = [owner]
    spec = {"containers": containers or [{"name": "app", "image": "python:3.12-slim",
                                         "command": ["python", "app.py"]}]}
    if init_containers is not None:
        spec["initContainers"] = init_containers
    if volumes is not None:
        spec["volumes"] = volumes
    spec.update(spec_extra)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


ENABLED = {"profiling.datadoghq.com/enabled": "true"}

"""A loopback stand-in for the Datadog Agent's /profiling/v1/input (and the agentless intake) that
checks uploads strictly: every header, the multipart structure (parsed by the stdlib email
parser), every event.json field, the zstd attachments: the pprof (decoded by the protobuf runtime)
and, when the event lists it, code-provenance.json (its v1 document's every field). It can also misbehave on purpose (status codes, stalls, slow drips, resets) to
exercise the exporter's fault handling. Every wait is bounded."""
import email.parser
import email.policy
import json
import re
import socket
import socketserver
import sys
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import zstandard

import pprof_proto

RFC3339_NS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$")
MAX_BODY = 32 << 20
PROVENANCE = "code-provenance.json"
PROVENANCE_KINDS = {"standard library", "library", ""}


class Upload:
    """One received request, with what the checks found."""

    def __init__(self, method, path, headers, body):
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.errors = []
        self.event = None
        self.pprof_raw = None
        self.profile = None
        self.provenance = None  # the decoded code-provenance.json, when sent
        self.tags = {}

    def check(self, cond, what):
        if not cond:
            self.errors.append(what)
        return cond


def parse_tags(s):
    out = {}
    for item in s.split(","):
        k, sep, v = item.partition(":")
        if sep:
            out[k] = v
    return out


def zstd_payload(up, part, what):
    body = part.get_payload(decode=True)
    up.check(body[:4] == b"\x28\xb5\x2f\xfd", f"{what} is not a zstd frame")
    return zstandard.ZstdDecompressor().decompressobj().decompress(body)


def validate_provenance(up, part):
    """code-provenance.json as dd-trace-py sends it: {"v1": [{"kind", "name", "version", "paths"}]},
    the standard library first, the synthetic native library present."""
    up.check(part.get_filename() == PROVENANCE, f"provenance filename {part.get_filename()}")
    try:
        doc = json.loads(zstd_payload(up, part, PROVENANCE))
    except Exception as ex:  # noqa: BLE001 - any decoding failure is a finding
        up.errors.append(f"{PROVENANCE}: {ex}")
        return
    up.provenance = doc
    if not up.check(isinstance(doc, dict) and list(doc) == ["v1"] and
                    isinstance(doc["v1"], list), f"{PROVENANCE}: not {{\"v1\": [...]}}"):
        return
    for lib in doc["v1"]:
        if not up.check(isinstance(lib, dict) and
                        sorted(lib) == ["kind", "name", "paths", "version"], f"entry {lib!r}"):
            continue
        up.check(lib["kind"] in PROVENANCE_KINDS, f"kind {lib['kind']!r}")
        up.check(isinstance(lib["name"], str) and lib["name"], f"name {lib['name']!r}")
        up.check(isinstance(lib["version"], str), f"version {lib['version']!r}")
        up.check(isinstance(lib["paths"], list) and
                 all(isinstance(p, str) and p for p in lib["paths"]) and
                 len(set(lib["paths"])) == len(lib["paths"]), f"paths {lib['paths']!r}")
    kinds = [lib.get("kind") for lib in doc["v1"] if isinstance(lib, dict)]
    up.check(kinds[:1] == ["standard library"] and kinds.count("standard library") == 1,
             f"standard library entry: kinds {kinds}")
    if kinds[:1] == ["standard library"]:
        stdlib = doc["v1"][0]
        up.check(stdlib["name"] == "stdlib", f"stdlib name {stdlib['name']!r}")
        up.check("<frozen importlib._bootstrap>" in stdlib["paths"], "stdlib without importlib")
    natives = [lib for lib in doc["v1"] if isinstance(lib, dict) and lib.get("name") == "native"]
    up.check(len(natives) == 1 and natives[0]["kind"] == "library" and
             natives[0]["paths"] == ["<native>"], f"native entry {natives}")


def validate(up, *, agentless=False, expect_entity_id=None, expect_api_key=None,
             expect_code_provenance=None):
    """expect_code_provenance: True/False require the attachment to be sent or not; None accepts
    either (it is then checked as strictly when sent)."""
    h = up.headers
    up.check(up.method == "POST", f"method {up.method}")
    want_path = "/api/v2/profile" if agentless else "/profiling/v1/input"
    up.check(up.path.endswith(want_path), f"path {up.path}")
    up.check(h.get("DD-EVP-ORIGIN") == "podprof", f"DD-EVP-ORIGIN {h.get('DD-EVP-ORIGIN')}")
    up.check(re.fullmatch(r"\d+\.\d+\.\d+", h.get("DD-EVP-ORIGIN-VERSION", "")) is not None,
             f"DD-EVP-ORIGIN-VERSION {h.get('DD-EVP-ORIGIN-VERSION')}")
    up.check(h.get("User-Agent", "").startswith("podprof/"), f"User-Agent {h.get('User-Agent')}")
    up.check(h.get("Datadog-Entity-ID") == expect_entity_id,
             f"Datadog-Entity-ID {h.get('Datadog-Entity-ID')} != {expect_entity_id}")
    if agentless:
        up.check(h.get("DD-API-KEY") == expect_api_key, "DD-API-KEY missing or wrong")
    else:
        up.check("DD-API-KEY" not in h, "DD-API-KEY sent to the agent")
    up.check(h.get("Transfer-Encoding") is None, "chunked body (Content-Length expected)")
    up.check(int(h.get("Content-Length", -1)) == len(up.body), "Content-Length mismatch")
    ctype = h.get("Content-Type", "")
    if not up.check(ctype.startswith("multipart/form-data; boundary="), f"Content-Type {ctype}"):
        return
    raw = b"Content-Type: " + ctype.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + up.body
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    up.check(msg.is_multipart(), "body is not multipart")
    up.check(not msg.defects, f"multipart defects {msg.defects}")
    parts = list(msg.iter_parts()) if msg.is_multipart() else []
    if not up.check(len(parts) in (2, 3), f"{len(parts)} parts, expected event "
                    f"[+ {PROVENANCE}] + profile.pprof"):
        return
    for p in parts:
        up.check(not p.defects, f"part defects {p.defects}")
        up.check(p.get_content_disposition() == "form-data",
                 f"disposition {p.get_content_disposition()}")
    ev, prof = parts[0], parts[-1]
    prov = parts[1] if len(parts) == 3 else None
    if prov is not None:
        up.check(prov.get_param("name", header="content-disposition") == PROVENANCE,
                 f"second of three parts not {PROVENANCE}")
    if expect_code_provenance is not None:
        up.check((prov is not None) == expect_code_provenance,
                 f"{PROVENANCE} {'missing' if expect_code_provenance else 'sent'}")
    up.check(ev.get_param("name", header="content-disposition") == "event", "first part not event")
    up.check(ev.get_filename() == "event.json", f"event filename {ev.get_filename()}")
    up.check(ev.get_content_type() == "application/json", f"event type {ev.get_content_type()}")
    up.check(prof.get_param("name", header="content-disposition") == "profile.pprof",
             "second part not profile.pprof")
    up.check(prof.get_filename() == "profile.pprof", f"pprof filename {prof.get_filename()}")
    try:
        up.event = json.loads(ev.get_payload(decode=True))
    except ValueError as e:
        up.errors.append(f"event.json: {e}")
        return
    e = up.event
    up.check(e.get("version") == "4", f"version {e.get('version')}")
    up.check(e.get("family") == "python", f"family {e.get('family')}")
    want = ([PROVENANCE] if prov is not None else []) + ["profile.pprof"]
    up.check(e.get("attachments") == want, f"attachments {e.get('attachments')} != {want}")
    for k in ("start", "end"):
        up.check(isinstance(e.get(k), str) and RFC3339_NS.match(e[k]), f"{k} {e.get(k)}")
    up.check(e.get("start", "") <= e.get("end", ""), "start after end")
    up.check("endpoint_counts" in e and e["endpoint_counts"] is None, "endpoint_counts not null")
    up.check(isinstance(e.get("internal"), dict) and isinstance(e["internal"].get("sampler"), dict)
             and isinstance(e["internal"].get("exporter"), dict), "internal counters")
    up.check(isinstance(e.get("info", {}).get("profiler", {}).get("settings"), dict),
             "info.profiler.settings")
    up.check("DD_API_KEY" not in json.dumps(e) and (not expect_api_key or
             expect_api_key not in json.dumps(e)), "API key leaked into event")
    tp = e.get("tags_profiler")
    if up.check(isinstance(tp, str), "tags_profiler not a string"):
        up.tags = parse_tags(tp)
        for item in tp.split(","):
            up.check(re.fullmatch(r"[^,:]+:[^,]+", item) is not None, f"bad tag {item!r}")
    if prov is not None:
        validate_provenance(up, prov)
        if up.provenance and up.tags.get("runtime_version"):
            up.check(up.provenance["v1"][0].get("version") == up.tags["runtime_version"],
                     "stdlib version is not the runtime_version tag")
    try:
        up.pprof_raw = zstd_payload(up, prof, "profile.pprof")
        up.profile = pprof_proto.decode(up.pprof_raw)
        up.check(up.profile.string_table[0] == "", "string_table[0] not empty")
        up.check(len(up.profile.sample_type) > 0, "no sample types")
    except Exception as ex:  # noqa: BLE001 - any decoding failure is a finding
        up.errors.append(f"pprof: {ex}")


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        conn, _ = super().get_request()
        return conn, ("unix", 0)  # BaseHTTPRequestHandler expects an (address, port) pair


class AgentDouble:
    """script: list of behaviours consumed one per request; when empty, `default` applies.
    A behaviour is a dict: {"status": 200}, {"stall": seconds}, {"drip": seconds},
    {"reset": True}, {"status": 200, "delay": seconds}."""

    def __init__(self, *, tls_context=None, default=None, port=0, unix_path=None, **expect):
        self.uploads = []
        self.in_flight = 0
        self.script = []
        self.default = default or {"status": 200}
        self.expect = expect
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.stop_event = threading.Event()
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                with double.lock:
                    double.in_flight += 1
                try:
                    self.handle_post()
                finally:
                    with double.lock:
                        double.in_flight -= 1

            def handle_post(self):
                with double.lock:
                    behaviour = double.script.pop(0) if double.script else double.default
                if behaviour.get("stall"):
                    # read nothing, answer nothing: the client's timeout must fire
                    double.stop_event.wait(behaviour["stall"])
                    self.close_connection = True
                    return
                n = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(min(n, MAX_BODY)) if n > 0 else b""
                up = Upload(self.command, self.path, dict(self.headers.items()), body)
                validate(up, **double.expect)
                with double.lock:
                    double.uploads.append(up)
                    double.arrived.notify_all()
                if behaviour.get("reset"):
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.close_connection = True
                    return
                if behaviour.get("drip"):
                    head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                    deadline = time.monotonic() + behaviour["drip"]
                    try:
                        for b in head:
                            if time.monotonic() > deadline or double.stop_event.is_set():
                                break
                            self.wfile.write(bytes([b]))
                            self.wfile.flush()
                            double.stop_event.wait(0.5)
                    except OSError:
                        pass
                    self.close_connection = True
                    return
                if behaviour.get("delay"):
                    double.stop_event.wait(behaviour["delay"])
                status = behaviour.get("status", 200)
                payload = b"{}" if status < 300 else b"error from the agent double"
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        if unix_path:
            Handler.address_string = lambda self: "unix"
            self.server = _UnixHTTPServer(str(unix_path), Handler)
        else:
            self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        if tls_context is not None:
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
        self.port = None if unix_path else self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.server.shutdown()
        self.server.server_close()

    def server_threads_busy(self):
        with self.lock:
            return self.in_flight > 0

    def wait_for(self, count, timeout=20.0):
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.uploads) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.arrived.wait(left)
            return list(self.uploads)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tls_server_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def main():
    """`python tests/exporter/agent_double.py [--port 8126]`: a strict local agent that prints one
    line per upload (what a new user can point `podprof export` or `podprof run` at)."""
    import argparse
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--port", type=int, default=8126)
    ap.add_argument("--count", type=int, default=0, help="exit after this many uploads (0: never)")
    ap.add_argument("--expect-entity-id", help="the Datadog-Entity-ID header uploads must carry")
    args = ap.parse_args()
    seen, invalid = 0, False
    with AgentDouble(port=args.port, expect_entity_id=args.expect_entity_id) as agent:
        print(f"agent double listening on {agent.url}/profiling/v1/input", flush=True)
        try:
            while not args.count or seen < args.count:
                ups = agent.wait_for(seen + 1, timeout=3600)
                for up in ups[seen:]:
                    samples = len(up.profile.sample) if up.profile is not None else 0
                    verdict = "OK" if not up.errors else "INVALID: " + "; ".join(up.errors)
                    print(f"upload {seen + 1}: {verdict}; {samples} samples; "
                          f"tags {up.event.get('tags_profiler') if up.event else '?'}", flush=True)
                    seen += 1
                    invalid = invalid or bool(up.errors)
        except KeyboardInterrupt:
            pass
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())

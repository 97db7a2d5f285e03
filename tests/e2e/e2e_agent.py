"""The Datadog Agent stand-in for the e2e pod runs: a server on the node's address (port 8126 of
the host end of the node's veth pair, where DD_AGENT_HOST=status.hostIP leads) whose every upload
is checked by the exporter suite's strict validator (tests/exporter/agent_double.py: headers,
multipart, event.json, zstd, pprof decoded). The tests check each upload's entity ID against the
UID of the pod its tags name."""
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "exporter"))

from agent_double import MAX_BODY, Upload, validate  # noqa: E402


class AgentReceiver:
    def __init__(self, host, port, tls_context=None, **expect):
        """expect: validate()'s agentless / expect_api_key, for an intake stand-in."""
        self.uploads = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(min(n, MAX_BODY)) if n > 0 else b""
                up = Upload(self.command, self.path, dict(self.headers.items()), body)
                validate(up, expect_entity_id=up.headers.get("Datadog-Entity-ID"), **expect)
                with receiver.cond:
                    receiver.uploads.append(up)
                    receiver.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer((host, port), Handler)
        if tls_context:
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait_until(self, done, timeout):
        """Waits until done(uploads so far) is true or timeout; returns the uploads."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not done(list(self.uploads)) and time.monotonic() < deadline:
                self.cond.wait(max(0.05, min(1.0, deadline - time.monotonic())))
            return list(self.uploads)

"""The Datadog Agent stand-in for the e2e pod run: a server on the node's address (the host end of
the veth pair, port 8126, where DD_AGENT_HOST=status.hostIP leads) whose every upload is checked
by the exporter suite's strict validator (tests/exporter/agent_double.py: headers, multipart,
event.json, zstd, pprof decoded), here with the pod's UID as the expected entity ID."""
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "exporter"))

from agent_double import MAX_BODY, Upload, validate  # noqa: E402


class AgentReceiver:
    def __init__(self, host, port, expect_entity_id):
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
                validate(up, expect_entity_id=expect_entity_id)
                with receiver.cond:
                    receiver.uploads.append(up)
                    receiver.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.uploads) < count and time.monotonic() < deadline:
                self.cond.wait(max(0.05, deadline - time.monotonic()))
            return list(self.uploads)

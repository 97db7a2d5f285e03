"""A minimal Datadog Agent stand-in for the e2e run: accepts POST /profiling/v1/input, parses the
multipart body with the stdlib email parser, decodes event.json and checks the zstd pprof
attachment decompresses to a gzip pprof. The exporter's own tests validate the upload format in
depth; here what matters is that a profile from the injected pod arrives, and with which tags."""
import email.parser
import email.policy
import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import zstandard


class Received:
    def __init__(self, path, headers, event, attachments):
        self.path, self.headers, self.event, self.attachments = path, headers, event, attachments

    @property
    def tags(self):
        out = {}
        for item in self.event.get("tags_profiler", "").split(","):
            k, sep, v = item.partition(":")
            if sep:
                out.setdefault(k, v)
        return out


class AgentReceiver:
    def __init__(self, host, port):
        self.received = []
        self.errors = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(min(n, 32 << 20))
                try:
                    receiver._parse(self.path, dict(self.headers.items()), body)
                    status = 200
                except Exception as e:  # recorded for the test to report
                    with receiver.cond:
                        receiver.errors.append(f"{self.path}: {e}")
                        receiver.cond.notify_all()
                    status = 400
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _parse(self, path, headers, body):
        if not path.startswith("/profiling/v1/input"):
            raise ValueError(f"unexpected path {path}")
        ctype = headers.get("Content-Type", "")
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + body)
        if not msg.is_multipart():
            raise ValueError(f"not multipart: {ctype}")
        event, attachments = None, {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True)
            if name == "event":
                event = json.loads(data)
            else:
                attachments[part.get_filename() or name] = data
        if event is None:
            raise ValueError("no event part")
        for fname in event.get("attachments", []):
            raw = attachments.get(fname)
            if raw is None:
                raise ValueError(f"attachment {fname} missing")
            pprof = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
            if pprof[:2] == b"\x1f\x8b":
                pprof = gzip.decompress(pprof)
            if not pprof:
                raise ValueError(f"attachment {fname} is empty")
        with self.cond:
            self.received.append(Received(path, headers, event, attachments))
            self.cond.notify_all()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.received) < count and time.monotonic() < deadline:
                self.cond.wait(max(0.05, deadline - time.monotonic()))
            return list(self.received)

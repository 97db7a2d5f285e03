"""Serves requests through Flask's test client from a worker thread for argv[1] seconds, so every
sample of that thread runs through threading (standard library), Flask and Werkzeug, and most of
them through Jinja2 (and Pygments, where the interpreter has it)."""
import sys
import threading
import time

from shopapp.views import app, highlight


def serve(seconds):
    client = app.test_client()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        assert client.get("/").status_code == 200
        if highlight is not None:
            assert client.get("/code").status_code == 200


worker = threading.Thread(target=serve, args=(float(sys.argv[1]),), name="shop-worker")
worker.start()
worker.join()

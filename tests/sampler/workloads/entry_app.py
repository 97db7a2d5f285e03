"""One application for every server the entry-point tests run: a WSGI callable `app` (gunicorn,
uWSGI) and an ASGI callable `asgi_app` (uvicorn). Each request burns a known amount of thread CPU
in a function whose name says where it ran, and answers with the pid and thread that served it."""
import asyncio
import os
import threading
import time

BURN_SECONDS = 0.05


def entry_burn(cpu_seconds):
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


def served_by():
    return ("pid=%d thread=%s\n" % (os.getpid(), threading.current_thread().name)).encode()


def entry_wsgi_handler():
    entry_burn(BURN_SECONDS)
    return served_by()


def app(environ, start_response):
    body = entry_wsgi_handler()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


async def entry_asgi_handler():
    """CPU work on the event loop's own thread."""
    entry_burn(BURN_SECONDS)
    return served_by()


def entry_pool_handler():
    """CPU work handed to the loop's default thread pool."""
    entry_burn(BURN_SECONDS)
    return served_by()


async def asgi_app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/pool":
        body = await asyncio.get_running_loop().run_in_executor(None, entry_pool_handler)
    else:
        body = await entry_asgi_handler()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

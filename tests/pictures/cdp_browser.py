"""A real browser for the picture tests: Debian's headless Chromium, driven over the DevTools
protocol (CDP) on a pipe (--remote-debugging-pipe: JSON messages ending in NUL on file
descriptors 3 and 4), so no port is opened and no WebSocket library is needed.

The flags keep it off the network (it would otherwise fetch components, sync and field trials)
and let it run as root in a container without a sandbox or a GPU."""
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--no-default-browser-check",
    "--remote-debugging-pipe", "--window-size=1300,900",
]


def chromium_path():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    raise RuntimeError("chromium is not installed (deps/apt.txt lists it; run `make deps`)")


class CDPError(RuntimeError):
    pass


class Browser:
    """One Chromium process; pages are opened with open_page()."""

    def __init__(self, timeout=60):
        self.timeout = timeout
        self.profile_dir = tempfile.mkdtemp(prefix="podprof-chromium-")
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # Above 4, so placing them at 3 and 4 in the child cannot clobber one another.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
                for fd in (to_browser_r, from_browser_w)]
        for fd in (to_browser_r, from_browser_w):
            os.close(fd)

        def child_fds():
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.proc = subprocess.Popen(
            [chromium_path(), *FLAGS, f"--user-data-dir={self.profile_dir}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=child_fds)
        for fd in high:
            os.close(fd)
        self.out = to_browser_w
        self.inp = from_browser_r
        self.buf = b""
        self.next_id = 0
        self.responses = {}
        self.events = []
        self.handlers = {}

    # ---- transport ----

    def _send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self.out, data):]
        return self.next_id

    def _pump(self, deadline):
        """Reads at least one message (or fails at the deadline) and dispatches it."""
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from chromium")
            ready, _, _ = select.select([self.inp], [], [], left)
            if ready:
                chunk = os.read(self.inp, 1 << 20)
                if not chunk:
                    raise CDPError(f"chromium closed the pipe (exit status {self.proc.poll()})")
                self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        msg = json.loads(raw)
        if "id" in msg:
            self.responses[msg["id"]] = msg
        else:
            self.events.append(msg)
            handler = self.handlers.get(msg.get("method"))
            if handler:
                handler(msg)

    def call(self, method, params=None, session=None, timeout=None):
        mid = self._send(method, params, session)
        deadline = time.monotonic() + (timeout or self.timeout)
        while mid not in self.responses:
            self._pump(deadline)
        msg = self.responses.pop(mid)
        if "error" in msg:
            raise CDPError(f"{method}: {msg['error']}")
        return msg.get("result", {})

    def open_page(self, url):
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        page.call("Page.enable")
        page.call("Runtime.enable")
        page.call("Page.navigate", {"url": url})
        return page

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except (CDPError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.out)
        os.close(self.inp)
        shutil.rmtree(self.profile_dir, ignore_errors=True)


class Page:
    def __init__(self, browser, session):
        self.browser = browser
        self.session = session
        self.prompt_answers = []
        browser.handlers["Page.javascriptDialogOpening"] = self._dialog

    def _dialog(self, event):
        if event.get("sessionId") != self.session:
            return
        answer = self.prompt_answers.pop(0) if self.prompt_answers else None
        # Answered without waiting: the click that opened the dialog is still in flight.
        self.browser._send("Page.handleJavaScriptDialog",
                           {"accept": answer is not None, "promptText": answer or ""},
                           self.session)

    def call(self, method, params=None, timeout=None):
        return self.browser.call(method, params, self.session, timeout)

    def eval(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                            "awaitPromise": True})
        if "exceptionDetails" in r:
            raise CDPError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, expression, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            value = self.eval(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"waiting for {expression}")
            time.sleep(0.05)

    def click(self, x, y):
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent",
                      {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def click_element(self, selector):
        """Clicks the middle of the first element matching a CSS selector, as a user would."""
        box = self.eval(f"""(() => {{
            const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2];
        }})()""")
        self.click(*box)

    def type_text(self, text):
        self.call("Input.insertText", {"text": text})

    def exceptions(self):
        return [e for e in self.browser.events
                if e.get("sessionId") == self.session
                and e.get("method") == "Runtime.exceptionThrown"]

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

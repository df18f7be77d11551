"""A minimal Chrome DevTools Protocol client over `--remote-debugging-pipe` (no extra packages).

Chromium reads NUL-terminated JSON commands on fd 3 and writes responses and events on fd 4.
`open_page` loads one URL in headless Chromium and returns what a test needs: console errors,
uncaught exceptions, every network request, values evaluated in the page, and a screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@dataclass
class PageResult:
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    screenshot: bytes = b""


class _Pipe:
    def __init__(self, write_fd: int, read_fd: int) -> None:
        self.w, self.r = write_fd, read_fd
        self.buf = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 30) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        want = self.next_id
        deadline = time.monotonic() + timeout
        while True:
            m = self.read(deadline)
            if m.get("id") == want:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return dict(m.get("result", {}))
            self.events.append(m)

    def read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self.r], [], [], left)
            if ready:
                chunk = os.read(self.r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                self.buf += chunk
        raw, _, self.buf = self.buf.partition(b"\0")
        return dict(json.loads(raw))

    def wait_event(self, method: str, timeout: float = 30) -> dict[str, Any]:
        for e in self.events:
            if e.get("method") == method:
                return e
        deadline = time.monotonic() + timeout
        while True:
            m = self.read(deadline)
            self.events.append(m)
            if m.get("method") == method:
                return m


def open_page(url: str, expressions: dict[str, str], width: int = 1400, height: int = 1000) -> PageResult:
    exe = chromium()
    assert exe, "chromium is not installed"
    to_chrome_r, to_chrome_w = os.pipe()
    from_chrome_r, from_chrome_w = os.pipe()
    with tempfile.TemporaryDirectory(prefix="deescalate-chromium-") as profile:
        # Chromium expects its pipe on fds 3 (in) and 4 (out).
        def child_fds() -> None:
            # Copy to fresh fds first: a pipe end may already sit on 3 or 4, and dup2 onto itself
            # would neither move it nor clear its close-on-exec flag.
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)  # inheritable by default
            os.dup2(b, 4)

        proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--disable-default-apps", f"--user-data-dir={profile}",
             "--remote-debugging-pipe", f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # close_fds=False: the fds dup2'd onto 3 and 4 must survive; Python's own fds are
            # close-on-exec anyway.
            preexec_fn=child_fds, close_fds=False,  # noqa: PLW1509
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        pipe = _Pipe(to_chrome_w, from_chrome_r)
        result = PageResult()
        try:
            target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            sid = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Runtime", "Log", "Network", "Page"):
                pipe.send(f"{domain}.enable", session=sid)
            pipe.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=sid)
            pipe.events.clear()
            pipe.send("Page.navigate", {"url": url}, session=sid)
            pipe.wait_event("Page.loadEventFired")
            for name, expr in expressions.items():
                r = pipe.send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=sid)
                result.values[name] = r.get("result", {}).get("value")
            shot = pipe.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False},
                             session=sid)
            result.screenshot = base64.b64decode(shot["data"])
            for e in pipe.events:
                p = e.get("params", {})
                match e.get("method"):
                    case "Runtime.consoleAPICalled" if p.get("type") in {"error", "assert"}:
                        result.console_errors.append(json.dumps(p.get("args")))
                    case "Log.entryAdded" if p.get("entry", {}).get("level") == "error":
                        result.console_errors.append(p["entry"].get("text", ""))
                    case "Runtime.exceptionThrown":
                        result.exceptions.append(json.dumps(p.get("exceptionDetails")))
                    case "Network.requestWillBeSent":
                        result.requests.append(p.get("request", {}).get("url", ""))
            with contextlib.suppress(RuntimeError, TimeoutError):
                pipe.send("Browser.close", timeout=5)
        finally:
            os.close(to_chrome_w)
            os.close(from_chrome_r)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return result

"""Headless Chromium driven through chromedriver's W3C WebDriver protocol: plain HTTP + JSON, no new dependency.

:func:`find_browser` says which binaries the machine has (Debian's ``chromium`` and ``chromium-driver``);
:class:`Browser` starts chromedriver in a process group of its own, opens one session and always ends both.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.deployment.harness import DeploymentError, free_port, wait_for

#: The key WebDriver uses for an element reference in JSON.
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
INSTALL_HINT = (
    "install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does "
    "it where it may)"
)


def find_browser() -> tuple[str, str] | str:
    """``(chromium, chromedriver)`` paths, or a sentence saying what is missing."""
    chromium = next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    driver = shutil.which("chromedriver")
    missing = [name for name, path in (("chromium", chromium), ("chromedriver", driver)) if not path]
    if missing:
        return f"no {' and no '.join(missing)} on PATH: {INSTALL_HINT}"
    return chromium, driver


class Browser:
    """One headless Chromium session. Use as a context manager; :meth:`close` ends the browser and driver."""

    def __init__(self, chromium: str, driver: str, *, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self._log = open(workdir / "chromedriver.log", "wb")  # noqa: SIM115 (closed in close())
        self._driver = subprocess.Popen(
            [driver, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # chromedriver and the browsers it starts share this group
        )
        self.session: str | None = None
        try:
            wait_for("chromedriver to answer", self._ready, timeout=30, interval=0.2)
            profile = tempfile.mkdtemp(prefix="chromium-", dir=workdir)
            options = {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",  # CI runs as root in a container
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1400,1000",
                    f"--user-data-dir={profile}",
                ],
            }
            caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}}
            self.session = self._call("POST", "/session", caps, session=False)["sessionId"]
            self._call("POST", "/timeouts", {"implicit": 0, "pageLoad": 60000, "script": 30000})
        except BaseException:
            self.close()
            raise

    def _ready(self) -> bool:
        if self._driver.poll() is not None:
            raise DeploymentError(f"chromedriver exited with {self._driver.returncode}")
        return self._call("GET", "/status", session=False)["ready"]

    def _call(self, method: str, path: str, body: Any = None, *, session: bool = True) -> Any:
        prefix = f"/session/{self.session}" if session else ""
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{prefix}{path}",
            data=data,
            headers={"Content-Type": "application/json"},
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=90) as resp:
                return json.loads(resp.read())["value"]
        except urllib.error.HTTPError as exc:
            value = json.loads(exc.read() or b"{}").get("value", {})
            raise DeploymentError(f"WebDriver {method} {path}: {value.get('error')}: {value.get('message')}") from None

    # ------------------------------------------------------------------ what a test does
    def get(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    def script(self, source: str, *args: Any) -> Any:
        """Run ``source`` (a function body; ``arguments[i]`` are ``args``) in the page and return its result."""
        return self._call("POST", "/execute/sync", {"script": source, "args": list(args)})

    def find(self, what: str, source: str, *args: Any, timeout: float = 30) -> Any:
        """Wait until ``source`` (a script, as for :meth:`script`) returns something truthy; ``what`` names it."""
        return wait_for(what, lambda: self.script(source, *args), timeout, interval=0.3)

    def button(self, label: str, *, within: str = "body", timeout: float = 30) -> dict:
        """The first visible button whose text or aria-label is ``label``, inside the CSS selector ``within``."""
        return self.find(
            f"a button {label!r} in {within}",
            "const root = document.querySelector(arguments[1]); if (!root) return null;"
            "return [...root.querySelectorAll('button')].find(b => b.offsetParent !== null &&"
            " (b.innerText.trim() === arguments[0] || b.getAttribute('aria-label') === arguments[0])) || null",
            label,
            within,
            timeout=timeout,
        )

    def click(self, element: dict, *, timeout: float = 30) -> None:
        """Click ``element`` the way a user does: once nothing covers it.

        A tooltip opened by the last hover (Chakra keeps it while the pointer rests on its button) can sit over
        the next button. A user moves the mouse away and clicks again; so does this: the pointer leaves for the
        viewport's corner, and a click that chromedriver reports as intercepted (it dispatches nothing then) is
        tried again until ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while True:
            self._move_pointer_to_corner()
            try:
                self._call("POST", f"/element/{element[ELEMENT]}/click")
                return
            except DeploymentError as exc:
                if "element click intercepted" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(0.2)

    def _move_pointer_to_corner(self) -> None:
        """Move the mouse to the viewport's top-left corner, so hover-only overlays close."""
        move = {"type": "pointerMove", "x": 0, "y": 0, "origin": "viewport", "duration": 0}
        mouse = {"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [move]}
        self._call("POST", "/actions", {"actions": [mouse]})

    def type(self, element: dict, text: str) -> None:
        self._call("POST", f"/element/{element[ELEMENT]}/value", {"text": text})

    def text(self) -> str:
        """The visible text of the page."""
        return self.script("return document.body.innerText")

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self._call("GET", "/screenshot")))
        return path

    def close(self) -> None:
        if self.session:
            with contextlib.suppress(OSError, DeploymentError):
                self._call("DELETE", "", session=True)
            self.session = None
        if self._driver.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._driver.pid, signal.SIGTERM)
            try:
                self._driver.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self._driver.pid, signal.SIGKILL)
                self._driver.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._driver.pid, signal.SIGKILL)  # any browser left in the group
        self._log.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

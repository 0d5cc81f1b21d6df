"""Browser tests: headless Debian Chromium driven by Playwright, against the real stack.

A session fixture starts `scripts/run.sh --background` (action server, Rasa, web server)
on ports of its own (RASA_PORT=5205 ACTIONS_PORT=5255 WEB_PORT=8280, RUN_DIR=
build/browser-run) so it never clashes with `make run` or other suites, and stops it with
`scripts/stop.sh` at the end. The clinic profile is tests/browser/fixtures/clinic-profile.yml.

BROWSER_BACKEND=fake swaps Rasa + actions for tests/browser/fake_rasa.py, for front-end
work without a trained model; CI always runs the real stack (the default). MODEL=path picks
the model (as for scripts/run.sh); BROWSER_RUN_SH=path runs another start script.

Nothing here skips: without Chromium or a trained model the tests fail with the fix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SCREENSHOTS = ROOT / "docs" / "screenshots"
ARTIFACTS = HERE / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RASA_PORT = int(os.environ.get("BROWSER_RASA_PORT", "5205"))
ACTIONS_PORT = int(os.environ.get("BROWSER_ACTIONS_PORT", "5255"))
WEB_PORT = int(os.environ.get("BROWSER_WEB_PORT", "8280"))
# The clinic's own website in the embedding tests (tests/browser/test_embedding.py): an
# origin allowed through the one origins setting (WEBSITE_ORIGINS), and one that is not.
SITE_PORT = int(os.environ.get("BROWSER_SITE_PORT", "8281"))
OTHER_SITE_PORT = int(os.environ.get("BROWSER_OTHER_SITE_PORT", "8282"))
RUN_DIR = ROOT / "build" / "browser-run"
PROFILE = HERE / "fixtures" / "clinic-profile.yml"
BACKEND = os.environ.get("BROWSER_BACKEND", "real")
HOST = "127.0.0.1"


# ----------------------------------------------------------------------------- helpers
def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return 200 <= r.status < 500
    except (urllib.error.URLError, OSError):
        return False


def rest_turn(rasa_url: str, sender: str, message: str, timeout: float = 60) -> List[dict]:
    req = urllib.request.Request(
        f"{rasa_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"[]")


def wait_until(check, seconds: float, what: str, log: Optional[Path] = None) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.5)
    tail = ""
    if log and log.exists():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    raise RuntimeError(f"{what} not ready after {seconds:.0f}s\n{tail}")


class Stack:
    """The running servers. `stop_rasa()` / `start()` serve the server-down test."""

    def __init__(self) -> None:
        self.web_url = f"http://{HOST}:{WEB_PORT}"
        self.rasa_url = f"http://{HOST}:{RASA_PORT}"
        self.env = dict(
            os.environ,
            RASA_PORT=str(RASA_PORT),
            ACTIONS_PORT=str(ACTIONS_PORT),
            WEB_PORT=str(WEB_PORT),
            RUN_DIR=str(RUN_DIR),
            CLINIC_PROFILE=str(PROFILE),
            BIND=HOST,
            PUBLIC_HOST=HOST,
            WEBSITE_ORIGINS=f"http://{HOST}:{SITE_PORT}",
            LOG_LEVEL="INFO",
        )
        # No CORS_ORIGINS: scripts/run.sh makes Rasa's --cors list (and the socket.io channel
        # its check) from the one origins setting, as in production (python -m assistant.origins).
        self._fakes: Dict[str, subprocess.Popen] = {}

    # -- real stack: scripts/run.sh and scripts/stop.sh
    def start(self) -> None:
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        if BACKEND == "fake":
            self._start_fake()
        else:
            self._start_real()
        self.warm_up()

    def _start_real(self) -> None:
        models = [os.environ["MODEL"]] if os.environ.get("MODEL") else list((ROOT / "models").glob("*.tar.gz"))
        if not models:
            raise RuntimeError("No trained model in models/: run `make train` first (`make test-browser` does).")
        log = RUN_DIR / "run.sh.log"
        with open(log, "w") as out:
            proc = subprocess.run(
                ["bash", os.environ.get("BROWSER_RUN_SH", str(ROOT / "scripts" / "run.sh")), "--background"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=600,
            )
        if proc.returncode != 0:
            raise RuntimeError("scripts/run.sh failed:\n" + log.read_text(errors="replace")[-4000:])

    def _start_fake(self) -> None:
        py = sys.executable
        if "rasa" not in self._fakes or self._fakes["rasa"].poll() is not None:
            self._fakes["rasa"] = subprocess.Popen(
                [py, str(HERE / "fake_rasa.py"), "--port", str(RASA_PORT), "--socketio"],
                stdout=open(RUN_DIR / "fake_rasa.log", "w"),
                stderr=subprocess.STDOUT,
            )
        if "web" not in self._fakes or self._fakes["web"].poll() is not None:
            self._fakes["web"] = subprocess.Popen(
                [
                    py,
                    str(ROOT / "web" / "serve.py"),
                    "--port",
                    str(WEB_PORT),
                    "--bind",
                    HOST,
                    "--rasa-url",
                    self.rasa_url,
                    "--clinic-profile",
                    str(PROFILE),
                ],
                cwd=ROOT,
                env=self.env,
                stdout=open(RUN_DIR / "web.log", "w"),
                stderr=subprocess.STDOUT,
            )
        wait_until(lambda: http_ok(self.web_url + "/healthz"), 20, "web server")

    def warm_up(self) -> None:
        """Wait until a whole turn (Rasa + actions) answers: the model is loaded."""

        def answered() -> bool:
            try:
                return bool(rest_turn(self.rasa_url, "browser-tests-warmup", "hello", timeout=30))
            except (urllib.error.URLError, OSError, ValueError):
                return False

        wait_until(answered, 240, "Rasa REST channel", RUN_DIR / "rasa.log")
        wait_until(lambda: http_ok(self.web_url + "/healthz"), 30, "web server", RUN_DIR / "web.log")

    def stop_rasa(self) -> None:
        """Stop the Rasa server only (the page stays loaded in the browser)."""
        if BACKEND == "fake":
            self._kill(self._fakes.pop("rasa", None))
            return
        # supervisord runs the background stack: `scripts/stop.sh rasa` stops Rasa alone and
        # `scripts/run.sh --background` (start()) starts it again.
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "stop.sh"), "rasa"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
        deadline = time.time() + 30
        while time.time() < deadline and http_ok(self.rasa_url + "/", timeout=1):
            time.sleep(0.5)

    def stop(self) -> None:
        if BACKEND == "fake":
            for proc in list(self._fakes.values()):
                self._kill(proc)
            self._fakes.clear()
            return
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "stop.sh")],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )

    @staticmethod
    def _kill(proc: Optional[subprocess.Popen]) -> None:
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    s = Stack()
    s.stop()  # leftovers of an interrupted run in our own RUN_DIR
    try:
        s.start()
    except Exception as problem:
        s.stop()
        pytest.fail(f"could not start the stack for the browser tests: {problem}", pytrace=False)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `make browser-deps` (apt-get install chromium chromium-driver)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageProblems:
    """Console errors, CSP violations and uncaught exceptions seen by a page."""

    def __init__(self) -> None:
        self.errors: List[str] = []
        self.dialogs: List[str] = []
        self.allowed: List[str] = []

    def attach(self, page) -> None:
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", self._console)
        page.on("dialog", self._dialog)

    def _console(self, msg) -> None:
        text = msg.text
        if msg.type == "error" and not self._expected(text):
            self.errors.append(f"console: {text}")
        elif ("Content Security Policy" in text or "Content-Security-Policy" in text) and not self._expected(text):
            self.errors.append(f"csp: {text}")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _expected(self, text: str) -> bool:
        # A stopped server makes the browser log the failed request; tests that stop it
        # add the pattern to `allowed`.
        return any(a in text for a in self.allowed)


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def new_page(browser, problems):
    """new_page(width=1280, height=800, dark=False, **context options) -> page."""
    contexts = []

    def make(width: int = 1280, height: int = 800, dark: bool = False, **kw):
        ctx = browser.new_context(
            viewport={"width": width, "height": height},
            color_scheme="dark" if dark else "light",
            device_scale_factor=kw.pop("scale", 1),
            **kw,
        )
        ctx.set_default_timeout(15000)
        contexts.append(ctx)
        page = ctx.new_page()
        problems.attach(page)
        return page

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def no_page_problems(problems):
    yield problems
    assert not problems.errors, "page problems:\n" + "\n".join(problems.errors)
    assert not problems.dialogs, f"a dialog opened (script ran?): {problems.dialogs}"


def pytest_collection_modifyitems(config, items):
    """Tests marked `stops_server` run last (they stop and restart Rasa)."""
    items.sort(key=lambda item: 1 if item.get_closest_marker("stops_server") else 0)


def pytest_configure(config):
    config.addinivalue_line("markers", "stops_server: stops the Rasa server; runs last")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


def screenshot(page, name: str, **kw) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), **kw)
    return path

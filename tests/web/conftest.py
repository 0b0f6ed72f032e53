"""Web fixtures: a seeded county of its own, the app served over real HTTP, and real Chromium.

The browser is Debian's ``chromium`` (``make test`` installs it when it is missing), driven
by Playwright for Python at a 360 x 740 phone viewport. The server is uvicorn in a thread on a
free loopback port, on an SQLite county seeded for these tests alone. Every page a test
visits is checked with axe-core (vendored in ``vendor/``) and screenshotted into
``docs/screenshots/``.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from api.app import create_app
from tests import databases
from tests.api.conftest import _seed, settings_for

CHROMIUM = os.environ.get("TIDE_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
PHONE = {"width": 360, "height": 740}
#: WCAG 2.0, 2.1 and 2.2 at A and AA, and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """The app under uvicorn in a thread; ``stop`` and ``start`` again on the same port."""

    def __init__(self, url: str) -> None:
        self.database_url = url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(
            create_app(settings_for(self.database_url)), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=20)


@pytest.fixture(scope="session")
def web_county(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = databases.sqlite_url(Path(tmp_path_factory.mktemp("web")))
    databases.migrate(url)
    _seed(url)
    return url


@pytest.fixture(scope="session")
def server(web_county: str) -> Iterator[Server]:
    running = Server(web_county)
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only the browser tests need it

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make test`, which installs Debian's chromium", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Visit:
    """A phone's browser context, with what it saw: hosts contacted and CSP violations."""

    context: Any
    page: Any
    base: str
    hosts: set[str] = field(default_factory=set)
    console_errors: list[str] = field(default_factory=list)

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def check(self, name: str) -> None:
        """axe-core on the page as it is now (no violations allowed), then a screenshot."""
        check_accessibility(self.page, name)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def sign_in(self, name: str) -> None:
        self.go("/sign-in")
        self.page.get_by_label("Email address").fill(f"{name}@demo.tide.invalid")
        self.page.get_by_label("Password").fill("tide-demo-password")
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()


def check_accessibility(page: Any, name: str) -> None:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)  # evaluated by the driver, so the page's CSP does not block it
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS
    )
    violations = [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["html"] for n in v["nodes"][:3]]}
        for v in result["violations"]
    ]
    assert not violations, f"axe found violations on {name}:\n{json.dumps(violations, indent=2)}"


def open_phone(browser: Any, server: Server, *, javascript: bool = True) -> Visit:
    context = browser.new_context(
        viewport=PHONE, java_script_enabled=javascript, service_workers="allow" if javascript else "block"
    )
    page = context.new_page()
    visit = Visit(context=context, page=page, base=server.base)
    page.on("request", lambda request: visit.hosts.add(request.url.split("/")[2]))

    def on_console(message: Any) -> None:
        if message.type == "error":
            visit.console_errors.append(message.text)

    page.on("console", on_console)
    return visit


@pytest.fixture
def phone(browser: Any, server: Server) -> Iterator[Visit]:
    visit = open_phone(browser, server)
    yield visit
    visit.context.close()
    assert visit.hosts <= {f"127.0.0.1:{server.port}"}, f"third-party hosts contacted: {visit.hosts}"
    assert not [e for e in visit.console_errors if "Content Security Policy" in e], visit.console_errors

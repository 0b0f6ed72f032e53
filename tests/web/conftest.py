"""Web fixtures: a seeded county of its own, the app served over real HTTP, and real Chromium.

The browser is Debian's ``chromium`` (``make test`` installs it when it is missing), driven
by Playwright for Python at a 360 x 740 phone viewport. The server is uvicorn in a thread on a
free loopback port, on an SQLite county seeded for these tests alone. Every page a test
visits is checked with axe-core (vendored in ``vendor/``) and screenshotted into
``docs/screenshots/``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from cards import issuing
from ledger.clock import now_utc
from ledger.database import create_engine
from tests import databases
from tests.api.conftest import _seed, settings_for
from wallet import budgets, families
from wallet.access import load_principal
from wallet.clock import local_date
from wallet.demo import email
from wallet.models import FundingSource, Person

CHROMIUM = os.environ.get("TIDE_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
#: The README's screenshots come from runs at the real time; a run with its clock moved
#: (``TIDE_TEST_NOW``) keeps its own out of the docs.
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if not os.environ.get("TIDE_TEST_NOW")
    else Path(tempfile.gettempdir()) / "tide-screenshots-moved-clock"
)
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

    def __init__(self, url: str, **settings: Any) -> None:
        self.database_url = url
        self.settings = settings
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        app = create_app(settings_for(self.database_url).model_copy(update=self.settings))
        app.state.card_issuer = FakeCardIssuer()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
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


class FakeCardIssuer:
    """The card issuer as the pages need it, without Stripe: cards are made and change status."""

    async def create_cardholder(self, **_: Any) -> dict[str, Any]:
        return {"id": "ich_web_tests", "status": "active"}

    async def update_cardholder(self, **_: Any) -> dict[str, Any]:
        return {"id": "ich_web_tests", "status": "active"}

    def billing_address(self) -> dict[str, str] | None:
        return None

    async def create_card(self, *, status: str, **_: Any) -> dict[str, Any]:
        return {"id": "ic_web_tests", "status": status, "last4": "4242"}

    async def update_card(self, *, status: str, **_: Any) -> dict[str, Any]:
        return {"id": "ic_web_tests", "status": status}

    async def create_ephemeral_key(self, *, card: str, nonce: str) -> dict[str, Any]:
        return {"id": "ephkey_web_tests", "object": "ephemeral_key", "secret": f"ek_test_{nonce}_{card}"}

    async def list_events(self, **_: Any) -> list[dict[str, Any]]:
        return []

    async def list_transactions(self, **_: Any) -> list[dict[str, Any]]:
        return []


@dataclass(frozen=True)
class County:
    url: str
    family_id: int
    family_reference: str


async def _fresh_family_and_team_budget(url: str) -> tuple[int, str]:
    """A new family for kw.exeter.01 (nothing spent on it yet) with two open needs, £500 in
    the Exeter team's budget for its manager to give out, and a card on kw.exeter.01's wallet."""
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            now = now_utc()
            worker_id = (await db.execute(select(Person.id).where(Person.email == email("kw.exeter.01")))).scalar_one()
            finance_id = (await db.execute(select(Person.id).where(Person.email == email("finance")))).scalar_one()
            worker = await load_principal(db, person_id=worker_id)
            finance = await load_principal(db, person_id=finance_id)
            team_id = min(worker.worker_team_ids)
            family = await families.open_family(
                db, who=worker, team_id=team_id, lead_worker_id=worker_id, locality="Exeter",
                age_bands=["5-10"], opened_on=local_date(now), now=now,
            )  # fmt: skip
            for code in ("EDU-ATT", "FIN-DEBT"):
                await families.add_need(
                    db, who=worker, family_id=family.id, code=code, whose="child", identified_on=local_date(now),
                    evidence_source="school", baseline_score=4, now=now,
                )  # fmt: skip
            source = (await db.execute(select(FundingSource).where(FundingSource.code == "prevention"))).scalar_one()
            await budgets.fund_pot(
                db, actor=finance, funding_source_id=source.id, transfer_id="web-tests:grant", amount=50_000,
                reason="Top-up for the web tests", now=now,
            )  # fmt: skip
            await budgets.allocate(
                db, actor=finance, transfer_id="web-tests:team", funding_source_id=source.id, team_id=team_id,
                wallet_id=None, amount=50_000, month=None, reason="Top-up for the web tests", now=now,
            )  # fmt: skip
            await issuing.issue_card(
                db, FakeCardIssuer(), who=worker, wallet_id=worker.wallet_id or 0, card_type="virtual",
                key="web-tests-card", now=now,
            )  # fmt: skip
            await db.commit()
            return family.id, family.reference
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def web_county(tmp_path_factory: pytest.TempPathFactory) -> County:
    url = databases.sqlite_url(Path(tmp_path_factory.mktemp("web")))
    databases.migrate(url)
    _seed(url)
    family_id, reference = asyncio.run(_fresh_family_and_team_budget(url))
    return County(url=url, family_id=family_id, family_reference=reference)


@pytest.fixture(scope="session")
def server(web_county: County) -> Iterator[Server]:
    running = Server(web_county.url)
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser(server: Server) -> Iterator[Any]:
    """Chromium, for one test module at a time: Playwright's sync API holds an event loop
    while it runs, and no other test could ``asyncio.run`` meanwhile. It asks for the server
    first, so the county is seeded (with ``asyncio.run``) before it starts."""
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
    #: With JavaScript off, axe runs on a copy of the page's HTML in a page that has it on.
    axe_page: Any = None

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def check(self, name: str) -> None:
        """axe-core on the page as it is now (no violations allowed), then a screenshot."""
        if self.axe_page is None:
            check_accessibility(self.page, name)
        else:
            self.axe_page.goto(self.base + "/manifest.webmanifest")  # same origin, so the styles load
            self.axe_page.set_content(self.page.content(), wait_until="load")
            check_accessibility(self.axe_page, name)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def sign_in(self, name: str) -> None:
        self.go("/sign-in")
        self.page.get_by_label("Email address").fill(f"{name}@demo.tide.invalid")
        self.page.get_by_label("Password").fill("tide-demo-password")
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()

    def close(self) -> None:
        """Close the phone's context, and the one axe runs in when JavaScript is off."""
        self.context.close()
        if self.axe_page is not None:
            self.axe_page.context.close()


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
    context.set_default_timeout(10_000)
    page = context.new_page()
    visit = Visit(context=context, page=page, base=server.base)
    if not javascript:
        visit.axe_page = browser.new_context(viewport=PHONE).new_page()
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
    visit.close()
    assert visit.hosts <= {f"127.0.0.1:{server.port}"}, f"third-party hosts contacted: {visit.hosts}"
    assert not [e for e in visit.console_errors if "Content Security Policy" in e], visit.console_errors

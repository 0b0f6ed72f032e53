"""Page weight: what a key worker's phone downloads on a first visit, measured by Chromium.

    make bench                  # or: .venv/bin/python -m benchmarks.page_weight

Serves the app (uvicorn, on a free loopback port) over a throwaway SQLite database holding
one locality of the demo county at full size (12 key workers, 14 families each, three months
of spending), signs in as ``kw.exeter.01`` and then opens each page in a fresh browser
context with an empty cache, so every asset is fetched as on a first visit. The figure is
what DevTools calls "transferred": every response's headers plus its body as sent
(gzip-compressed where the app compresses), for the page and everything it loads (CSS,
script, icon, manifest, the service worker). Target: under 100 KB for the home page and for
each page of buying. Debian's Chromium (``/usr/bin/chromium``) runs it headless at 360 x 740.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from api.migrations import upgrade
from api.settings import Settings
from ledger.database import create_engine
from wallet.demo import DEMO_PASSWORD, email, seed_demo
from wallet.models import Family, FamilyWorker, Need, Person, Purchase

LIMIT_BYTES = 100 * 1024
CHROMIUM = "/usr/bin/chromium"


@dataclass(frozen=True, slots=True)
class Weight:
    page: str
    path: str
    requests: int
    transferred: int


def measure(browser: Any, base: str, storage_state: Any, name: str, path: str) -> Weight:
    """Open ``path`` with an empty cache and add up what came over the wire."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, storage_state=storage_state)
    sizes: list[int] = []

    def finished(request: Any) -> None:
        found = request.sizes()
        sizes.append(int(found["responseHeadersSize"]) + int(found["responseBodySize"]))

    context.on("requestfinished", finished)
    page = context.new_page()
    page.goto(base + path, wait_until="networkidle")
    page.wait_for_timeout(300)  # the service worker's registration and its install fetches
    context.close()
    return Weight(page=name, path=path, requests=len(sizes), transferred=sum(sizes))


def signed_in_state(browser: Any, base: str, name: str) -> Any:
    context = browser.new_context()
    page = context.new_page()
    page.goto(base + "/sign-in")
    page.get_by_label("Email address").fill(email(name))
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")
    state = context.storage_state()
    context.close()
    return state


def buying_paths(family_id: int, need_id: int) -> list[tuple[str, str]]:
    draft = f"idempotency_key=bench&family={family_id}&need={need_id}"
    # What it is and the shop are free text: kept on the server, never in the address.
    details = f"{draft}&category=CLOTH&amount=24.99&method=card"
    return [
        ("Buy: which family", "/buy"),
        ("Buy: which need", f"/buy/need?{draft}"),
        ("Buy: what, how much, where", f"/buy/details?{draft}"),
        ("Buy: check your answers", f"/buy/check?{details}"),
    ]


def weigh(browser: Any, base: str, *, worker: str, family_id: int, need_id: int, purchase_id: int) -> list[Weight]:
    """The home page, the pages of buying and a purchase's page, each on a first visit."""
    state = signed_in_state(browser, base, worker)
    pages = [("Key worker home", "/"), *buying_paths(family_id, need_id), ("A purchase", f"/purchases/{purchase_id}")]
    return [measure(browser, base, state, name, path) for name, path in pages]


def report(weights: list[Weight]) -> bool:
    print("| page | requests | transferred | under 100 KB |")
    print("|---|---|---|---|")
    ok = True
    for w in weights:
        under = w.transferred < LIMIT_BYTES
        ok = ok and under
        print(f"| {w.page} | {w.requests} | {w.transferred / 1024:.1f} KB | {'yes' if under else 'NO'} |")
    return ok


async def _prepare(url: str) -> tuple[int, int, int]:
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            await seed_demo(db, localities=("Exeter",), workers_per_team=12, families_per_worker=14, months=3)
            await db.commit()
            worker = (await db.execute(select(Person.id).where(Person.email == email("kw.exeter.01")))).scalar_one()
            row = (
                await db.execute(
                    select(Family.id, Need.id)
                    .join(FamilyWorker, FamilyWorker.family_id == Family.id)
                    .join(Need, Need.family_id == Family.id)
                    .where(FamilyWorker.person_id == worker, Family.status == "open", Need.status == "open")
                    .limit(1)
                )
            ).one()
            purchase = (
                await db.execute(select(Purchase.id).where(Purchase.worker_id == worker).order_by(Purchase.id).limit(1))
            ).scalar_one()
            return int(row[0]), int(row[1]), int(purchase)
    finally:
        await engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - its event loop must start after seeding

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'tide.db'}"
        upgrade(url)
        family_id, need_id, purchase_id = asyncio.run(_prepare(url))
        port = _free_port()
        settings = Settings(database_url=url, environment="test", host="127.0.0.1", port=port, db_pool_size=5)
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
                weights = weigh(
                    browser,
                    f"http://127.0.0.1:{port}",
                    worker="kw.exeter.01",
                    family_id=family_id,
                    need_id=need_id,
                    purchase_id=purchase_id,
                )
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=20)
    ok = report(weights)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

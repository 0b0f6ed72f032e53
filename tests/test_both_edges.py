"""One use case, two edges: the JSON API and the pages reach the same outcome through the same
use-case function, so the same action sent through either leaves the same database behind.

Each case starts from two copies of one seeded county (SQLite files), does its action through
the API on one and through the page's form on the other, and compares what the action wrote:
the rows of the tables it touches (ids, amounts, states; not the moments) and every ledger
account's balance.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from ledger.database import create_engine
from tests import databases
from tests.api.conftest import settings_for
from tests.api.conftest import sign_in as api_sign_in
from tests.web.test_pages import fresh_family
from tests.web.test_pages import sign_in as page_sign_in
from wallet import budgets
from wallet.access import load_principal
from wallet.clock import now_utc
from wallet.demo import email
from wallet.models import Person

#: What each table's comparable rows are: columns that do not carry a moment.
SNAPSHOT = {
    "purchases": "id, family_id, wallet_id, worker_id, category, description, supplier, amount, status, "
    "policy_decision, receipt_required, hold_transfer_id IS NOT NULL",
    "purchase_needs": "purchase_id, need_id",
    "need_reviews": "need_id, outcome, score",
    "needs": "id, status",
    "allocations": "id, level, team_id, wallet_id, amount, reason",
    "approval_requests": "id, status, requester_id, amount, category",
    "ledger_accounts": "id, debits_posted, credits_posted, debits_pending, credits_pending",
}


@dataclass(frozen=True)
class Case:
    """The same action, as the API sends it and as the page's form sends it."""

    by_api: Callable[[AsyncTestClient[Any], dict[str, int]], Awaitable[int]]
    by_page: Callable[[AsyncTestClient[Any], dict[str, int]], Awaitable[int]]


async def _api(client: AsyncTestClient[Any], who: str, path: str, body: dict[str, Any]) -> int:
    signed = await api_sign_in(client, who)
    headers = {**signed.headers, "idempotency-key": f"both-edges-{path}"}
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code < 300, response.text
    return response.status_code


async def _page(client: AsyncTestClient[Any], who: str, path: str, form: dict[str, str]) -> int:
    csrf = await page_sign_in(client, who)
    response = await client.post(path, data={"csrf_token": csrf, "idempotency_key": "both-edges", **form})
    assert response.status_code == 303, response.text
    return response.status_code


BUY = {"category": "CLOTH", "description": "School shoes", "supplier": "Clarks"}

CASES = {
    "a key worker buys for a family's need": Case(
        by_api=lambda c, ids: _api(c, "kw.exeter.01", "/api/v1/purchases", {
            **BUY, "family_id": ids["family"], "need_ids": [ids["need"]], "amount_pence": 2_499,
            "payment_method": "card"}),
        by_page=lambda c, ids: _page(c, "kw.exeter.01", "/buy/check", {
            **BUY, "family": str(ids["family"]), "need": str(ids["need"]), "amount": "24.99", "method": "card"}),
    ),
    "a key worker reviews a need": Case(
        by_api=lambda c, ids: _api(c, "kw.exeter.01", f"/api/v1/needs/{ids['need']}/reviews", {
            "outcome": "improved", "score": 7}),
        by_page=lambda c, ids: _page(c, "kw.exeter.01", f"/families/{ids['family']}/needs/{ids['need']}/review", {
            "outcome": "improved", "score": "7"}),
    ),
    "a manager gives budget to a key worker": Case(
        by_api=lambda c, ids: _api(c, "manager.exeter", "/api/v1/allocations", {
            "funding_source_id": ids["source"], "team_id": ids["team"], "wallet_id": ids["wallet"],
            "amount_pence": 5_000, "reason": "Extra for a family in crisis"}),
        by_page=lambda c, ids: _page(c, "manager.exeter", "/team/allocate", {
            "wallet": str(ids["wallet"]), "amount": "50", "reason": "Extra for a family in crisis"}),
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("both-edges")
    databases.seeded_sqlite(folder, {"localities": ("Exeter",), "workers_per_team": 2,
                                     "families_per_worker": 1, "months": 1})  # fmt: skip
    return folder / "tide.db"


async def _ids(url: str) -> dict[str, int]:
    family_id, need_id = await fresh_family(url, "kw.exeter.01")
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            row = (
                await db.execute(
                    text(
                        "SELECT w.id, w.team_id, t.default_funding_source_id FROM wallets w JOIN people p "
                        "ON p.id = w.person_id JOIN teams t ON t.id = w.team_id WHERE p.email LIKE 'kw.exeter.01@%'"
                    )
                )
            ).one()
            finance = await load_principal(
                db, person_id=(await db.execute(select(Person.id).where(Person.email == email("finance")))).scalar_one()
            )
            now = now_utc()
            await budgets.fund_pot(db, actor=finance, funding_source_id=row[2], transfer_id="both:pot", amount=50_000,
                                   reason="Room for the team", now=now)  # fmt: skip
            await budgets.allocate(
                db, actor=finance, transfer_id="both:team", funding_source_id=row[2], team_id=row[1], wallet_id=None,
                amount=50_000, month=None, reason="Room for the team", now=now,
            )  # fmt: skip
            await db.commit()
    finally:
        await engine.dispose()
    return {"family": family_id, "need": need_id, "wallet": row[0], "team": row[1], "source": row[2]}


async def _snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            return {
                table: [tuple(r) for r in (await db.execute(text(f"SELECT {cols} FROM {table} ORDER BY 1, 2"))).all()]
                for table, cols in SNAPSHOT.items()
            }
    finally:
        await engine.dispose()


async def _through(edge: str, case: Case, seeded: Path, folder: Path) -> dict[str, list[tuple[Any, ...]]]:
    folder.mkdir()  # noqa: ASYNC240 - a test's own temporary folder
    shutil.copy(seeded, folder / "tide.db")
    url = databases.sqlite_url(folder)
    ids = await _ids(url)
    before = await _snapshot(url)
    async with AsyncTestClient(app=create_app(settings_for(url))) as client:
        client.follow_redirects = False
        await (case.by_api if edge == "api" else case.by_page)(client, ids)
    after = await _snapshot(url)
    assert after != before, f"the {edge} edge changed nothing"
    return after


@pytest.mark.parametrize("name", list(CASES))
async def test_the_api_and_the_pages_leave_the_same_database(name: str, county: Path, tmp_path: Path) -> None:
    case = CASES[name]
    by_api = await _through("api", case, county, tmp_path / "api")
    by_page = await _through("page", case, county, tmp_path / "page")
    for table in SNAPSHOT:
        assert by_api[table] == by_page[table], f"{name}: {table} differs between the API and the pages"

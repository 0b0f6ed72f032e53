"""Finance's grants page: each grant's money, and the claw-back of an ended grant's unspent money
(the use case the API and the daily job call); refused for anyone but finance, and a second
claw-back is answered with a readable refusal that changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from ledger.database import create_engine
from tests.web.test_pages import app_client, pages_postgres, pages_sqlite, pages_url, sign_in
from wallet import budgets
from wallet.clock import local_date, now_utc
from wallet.models import FundingSource

__all__ = ["app_client", "pages_postgres", "pages_sqlite", "pages_url"]  # the fixtures this module uses


async def _ended_grant(url: str, pence: int) -> tuple[int, str]:
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            now, tag = now_utc(), uuid.uuid4().hex[:8]
            source = await budgets.create_funding_source(db, actor=None, code=f"cb-{tag}", name=f"Grant {tag}", now=now)
            funded = await budgets.fund_pot(
                db, actor=None, funding_source_id=source.id, transfer_id=f"web:cb:{tag}", amount=pence, reason="t",
                now=now,
            )  # fmt: skip
            assert funded.accepted
            source.ends_on, source.claw_back_unspent = local_date(now) - timedelta(days=1), True
            source_id = source.id
            await db.commit()
            return source_id, f"Grant {tag}"
    finally:
        await engine.dispose()


async def _in_pot(url: str, source_id: int) -> int:
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            source = await db.get(FundingSource, source_id)
            assert source is not None
            return (await ledger.balance(db, account_id=source.pot_account_id)).available
    finally:
        await engine.dispose()


async def test_finance_gives_an_ended_grants_unspent_pot_back_on_the_grants_page(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    source_id, name = await _ended_grant(pages_url, 4_321)
    worker_csrf = await sign_in(app_client, "kw.exeter.01")
    assert (await app_client.get("/finance/grants")).status_code == 403
    refused = await app_client.post(
        "/finance/grants/claw-back",
        data={"csrf_token": worker_csrf, "idempotency_key": "k-w", "funding_source": str(source_id)},
    )
    assert refused.status_code == 403
    assert await _in_pot(pages_url, source_id) == 4_321

    csrf = await sign_in(app_client, "finance")
    shown = await app_client.get("/finance/grants")
    assert shown.status_code == 200
    assert f"{name}: £43.21" in shown.text
    key = f"k-{uuid.uuid4().hex}"
    form = {"csrf_token": csrf, "idempotency_key": key, "funding_source": str(source_id)}
    done = await app_client.post("/finance/grants/claw-back", data=form)
    assert done.status_code == 303
    assert "given back to its funder" in (await app_client.get(done.headers["location"])).text
    assert await _in_pot(pages_url, source_id) == 0
    again = await app_client.post("/finance/grants/claw-back", data={**form, "idempotency_key": f"{key}-2"})
    assert again.status_code == 409
    assert "The grant has nothing unspent to give back" in again.text
    blank = await app_client.post("/finance/grants/claw-back", data={"csrf_token": csrf, "idempotency_key": "k-b"})
    assert blank.status_code == 422

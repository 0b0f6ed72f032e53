"""The workers' bank account forms over HTTP, on SQLite and PostgreSQL: a form without the
session's CSRF token is refused with nothing recorded; a key worker's malformed details are
answered on the form with what was typed; only finance confirms (a manager cannot see the page,
an auditor sees it without the buttons and is refused the decision)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.database import create_engine
from tests.web.test_pages import app_client, pages_postgres, pages_sqlite, pages_url, sign_in
from wallet.demo import email
from wallet.models import Person
from wallet.paying.models import WorkerBankAccount

__all__ = ["app_client", "pages_postgres", "pages_sqlite", "pages_url"]  # the fixtures this module uses


async def _accounts_of(url: str, name: str) -> int:
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            person_id = (await db.execute(select(Person.id).where(Person.email == email(name)))).scalar_one()
            counted = (
                select(func.count()).select_from(WorkerBankAccount).where(WorkerBankAccount.person_id == person_id)
            )
            return int((await db.execute(counted)).scalar_one())
    finally:
        await engine.dispose()


async def test_a_worker_s_form_is_answered_with_what_was_typed_and_needs_the_csrf_token(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    csrf = await sign_in(app_client, "kw.exeter.01")
    before = await _accounts_of(pages_url, "kw.exeter.01")
    typed = {"csrf_token": csrf, "idempotency_key": f"k-{uuid.uuid4().hex}", "sort_code": "12-34",
             "account_number": "66374958", "account_name": "Kim Worker"}  # fmt: skip
    malformed = await app_client.post("/bank-account", data=typed)
    assert malformed.status_code == 422
    assert "A sort code is six digits, like 12-34-56." in malformed.text
    assert 'value="12-34"' in malformed.text
    assert 'value="Kim Worker"' in malformed.text
    no_token = await app_client.post("/bank-account", data={**typed, "sort_code": "08-99-99", "csrf_token": "x"})
    assert no_token.status_code == 403
    assert await _accounts_of(pages_url, "kw.exeter.01") == before


async def test_only_finance_confirms_and_an_auditor_only_looks(app_client: AsyncTestClient[Any]) -> None:
    await sign_in(app_client, "manager.exeter")
    assert (await app_client.get("/finance/worker-bank-accounts")).status_code == 403
    csrf = await sign_in(app_client, "auditor")
    shown = await app_client.get("/finance/worker-bank-accounts")
    assert shown.status_code == 200
    assert "Confirm" not in shown.text
    refused = await app_client.post(
        "/finance/worker-bank-accounts/1/decision",
        data={"csrf_token": csrf, "idempotency_key": "k-a", "decision": "confirm"},
    )
    assert refused.status_code == 403
    assert "Your role cannot do this" in refused.text

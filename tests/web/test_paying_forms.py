"""The paying pages' forms over HTTP, on SQLite and PostgreSQL: what the key worker leaves out or
names wrongly is answered on the purchase page, with nothing recorded; only finance acts on
payments (an auditor sees them without the buttons); a form without the session's CSRF token
is refused."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.database import create_engine
from tests.web.test_pages import (
    app_client,
    fresh_family,
    pages_postgres,
    pages_sqlite,
    pages_url,
    purchase_form,
    sign_in,
)
from wallet.access import load_principal
from wallet.clock import now_utc
from wallet.demo import email
from wallet.models import Person
from wallet.paying import suppliers
from wallet.paying.models import Payable

__all__ = ["app_client", "pages_postgres", "pages_sqlite", "pages_url"]  # the fixtures this module uses


async def _pending_supplier(url: str) -> int:
    """A supplier finance registered that no second person has confirmed yet."""
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db, db.begin():
            finance_id = (await db.execute(select(Person.id).where(Person.email == email("finance")))).scalar_one()
            details = suppliers.SupplierCreate(
                name=f"Unchecked {uuid.uuid4().hex[:6]}", address="1 Fore St, Exeter", vat_number=None,
                sort_code="089999", account_number="66374958",
            )  # fmt: skip
            made = await suppliers.register_supplier(
                db, who=await load_principal(db, person_id=finance_id), supplier=details, now=now_utc()
            )
            return made.id
    finally:
        await engine.dispose()


async def _payable(url: str, purchase_id: int) -> Payable | None:
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            return await db.get(Payable, purchase_id)
    finally:
        await engine.dispose()


async def test_the_key_worker_is_told_what_is_missing_or_not_confirmed_and_nothing_is_recorded(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    csrf = await sign_in(app_client, "kw.exeter.01")
    family_id, need_id = await fresh_family(pages_url, "kw.exeter.01")
    form = purchase_form(family_id, need_id, key=f"k-{uuid.uuid4().hex}", csrf=csrf, what="Cot bed", amount="45")
    bought = await app_client.post("/buy/check", data={**form, "method": "invoice"})
    assert bought.status_code == 303, bought.text
    purchase_id = int(bought.headers["location"].split("?")[0].rsplit("/", 1)[1])
    shown = await app_client.get(f"/purchases/{purchase_id}")
    assert "Who sent the invoice?" in shown.text

    blank = await app_client.post(
        f"/purchases/{purchase_id}/payee", data={"csrf_token": csrf, "idempotency_key": "k-1"}
    )
    assert blank.status_code == 422
    assert "Choose the supplier on the invoice" in blank.text
    assert "Enter the invoice number" in blank.text

    pending = await _pending_supplier(pages_url)
    named = {"csrf_token": csrf, "idempotency_key": f"k-{uuid.uuid4().hex}", "supplier": str(pending),
             "reference": "INV-9"}  # fmt: skip
    refused = await app_client.post(f"/purchases/{purchase_id}/payee", data=named)
    assert refused.status_code == 409
    assert "Choose a supplier finance has confirmed." in refused.text
    assert await _payable(pages_url, purchase_id) is None

    no_token = await app_client.post(f"/purchases/{purchase_id}/payee", data={**named, "csrf_token": "x"})
    assert no_token.status_code == 403
    assert await _payable(pages_url, purchase_id) is None


async def test_only_finance_acts_on_payments_and_an_auditor_only_looks(app_client: AsyncTestClient[Any]) -> None:
    csrf = await sign_in(app_client, "manager.exeter")
    assert (await app_client.get("/finance/payments")).status_code == 403
    csrf = await sign_in(app_client, "auditor")
    shown = await app_client.get("/finance/payments")
    assert shown.status_code == 200
    assert "Start a payment run" not in shown.text
    refused = await app_client.post("/finance/payment-runs", data={"csrf_token": csrf, "idempotency_key": "k-a"})
    assert refused.status_code == 403
    assert "Your role cannot do this" in refused.text
    assert (await app_client.get("/finance/payment-runs/999999")).status_code == 404

"""Buying in the field: amounts as typed, receipts as PDFs, and one status on the purchase page."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from api.web.pages.purchases import standing
from ledger.database import create_engine
from tests import receipt_files
from tests.api.conftest import settings_for
from tests.web.test_pages import (
    app_client,
    fresh_family,
    pages_postgres,
    pages_sqlite,
    pages_url,
    purchase_form,
    sign_in,
)
from wallet.approval_models import ApprovalRequest
from wallet.models import Purchase

__all__ = ["app_client", "pages_postgres", "pages_sqlite", "pages_url"]  # the fixtures, shared


def _status_row(html: str) -> str:
    found = re.search(r"Status\s*</dt>\s*<dd[^>]*>\s*([^<]+?)\s*<", html)
    assert found is not None, "the purchase page has a Status row"
    return found.group(1)


async def _buy(client: AsyncTestClient[Any], url: str, *, category: str = "CLOTH") -> tuple[str, str]:
    csrf = await sign_in(client, "kw.exeter.01")
    family_id, need_id = await fresh_family(url, "kw.exeter.01")
    form = purchase_form(family_id, need_id, key=f"k-{family_id}", csrf=csrf, what="Shoes", amount="12")
    bought = await client.post("/buy/check", data={**form, "category": category})
    assert bought.status_code == 303, bought.text
    return bought.headers["location"].split("?")[0], csrf


async def test_the_receipt_picker_offers_pdfs_and_a_real_pdf_is_kept_as_a_pdf(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    path, csrf = await _buy(app_client, pages_url)
    shown = await app_client.get(path)
    accept = re.search(r'id="receipt"[^>]*accept="([^"]+)"', shown.text)
    assert accept is not None
    assert "application/pdf" in accept.group(1).split(",")
    assert "image/*" in accept.group(1).split(",")
    assert 'capture="' not in shown.text  # a forced camera would hide the PDF the hint offers
    pdf = receipt_files.pdf()
    # Sent as the phone says (here, wrongly, as a photo): the server goes by the file's first bytes.
    sent = await app_client.post(
        f"{path}/receipts",
        data={"csrf_token": csrf, "idempotency_key": "pdf-1"},
        files={"receipt": ("receipt.pdf", pdf, "image/jpeg")},
    )
    assert sent.status_code == 303, sent.text
    page = await app_client.get(path)
    link = re.search(r'href="(/receipts/\d+)"', page.text)
    assert link is not None
    kept = await app_client.get(link.group(1))
    assert kept.content == pdf
    assert kept.headers["content-type"].startswith("application/pdf")


async def test_a_file_that_is_neither_a_photo_nor_a_pdf_is_refused_with_a_sentence(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    path, csrf = await _buy(app_client, pages_url)
    sent = await app_client.post(
        f"{path}/receipts",
        data={"csrf_token": csrf, "idempotency_key": "txt-1"},
        files={"receipt": ("receipt.pdf", b"not a pdf at all", "application/pdf")},
    )
    assert sent.status_code == 422
    assert "A receipt must be a JPEG or PNG photo or a PDF." in html.unescape(sent.text)


async def _approve(url: str, path: str) -> None:
    async with AsyncTestClient(app=create_app(settings_for(url))) as manager:
        manager.follow_redirects = False
        csrf = await sign_in(manager, "manager.exeter")
        engine = create_engine(url, pool_size=1)
        try:
            async with AsyncSession(engine) as db:
                purchase_id = int(path.rsplit("/", 1)[1])
                found = select(ApprovalRequest.id).where(ApprovalRequest.purchase_id == purchase_id)
                request_id = (await db.execute(found)).scalar_one()
        finally:
            await engine.dispose()
        decided = await manager.post(
            f"/approvals/{request_id}",
            data={"csrf_token": csrf, "idempotency_key": f"d-{request_id}", "decision": "approve", "note": ""},
        )
        assert decided.status_code == 303, decided.text


async def test_after_an_approval_the_purchase_page_says_one_thing_about_where_it_stands(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    path, csrf = await _buy(app_client, pages_url, category="FOOD-VCH")
    asked = await app_client.post(
        f"{path}/ask", data={"csrf_token": csrf, "idempotency_key": "ask-1", "reason": "No food until payday"}
    )
    assert asked.status_code == 303, asked.text
    waiting = (await app_client.get(path)).text
    assert "Waiting for your manager" in waiting
    assert _status_row(waiting) == "Waiting for approval"
    await _approve(pages_url, path)
    approved = (await app_client.get(path)).text
    assert "Approved: complete the purchase" in approved
    assert "needs to approve" not in approved
    assert _status_row(approved) == "Approved, not yet completed"


@pytest.mark.parametrize("purchase_status", ["held", "captured", "needs_approval", "declined", "cancelled"])
@pytest.mark.parametrize("request_status", [None, "open", "awaiting_second", "approved", "declined", "cancelled"])
def test_the_panel_and_the_status_row_never_disagree(purchase_status: str, request_status: str | None) -> None:
    purchase = Purchase(status=purchase_status, amount=1200, captured_amount=1200, supplier="Tesco", policy_reasons=[])
    request = None if request_status is None else ApprovalRequest(status=request_status, approved_ceiling=1500)
    said = standing(purchase, request)
    if said.word == "Approved, not yet completed":
        assert "Approved" in said.heading
    if "needs to approve" in said.heading or said.word in ("Needs approval", "Waiting for approval"):
        assert request_status not in ("approved", "declined")
    if request_status == "approved" and purchase_status == "needs_approval":
        assert said.word == "Approved, not yet completed"

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


async def _request_of(url: str, path: str) -> int:
    """The approval request asked for the purchase at ``path``."""
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            purchase_id = int(path.rsplit("/", 1)[1])
            found = select(ApprovalRequest.id).where(ApprovalRequest.purchase_id == purchase_id)
            return int((await db.execute(found)).scalar_one())
    finally:
        await engine.dispose()


async def _approve(url: str, path: str) -> None:
    request_id = await _request_of(url, path)
    async with AsyncTestClient(app=create_app(settings_for(url))) as manager:
        manager.follow_redirects = False
        csrf = await sign_in(manager, "manager.exeter")
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


async def test_the_approval_page_shows_what_is_bought_from_whom_the_familys_needs_spend_and_the_balance(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    csrf = await sign_in(app_client, "kw.exeter.01")
    family_id, need_id = await fresh_family(pages_url, "kw.exeter.01")
    shoes = purchase_form(family_id, need_id, key=f"s-{family_id}", csrf=csrf, what="School shoes", amount="24.99")
    assert (await app_client.post("/buy/check", data=shoes)).status_code == 303
    voucher = {
        **purchase_form(family_id, need_id, key=f"v-{family_id}", csrf=csrf, what="Food voucher", amount="30"),
        "category": "FOOD-VCH",
        "supplier": "Tesco",
    }
    bought = await app_client.post("/buy/check", data=voucher)
    path = bought.headers["location"].split("?")[0]
    asked = await app_client.post(f"{path}/ask", data={"csrf_token": csrf, "idempotency_key": "a", "reason": "Payday"})
    assert asked.status_code == 303
    async with AsyncTestClient(app=create_app(settings_for(pages_url))) as manager:
        manager.follow_redirects = False
        await sign_in(manager, "manager.exeter")
        request_id = await _request_of(pages_url, path)
        assert f'href="/approvals/{request_id}"' in (await manager.get("/approvals")).text
        shown = html.unescape((await manager.get(f"/approvals/{request_id}")).text)
    rows = dict(re.findall(r'<dt class="summary-key">([^<]+)</dt>\s*<dd class="summary-value">([^<]*)</dd>', shown))
    assert rows["What"] == "Food and vouchers: Food voucher"
    assert rows["Shop or supplier"] == "Tesco"
    assert rows["Cost"] == "£30.00"
    assert rows["Already spent on this family"] == "£24.99"
    assert rows["The family's open needs"] == "Poor or persistent school absence"
    assert rows["Left in Key Worker Exeter 1's wallet"].startswith("£")
    spent = shown[shown.index("Spent on this family") :]
    assert re.search(r"Clothing and school uniform</td><td class=\"num\">£24\.99</td>", spent)

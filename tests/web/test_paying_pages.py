"""Paying an invoice through the pages, in real Chromium with JavaScript off, at phone size and
through axe: a key worker raises an invoice against a confirmed supplier and a reimbursement of
their own money, attaches the invoice and the receipt; finance is refused an approval without
them and a run with nothing approved, approves, starts a run, downloads its AP import and BACS
file, marks it paid and records a returned payment, the ledger verified after each step. The
manager and the worker see the physical card's shipment from ``issuing_card.updated``.

A county and server of this module's own, so its payables and runs are on no other test's pages."""

from __future__ import annotations

import asyncio
import copy
import csv
import io
import re
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from cards.events import apply_event
from cards.models import Card
from ledger.database import create_engine
from tests import databases, receipt_files
from tests.api.conftest import _seed
from tests.cards.fake_stripe import templates
from tests.web.conftest import County, Server, Visit, _fresh_family_and_team_budget, open_phone
from wallet import organisation
from wallet.access import load_principal
from wallet.clock import now_utc
from wallet.demo import DEMO_PASSWORD, demo_mobile, email
from wallet.models import Person
from wallet.paying import suppliers

CARD = "ic_web_tests"  # kw.exeter.01's card in the web tests' county
INVOICE = receipt_files.png("the invoice from Cots and Co")
RECEIPT = receipt_files.jpeg("a receipt for a taxi home")
COUNCIL_ACCOUNT = {"payments_bacs_sort_code": "107999", "payments_bacs_account_number": "88837491"}


def run_async(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coroutine`` on its own loop in a thread (Playwright's sync API holds this thread's)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _ledger_findings(url: str) -> list[Any]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return list(await ledger.verify(connection))
    finally:
        await engine.dispose()


def assert_ledger_verifies(url: str) -> None:
    assert run_async(_ledger_findings(url)) == []


def card_shipped_event() -> dict[str, Any]:
    """``issuing_card.updated`` as Stripe sends it when the card is posted: Stripe's own example
    card, with its ``shipping`` now shipped by Royal Mail with a tracking number."""
    card = copy.deepcopy(templates()["issuing.card"])
    card.update(id=CARD, type="physical", status="active")
    card["shipping"] = {**(card.get("shipping") or {}), "status": "shipped", "carrier": "royal_mail",
                        "tracking_number": "RM123456785GB"}  # fmt: skip
    event = {"id": f"evt_web{uuid.uuid4().hex[:16]}", "object": "event", "type": "issuing_card.updated"}
    return {**event, "created": int(now_utc().timestamp()), "data": {"object": card}}


async def _supplier_and_posted_card(url: str) -> None:
    """A second finance person; Cots & Co registered by finance and confirmed by them; and
    kw.exeter.01's card posted (the web tests' stand-in issuer makes one card, so it is made
    the physical card here, as Stripe's event then describes it)."""
    engine = create_engine(url, pool_size=1)
    now = now_utc()
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db, db.begin():
            second = await organisation.create_person(
                db, actor=None, email=email("finance.two"), display_name="Sam Second", password=DEMO_PASSWORD,
                now=now, work_mobile=demo_mobile("finance.two"),
            )  # fmt: skip
            await organisation.grant_role(db, actor=None, person_id=second.id, role="finance", team_id=None, now=now)
            finance_id = (await db.execute(select(Person.id).where(Person.email == email("finance")))).scalar_one()
            maker = await load_principal(db, person_id=finance_id)
            checker = await load_principal(db, person_id=second.id)
            details = suppliers.SupplierCreate(name="Cots & Co", address="4 Quay St, Exeter EX2 4AN",
                                               vat_number="GB123456789", sort_code="08-99-99",
                                               account_number="66374958")  # fmt: skip
            made = await suppliers.register_supplier(db, who=maker, supplier=details, now=now)
            await suppliers.confirm_supplier(db, who=checker, supplier_id=made.id, now=now)
            await db.execute(update(Card).where(Card.stripe_id == CARD).values(type="physical"))
        async with AsyncSession(engine, expire_on_commit=False) as db, db.begin():
            assert await apply_event(db, event=card_shipped_event(), now=now) == "card shipment shipped"
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def web_county(tmp_path_factory: pytest.TempPathFactory) -> County:
    url = databases.sqlite_url(Path(tmp_path_factory.mktemp("web-paying")))
    databases.migrate(url)
    _seed(url)
    family_id, reference = asyncio.run(_fresh_family_and_team_budget(url))
    asyncio.run(_supplier_and_posted_card(url))
    return County(url=url, family_id=family_id, family_reference=reference)


@pytest.fixture(scope="module")
def server(web_county: County) -> Iterator[Server]:
    running = Server(web_county.url, **COUNCIL_ACCOUNT)
    running.start()
    yield running
    running.stop()


def buy_by(visit: Visit, county: County, *, method: str, what: str, amount: str, shop: str) -> int:
    """The four buying steps with ``method`` as how it is paid; the purchase's id."""
    page = visit.page
    visit.go("/buy")
    page.get_by_label(county.family_reference).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Poor or persistent school absence").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Clothing and school uniform").check()
    page.get_by_label("What is it?").fill(what)
    page.get_by_label("How much does it cost?").fill(amount)
    page.get_by_label("Shop or supplier").fill(shop)
    page.get_by_label(method).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm and buy").click()
    expect(page.get_by_role("heading", name="You can go ahead")).to_be_visible()
    return int(page.url.split("?")[0].rstrip("/").rsplit("/", 1)[1])


def attach(visit: Visit, purchase_id: int, name: str, mime: str, content: bytes) -> None:
    page = visit.page
    visit.go(f"/purchases/{purchase_id}")
    upload = page.get_by_label("Take a photo of the receipt")
    upload.set_input_files({"name": name, "mimeType": mime, "buffer": content})
    page.get_by_role("button", name="Add the receipt").click()
    expect(page.get_by_role("status")).to_contain_text("The receipt is attached")


def test_an_invoice_and_a_reimbursement_go_from_request_to_paid_through_the_pages(
    browser: Any, server: Server, web_county: County
) -> None:
    worker = open_phone(browser, server, javascript=False)
    finance = open_phone(browser, server, javascript=False)
    try:
        page, fpage = worker.page, finance.page
        worker.sign_in("kw.exeter.01")
        finance.sign_in("finance")

        # The key worker raises the invoice: held on the wallet, then says who sent it.
        invoice_id = buy_by(worker, web_county, method="Invoice to the council", what="Cot bed", amount="45.00",
                            shop="Cots & Co")  # fmt: skip
        expect(page.get_by_text("£45.00 is set aside from your wallet.")).to_be_visible()
        page.get_by_role("button", name="Send to finance to pay").click()
        expect(page.get_by_role("alert")).to_contain_text("Choose the supplier on the invoice")
        expect(page.get_by_role("alert")).to_contain_text("Enter the invoice number")
        worker.check("invoice-who-sent-it-errors")
        page.get_by_label("Supplier").select_option(label="Cots & Co")
        page.get_by_label("Invoice number").fill("INV-42")
        page.get_by_role("button", name="Send to finance to pay").click()
        expect(page.get_by_role("status")).to_contain_text("Finance has it now")
        expect(page.get_by_text("Waiting for finance to approve it")).to_be_visible()
        worker.check("invoice-sent-to-finance")
        assert_ledger_verifies(web_county.url)

        # And a reimbursement of their own money, with the receipt's reference.
        taxi_id = buy_by(worker, web_county, method="I paid and will reclaim it", what="Taxi to school",
                         amount="12.40", shop="Exeter Taxis")  # fmt: skip
        expect(page.get_by_role("heading", name="Ask to be paid back")).to_be_visible()
        worker.check("reimbursement-ask-to-be-paid-back")
        page.get_by_label("Receipt number or date").fill("4 December")
        page.get_by_role("button", name="Send to finance to pay").click()
        expect(page.get_by_role("status")).to_contain_text("Finance has it now")

        # Finance: nothing approved yet, and no approval without the invoice.
        finance.go("/finance")
        fpage.get_by_role("link", name=re.compile("Paying invoices and reimbursements")).click()
        expect(fpage.get_by_role("heading", name="Paying invoices and reimbursements")).to_be_visible()
        finance.check("finance-payments")
        fpage.get_by_role("button", name="Start a payment run").click()
        expect(fpage.get_by_role("alert")).to_contain_text("Nothing approved is waiting to be paid")
        finance.check("finance-payments-nothing-approved")
        fpage.get_by_role("button", name="Approve £45.00 to Cots & Co, reference INV-42").click()
        refused = "Attach the invoice or receipt before the payment is approved"
        expect(fpage.get_by_role("alert")).to_contain_text(refused)
        finance.check("finance-payments-no-invoice")

        attach(worker, invoice_id, "invoice.png", "image/png", INVOICE)
        attach(worker, taxi_id, "taxi.jpg", "image/jpeg", RECEIPT)

        finance.go("/finance/payments")
        fpage.get_by_role("button", name="Approve £45.00 to Cots & Co, reference INV-42").click()
        expect(fpage.get_by_role("status")).to_contain_text("The payment is approved")
        taxi = re.compile(r"Approve £12\.40 to .* \(paid back\), reference 4 December")
        fpage.get_by_role("button", name=taxi).click()
        expect(fpage.get_by_role("status")).to_contain_text("The payment is approved")
        assert_ledger_verifies(web_county.url)
        left_out = "Left out of payment runs until the key worker's own bank account is confirmed"
        expect(fpage.get_by_text(left_out)).to_have_count(1)  # the reimbursement: no confirmed account yet

        # The run, its files, and paid; the reimbursement is left out, and the run page says why.
        fpage.get_by_role("button", name="Start a payment run").click()
        expect(fpage.get_by_role("status")).to_contain_text("The payment run is started")
        expect(fpage.get_by_role("heading", level=1)).to_have_text(re.compile(r"Payment run \d+"))
        expect(fpage.get_by_role("heading", name="Left out of this run")).to_be_visible()
        expect(
            fpage.get_by_role("link", name=re.compile(r"£12\.40 to .* \(paid back\), reference 4 December"))
        ).to_be_visible()
        finance.check("payment-run")
        run_page = fpage.url
        ap_href = fpage.get_by_role("link", name=re.compile("Accounts payable import")).get_attribute("href")
        ap = finance.context.request.get(finance.base + str(ap_href))
        assert ap.status == 200
        rows = {row["purchase"]: row for row in csv.DictReader(io.StringIO(ap.text()))}
        assert (rows[str(invoice_id)]["payee"], rows[str(invoice_id)]["supplier_name"]) == ("supplier", "Cots & Co")
        assert (rows[str(invoice_id)]["reference"], rows[str(invoice_id)]["amount"]) == ("INV-42", "45.00")
        assert str(taxi_id) not in rows
        bacs_href = fpage.get_by_role("link", name=re.compile("BACS Standard 18")).get_attribute("href")
        record = finance.context.request.get(finance.base + str(bacs_href)).text().splitlines()[0]
        assert record[0:14] == "08999966374958"  # the supplier's sort code and account
        assert record[17:31] == "10799988837491"  # the council's, paying
        assert record[35:46] == "00000004500"  # the pence
        assert_ledger_verifies(web_county.url)

        fpage.get_by_role("button", name="Mark the run paid").click()
        expect(fpage.get_by_role("status")).to_contain_text("The payment run is marked paid")
        finance.check("payment-run-paid")
        assert_ledger_verifies(web_county.url)
        worker.go(f"/purchases/{invoice_id}")
        expect(page.get_by_text("Paid.", exact=True)).to_be_visible()

        # The bank returns the invoice's payment: the money goes back to the wallet.
        fpage.get_by_role("button", name="The bank returned it for £45.00 to Cots & Co").click()
        expect(fpage.get_by_role("status")).to_contain_text("The returned payment is recorded")
        expect(fpage.get_by_text("Returned by the bank")).to_be_visible()
        assert_ledger_verifies(web_county.url)
        worker.go(f"/purchases/{invoice_id}")
        expect(page.get_by_text("The bank returned the payment: the money is back in your wallet.")).to_be_visible()
        worker.check("invoice-payment-returned")

        # Nothing else to pay but the reimbursement: the run is refused, saying why.
        finance.go("/finance/payments")
        fpage.get_by_role("button", name="Start a payment run").click()
        expect(fpage.get_by_role("alert")).to_contain_text("wait for their workers' own bank accounts to be confirmed")
        finance.check("finance-payments-worker-bank-details-needed")

        # The worker gives their bank account, finance confirms it, and the next run pays them back.
        worker.go("/bank-account")
        page.get_by_label("Name on the account").fill("Kim Worker")
        page.get_by_label("Sort code").fill("08-99-99")
        page.get_by_label("Account number").fill("66374958")
        page.get_by_role("button", name="Save the bank account").click()
        expect(page.get_by_role("status")).to_contain_text("Your bank account is saved")
        finance.go("/finance/worker-bank-accounts")
        fpage.get_by_role("button", name=re.compile(r"^Confirm the account ending 4958")).click()
        expect(fpage.get_by_role("status")).to_contain_text("The bank account is confirmed")
        finance.go("/finance/payments")
        fpage.get_by_role("button", name="Start a payment run").click()
        expect(fpage.get_by_role("status")).to_contain_text("The payment run is started")
        assert fpage.url != run_page
        expect(fpage.get_by_role("heading", name="Left out of this run")).to_have_count(0)
        ap_href = fpage.get_by_role("link", name=re.compile("Accounts payable import")).get_attribute("href")
        rows = {
            row["purchase"]: row
            for row in csv.DictReader(io.StringIO(finance.context.request.get(finance.base + str(ap_href)).text()))
        }
        assert (rows[str(taxi_id)]["payee"], rows[str(taxi_id)]["amount"]) == ("worker", "12.40")
        fpage.get_by_role("button", name="Mark the run paid").click()
        expect(fpage.get_by_role("status")).to_contain_text("The payment run is marked paid")
        assert_ledger_verifies(web_county.url)
    finally:
        worker.context.close()
        finance.context.close()


def test_only_finance_approves_and_pays(browser: Any, server: Server) -> None:
    worker = open_phone(browser, server, javascript=False)
    try:
        worker.sign_in("kw.exeter.01")
        worker.go("/finance/payments")
        expect(worker.page.get_by_role("heading", level=1)).to_have_text("Your role cannot do this")
        worker.go("/")
        shown = worker.page.content()
        token = re.search(r'name="csrf_token" value="([^"]+)"', shown)
        assert token is not None
        refused = worker.context.request.post(
            worker.base + "/finance/payment-runs", form={"csrf_token": token.group(1), "idempotency_key": "k-w"}
        )
        assert refused.status == 403
    finally:
        worker.context.close()


def test_the_manager_and_the_worker_see_the_cards_shipment(browser: Any, server: Server) -> None:
    manager = open_phone(browser, server, javascript=False)
    worker = open_phone(browser, server, javascript=False)
    try:
        manager.sign_in("manager.exeter")
        manager.go("/team")
        cards = manager.page.get_by_role("table", name="Cards")
        expect(cards).to_contain_text("Physical ending 4242")
        expect(cards).to_contain_text("On its way (tracking number RM123456785GB)")
        manager.check("team-cards")
        worker.sign_in("kw.exeter.01")
        worker.go("/")
        expect(worker.page.get_by_text("Posted to your team's office: on its way")).to_be_visible()
    finally:
        manager.context.close()
        worker.context.close()

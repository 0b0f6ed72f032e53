"""Finance's supplier register in a real browser, with JavaScript off, at phone size and through
axe: one finance person registers a supplier (the modulus check's verdict shown, what was typed
kept when refused), cannot confirm it, and a second confirms it; a change of bank details waits
for a second person who sees old against new and refuses or confirms it. A county and server
of this module's own, with a second finance person, so its suppliers show on no other page."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.database import create_engine
from tests import databases
from tests.api.conftest import _seed
from tests.web.conftest import County, Server, Visit, open_phone
from wallet.clock import now_utc
from wallet.demo import DEMO_PASSWORD, email
from wallet.models import AuditEntry, Person
from wallet.organisation import create_person, grant_role

SECOND = "finance.second"


async def _second_finance_person(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db, db.begin():
            person = await create_person(
                db, actor=None, email=email(SECOND), display_name="Sam Second", password=DEMO_PASSWORD, now=now_utc()
            )
            await grant_role(db, actor=None, person_id=person.id, role="finance", team_id=None, now=now_utc())
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def web_county(tmp_path_factory: pytest.TempPathFactory) -> County:
    url = databases.sqlite_url(Path(tmp_path_factory.mktemp("web-suppliers")))
    databases.migrate(url)
    _seed(url)
    asyncio.run(_second_finance_person(url))
    return County(url=url, family_id=0, family_reference="")


@pytest.fixture(scope="module")
def server(web_county: County) -> Iterator[Server]:
    running = Server(web_county.url)
    running.start()
    yield running
    running.stop()


def _audit(url: str, supplier_id: int) -> list[tuple[str, str]]:
    """The supplier's audit trail: (action, who) in order (read synchronously: the browser holds the loop)."""
    engine = create_sync_engine(url.replace("+aiosqlite", ""))
    try:
        with engine.connect() as db:
            rows = db.execute(
                select(AuditEntry.action, Person.email)
                .join(Person, Person.id == AuditEntry.actor_id)
                .where(AuditEntry.subject_type == "supplier", AuditEntry.subject_id == str(supplier_id))
                .order_by(AuditEntry.id)
            ).all()
    finally:
        engine.dispose()
    return [(action, who.split("@")[0]) for action, who in rows]


def _supplier_id(visit: Visit) -> int:
    found = re.search(r"/finance/suppliers/(\d+)", visit.page.url)
    assert found, visit.page.url
    return int(found.group(1))


def _post_as_page(visit: Visit, path: str, fields: dict[str, str]) -> Any:
    """A form sent straight to ``path`` with the session's CSRF token, as a stale tab would send it."""
    csrf = str(visit.page.locator('input[name="csrf_token"]').first.get_attribute("value"))
    return visit.context.request.post(
        visit.base + path, form={"csrf_token": csrf, **fields}, headers={"accept": "text/html"}, max_redirects=0
    )


def _register(page: Any, *, name: str, sort_code: str, account: str, vat: str = "") -> None:
    page.get_by_label("Supplier name").fill(name)
    page.get_by_label("Address").fill("1 High Street, Exeter EX1 1AA")
    page.get_by_label("VAT number (optional)").fill(vat)
    page.get_by_label("Sort code").fill(sort_code)
    page.get_by_label("Account number").fill(account)
    page.get_by_role("button", name="Register the supplier").click()


def test_a_supplier_is_registered_by_one_finance_person_and_confirmed_by_another(
    browser: Any, server: Server, web_county: County
) -> None:
    maker = open_phone(browser, server, javascript=False)
    checker = open_phone(browser, server, javascript=False)
    try:
        page = maker.page
        maker.sign_in("finance")
        maker.check("suppliers-finance-home")
        page.get_by_role("link", name="Suppliers: the register, and new bank details to confirm").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Suppliers")
        page.get_by_role("link", name="Register a supplier").click()
        maker.check("suppliers-register")

        _register(page, name="Beds Direct Ltd", sort_code="08-99-99", account="66374959", vat="GB123456789")
        expect(page.get_by_role("alert")).to_contain_text(
            "That account number does not belong with that sort code (the modulus check fails)."
        )
        expect(page.get_by_label("Supplier name")).to_have_value("Beds Direct Ltd")
        expect(page.get_by_label("Account number")).to_have_value("66374959")
        expect(page.get_by_label("Sort code")).to_have_value("08-99-99")
        maker.check("suppliers-register-modulus-fails")

        page.get_by_label("Account number").fill("66374958")
        page.get_by_role("button", name="Register the supplier").click()
        expect(page.get_by_role("status")).to_contain_text("A different finance person must confirm it")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Beds Direct Ltd Awaiting confirmation")
        expect(page.get_by_text("Passes: the account number belongs with the sort code")).to_be_visible()
        expect(page.get_by_text("ending 4958")).to_be_visible()
        expect(page.get_by_text("66374958")).to_have_count(0)
        expect(
            page.get_by_text("You registered this supplier, so a different finance person must confirm it.")
        ).to_be_visible()
        expect(page.get_by_role("button", name="Confirm the supplier")).to_have_count(0)
        maker.check("suppliers-registered")
        supplier_id = _supplier_id(maker)

        refused = _post_as_page(maker, f"/finance/suppliers/{supplier_id}/confirmation", {"idempotency_key": "self"})
        assert refused.status == 403, refused.text()
        assert "A second person must confirm this change" in refused.text()  # the API's title, as the page's
        assert "A different finance person must confirm the supplier you registered." in refused.text()

        checker.sign_in(SECOND)
        checker.go("/finance/suppliers")
        row = checker.page.locator(f"#supplier-{supplier_id}")
        expect(row).to_contain_text("Awaiting confirmation")
        expect(row).to_contain_text("Sort code 08-99-99, account ending 4958")
        checker.check("suppliers-list")
        row.get_by_role("link", name="Beds Direct Ltd").click()
        checker.page.get_by_role("button", name="Confirm the supplier").click()
        expect(checker.page.get_by_role("status")).to_contain_text("The supplier is confirmed.")
        expect(checker.page.get_by_role("heading", level=1)).to_contain_text("Confirmed")
        checker.check("suppliers-confirmed")
    finally:
        maker.close()
        checker.close()
    assert _audit(web_county.url, supplier_id) == [
        ("supplier.registered", "finance"),
        ("supplier.confirmed", SECOND),
    ]


def test_a_sort_code_the_modulus_table_cannot_check_is_shown_as_unchecked(browser: Any, server: Server) -> None:
    visit = open_phone(browser, server, javascript=False)
    try:
        visit.sign_in("finance")
        visit.go("/finance/suppliers/new")
        _register(visit.page, name="Unchecked Ltd", sort_code="404784", account="12345678")
        expect(visit.page.get_by_text("Unchecked: Vocalink's table has no check Tide can do")).to_be_visible()
    finally:
        visit.close()


def test_new_bank_details_wait_for_a_second_person_who_sees_old_and_new(
    browser: Any, server: Server, web_county: County
) -> None:
    maker = open_phone(browser, server, javascript=False)
    checker = open_phone(browser, server, javascript=False)
    try:
        maker.sign_in("finance")
        maker.go("/finance/suppliers/new")
        _register(maker.page, name="Cots and Co", sort_code="089999", account="66374958")
        supplier_id = _supplier_id(maker)
        page = maker.page

        page.get_by_role("link", name="Propose new bank details for Cots and Co").click()
        page.get_by_label("New sort code").fill("10-79")
        page.get_by_label("New account number").fill("88837491")
        page.get_by_role("button", name="Ask a second person to confirm").click()
        expect(page.get_by_role("alert")).to_contain_text("A sort code is six digits, like 12-34-56.")
        expect(page.get_by_label("New sort code")).to_have_attribute("aria-describedby", re.compile("sort_code-error"))
        expect(page.get_by_label("New account number")).to_have_value("88837491")
        maker.check("suppliers-bank-details-refused")
        page.get_by_label("New sort code").fill("10-79-99")
        page.get_by_role("button", name="Ask a second person to confirm").click()
        expect(page.get_by_role("status")).to_contain_text("payments go to the old details")
        expect(page.get_by_text("You proposed these details, so a different finance person")).to_be_visible()
        expect(page.get_by_role("button", name="Confirm the new details")).to_have_count(0)

        checker.sign_in(SECOND)
        checker.go(f"/finance/suppliers/{supplier_id}")
        table = checker.page.get_by_role("table", name=re.compile("New bank details proposed by Fran Finance"))
        old_and_new = {"Sort code": ["08-99-99", "10-79-99"], "Account number": ["ending 4958", "ending 7491"]}
        for detail, values in old_and_new.items():
            expect(table.get_by_role("row", name=re.compile(detail)).get_by_role("cell")).to_have_text(values)
        checker.check("suppliers-bank-details-old-and-new")
        checker.page.get_by_role("button", name="Refuse them").click()
        expect(checker.page.get_by_role("status")).to_contain_text("Payments still go to the old details.")
        expect(checker.page.get_by_text("No change of bank details is waiting.")).to_be_visible()

        page.get_by_role("link", name="Propose new bank details for Cots and Co").click()
        page.get_by_label("New sort code").fill("107999")
        page.get_by_label("New account number").fill("88837491")
        page.get_by_role("button", name="Ask a second person to confirm").click()
        checker.go(f"/finance/suppliers/{supplier_id}")
        checker.page.get_by_role("button", name="Confirm the new details").click()
        expect(checker.page.get_by_role("status")).to_contain_text("Payments go to them from now.")
        expect(checker.page.get_by_text("ending 7491").first).to_be_visible()
        checker.check("suppliers-bank-details-confirmed")
    finally:
        maker.close()
        checker.close()
    assert _audit(web_county.url, supplier_id) == [
        ("supplier.registered", "finance"),
        ("supplier.bank_change_proposed", "finance"),
        ("supplier.bank_change_refused", SECOND),
        ("supplier.bank_change_proposed", "finance"),
        ("supplier.bank_change_confirmed", SECOND),
    ]


def test_a_key_worker_is_refused_the_supplier_register(browser: Any, server: Server) -> None:
    visit = open_phone(browser, server, javascript=False)
    try:
        visit.sign_in("kw.exeter.01")
        for path in ("/finance/suppliers", "/finance/suppliers/new"):
            answer = visit.page.goto(visit.base + path)
            assert answer is not None
            assert answer.status == 403
            expect(visit.page.get_by_role("heading", level=1)).to_have_text("Your role cannot do this")
    finally:
        visit.close()

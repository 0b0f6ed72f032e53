"""A key worker's own bank account in a real browser, with JavaScript off, at phone size and
through axe: the worker enters it from their own page (refused by the modulus check with what
was typed kept; once saved, the verdict shown and only the last four digits); finance sees it
waiting for a second person and confirms it; a finance person cannot confirm their own (the
second-person rule's error page, as the API refuses); a key worker cannot reach finance's page.
Every step is audited. A county and server of this module's own, so its accounts show on no
other test's pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import select

from tests import databases
from tests.api.conftest import _seed
from tests.web.conftest import County, Server, open_phone
from wallet.models import AuditEntry, Person

WORKER = "kw.exeter.01"


@pytest.fixture(scope="module")
def web_county(tmp_path_factory: pytest.TempPathFactory) -> County:
    url = databases.sqlite_url(Path(tmp_path_factory.mktemp("web-worker-bank")))
    databases.migrate(url)
    _seed(url)
    return County(url=url, family_id=0, family_reference="")


@pytest.fixture(scope="module")
def server(web_county: County) -> Iterator[Server]:
    running = Server(web_county.url)
    running.start()
    yield running
    running.stop()


def _audit(url: str) -> list[tuple[str, str]]:
    """Workers' bank accounts' audit trail: (action, who) in order (read synchronously: the browser holds the loop)."""
    engine = create_sync_engine(url.replace("+aiosqlite", ""))
    try:
        with engine.connect() as db:
            rows = db.execute(
                select(AuditEntry.action, Person.email)
                .join(Person, Person.id == AuditEntry.actor_id)
                .where(AuditEntry.action.like("worker_bank_account.%"))
                .order_by(AuditEntry.id)
            ).all()
    finally:
        engine.dispose()
    return [(action, who.split("@")[0]) for action, who in rows]


def _enter(page: Any, sort_code: str, account_number: str, name: str = "Kim Worker") -> None:
    page.get_by_label("Name on the account").fill(name)
    page.get_by_label("Sort code").fill(sort_code)
    page.get_by_label("Account number").fill(account_number)
    page.get_by_role("button", name="Save the bank account").click()


def test_a_worker_gives_their_bank_account_and_a_second_person_confirms_it(
    browser: Any, server: Server, web_county: County
) -> None:
    worker = open_phone(browser, server, javascript=False)
    finance = open_phone(browser, server, javascript=False)
    try:
        page, fpage = worker.page, finance.page
        worker.sign_in(WORKER)
        page.get_by_role("link", name="Your bank account for reimbursements").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your bank account for reimbursements")
        worker.check("bank-account-empty")

        page.get_by_role("button", name="Save the bank account").click()
        expect(page.get_by_role("alert")).to_contain_text("Enter the sort code")
        expect(page.get_by_role("alert")).to_contain_text("Enter the account number")
        expect(page.get_by_role("alert")).to_contain_text("Enter the name on the account")

        _enter(page, "08-99-99", "66374959")  # one digit out: Vocalink's modulus check fails
        expect(page.get_by_role("alert")).to_contain_text("does not belong with that sort code")
        expect(page.get_by_label("Sort code")).to_have_value("08-99-99")
        expect(page.get_by_label("Account number")).to_have_value("66374959")
        expect(page.get_by_label("Name on the account")).to_have_value("Kim Worker")
        worker.check("bank-account-refused")

        page.get_by_label("Account number").fill("66374958")
        page.get_by_role("button", name="Save the bank account").click()
        expect(page.get_by_role("status")).to_contain_text("Your bank account is saved")
        expect(page.get_by_text("Kim Worker: sort code 08-99-99, account ending 4958.")).to_be_visible()
        expect(page.get_by_text("The sort code and account number pass the bank's modulus check.")).to_be_visible()
        expect(page.get_by_text("Waiting for a finance person to confirm it")).to_be_visible()
        assert "66374958" not in page.content()
        worker.check("bank-account-waiting")

        # A key worker does not reach finance's page.
        worker.go("/finance/worker-bank-accounts")
        expect(page.get_by_role("heading", level=1)).to_have_text("Your role cannot do this")

        # A finance person gives their own account, and cannot confirm it.
        finance.sign_in("finance")
        finance.go("/bank-account")
        _enter(fpage, "107999", "88837491", name="F Person")
        expect(fpage.get_by_role("status")).to_contain_text("Your bank account is saved")
        finance.go("/finance")
        fpage.get_by_role("link", name=re.compile("Workers' bank accounts")).click()
        expect(fpage.get_by_role("heading", level=1)).to_have_text("Workers' bank accounts")
        expect(
            fpage.get_by_text(re.compile(r"sort code 08-99-99, account ending 4958, in the name of Kim Worker"))
        ).to_be_visible()
        assert "66374958" not in fpage.content()
        finance.check("worker-bank-accounts-waiting")
        fpage.get_by_role("button", name=re.compile(r"^Confirm the account ending 7491")).click()
        expect(fpage.get_by_role("heading", level=1)).to_have_text("A second person must confirm this change")
        expect(fpage.get_by_text("A different finance person must confirm a worker's bank account.")).to_be_visible()

        # Finance confirms the worker's.
        finance.go("/finance/worker-bank-accounts")
        fpage.get_by_role("button", name=re.compile(r"^Confirm the account ending 4958")).click()
        expect(fpage.get_by_role("status")).to_contain_text("The bank account is confirmed")
        expect(fpage.get_by_text(re.compile(r"account ending 4958"))).to_have_count(0)
        finance.check("worker-bank-accounts-confirmed")

        worker.go("/bank-account")
        expect(page.get_by_text("Confirmed: reimbursements are paid here")).to_be_visible()
    finally:
        worker.close()
        finance.close()
    assert _audit(web_county.url) == [
        ("worker_bank_account.proposed", WORKER),
        ("worker_bank_account.proposed", "finance"),
        ("worker_bank_account.confirmed", "finance"),
    ]

"""The six-month check's page, with JavaScript off at phone size and axe-core on every state:
the key worker finds the check on their to-do list, is told what is wrong (keeping what they
typed, a note that looks personal refused), and records it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.clock import now_utc
from ledger.database import create_engine
from tests.web.conftest import County, Server, Visit, open_phone
from wallet import families
from wallet.access import load_principal
from wallet.clock import local_date
from wallet.demo import email
from wallet.models import Person

pytestmark = pytest.mark.dates


async def _closed_case(url: str) -> tuple[int, str]:
    """A family of kw.exeter.01's whose case closed 190 days ago: its check is due."""
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            now = now_utc()
            worker_id = (await db.execute(select(Person.id).where(Person.email == email("kw.exeter.01")))).scalar_one()
            worker = await load_principal(db, person_id=worker_id)
            closed_on = local_date(now) - timedelta(days=190)
            family = await families.open_family(
                db, who=worker, team_id=min(worker.worker_team_ids), lead_worker_id=worker_id, locality="Exeter",
                age_bands=["0-4"], opened_on=closed_on - timedelta(days=200), now=now,
            )  # fmt: skip
            await families.close_family(
                db, who=worker, family_id=family.id, reason="outcomes_met", closed_on=closed_on, now=now
            )
            await db.commit()
            return family.id, family.reference
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def closed_case(server: Server, web_county: County) -> tuple[int, str]:
    """Made before the module's browser starts (Playwright holds the event loop while it runs)."""
    del server
    return asyncio.run(_closed_case(web_county.url))


@pytest.fixture
def phone_without_javascript(closed_case: tuple[int, str], browser: Any, server: Server) -> Iterator[Visit]:
    del closed_case
    visit = open_phone(browser, server, javascript=False)
    yield visit
    visit.context.close()
    visit.axe_page.context.close()


def test_a_key_worker_records_the_six_month_check_from_their_to_do_list(
    closed_case: tuple[int, str], phone_without_javascript: Visit
) -> None:
    family_id, reference = closed_case
    phone = phone_without_javascript
    page = phone.page
    phone.sign_in("kw.exeter.01")
    phone.go("/")
    page.get_by_role("link", name=f"Six-month check for {reference}").first.click()
    assert f"Six-month check for {reference}" in page.title()
    expect(page.get_by_role("heading", level=1)).to_have_text("Six months on, has what improved lasted?")
    phone.check("six-month-check")

    page.get_by_role("button", name="Record the check").click()
    expect(page.get_by_role("alert")).to_contain_text("Select what the check found")
    phone.check("six-month-check-errors")

    page.get_by_label("Sustained", exact=True).check()
    page.get_by_label("Note (optional)").fill("Sarah Jones says things at 12 High Street are better")
    page.get_by_role("button", name="Record the check").click()
    expect(page.get_by_role("alert")).to_contain_text("looks like it holds a person's name")
    expect(page.get_by_label("Note (optional)")).to_have_value("Sarah Jones says things at 12 High Street are better")
    expect(page.get_by_label("Sustained", exact=True)).to_be_checked()
    phone.check("six-month-check-personal-note")

    page.get_by_label("Note (optional)").fill("School attendance has held up since the case closed")
    page.get_by_role("button", name="Record the check").click()
    expect(page.get_by_role("status")).to_contain_text("The six-month check is recorded")
    expect(page.get_by_text("School attendance has held up since the case closed")).to_be_visible()
    assert page.url.endswith(f"/families/{family_id}?done=checked")
    phone.check("six-month-check-done")

    phone.go(f"/families/{family_id}/six-month-check")
    page.get_by_label("Not sustained", exact=True).check()
    page.get_by_role("button", name="Record the check").click()
    expect(page.get_by_role("alert")).to_contain_text("already recorded")

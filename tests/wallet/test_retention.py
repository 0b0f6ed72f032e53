"""The retention schedule, with the clock moved: before a record's period ends nothing of it
goes; after, everything due goes, the ledger stays balanced and verifiable, and the run is
audited by counts alone. Each test has a county of its own (erasing changes it for good)."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

import ledger
from api.app import create_app
from api.cli import main
from api.jobs import JobContext, apply_retention
from api.receipt_storage import sessions_for
from ledger import clock
from ledger.database import create_engine
from ledger.schema import accounts
from tests import databases, receipt_files
from tests.conftest import PINNED
from tests.wallet.conftest import settings_for
from tests.wallet.support import County, SignedIn, purchase_body
from wallet.approval_models import ApprovalRequest
from wallet.idempotency_models import IdempotencyRecord
from wallet.keeping_models import ReceiptContent
from wallet.models import AuditEntry, Family, FamilyCaseLink, FamilyWorker, Purchase, Receipt
from wallet.retention import (
    ERASED,
    RetentionSchedule,
    after_whole_years_cutoff,
    financial_year_start,
    years_before,
)
from wallet.sign_in_models import ApiToken
from wallet.sustain_check_models import SustainCheck

pytestmark = pytest.mark.dates

TINY_COUNTY: dict[str, Any] = {
    "localities": ("Exeter", "Torridge"),
    "workers_per_team": 1,
    "families_per_worker": 1,
    "months": 1,
}
PDF = receipt_files.pdf()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def own_county_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield databases.seeded_sqlite(tmp_path, TINY_COUNTY)
    else:
        yield from databases.seeded_postgres("tide_retention", TINY_COUNTY, in_ci=False)


@pytest.fixture
async def county(own_county_url: str) -> AsyncIterator[County]:
    engine = create_engine(own_county_url, pool_size=3)
    try:
        yield County(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def moving_clock() -> Iterator[None]:
    """The test moves the process's clock; it goes back where the run put it afterwards."""
    yield
    clock.travel_to(PINNED)


async def run_the_job(county: County, url: str, moment: datetime) -> int:
    """The daily job, as the worker runs it, with the clock moved to ``moment``."""
    clock.travel_to(moment)
    ctx = JobContext(
        sessionmaker=sessions_for(county.engine, settings_for(url)),
        clock=clock.now_utc,
        mailer=None,
        retention=RetentionSchedule(),
    )
    return await apply_retention(ctx)


def years_after(day: date, years: int) -> date:
    """The same day ``years`` later (29 February: the 28th)."""
    return years_before(day, -years)


def london(day: date, hour: int = 0, minute: int = 30) -> datetime:
    return datetime.combine(day, time(hour, minute), clock.LONDON).astimezone(UTC)


class Story:
    """What one key worker did for one family: a purchase with a receipt and a request, the case
    linked to the case system and then closed."""

    def __init__(self, county: County, client: AsyncTestClient[Any]) -> None:
        self.county = county
        self.client = client

    async def tell(self) -> None:
        worker = await self.county.new_key_worker()
        self.me: SignedIn = await self.county.bearer(worker)
        self.admin = await self.county.bearer("admin")
        case = await self.county.open_family(worker)
        self.family_id = case.family_id
        made = await self.client.post("/api/v1/purchases", json=purchase_body(case, 2_500), headers=self.me.with_key())
        assert made.status_code == 201, made.text
        self.purchase_id = made.json()["purchase"]["id"]
        attached = await self.client.post(
            f"/api/v1/purchases/{self.purchase_id}/receipts",
            files={"data": ("r.pdf", PDF, "application/pdf")},
            headers=self.me.headers,
        )
        assert attached.status_code == 201, attached.text
        self.receipt_id = attached.json()["id"]
        linked = await self.client.put(
            f"/api/v1/families/{self.family_id}/case-link",
            json={"case_system": "Mosaic", "case_system_id": "EH-777"},
            headers=self.admin.headers,
        )
        assert linked.status_code == 200, linked.text
        async with self.county.session() as db:
            family = await db.get(Family, self.family_id)
            assert family is not None
            self.reference = family.reference
            purchase = await db.get(Purchase, self.purchase_id)
            assert purchase is not None
            self.bought_at = purchase.created_at
        closed = await self.client.post(
            f"/api/v1/families/{self.family_id}/closure", json={"reason": "outcomes_met"}, headers=self.me.with_key()
        )
        assert closed.status_code in (200, 201), closed.text
        self.closed_on = date.fromisoformat(closed.json()["closed_on"])
        checked = await self.client.post(
            f"/api/v1/families/{self.family_id}/six-month-check",
            json={"result": "sustained", "note": "Settled well"},
            headers=self.me.with_key(),
        )
        assert checked.status_code == 200, checked.text


async def state_of(county: County, story: Story) -> dict[str, Any]:
    async with county.session() as db:
        family = await db.get(Family, story.family_id)
        purchase = await db.get(Purchase, story.purchase_id)
        receipt = await db.get(Receipt, story.receipt_id)
        check = (await db.execute(select(SustainCheck).where(SustainCheck.family_id == story.family_id))).scalar_one()
        assert family is not None
        assert purchase is not None
        assert receipt is not None
        return {
            "reference": family.reference,
            "case_link": await db.get(FamilyCaseLink, story.family_id) is not None,
            "workers": await db.scalar(select(func.count()).where(FamilyWorker.family_id == story.family_id)),
            "purchase_family": purchase.family_id,
            "description": purchase.description,
            "receipt_erased": receipt.erased_at is not None,
            "receipt_file": await db.get(ReceiptContent, receipt.content_sha256) is not None,
            "amount": purchase.amount,
            "check": (check.result, check.note),
        }


async def books(county: County) -> tuple[list[Any], list[tuple[Any, ...]]]:
    """The ledger's findings and every account's counters."""
    async with county.engine.connect() as connection:
        findings = await ledger.verify(connection)
        rows = await connection.execute(
            select(
                accounts.c.id,
                accounts.c.debits_pending,
                accounts.c.debits_posted,
                accounts.c.credits_pending,
                accounts.c.credits_posted,
            ).order_by(accounts.c.id)
        )
        return findings, [tuple(r) for r in rows]


async def test_before_its_period_nothing_goes_after_it_everything_due_goes_and_the_books_still_verify(
    county: County, own_county_url: str, moving_clock: None
) -> None:
    async with AsyncTestClient(app=create_app(settings_for(own_county_url))) as client:
        story = Story(county, client)
        await story.tell()
    as_told = await state_of(county, story)
    _, counters_before = await books(county)
    years_end = financial_year_start(clock.local_date(story.bought_at)).replace(
        year=financial_year_start(clock.local_date(story.bought_at)).year + 1
    )

    # The day before the family's six years are up, and the last evening of the sixth financial year after.
    family_due = years_after(story.closed_on, 6)
    await run_the_job(
        county,
        own_county_url,
        min(london(family_due, 12), london(years_end.replace(year=years_end.year + 6) - timedelta(days=1), 23)),
    )

    assert await state_of(county, story) == as_told

    # A day after both.
    later = max(london(family_due + timedelta(days=1)), london(years_end.replace(year=years_end.year + 6)))
    await run_the_job(county, own_county_url, later)

    erased = await state_of(county, story)
    assert erased["reference"] != story.reference
    assert (erased["case_link"], erased["workers"], erased["purchase_family"]) == (False, 0, None)
    assert erased["description"] == ERASED
    assert (erased["receipt_erased"], erased["receipt_file"]) == (True, False)
    assert erased["amount"] == as_told["amount"]
    assert (as_told["check"], erased["check"]) == (("sustained", "Settled well"), ("sustained", ERASED))
    findings, counters_after = await books(county)
    assert findings == []
    assert counters_after == counters_before


async def test_running_twice_erases_nothing_more_and_each_run_is_audited_by_counts_alone(
    county: County, own_county_url: str, moving_clock: None
) -> None:
    async with AsyncTestClient(app=create_app(settings_for(own_county_url))) as client:
        story = Story(county, client)
        await story.tell()
    far = london(years_after(story.closed_on, 8))

    first = await run_the_job(county, own_county_url, far)
    again = await run_the_job(county, own_county_url, far + timedelta(minutes=5))

    assert first > 0
    assert again == 0
    async with county.session() as db:
        runs = list(
            (
                await db.execute(
                    select(AuditEntry).where(AuditEntry.action == "retention.applied").order_by(AuditEntry.id)
                )
            ).scalars()
        )
    assert len(runs) == 2
    assert runs[0].actor_id is None
    assert all(isinstance(v, int) for v in runs[0].details.values())
    assert story.reference not in json.dumps(runs[0].details)
    assert runs[0].details["families"] >= 1


async def test_sessions_tokens_and_idempotency_records_go_after_their_days_and_audit_entries_after_their_years(
    county: County, own_county_url: str, moving_clock: None
) -> None:
    async with AsyncTestClient(app=create_app(settings_for(own_county_url))) as client:
        story = Story(county, client)
        await story.tell()
    now = clock.now_utc()

    async def counts() -> tuple[int, int, int]:
        async with county.session() as db:
            return (
                int(await db.scalar(select(func.count()).select_from(IdempotencyRecord)) or 0),
                int(await db.scalar(select(func.count()).select_from(ApiToken)) or 0),
                int(await db.scalar(select(func.count()).where(AuditEntry.at <= now)) or 0),
            )

    before = await counts()
    assert all(before)
    await run_the_job(county, own_county_url, now + timedelta(days=29))
    assert (await counts())[0] == before[0]
    await run_the_job(county, own_county_url, now + timedelta(days=31))
    assert (await counts())[0] == 0

    audit_cutoff = london(
        financial_year_start(clock.local_date(now)).replace(year=financial_year_start(clock.local_date(now)).year + 8)
    )
    await run_the_job(county, own_county_url, audit_cutoff - timedelta(days=2))
    assert (await counts())[2] > 0
    await run_the_job(county, own_county_url, audit_cutoff + timedelta(days=1))
    assert (await counts())[1:] == (0, 0)


async def test_the_audit_log_still_refuses_a_delete_without_the_retention_jobs_permit(county: County) -> None:
    with pytest.raises((IntegrityError, DBAPIError)):
        async with county.session() as db:
            await db.execute(text("DELETE FROM audit_log"))


async def test_an_erased_receipt_is_gone_not_damaged(county: County, own_county_url: str, moving_clock: None) -> None:
    async with AsyncTestClient(app=create_app(settings_for(own_county_url))) as client:
        story = Story(county, client)
        await story.tell()
        await run_the_job(
            county, own_county_url, london(clock.local_date(clock.now_utc()).replace(day=1) + timedelta(days=8 * 366))
        )
        clock.travel_to(PINNED)

    admin = await county.bearer("admin")
    async with AsyncTestClient(app=create_app(settings_for(own_county_url))) as client:
        served = await client.get(f"/api/v1/receipts/{story.receipt_id}", headers=admin.headers)
    assert served.status_code == 410
    assert served.json()["type"].endswith("receipt-erased")


def test_the_cutoff_counts_whole_financial_years_after_the_one_a_record_is_in() -> None:
    # A purchase of May 2025 is in the year ending 31 March 2026: with six years it goes on 1 April 2032.
    assert after_whole_years_cutoff(date(2032, 3, 31), 6) == london(date(2025, 4, 1), 0, 0)
    assert after_whole_years_cutoff(date(2032, 4, 1), 6) == london(date(2026, 4, 1), 0, 0)
    assert london(date(2025, 5, 10)) < after_whole_years_cutoff(date(2032, 4, 1), 6)
    assert london(date(2025, 5, 10)) >= after_whole_years_cutoff(date(2032, 3, 31), 6)


# The subject access export --------------------------------------------------------------


async def test_an_admin_exports_everything_held_about_one_family_reference_with_its_receipts(
    county: County, own_county_url: str
) -> None:
    async with AsyncTestClient(app=create_app(settings_for(own_county_url))) as client:
        story = Story(county, client)
        await story.tell()
        exported = await client.post(
            "/api/v1/subject-access-exports", json={"reference": story.reference}, headers=story.admin.headers
        )
        refused = await client.post(
            "/api/v1/subject-access-exports", json={"reference": story.reference}, headers=story.me.headers
        )
        unknown = await client.post(
            "/api/v1/subject-access-exports", json={"reference": "NOSUCHREF"}, headers=story.admin.headers
        )

    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("application/zip")
    archive = zipfile.ZipFile(io.BytesIO(exported.content))
    record = json.loads(archive.read("family.json"))
    assert record["family"]["reference"] == story.reference
    assert record["case_link"] == {"case_system": "Mosaic", "case_system_id": "EH-777"}
    assert [p["id"] for p in record["purchases"]] == [story.purchase_id]
    assert (record["six_month_check"]["result"], record["six_month_check"]["note"]) == ("sustained", "Settled well")
    (receipt,) = record["purchases"][0]["receipts"]
    assert archive.read(receipt["file"]) == PDF
    assert (refused.status_code, unknown.status_code) == (403, 404)
    async with county.session() as db:
        audited = (await db.execute(select(AuditEntry).where(AuditEntry.action == "family.exported"))).scalar_one()
    assert story.reference not in json.dumps(audited.details)


async def test_requests_about_the_family_are_in_its_export(county: County, own_county_url: str) -> None:
    async with AsyncTestClient(app=create_app(settings_for(own_county_url))) as client:
        story = Story(county, client)
        await story.tell()
        exported = await client.post(
            "/api/v1/subject-access-exports", json={"reference": story.reference}, headers=story.admin.headers
        )
    record = json.loads(zipfile.ZipFile(io.BytesIO(exported.content)).read("family.json"))
    async with county.session() as db:
        asked = list(
            (await db.execute(select(ApprovalRequest.id).where(ApprovalRequest.family_id == story.family_id))).scalars()
        )
    assert [r["id"] for r in record["requests"]] == asked


# The command line --------------------------------------------------------------------------


async def test_the_command_line_exports_a_family_then_the_job_erases_it_and_the_ledger_still_verifies(
    county: County, own_county_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moving_clock: None
) -> None:
    if not own_county_url.startswith("sqlite"):
        pytest.skip("the command line is tried once, on SQLite")
    async with AsyncTestClient(app=create_app(settings_for(own_county_url))) as client:
        story = Story(county, client)
        await story.tell()
    await county.engine.dispose()  # the commands open the file themselves
    monkeypatch.setenv("DATABASE_URL", own_county_url)
    runner = CliRunner()
    out = tmp_path / "sar.zip"

    exported = await asyncio.to_thread(runner.invoke, main, ["family", "export", story.reference, "--out", str(out)])
    unknown = await asyncio.to_thread(runner.invoke, main, ["family", "export", "NOSUCHREF", "--out", str(out) + "x"])
    clock.travel_to(london(years_after(story.closed_on, 8)))
    erased = await asyncio.to_thread(runner.invoke, main, ["run-job", "apply_retention"])
    verified = await asyncio.to_thread(runner.invoke, main, ["ledger", "verify"])
    again = await asyncio.to_thread(runner.invoke, main, ["family", "export", story.reference, "--out", str(out) + "y"])

    assert exported.exit_code == 0, exported.output
    record = json.loads(zipfile.ZipFile(out).read("family.json"))
    assert record["family"]["reference"] == story.reference
    assert unknown.exit_code == 1
    assert "no family has that reference" in unknown.output
    assert erased.exit_code == 0, erased.output
    assert verified.exit_code == 0, verified.output
    assert "every invariant holds" in verified.output
    assert again.exit_code == 1  # the reference is gone with the family's identity

"""The six-month check: scheduled when a case closes, reminded by a job (the key worker when it
falls due, the managers when it is overdue, each once, by inbox and email), and recorded once
by the worker over the API, refusing what does not make sense as problem+json."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from api.jobs import JobContext, remind_six_month_checks, send_notifications
from approvals import sustain_reminders, todo
from approvals.mail import SmtpMailer
from tests.approvals.support import at
from tests.approvals.test_notifications import Inbox, smtp_server  # noqa: F401 - the fixture
from tests.ledger.test_bounded_sweeps import _plan
from tests.wallet.support import Case, County, SignedIn, Worker
from wallet.approval_models import Notification
from wallet.clock import LONDON, local_date, now_utc
from wallet.families import SUSTAIN_CHECK_AFTER
from wallet.sustain_check_models import SustainCheck

pytestmark = pytest.mark.dates

PROBLEM = "application/problem+json"


def london_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), LONDON).astimezone(UTC)


def job_at(county: County, day: date, *, overdue_days: int = 28) -> JobContext:
    """The reminder job's context with its clock stopped at noon (London) on ``day``."""
    return JobContext(
        sessionmaker=async_sessionmaker(county.engine, expire_on_commit=False),
        clock=at(london_noon(day)),
        mailer=None,
        sustain_check_overdue_days=overdue_days,
    )


async def closed_case(
    county: County, client: AsyncTestClient[Any], *, days_ago: int
) -> tuple[Worker, SignedIn, Case, date]:
    """A key worker's family whose case closed ``days_ago`` days ago (over the API)."""
    worker = await county.new_key_worker(wallet_pence=0)
    me = await county.bearer(worker)
    closed_on = local_date(now_utc()) - timedelta(days=days_ago)
    case = await county.open_family(worker, opened_on=closed_on - timedelta(days=200))
    closed = await client.post(
        f"/api/v1/families/{case.family_id}/closure",
        json={"reason": "outcomes_met", "closed_on": closed_on.isoformat()},
        headers=me.with_key(),
    )
    assert closed.status_code == 200, closed.text
    return worker, me, case, closed_on


async def told(county: County, family_id: int) -> list[tuple[str, int]]:
    """(kind, recipient) of every notification about the family's check, oldest first."""
    async with county.session() as db:
        rows = await db.execute(
            select(Notification.kind, Notification.recipient_id)
            .where(Notification.link.in_((f"/families/{family_id}", f"/families/{family_id}/six-month-check")))
            .order_by(Notification.id)
        )
        return [(str(k), int(r)) for k, r in rows.all()]


# Scheduled ---------------------------------------------------------------------------------


async def test_closing_a_case_schedules_its_check_six_months_on_for_the_lead_worker(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker = await county.new_key_worker(wallet_pence=0)
    me = await county.bearer(worker)
    case = await county.open_family(worker, opened_on=date(2025, 9, 1))
    open_case = await client.get(f"/api/v1/families/{case.family_id}/six-month-check", headers=me.headers)

    closed = await client.post(
        f"/api/v1/families/{case.family_id}/closure",
        json={"reason": "outcomes_met", "closed_on": "2026-03-01"},
        headers=me.with_key(),
    )
    check = await client.get(f"/api/v1/families/{case.family_id}/six-month-check", headers=me.headers)

    assert open_case.status_code == 409, open_case.text
    assert open_case.headers["content-type"].startswith(PROBLEM)
    assert open_case.json()["type"] == "urn:tide:problem:no-six-month-check"
    assert closed.status_code == 200, closed.text
    assert check.status_code == 200, check.text
    assert check.json() == {
        "family_id": case.family_id,
        "closed_on": "2026-03-01",
        "due_on": "2026-08-30",
        "result": None,
        "checked_on": None,
        "note": None,
        "recorded_by": None,
    }
    async with county.session() as db:
        row = (await db.execute(select(SustainCheck).where(SustainCheck.family_id == case.family_id))).scalar_one()
    assert (row.worker_id, row.team_id) == (worker.person_id, worker.team_id)


async def test_a_check_due_is_on_the_key_workers_to_do_list_until_it_is_recorded(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me, case, _ = await closed_case(county, client, days_ago=190)
    who = await county.principal(worker.person_id)

    async with county.session() as db:
        before = await todo.to_do(db, who=who, now=now_utc())
    recorded = await client.post(
        f"/api/v1/families/{case.family_id}/six-month-check", json={"result": "sustained"}, headers=me.with_key()
    )
    async with county.session() as db:
        after = await todo.to_do(db, who=who, now=now_utc())

    assert [c.check.family_id for c in before.checks] == [case.family_id]
    assert recorded.status_code == 200, recorded.text
    assert after.checks == []


# Reminded ----------------------------------------------------------------------------------


async def test_the_key_worker_is_told_once_when_it_falls_due_and_the_managers_once_when_overdue(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, _, case, closed_on = await closed_case(county, client, days_ago=250)
    due = closed_on + SUSTAIN_CHECK_AFTER
    manager = await county.person_id("manager.exeter")

    await remind_six_month_checks(job_at(county, due - timedelta(days=1)))
    before_due = await told(county, case.family_id)
    await remind_six_month_checks(job_at(county, due))
    await remind_six_month_checks(job_at(county, due))  # the job run twice
    on_due = await told(county, case.family_id)
    await remind_six_month_checks(job_at(county, due + timedelta(days=27)))
    not_yet_overdue = await told(county, case.family_id)
    await remind_six_month_checks(job_at(county, due + timedelta(days=28)))
    await remind_six_month_checks(job_at(county, due + timedelta(days=40)))
    overdue = await told(county, case.family_id)

    assert before_due == []
    assert on_due == [("six_month_check.due", worker.person_id)]
    assert not_yet_overdue == on_due
    assert ("six_month_check.overdue", manager) in overdue
    assert len(overdue) == len(set(overdue)) == 1 + len([k for k, _ in overdue if k == "six_month_check.overdue"])


async def test_the_number_of_days_before_the_managers_hear_is_a_setting(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, _, case, closed_on = await closed_case(county, client, days_ago=250)
    due = closed_on + SUSTAIN_CHECK_AFTER
    manager = await county.person_id("manager.exeter")

    await remind_six_month_checks(job_at(county, due + timedelta(days=6), overdue_days=7))
    not_yet = await told(county, case.family_id)
    await remind_six_month_checks(job_at(county, due + timedelta(days=7), overdue_days=7))
    overdue = await told(county, case.family_id)

    # Every manager of the team (and the day's deputies, which earlier tests may have set) hears once.
    assert not_yet == [("six_month_check.due", worker.person_id)]
    assert overdue[0] == ("six_month_check.due", worker.person_id)
    assert ("six_month_check.overdue", manager) in overdue[1:]
    assert {k for k, _ in overdue[1:]} == {"six_month_check.overdue"}
    assert len(overdue) == len(set(overdue))


async def test_a_check_recorded_before_it_falls_due_is_never_reminded(
    county: County, client: AsyncTestClient[Any]
) -> None:
    _, me, case, closed_on = await closed_case(county, client, days_ago=100)
    recorded = await client.post(
        f"/api/v1/families/{case.family_id}/six-month-check",
        json={"result": "could_not_contact"},
        headers=me.with_key(),
    )
    due = closed_on + SUSTAIN_CHECK_AFTER

    await remind_six_month_checks(job_at(county, due + timedelta(days=60)))

    assert recorded.status_code == 200, recorded.text
    assert await told(county, case.family_id) == []


async def test_the_reminder_reaches_the_key_worker_by_email_once(
    county: County,
    client: AsyncTestClient[Any],
    smtp_server: tuple[Inbox, int],  # noqa: F811 - the fixture
) -> None:
    inbox, port = smtp_server
    worker, _, case, closed_on = await closed_case(county, client, days_ago=250)
    due = closed_on + SUSTAIN_CHECK_AFTER
    ctx = replace(
        job_at(county, due),
        mailer=SmtpMailer(host="127.0.0.1", port=port, sender="tide@council.example", timeout_seconds=5),
        base_url="https://tide.council.example",
    )

    await remind_six_month_checks(ctx)
    await remind_six_month_checks(ctx)
    while await send_notifications(ctx):
        pass

    about = [m for m in inbox.messages if re.search(rf"/families/{case.family_id}(?!\d)", str(m))]
    assert [(m["To"], m["Subject"]) for m in about] == [(worker.email, "A six-month check is due")]


@pytest.mark.postgresql
async def test_the_job_reads_only_the_checks_still_due_through_their_partial_index(
    pg_county: County, client: AsyncTestClient[Any]
) -> None:
    del client  # the county's app is not needed: the plan is read from the database
    today = local_date(now_utc())
    query = sustain_reminders.still_due_query(today=today)
    async with pg_county.engine.connect() as connection, connection.begin():
        await connection.execute(text("ANALYZE sustain_checks"))
        steps = await _plan(connection, query)
    read = [step for step in steps if step.get("Relation Name") == "sustain_checks"]
    assert [step.get("Index Name") for step in read] == ["ix_sustain_checks_still_due"], steps
    assert not any(step["Node Type"] == "Seq Scan" for step in steps)


# Recorded ----------------------------------------------------------------------------------


async def test_the_key_worker_records_the_check_once_with_a_note_and_it_is_audited(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me, case, closed_on = await closed_case(county, client, days_ago=190)
    checked_on = closed_on + timedelta(days=185)
    body = {"result": "not_sustained", "checked_on": checked_on.isoformat(), "note": "Attendance has slipped again"}

    recorded = await client.post(f"/api/v1/families/{case.family_id}/six-month-check", json=body, headers=me.with_key())
    again = await client.post(
        f"/api/v1/families/{case.family_id}/six-month-check", json={"result": "sustained"}, headers=me.with_key()
    )

    assert recorded.status_code == 200, recorded.text
    assert recorded.json() | {"recorded_by": None} == {
        "family_id": case.family_id,
        "closed_on": closed_on.isoformat(),
        "due_on": (closed_on + SUSTAIN_CHECK_AFTER).isoformat(),
        "result": "not_sustained",
        "checked_on": checked_on.isoformat(),
        "note": "Attendance has slipped again",
        "recorded_by": None,
    }
    assert recorded.json()["recorded_by"] == worker.person_id
    assert again.status_code == 409, again.text
    assert again.headers["content-type"].startswith(PROBLEM)
    assert again.json()["type"] == "urn:tide:problem:six-month-check-already-recorded"


@pytest.mark.parametrize(
    ("body", "status", "problem"),
    [
        ({"result": "maybe"}, 422, "validation"),
        ({"result": "sustained", "extra": 1}, 422, "validation"),
        ({"result": "sustained", "checked_on": "2001-01-01"}, 422, "dates-out-of-order"),
        ({"result": "sustained", "checked_on": "2999-01-01"}, 422, "dates-out-of-order"),
        ({"result": "sustained", "note": "Sarah Jones at 12 High Street is fine"}, 422, "note-looks-personal"),
        ({"result": "sustained", "note": "Now goes to the Women's Refuge group"}, 422, "note-looks-personal"),
    ],
)
async def test_what_makes_no_sense_is_refused_as_a_problem_and_nothing_is_recorded(
    county: County, client: AsyncTestClient[Any], body: dict[str, Any], status: int, problem: str
) -> None:
    _, me, case, _ = await closed_case(county, client, days_ago=190)

    refused = await client.post(f"/api/v1/families/{case.family_id}/six-month-check", json=body, headers=me.with_key())
    check = await client.get(f"/api/v1/families/{case.family_id}/six-month-check", headers=me.headers)

    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert problem in refused.json()["type"]
    assert "Sarah" not in refused.text
    assert check.json()["result"] is None


async def test_only_those_working_with_the_family_record_its_check(
    county: County, client: AsyncTestClient[Any]
) -> None:
    _, _, case, _ = await closed_case(county, client, days_ago=190)
    other_team = await county.bearer(await county.new_key_worker(team_id=2, wallet_pence=0))
    finance = await county.bearer("finance")
    manager = await county.bearer("manager.exeter")
    url = f"/api/v1/families/{case.family_id}/six-month-check"

    stranger = await client.post(url, json={"result": "sustained"}, headers=other_team.with_key())
    money_people = await client.post(url, json={"result": "sustained"}, headers=finance.with_key())
    by_manager = await client.post(url, json={"result": "sustained"}, headers=manager.with_key())

    assert (stranger.status_code, money_people.status_code) == (404, 404), (stranger.text, money_people.text)
    assert by_manager.status_code == 200, by_manager.text
    async with county.session() as db:
        recorded = await db.scalar(
            select(func.count()).where(SustainCheck.family_id == case.family_id, SustainCheck.result.is_not(None))
        )
    assert recorded == 1


@pytest.mark.parametrize(
    "change",
    [
        {"result": "sustained"},  # no day, recorder or moment
        {"result": "perhaps", "checked_on": date(2026, 1, 1), "recorded_by": 1, "recorded_at": datetime.now(UTC)},
        {"note": "A note with no result"},
        {"due_on": date(2000, 1, 1)},  # before the closure
    ],
)
async def test_the_database_refuses_a_check_that_is_not_whole(
    county: County, client: AsyncTestClient[Any], change: dict[str, Any]
) -> None:
    _, _, case, _ = await closed_case(county, client, days_ago=190)

    with pytest.raises(IntegrityError):
        async with county.session() as db:
            await db.execute(update(SustainCheck).where(SustainCheck.family_id == case.family_id).values(**change))

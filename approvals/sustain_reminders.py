"""Reminders of the six-month check: the key worker when it falls due, the team's managers (and
whoever deputises for them today) when it is overdue by the council's number of days.

Run by a job, safe to run twice: each reminder is sent once, marked on the check in the same
transaction as the notification is queued (the outbox emails it; :mod:`approvals.notifications`).
The job reads only the checks still due something, through their partial index
(``ix_sustain_checks_still_due``: not recorded, managers not yet told), a batch at a time,
never every check ever made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from approvals import cover
from approvals.notifications import notify
from wallet import audit
from wallet.clock import local_date
from wallet.sustain_check_models import STILL_DUE, SustainCheck

BATCH = 200


@dataclass(frozen=True, slots=True)
class CheckReminders:
    workers_told: int
    managers_told: int


async def remind_checks(db: AsyncSession, *, overdue_after_days: int, now: datetime) -> CheckReminders:
    """Tell the key worker of each check that has fallen due, and the managers of each check
    overdue by ``overdue_after_days`` days, once each."""
    today = local_date(now)
    overdue_on = today - timedelta(days=overdue_after_days)
    workers = managers = 0
    after = (date.min, 0)
    while True:
        batch = list(
            (await db.execute(still_due_query(today=today, after=after).with_for_update(skip_locked=True))).scalars()
        )
        for check in batch:
            if check.worker_told_at is None:
                await _tell_worker(db, check=check, now=now)
                workers += 1
            if check.due_on <= overdue_on:
                await _tell_managers(db, check=check, now=now)
                managers += 1
        if len(batch) < BATCH:
            break
        after = (batch[-1].due_on, batch[-1].id)
    await db.flush()
    return CheckReminders(workers_told=workers, managers_told=managers)


def still_due_query(*, today: date, after: tuple[date, int] = (date.min, 0)) -> Select[SustainCheck]:
    """A batch of the checks fallen due by ``today`` still owed a reminder, after ``after``
    (due day, id): read through ``ix_sustain_checks_still_due`` alone."""
    return (
        select(SustainCheck)
        .where(text(STILL_DUE), SustainCheck.due_on <= today)
        .where(tuple_(SustainCheck.due_on, SustainCheck.id) > tuple_(*after))
        .order_by(SustainCheck.due_on, SustainCheck.id)
        .limit(BATCH)
    )


async def _tell_worker(db: AsyncSession, *, check: SustainCheck, now: datetime) -> None:
    check.worker_told_at = now
    await notify(
        db, recipient_ids=[check.worker_id], kind="six_month_check.due", subject="A six-month check is due",
        body=f"A case you worked on closed on {check.closed_on:%d %B %Y}. Its six-month check fell due on "
        f"{check.due_on:%d %B %Y}: see whether what improved has lasted, and record what you found.",
        link=f"/families/{check.family_id}", now=now,
    )  # fmt: skip
    await audit.record(
        db, actor=None, action="six_month_check.worker_told", subject_type="family", subject_id=check.family_id,
        now=now,
    )  # fmt: skip


async def _tell_managers(db: AsyncSession, *, check: SustainCheck, now: datetime) -> None:
    check.manager_told_at = now
    today = local_date(now)
    managers = await cover.managers_of(db, team_id=check.team_id)
    deputies = await cover.deputies_for(db, team_id=check.team_id, on=today)
    await notify(
        db, recipient_ids=[*managers, *deputies], kind="six_month_check.overdue",
        subject="A six-month check is overdue",
        body=f"A six-month check in your team fell due on {check.due_on:%d %B %Y} and is not yet recorded "
        f"({(today - check.due_on).days} days).",
        link=f"/families/{check.family_id}", now=now,
    )  # fmt: skip
    await audit.record(
        db, actor=None, action="six_month_check.managers_told", subject_type="family", subject_id=check.family_id,
        now=now,
    )  # fmt: skip

"""The six-month check: six months after a case closes, the key worker checks whether what
improved has lasted, and records what they found.

Supporting Families counts a need as a success only if it improved and the improvement was
*sustained* six months after the case closed; the check belongs to the case (the family), so
there is one per closed case. Closing a case schedules it (``families.close_family``); a job
reminds the key worker when it falls due and the team's managers when it is overdue
(:mod:`approvals.sustain_reminders`); the key worker or a manager records it once
(:func:`record_check`): sustained, not sustained, or could not contact, on a date, with an
optional note that is refused if it looks personal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet import audit
from wallet.access import Principal
from wallet.clock import local_date
from wallet.errors import DatesOutOfOrder, NoSixMonthCheck, NotAllowed, NoteLooksPersonal, SixMonthCheckAlreadyRecorded
from wallet.families import get_family, may_work_on
from wallet.models import Family, FamilyWorker
from wallet.sustain_check_models import CHECK_RESULTS, SustainCheck

RESULT_WORDS = {
    "sustained": "Sustained",
    "not_sustained": "Not sustained",
    "could_not_contact": "Could not contact the family",
}
#: Says what kinds of personal data a note seems to hold ("a person's name, ..."), or an empty
#: string when none (the council's redaction lists decide, ``reports.redaction_lists``; the edge
#: gives it, as ``wallet`` sits below ``reports``).
NoteChecker = Callable[[str], Awaitable[str]]


def _day(day: date | None) -> str:
    return "" if day is None else f"{day.day} {day:%B %Y}"


async def check_of(db: AsyncSession, *, who: Principal, family_id: int, for_update: bool = False) -> SustainCheck:
    """The six-month check of a family ``who`` may see; ``NoSixMonthCheck`` while the case is open."""
    await get_family(db, who=who, family_id=family_id)
    statement = select(SustainCheck).where(SustainCheck.family_id == family_id)
    if for_update:
        statement = statement.with_for_update()
    check = (await db.execute(statement)).scalar_one_or_none()
    if check is None:
        raise NoSixMonthCheck("the case is still open; its six-month check is scheduled when it closes")
    return check


async def record_check(
    db: AsyncSession,
    *,
    who: Principal,
    family_id: int,
    result: str,
    checked_on: date,
    note: str | None,
    looks_personal: NoteChecker,
    now: datetime,
) -> SustainCheck:
    """Record what the six-month check found: once, by a key worker of the family or a manager
    of its team, dated between the closure and today, with a note that does not look personal."""
    if result not in CHECK_RESULTS:
        raise ValueError(result)  # the edges offer only these
    check = await check_of(db, who=who, family_id=family_id, for_update=True)
    family = await get_family(db, who=who, family_id=family_id)
    if not may_work_on(who, family):
        raise NotAllowed("read-only access to this family")
    if check.result is not None:
        raise SixMonthCheckAlreadyRecorded(
            f"the six-month check is already recorded: it was made on {_day(check.checked_on)}"
        )
    if checked_on < check.closed_on:
        raise DatesOutOfOrder(f"the case closed on {_day(check.closed_on)}; the check cannot be before that")
    if checked_on > local_date(now):
        raise DatesOutOfOrder("the check cannot be dated after today")
    note = (note or "").strip() or None
    if note is not None:
        kinds = await looks_personal(note)
        if kinds:
            raise NoteLooksPersonal(f"the note looks like it holds {kinds}; say what has changed, not who")
    check.result, check.checked_on, check.note = result, checked_on, note
    check.recorded_by, check.recorded_at = who.person_id, now
    await db.flush()
    await audit.record(
        db, actor=who, action="family.six_month_check_recorded", subject_type="family", subject_id=family_id,
        now=now, details={"result": result, "checked_on": checked_on.isoformat()},
    )  # fmt: skip
    return check


async def checks_due_for(
    db: AsyncSession, *, who: Principal, today: date, limit: int
) -> list[tuple[SustainCheck, str]]:
    """The checks due by ``today`` and not yet recorded, of the families ``who`` works with
    (with each family's reference), the longest waiting first."""
    rows = await db.execute(
        select(SustainCheck, Family.reference)
        .join(Family, Family.id == SustainCheck.family_id)
        .join(FamilyWorker, and_(FamilyWorker.family_id == Family.id, FamilyWorker.person_id == who.person_id))
        .where(SustainCheck.recorded_at.is_(None), SustainCheck.due_on <= today)
        .order_by(SustainCheck.due_on, SustainCheck.id)
        .limit(limit)
    )
    return [(check, str(reference)) for check, reference in rows.all()]

"""Families, their needs and what changed: the case as Tide keeps it, pseudonymous throughout.

A family is a random reference, a locality and its children's age bands. Needs are coded
from the taxonomy with a baseline score; reviews say improved, no change or worse; a case
closes with a reason and gets a sustain check six months on.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from wallet import audit
from wallet.access import Principal, may_see_needs, visible_families
from wallet.clock import family_reference
from wallet.errors import DatesOutOfOrder, FamilyClosed, NotAllowed, NotFound, NothingToChange, UnknownCode
from wallet.listing import DEFAULT_LIMIT, Listing, fetch_page
from wallet.models import Family, FamilyCaseLink, FamilyWorker, Need, NeedReview, RoleGrant
from wallet.sustain_check_models import SustainCheck
from wallet.taxonomy import AGE_BANDS, CLOSURE_REASONS, EVIDENCE_SOURCES, NEEDS, REVIEW_OUTCOMES, WHOSE_NEED

SUSTAIN_CHECK_AFTER = timedelta(days=182)


def _check(value: str, allowed: tuple[str, ...] | dict[str, object], what: str) -> None:
    if value not in allowed:
        raise UnknownCode(f"unknown {what} {value!r}; use one of {', '.join(allowed)}")


async def get_family(db: AsyncSession, *, who: Principal, family_id: int, for_update: bool = False) -> Family:
    """A family ``who`` may see, or ``NotFound`` (also when it exists but is not theirs)."""
    if not may_see_needs(who):
        raise NotFound(f"no family {family_id}")
    statement = select(Family).where(Family.id == family_id, visible_families(who))
    if for_update:
        statement = statement.with_for_update()
    family = (await db.execute(statement)).scalar_one_or_none()
    if family is None:
        raise NotFound(f"no family {family_id}")
    return family


def may_work_on(who: Principal, family: Family) -> bool:
    return family.team_id in who.managed_team_ids or (who.has("key_worker") and family.team_id in who.worker_team_ids)


async def _require_key_worker(db: AsyncSession, *, person_id: int, team_id: int) -> None:
    """``NotFound`` unless the person is a key worker in the team."""
    found = await db.execute(
        select(RoleGrant.id).where(
            RoleGrant.person_id == person_id, RoleGrant.role == "key_worker", RoleGrant.team_id == team_id
        )
    )
    if found.first() is None:
        raise NotFound(f"no key worker {person_id} in team {team_id}")


async def open_family(
    db: AsyncSession,
    *,
    who: Principal,
    team_id: int,
    lead_worker_id: int,
    locality: str,
    age_bands: list[str],
    opened_on: date,
    now: datetime,
) -> Family:
    """Open a case: a key worker for themself in their team, or a manager for their team."""
    if not (team_id in who.managed_team_ids or (team_id in who.worker_team_ids and lead_worker_id == who.person_id)):
        raise NotAllowed("you may open cases only for yourself in your team, or in teams you manage")
    await _require_key_worker(db, person_id=lead_worker_id, team_id=team_id)
    for band in age_bands:
        _check(band, AGE_BANDS, "age band")
    for _attempt in range(5):
        family = Family(
            reference=family_reference(),
            team_id=team_id,
            lead_worker_id=lead_worker_id,
            locality=locality,
            age_bands=sorted(set(age_bands), key=AGE_BANDS.index),
            status="open",
            opened_on=opened_on,
            created_at=now,
        )
        try:
            async with db.begin_nested():
                db.add(family)
                await db.flush()
            break
        except IntegrityError:  # pragma: no cover - a reference collision, 1 in 10^11
            continue
    db.add(FamilyWorker(family_id=family.id, person_id=lead_worker_id))
    await db.flush()
    await audit.record(
        db,
        actor=who,
        action="family.opened",
        subject_type="family",
        subject_id=family.id,
        now=now,
        details={"team_id": team_id, "lead_worker_id": lead_worker_id},
    )
    return family


async def add_worker(db: AsyncSession, *, who: Principal, family_id: int, person_id: int, now: datetime) -> None:
    """A manager adds another key worker of the team to the family."""
    family = await get_family(db, who=who, family_id=family_id)
    if family.team_id not in who.managed_team_ids:
        raise NotAllowed("only the team's manager adds workers to a family")
    await _require_key_worker(db, person_id=person_id, team_id=family.team_id)
    exists = await db.get(FamilyWorker, (family_id, person_id))
    if exists is None:
        db.add(FamilyWorker(family_id=family_id, person_id=person_id))
        await db.flush()
        await audit.record(
            db,
            actor=who,
            action="family.worker_added",
            subject_type="family",
            subject_id=family_id,
            now=now,
            details={"person_id": person_id},
        )


async def close_family(
    db: AsyncSession, *, who: Principal, family_id: int, reason: str, closed_on: date, now: datetime
) -> Family:
    """Close the case with a reason; its six-month check (:mod:`wallet.sustain_checks`) falls due
    :data:`SUSTAIN_CHECK_AFTER` later, for the lead worker."""
    _check(reason, CLOSURE_REASONS, "closure reason")
    family = await get_family(db, who=who, family_id=family_id, for_update=True)
    if not may_work_on(who, family):
        raise NotAllowed("read-only access to this family")
    if family.status == "closed":
        raise NothingToChange("the case is already closed")
    if closed_on < family.opened_on:
        raise DatesOutOfOrder(f"the case opened on {family.opened_on.isoformat()}; it cannot close before that")
    family.status, family.closed_on, family.closure_reason = "closed", closed_on, reason
    family.sustain_check_on = closed_on + SUSTAIN_CHECK_AFTER
    db.add(
        SustainCheck(
            family_id=family.id, team_id=family.team_id, worker_id=family.lead_worker_id, closed_on=closed_on,
            due_on=family.sustain_check_on, created_at=now,
        )
    )  # fmt: skip
    await db.flush()
    await audit.record(
        db,
        actor=who,
        action="family.closed",
        subject_type="family",
        subject_id=family_id,
        now=now,
        details={"reason": reason},
    )
    return family


async def add_need(
    db: AsyncSession,
    *,
    who: Principal,
    family_id: int,
    code: str,
    whose: str,
    identified_on: date,
    evidence_source: str,
    baseline_score: int,
    now: datetime,
) -> Need:
    """Record an identified need, coded from the taxonomy, with its baseline score (1 to 10)."""
    _check(code, NEEDS, "need code")  # type: ignore[arg-type]
    _check(whose, WHOSE_NEED, "need holder")
    _check(evidence_source, EVIDENCE_SOURCES, "evidence source")
    family = await get_family(db, who=who, family_id=family_id)
    if not may_work_on(who, family):
        raise NotAllowed("read-only access to this family")
    if family.status != "open":
        raise FamilyClosed("the case is closed")
    need = Need(
        family_id=family_id,
        code=code,
        whose=whose,
        identified_on=identified_on,
        evidence_source=evidence_source,
        baseline_score=baseline_score,
        status="open",
        created_by=who.person_id,
        created_at=now,
    )
    db.add(need)
    await db.flush()
    await audit.record(
        db,
        actor=who,
        action="need.added",
        subject_type="need",
        subject_id=need.id,
        now=now,
        details={"family_id": family_id, "code": code},
    )
    return need


async def get_need(db: AsyncSession, *, who: Principal, need_id: int) -> Need:
    need = await db.get(Need, need_id)
    if need is None:
        raise NotFound(f"no need {need_id}")
    await get_family(db, who=who, family_id=need.family_id)  # NotFound unless the family is visible
    return need


async def review_need(
    db: AsyncSession,
    *,
    who: Principal,
    need_id: int,
    outcome: str,
    score: int,
    reviewed_on: date,
    now: datetime,
    close_need: bool = False,
) -> NeedReview:
    """Record a review of a need: improved, no change or worse, with a score (1 to 10)."""
    _check(outcome, REVIEW_OUTCOMES, "review outcome")
    need = await get_need(db, who=who, need_id=need_id)
    family = await db.get(Family, need.family_id)
    if family is None or not may_work_on(who, family):
        raise NotAllowed("read-only access to this family")
    review = NeedReview(
        need_id=need_id,
        outcome=outcome,
        score=score,
        reviewed_on=reviewed_on,
        reviewed_by=who.person_id,
        created_at=now,
    )
    db.add(review)
    if close_need:
        need.status = "closed"
    await db.flush()
    await audit.record(
        db,
        actor=who,
        action="need.reviewed",
        subject_type="need",
        subject_id=need_id,
        now=now,
        details={"outcome": outcome, "score": score, "closed": close_need},
    )
    return review


async def set_case_link(
    db: AsyncSession, *, who: Principal, family_id: int, case_system: str, case_system_id: str, now: datetime
) -> FamilyCaseLink:
    """Restricted: link the family to the council's case system (admins only)."""
    if not who.has("admin"):
        raise NotFound(f"no family {family_id}")
    if await db.get(Family, family_id) is None:
        raise NotFound(f"no family {family_id}")
    link = await db.get(FamilyCaseLink, family_id)
    if link is None:
        link = FamilyCaseLink(family_id=family_id, case_system=case_system, case_system_id=case_system_id)
        db.add(link)
    else:
        link.case_system, link.case_system_id = case_system, case_system_id
    await db.flush()
    await audit.record(
        db,
        actor=who,
        action="family.case_link_set",
        subject_type="family",
        subject_id=family_id,
        now=now,
        details={"case_system": case_system},
    )
    return link


async def get_case_link(db: AsyncSession, *, who: Principal, family_id: int) -> FamilyCaseLink:
    if not who.has("admin"):
        raise NotFound(f"no family {family_id}")
    link = await db.get(FamilyCaseLink, family_id)
    if link is None:
        raise NotFound(f"family {family_id} has no case-system link")
    return link


async def list_families(
    db: AsyncSession,
    *,
    who: Principal,
    team_id: int | None = None,
    status: str | None = None,
    reference: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Listing[Family]:
    """The families ``who`` works with (or whose teams they manage), newest first; none for a
    role that sees no needs (finance, auditors)."""
    if not may_see_needs(who):
        return Listing(rows=[], next_cursor=None)
    statement = select(Family).where(visible_families(who))
    if team_id is not None:
        statement = statement.where(Family.team_id == team_id)
    if status is not None:
        statement = statement.where(Family.status == status)
    if reference is not None:
        statement = statement.where(Family.reference == reference.strip().upper())
    return await fetch_page(db, statement, Family.id, cursor=cursor, limit=limit)


async def needs_of(db: AsyncSession, *, who: Principal, family_id: int, only_open: bool = False) -> list[Need]:
    """The needs of a family ``who`` may see, in the order they were recorded."""
    await get_family(db, who=who, family_id=family_id)
    statement = select(Need).where(Need.family_id == family_id).order_by(Need.id)
    if only_open:
        statement = statement.where(Need.status == "open")
    return list((await db.execute(statement)).scalars())


async def reviews_of(db: AsyncSession, *, who: Principal, need_id: int) -> list[NeedReview]:
    """The reviews of a need ``who`` may see, oldest first."""
    await get_need(db, who=who, need_id=need_id)
    rows = await db.execute(select(NeedReview).where(NeedReview.need_id == need_id).order_by(NeedReview.id))
    return list(rows.scalars())


async def families_to_buy_for(db: AsyncSession, *, who: Principal) -> list[Family]:
    """The open families ``who`` works with (those a key worker can buy for), by reference."""
    rows = await db.execute(
        select(Family)
        .join(FamilyWorker, FamilyWorker.family_id == Family.id)
        .where(FamilyWorker.person_id == who.person_id, Family.status == "open")
        .order_by(Family.reference)
    )
    return list(rows.scalars())


async def needs_by_id(db: AsyncSession, *, need_ids: list[int]) -> list[Need]:
    """Needs by id, in id order (for a request or purchase ``who`` was already allowed to see)."""
    return list((await db.execute(select(Need).where(Need.id.in_(need_ids)).order_by(Need.id))).scalars())

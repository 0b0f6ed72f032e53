"""Who may decide a team's requests: its managers, their deputies, and the fallback approver.

A deputy covers for one manager over a range of UK dates, inclusive, for every team that
manager manages. The fallback approver is one person per team who decides a request only
once it has waited past the council's escalation time.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from approvals.errors import NotAnApprover
from wallet import audit
from wallet.access import Principal
from wallet.approval_models import ApprovalCover, ApprovalRequest, Deputy
from wallet.clock import local_date
from wallet.errors import DatesOutOfOrder, NotFound
from wallet.models import Person, RoleGrant, Team

Capacity = Literal["manager", "deputy", "fallback"]


async def managers_of(db: AsyncSession, *, team_id: int) -> list[int]:
    found = await db.execute(
        select(RoleGrant.person_id)
        .join(Person, Person.id == RoleGrant.person_id)
        .where(RoleGrant.role == "team_manager", RoleGrant.team_id == team_id, Person.active.is_(True))
    )
    return sorted(set(found.scalars()))


async def deputies_for(db: AsyncSession, *, team_id: int, on: date) -> list[int]:
    """People deputising today for one of the team's managers."""
    managers = await managers_of(db, team_id=team_id)
    if not managers:
        return []
    found = await db.execute(
        select(Deputy.deputy_id)
        .join(Person, Person.id == Deputy.deputy_id)
        .where(
            Deputy.manager_id.in_(managers),
            Deputy.starts_on <= on,
            Deputy.ends_on >= on,
            Person.active.is_(True),
        )
    )
    return sorted(set(found.scalars()))


async def fallback_of(db: AsyncSession, *, team_id: int) -> int | None:
    cover = await db.get(ApprovalCover, team_id)
    return cover.fallback_approver_id if cover else None


async def capacity_of(db: AsyncSession, *, who: Principal, request: ApprovalRequest, now: datetime) -> Capacity:
    """In what capacity ``who`` may decide ``request`` (first decision), or ``NotAnApprover``."""
    if request.team_id in who.managed_team_ids:
        return "manager"
    if who.person_id in await deputies_for(db, team_id=request.team_id, on=local_date(now)):
        return "deputy"
    if request.escalated_at is not None and who.person_id == await fallback_of(db, team_id=request.team_id):
        return "fallback"
    raise NotAnApprover("only a manager of the worker's team, their deputy, or the fallback once escalated decides")


async def first_approvers(db: AsyncSession, *, request: ApprovalRequest, now: datetime) -> list[int]:
    """Who is told of a new request: the team's managers and today's deputies (not the requester)."""
    people = await managers_of(db, team_id=request.team_id)
    people += await deputies_for(db, team_id=request.team_id, on=local_date(now))
    return sorted(set(people) - {request.requester_id})


async def second_approvers(db: AsyncSession, *, request: ApprovalRequest) -> list[int]:
    """Who may give the second approval: the team's managers and finance, bar the two already involved."""
    found = await db.execute(
        select(RoleGrant.person_id)
        .join(Person, Person.id == RoleGrant.person_id)
        .where(
            Person.active.is_(True),
            (RoleGrant.role == "finance")
            | ((RoleGrant.role == "team_manager") & (RoleGrant.team_id == request.team_id)),
        )
    )
    return sorted(set(found.scalars()) - {request.requester_id, request.first_approver_id or 0})


async def set_fallback(
    db: AsyncSession, *, who: Principal, team_id: int, person_id: int, now: datetime
) -> ApprovalCover:
    """Name the team's fallback approver (admins): a manager or finance officer."""
    who.require("admin")
    if await db.get(Team, team_id) is None:
        raise NotFound(f"no team {team_id}")
    await _require_approver_role(db, person_id=person_id)
    cover = await db.get(ApprovalCover, team_id)
    if cover is None:
        cover = ApprovalCover(team_id=team_id, fallback_approver_id=person_id, updated_at=now)
        db.add(cover)
    else:
        cover.fallback_approver_id = person_id
        cover.updated_at = now
    await db.flush()
    await audit.record(
        db, actor=who, action="approvals.fallback_set", subject_type="team", subject_id=team_id, now=now,
        details={"fallback_approver_id": person_id},
    )  # fmt: skip
    return cover


async def name_deputy(
    db: AsyncSession, *, who: Principal, deputy_id: int, starts_on: date, ends_on: date, now: datetime
) -> Deputy:
    """A manager names a deputy (another manager, or finance) for a range of dates."""
    who.require("team_manager")
    if starts_on > ends_on:
        raise DatesOutOfOrder("the deputy's last day cannot be before their first")
    if deputy_id == who.person_id:
        raise NotAnApprover("a manager cannot deputise for themselves")
    await _require_approver_role(db, person_id=deputy_id)
    deputy = Deputy(manager_id=who.person_id, deputy_id=deputy_id, starts_on=starts_on, ends_on=ends_on, created_at=now)
    db.add(deputy)
    await db.flush()
    await audit.record(
        db, actor=who, action="approvals.deputy_named", subject_type="deputy", subject_id=deputy.id, now=now,
        details={"deputy_id": deputy_id, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()},
    )  # fmt: skip
    return deputy


async def deputies_named_by(db: AsyncSession, *, who: Principal) -> list[Deputy]:
    found = await db.execute(select(Deputy).where(Deputy.manager_id == who.person_id).order_by(Deputy.starts_on))
    return list(found.scalars())


async def _require_approver_role(db: AsyncSession, *, person_id: int) -> None:
    person = await db.get(Person, person_id)
    if person is None or not person.active:
        raise NotFound(f"no person {person_id}")
    roles = set((await db.execute(select(RoleGrant.role).where(RoleGrant.person_id == person_id))).scalars())
    if not roles & {"team_manager", "finance"}:
        raise NotAnApprover("only a team manager or a finance officer can approve")


async def possible_approvers(db: AsyncSession, *, besides: int | None = None) -> list[tuple[int, str]]:
    """Everyone who may deputise or be a fallback (active managers and finance officers), by
    name, as (person id, display name); ``besides``: leave that person out."""
    statement = (
        select(Person.id, Person.display_name)
        .join(RoleGrant, RoleGrant.person_id == Person.id)
        .where(RoleGrant.role.in_(("team_manager", "finance")), Person.active.is_(True))
        .distinct()
        .order_by(Person.display_name)
    )
    if besides is not None:
        statement = statement.where(Person.id != besides)
    return [(int(i), str(n)) for i, n in (await db.execute(statement)).all()]


async def fallbacks(db: AsyncSession) -> list[tuple[Team, int | None]]:
    """Every team, by name, with its fallback approver's person id (``None`` when not named)."""
    teams = list((await db.execute(select(Team).order_by(Team.name))).scalars())
    chosen = {c.team_id: c.fallback_approver_id for c in (await db.execute(select(ApprovalCover))).scalars()}
    return [(team, chosen.get(team.id)) for team in teams]

"""The council's organisation: teams (cost centres), people and the roles they hold."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from wallet import audit, duties
from wallet.access import Principal
from wallet.errors import DuplicateRecord, NotFound, OwnAdminRoleKept, UnknownCode
from wallet.models import ROLES, FundingSource, Person, RoleGrant, Team
from wallet.password_hashing import hashed
from wallet.passwords import check_password
from wallet.work_mobiles import uk_mobile


async def create_team(
    db: AsyncSession,
    *,
    actor: Principal | None,
    name: str,
    locality: str,
    cost_centre: str,
    department: str,
    default_funding_source_id: int | None = None,
    now: datetime,
    office_line1: str | None = None,
    office_line2: str | None = None,
    office_city: str | None = None,
    office_postal_code: str | None = None,
) -> Team:
    """A new team, published under ``department`` (never its own small name). Its office
    address (optional) is where its key workers' physical cards are shipped."""
    if actor is not None:
        actor.require("admin")
    if default_funding_source_id is not None and await db.get(FundingSource, default_funding_source_id) is None:
        raise NotFound(f"no funding source {default_funding_source_id}")
    team = Team(
        name=name,
        locality=locality,
        cost_centre=cost_centre,
        department=department,
        default_funding_source_id=default_funding_source_id,
        created_at=now,
        office_line1=office_line1,
        office_line2=office_line2,
        office_city=office_city,
        office_postal_code=office_postal_code,
    )
    await _add_unique(db, team, f"a team named {name!r} or with cost centre {cost_centre!r} already exists")
    await audit.record(
        db,
        actor=actor,
        action="team.created",
        subject_type="team",
        subject_id=team.id,
        now=now,
        details={"name": name, "cost_centre": cost_centre},
    )
    return team


async def create_person(
    db: AsyncSession,
    *,
    actor: Principal | None,
    email: str,
    display_name: str,
    password: str,
    now: datetime,
    password_hash: str | None = None,
    work_mobile: str | None = None,
) -> Person:
    """A new member of staff who can sign in, with a password long enough and not common
    (``wallet.passwords``). ``actor`` is ``None`` only for set-up scripts; tests may pass a
    ready ``password_hash`` (each demo account gets its own hash, with its own salt)."""
    if actor is not None:
        actor.require("admin")
    if password_hash is None:
        check_password(password, context=(email, display_name))
    person = Person(
        email=email.strip().lower(),
        display_name=display_name,
        password_hash=password_hash or await hashed(password),
        created_at=now,
        work_mobile=uk_mobile(work_mobile) if work_mobile else None,
    )
    await _add_unique(db, person, f"someone with the email {email!r} already exists")
    await audit.record(
        db,
        actor=actor,
        action="person.created",
        subject_type="person",
        subject_id=person.id,
        now=now,
        details={"email": person.email},
    )
    return person


async def check_grant(
    db: AsyncSession, *, actor: Principal | None, person_id: int, role: str, team_id: int | None
) -> int | None:
    """Refuse a grant that could not be made (see :mod:`wallet.duties`); the team it is for."""
    if actor is not None:
        actor.require(*duties.PROPOSERS["grant_role"])
    if role not in ROLES:
        raise UnknownCode(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if await db.get(Person, person_id) is None:
        raise NotFound(f"no person {person_id}")
    duties.refuse_own_grant(actor, person_id)
    needs_team = role in ("key_worker", "team_manager")
    if needs_team and (team_id is None or await db.get(Team, team_id) is None):
        raise NotFound(f"a {role} needs an existing team")
    await duties.check_role_fits(db, person_id=person_id, role=role)
    return team_id if needs_team else None


async def grant_role(
    db: AsyncSession,
    *,
    actor: Principal | None,
    person_id: int,
    role: str,
    team_id: int | None,
    now: datetime,
    proposal_id: int | None = None,
) -> RoleGrant:
    """Give a person a role (key workers and managers, for a team). A person does this only by
    confirming another admin's proposal (:func:`wallet.proposals.confirm`, which passes its id);
    ``actor=None`` is a set-up script."""
    duties.require_second_person(actor, confirmed=proposal_id is not None, what="granting a role")
    team_id = await check_grant(db, actor=actor, person_id=person_id, role=role, team_id=team_id)
    grant = RoleGrant(person_id=person_id, role=role, team_id=team_id, granted_at=now)
    await _add_unique(db, grant, "the person already holds that role")
    await audit.record(
        db,
        actor=actor,
        action="role.granted",
        subject_type="person",
        subject_id=person_id,
        now=now,
        details={"role": role, "team_id": grant.team_id, "proposal_id": proposal_id},
    )
    return grant


async def revoke_role(
    db: AsyncSession, *, actor: Principal | None, person_id: int, role: str, team_id: int | None, now: datetime
) -> None:
    """Take a role (or a team membership: a key worker's or manager's role for a team) back.
    Admins do this; nobody revokes their own admin role. The grant's history stays in the audit log."""
    if actor is not None:
        actor.require("admin")
        if actor.person_id == person_id and role == "admin":
            raise OwnAdminRoleKept("nobody revokes their own admin role; another admin must")
    found = (
        await db.execute(
            select(RoleGrant).where(
                RoleGrant.person_id == person_id,
                RoleGrant.role == role,
                RoleGrant.team_id.is_(None) if team_id is None else RoleGrant.team_id == team_id,
            )
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"person {person_id} holds no such role")
    await db.delete(found)
    await db.flush()
    await audit.record(
        db, actor=actor, action="role.revoked", subject_type="person", subject_id=person_id, now=now,
        details={"role": role, "team_id": team_id, "granted_at": found.granted_at.isoformat()},
    )  # fmt: skip


async def list_teams(db: AsyncSession) -> list[Team]:
    return list((await db.execute(select(Team).order_by(Team.name))).scalars())


async def get_team(db: AsyncSession, *, team_id: int) -> Team:
    """One team (every signed-in person may see the teams: they are the council's cost centres)."""
    team = await db.get(Team, team_id)
    if team is None:
        raise NotFound(f"no team {team_id}")
    return team


async def list_people(db: AsyncSession, *, who: Principal) -> list[Person]:
    """Every member of staff (admins and auditors only)."""
    who.require("admin", "auditor")
    return list((await db.execute(select(Person).order_by(Person.id))).scalars())


async def staff_with_roles(
    db: AsyncSession, *, who: Principal, limit: int = 500
) -> list[tuple[Person, list[RoleGrant]]]:
    """Members of staff by name, each with the roles they hold (admins only)."""
    who.require("admin")
    people = list((await db.execute(select(Person).order_by(Person.display_name).limit(limit))).scalars())
    grants: dict[int, list[RoleGrant]] = {}
    for grant in (await db.execute(select(RoleGrant).where(RoleGrant.person_id.in_([p.id for p in people])))).scalars():
        grants.setdefault(grant.person_id, []).append(grant)
    return [(person, grants.get(person.id, [])) for person in people]


async def _add_unique(db: AsyncSession, row: object, message: str) -> None:
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError as exc:
        raise DuplicateRecord(message) from exc


async def set_work_mobile(
    db: AsyncSession, *, actor: Principal, person_id: int, work_mobile: str, now: datetime
) -> Person:
    """Record an existing person's work mobile (UK, kept in E.164): admins only, as Stripe texts
    the person's card codes to it (someone who could change their own would receive them).
    A cardholder at Stripe is brought up to date by the cardholders-follow-people job."""
    actor.require("admin")
    person = await db.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person {person_id}")
    person.work_mobile = uk_mobile(work_mobile)
    await db.flush()
    await audit.record(
        db, actor=actor, action="person.work_mobile_set", subject_type="person", subject_id=person.id, now=now
    )
    return person


async def set_office_address(
    db: AsyncSession,
    *,
    actor: Principal,
    team_id: int,
    line1: str,
    line2: str | None,
    city: str,
    postal_code: str,
    now: datetime,
) -> Team:
    """Record an existing team's office address, where its key workers' physical cards are
    shipped (admins only). Cards already posted keep the address they were sent to."""
    actor.require("admin")
    team = await get_team(db, team_id=team_id)
    team.office_line1, team.office_line2 = line1, line2 or None
    team.office_city, team.office_postal_code = city, postal_code
    await db.flush()
    await audit.record(
        db, actor=actor, action="team.office_address_set", subject_type="team", subject_id=team.id, now=now
    )
    return team


async def get_person(db: AsyncSession, *, who: Principal, person_id: int) -> Person:
    """One member of staff (admins only: their contact details are kept on the admin pages)."""
    who.require("admin")
    person = await db.get(Person, person_id)
    if person is None:
        raise NotFound(f"no person {person_id}")
    return person

"""People as the council's identity provider provisions them (SCIM's Users and Groups).

A provisioned person is matched by the provider's stable id (``Person.external_id``: Entra's
object id, another provider's ``sub``), never by name. They have no Tide password (their hash
is unusable) and sign in through the provider. Groups are the council's own, mapped to Tide
roles by a setting (``TIDE_GROUP_ROLES``): a member of a mapped group holds its role (for its
team, named by cost centre), and leaving the group takes the role back. Deactivating a person
is ``approvals.leavers``' one use case, whatever asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet import audit
from wallet.errors import DuplicateRecord, NotFound
from wallet.models import Person, RoleGrant, Team
from wallet.organisation import grant_role, revoke_role

#: The password hash of a person who signs in only through the identity provider: argon2
#: refuses it, so no password ever matches.
NO_PASSWORD = "!identity-provider"  # noqa: S105 - an unusable hash, not a password


@dataclass(frozen=True, slots=True)
class PersonDetails:
    """What the identity provider says about a person (``None``: not said, keep as is)."""

    email: str | None = None
    display_name: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class GroupRole:
    """A group of the identity provider mapped to a Tide role (and, for a team role, the team's cost centre)."""

    group: str
    role: str
    cost_centre: str | None = None


async def provision_person(db: AsyncSession, *, details: PersonDetails, now: datetime) -> Person:
    """A new person, from the identity provider: no password, matched later by ``external_id``."""
    if not details.email:
        raise DuplicateRecord("a person needs an email address (userName)")
    email = details.email.strip().lower()
    same: ColumnElement[bool] = func.lower(Person.email) == email
    if details.external_id:
        same = same | (Person.external_id == details.external_id)
    taken = select(Person.id).where(same)
    if (await db.execute(taken)).first() is not None:
        raise DuplicateRecord("someone with that userName or externalId already exists")
    person = Person(
        email=email,
        display_name=(details.display_name or email)[:120],
        password_hash=NO_PASSWORD,
        external_id=details.external_id,
        created_at=now,
    )
    db.add(person)
    await db.flush()
    await audit.record(
        db, actor=None, action="person.provisioned", subject_type="person", subject_id=person.id, now=now,
        details={"external_id": details.external_id},
    )  # fmt: skip
    return person


async def provisioned(db: AsyncSession, *, person_id: int) -> Person:
    """A person the identity provider may see (not one it deleted), or ``NotFound``."""
    person = await db.get(Person, person_id)
    if person is None or person.removed_at is not None:
        raise NotFound(f"no user {person_id}")
    return person


async def change_details(db: AsyncSession, *, person: Person, details: PersonDetails, now: datetime) -> None:
    """Apply what the identity provider says changed (email, name, external id), audited."""
    changed: dict[str, str] = {}
    if details.email and details.email.strip().lower() != person.email:
        person.email = details.email.strip().lower()
        changed["email"] = person.email
    if details.display_name and details.display_name != person.display_name:
        person.display_name = details.display_name[:120]
        changed["display_name"] = "changed"
    if details.external_id and details.external_id != person.external_id:
        person.external_id = details.external_id
        changed["external_id"] = details.external_id
    if changed:
        await audit.record(
            db, actor=None, action="person.updated", subject_type="person", subject_id=person.id, now=now,
            details=changed,
        )  # fmt: skip
    await db.flush()


async def find_people(
    db: AsyncSession, *, attribute: str | None, value: str | None, start: int, count: int
) -> tuple[int, list[Person]]:
    """Provisioned people (not deleted), optionally where ``attribute`` (``userName``,
    ``externalId`` or ``id``) equals ``value``: the total, and one page from ``start`` (1-based)."""
    where: list[ColumnElement[bool]] = [Person.removed_at.is_(None)]
    if attribute == "userName" and value is not None:
        where.append(func.lower(Person.email) == value.strip().lower())
    elif attribute == "externalId" and value is not None:
        where.append(Person.external_id == value)
    elif attribute == "id" and value is not None:
        where.append(Person.id == (int(value) if value.isdigit() else -1))
    total = (await db.execute(select(func.count()).select_from(Person).where(*where))).scalar_one()
    page = await db.execute(select(Person).where(*where).order_by(Person.id).offset(max(start, 1) - 1).limit(count))
    return int(total), list(page.scalars())


async def _team_of(db: AsyncSession, mapping: GroupRole) -> int | None:
    if mapping.cost_centre is None:
        return None
    team_id = (await db.execute(select(Team.id).where(Team.cost_centre == mapping.cost_centre))).scalar_one_or_none()
    if team_id is None:
        raise NotFound(f"no team with cost centre {mapping.cost_centre!r}")
    return int(team_id)


async def group_members(db: AsyncSession, *, mapping: GroupRole) -> list[Person]:
    """The active and inactive people holding the group's role (for its team)."""
    team_id = await _team_of(db, mapping)
    statement = (
        select(Person)
        .join(RoleGrant, RoleGrant.person_id == Person.id)
        .where(
            RoleGrant.role == mapping.role,
            RoleGrant.team_id.is_(None) if team_id is None else RoleGrant.team_id == team_id,
            Person.removed_at.is_(None),
        )
        .order_by(Person.id)
    )
    return list((await db.execute(statement)).scalars())


async def change_group(
    db: AsyncSession, *, mapping: GroupRole, add: list[int], remove: list[int], now: datetime
) -> None:
    """Members added to a mapped group are granted its role; those removed lose it (the
    identity provider acts as the system: no second person, but every rule of
    ``wallet.duties`` about which roles go together still holds)."""
    team_id = await _team_of(db, mapping)
    held = {p.id for p in await group_members(db, mapping=mapping)}
    for person_id in add:
        await provisioned(db, person_id=person_id)
        if person_id not in held:
            await grant_role(db, actor=None, person_id=person_id, role=mapping.role, team_id=team_id, now=now)
            held.add(person_id)
    for person_id in remove:
        if person_id in held:
            await revoke_role(db, actor=None, person_id=person_id, role=mapping.role, team_id=team_id, now=now)
            held.discard(person_id)


async def roles_from_groups(
    db: AsyncSession, *, person_id: int, groups: list[GroupRole], mappings: list[GroupRole], now: datetime
) -> None:
    """Make the person's mapped roles those of the ``groups`` they are in (single sign-on's
    group claims): a role some mapping gives but none of their groups does is taken back, one
    their groups give is granted. Roles no mapping mentions stay managed in Tide."""
    wanted = {(m.role, await _team_of(db, m)) for m in groups}
    mapped = {(m.role, await _team_of(db, m)) for m in mappings}
    held = {
        (g.role, g.team_id)
        for g in (await db.execute(select(RoleGrant).where(RoleGrant.person_id == person_id))).scalars()
    }
    for role, team_id in sorted((held & mapped) - wanted, key=str):
        await revoke_role(db, actor=None, person_id=person_id, role=role, team_id=team_id, now=now)
    for role, team_id in sorted(wanted - held, key=str):
        await grant_role(db, actor=None, person_id=person_id, role=role, team_id=team_id, now=now)

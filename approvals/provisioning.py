"""What the identity provider asks through SCIM, each one use case: a joiner, a change, a
leaver. Deactivation (``active: false``, or deletion) is ``approvals.leavers``' use case, the
same an admin's deactivation is.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from approvals.leavers import deactivate_person, reactivate_person
from wallet.models import Person
from wallet.provisioning import PersonDetails, change_details, provision_person, provisioned


async def create_user(db: AsyncSession, *, details: PersonDetails, active: bool, now: datetime) -> Person:
    """A joiner (or, with ``active`` false, someone provisioned before their first day)."""
    person = await provision_person(db, details=details, now=now)
    if not active:
        person.active, person.deactivated_at = False, now
        await db.flush()
    return person


async def update_user(
    db: AsyncSession, *, person_id: int, details: PersonDetails, active: bool | None, now: datetime
) -> Person:
    """Apply a change; ``active`` false deactivates them (a leaver), true brings them back."""
    person = await provisioned(db, person_id=person_id)
    await change_details(db, person=person, details=details, now=now)
    if active is False and person.active:
        await deactivate_person(db, actor=None, person_id=person.id, now=now)
    elif active is True and not person.active:
        await reactivate_person(db, actor=None, person_id=person.id, now=now)
    return person


async def delete_user(db: AsyncSession, *, person_id: int, now: datetime) -> None:
    """The identity provider deleted them: deactivated, and no longer provisioned; their row
    and history stay."""
    await provisioned(db, person_id=person_id)
    await deactivate_person(db, actor=None, person_id=person_id, now=now, removed=True)

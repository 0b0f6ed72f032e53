"""Storing the spend policy: versions are appended and never edited; the newest is in force."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet import audit
from wallet.access import Principal
from wallet.models import PolicyVersion
from wallet.policy import DEFAULT_POLICY, PolicyDocument, parse_policy


async def current_policy(db: AsyncSession) -> tuple[int | None, PolicyDocument]:
    """The version in force (``None`` and the default policy before any is published)."""
    row = (await db.execute(select(PolicyVersion).order_by(PolicyVersion.id.desc()).limit(1))).scalar_one_or_none()
    if row is None:
        return None, DEFAULT_POLICY
    return row.id, parse_policy(row.rules)


async def publish_policy(
    db: AsyncSession, *, who: Principal | None, document: object, note: str, now: datetime
) -> PolicyVersion:
    """A new version of the policy, in force from now (admins only)."""
    if who is not None:
        who.require("admin")
    policy = parse_policy(document)
    version = PolicyVersion(
        rules=policy.model_dump(mode="json"), note=note, created_by=who.person_id if who else None, created_at=now
    )
    db.add(version)
    await db.flush()
    await audit.record(
        db,
        actor=who,
        action="policy.published",
        subject_type="policy",
        subject_id=version.id,
        now=now,
        details={"note": note, "rules": len(policy.rules)},
    )
    return version


async def policy_versions(db: AsyncSession) -> list[PolicyVersion]:
    return list((await db.execute(select(PolicyVersion).order_by(PolicyVersion.id.desc()))).scalars())

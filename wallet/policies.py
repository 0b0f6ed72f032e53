"""Storing the spend policy: versions are appended and never edited; the newest is in force."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet import audit, duties
from wallet.access import Principal
from wallet.models import PolicyVersion
from wallet.policy import DEFAULT_POLICY, PolicyDocument, parse_policy

#: Parsed versions, by database and version. Versions are never edited (the database refuses
#: it), so each is parsed once per process; every call still reads which version is newest.
_PARSED: dict[tuple[str, int, datetime], PolicyDocument] = {}


async def current_policy(db: AsyncSession) -> tuple[int | None, PolicyDocument]:
    """The version in force (``None`` and the default policy before any is published)."""
    newest = (
        await db.execute(select(PolicyVersion.id, PolicyVersion.created_at).order_by(PolicyVersion.id.desc()).limit(1))
    ).first()
    if newest is None:
        return None, DEFAULT_POLICY
    version_id, created_at = newest
    key = (str(db.get_bind().engine.url), int(version_id), created_at)
    policy = _PARSED.get(key)
    if policy is None:
        rules = (await db.execute(select(PolicyVersion.rules).where(PolicyVersion.id == version_id))).scalar_one()
        policy = _PARSED[key] = parse_policy(rules)
    return int(version_id), policy


async def publish_policy(
    db: AsyncSession,
    *,
    who: Principal | None,
    document: object,
    note: str,
    now: datetime,
    proposal_id: int | None = None,
) -> PolicyVersion:
    """A new version of the policy, in force from now: an admin confirming another admin's
    proposal (:func:`wallet.proposals.confirm` passes its id), or a set-up script (``who=None``)."""
    if who is not None:
        who.require(*duties.CONFIRMERS["publish_policy"])
    duties.require_second_person(who, confirmed=proposal_id is not None, what="publishing the spend policy")
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
        details={"note": note, "rules": len(policy.rules), "proposal_id": proposal_id},
    )
    return version


async def policy_versions(db: AsyncSession) -> list[PolicyVersion]:
    return list((await db.execute(select(PolicyVersion).order_by(PolicyVersion.id.desc()))).scalars())

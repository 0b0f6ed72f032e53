"""The audit log: every change of state, appended in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet.access import Principal
from wallet.listing import DEFAULT_LIMIT, Listing, fetch_page
from wallet.models import AuditEntry


async def record(
    db: AsyncSession,
    *,
    actor: Principal | None,
    action: str,
    subject_type: str,
    subject_id: object,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one entry: who (``None`` for the system), did what, to what, when, from which request."""
    db.add(
        AuditEntry(
            at=now,
            actor_id=actor.person_id if actor else None,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            request_id=actor.request_id if actor else None,
            details=details or {},
        )
    )


async def list_entries(
    db: AsyncSession,
    *,
    who: Principal,
    subject_type: str | None = None,
    subject_id: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Listing[AuditEntry]:
    """The audit log, newest first (admins and auditors only)."""
    who.require("admin", "auditor")
    statement = select(AuditEntry)
    if subject_type is not None:
        statement = statement.where(AuditEntry.subject_type == subject_type)
    if subject_id is not None:
        statement = statement.where(AuditEntry.subject_id == subject_id)
    return await fetch_page(db, statement, AuditEntry.id, cursor=cursor, limit=limit)

"""The audit log: every change of state, appended in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wallet.access import Principal
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

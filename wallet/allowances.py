"""Allowances: a manager's yes, good for one matching purchase before it expires.

An allowance lets through a purchase that the spend policy alone would send for approval
again; it never turns a policy's *no* into a yes, never widens its ceiling, and is consumed
by exactly one purchase. Finding one locks its row (``FOR UPDATE`` on PostgreSQL; SQLite
writes one at a time), and consuming it is a conditional update that only an unconsumed
allowance matches; the database refuses to touch a consumed one (migration 0005). So two
purchases racing for one allowance cannot both use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from wallet.approval_models import Allowance
from wallet.errors import AllowanceAlreadyUsed


async def grant(
    db: AsyncSession,
    *,
    worker_id: int,
    wallet_id: int,
    family_id: int | None,
    need_ids: Sequence[int],
    category: str,
    ceiling: int,
    expires_at: datetime,
    now: datetime,
) -> Allowance:
    """Record a new, unconsumed allowance."""
    allowance = Allowance(
        worker_id=worker_id,
        wallet_id=wallet_id,
        family_id=family_id,
        need_ids=sorted(need_ids),
        category=category,
        ceiling=ceiling,
        expires_at=expires_at,
        created_at=now,
    )
    db.add(allowance)
    await db.flush()
    return allowance


async def find_usable(
    db: AsyncSession, *, worker_id: int, category: str, amount: int, family_id: int | None, now: datetime
) -> Allowance | None:
    """The worker's unexpired, unused allowance that covers ``amount`` of ``category``, locked.

    With a family, an allowance for that family or for no particular family matches; without
    one (a card payment not yet linked), any of the worker's allowances for the category. The
    smallest ceiling that covers the amount is taken, so a larger one stays for a larger need.
    """
    statement = (
        select(Allowance)
        .where(
            Allowance.worker_id == worker_id,
            Allowance.category == category,
            Allowance.ceiling >= amount,
            Allowance.consumed_at.is_(None),
            Allowance.expires_at > now,
        )
        .order_by(Allowance.ceiling, Allowance.expires_at, Allowance.id)
        .limit(1)
        .with_for_update()
    )
    if family_id is not None:
        statement = statement.where(or_(Allowance.family_id == family_id, Allowance.family_id.is_(None)))
    return (await db.execute(statement)).scalar_one_or_none()


async def consume(db: AsyncSession, *, allowance: Allowance, purchase_id: int, now: datetime) -> None:
    """Mark ``allowance`` used by ``purchase_id``; refused if another purchase used it first."""
    result = await db.execute(
        update(Allowance)
        .where(Allowance.id == allowance.id, Allowance.consumed_at.is_(None))
        .values(consumed_at=now, consumed_purchase_id=purchase_id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise AllowanceAlreadyUsed(f"allowance {allowance.id} has already been used")
    # The row is written; tell the ORM without making it write the row again.
    set_committed_value(allowance, "consumed_at", now)
    set_committed_value(allowance, "consumed_purchase_id", purchase_id)


async def consume_matching(
    db: AsyncSession,
    *,
    worker_id: int,
    category: str,
    amount: int,
    family_id: int | None,
    now: datetime,
    purchase_id: int,
) -> Allowance | None:
    """Find a usable allowance and consume it for ``purchase_id`` at once; ``None`` if none."""
    allowance = await find_usable(
        db, worker_id=worker_id, category=category, amount=amount, family_id=family_id, now=now
    )
    if allowance is None:
        return None
    await consume(db, allowance=allowance, purchase_id=purchase_id, now=now)
    return allowance

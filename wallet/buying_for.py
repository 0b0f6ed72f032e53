"""A key worker says "I'm buying for this family" before paying by card.

At a till the family is not known, so its caps, needs and category rules cannot be asked. On
their phone a key worker states the family (and which of its open needs) they are about to buy
for; for the next ``minutes`` (a setting, 30 by default) the till asks the spend policy as the
app's purchases do — for that family — and links the card purchase to it. A newer statement
replaces an older one; without one, a card purchase meets the worker's tighter limit for
purchases with no family stated (``unassigned_over``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ledger.schema import Identity
from wallet import audit
from wallet.access import Principal
from wallet.errors import NeedNotOpen
from wallet.models import TZ, Base, Need
from wallet.purchases import family_to_buy_for

DEFAULT_MINUTES = 30


class BuyingFor(Base):
    """A key worker's statement that their next card purchases are for one family."""

    __tablename__ = "buying_for"
    __table_args__ = (
        CheckConstraint("expires_at > stated_at", name="expires_after_stated"),
        Index("ix_buying_for_worker_expires", "worker_id", "expires_at"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id"))
    need_ids: Mapped[list[Any]] = mapped_column(JSON)
    stated_at: Mapped[datetime] = mapped_column(TZ)
    expires_at: Mapped[datetime] = mapped_column(TZ)


async def state_buying_for(
    db: AsyncSession, *, who: Principal, family_id: int, need_ids: Sequence[int], minutes: int, now: datetime
) -> BuyingFor:
    """From now for ``minutes``, ``who``'s card purchases are for this family and these needs."""
    await family_to_buy_for(db, who=who, family_id=family_id)
    needs = (await db.execute(select(Need).where(Need.id.in_(list(need_ids))))).scalars().all()
    if (
        not need_ids
        or len(needs) != len(set(need_ids))
        or any(n.family_id != family_id or n.status != "open" for n in needs)
    ):
        raise NeedNotOpen("name at least one of this family's open needs")
    await db.execute(delete(BuyingFor).where(BuyingFor.worker_id == who.person_id))
    stated = BuyingFor(
        worker_id=who.person_id, family_id=family_id, need_ids=sorted(set(need_ids)), stated_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )  # fmt: skip
    db.add(stated)
    await db.flush()
    await audit.record(
        db, actor=who, action="buying_for.stated", subject_type="family", subject_id=family_id, now=now,
        details={"minutes": minutes},
    )  # fmt: skip
    return stated


async def stated_family(db: AsyncSession, *, worker_id: int, now: datetime) -> tuple[BuyingFor, tuple[str, ...]] | None:
    """The family ``worker_id`` said they are buying for, still in time, and its needs' codes."""
    stated = (
        await db.execute(
            select(BuyingFor)
            .where(BuyingFor.worker_id == worker_id, BuyingFor.expires_at > now)
            .order_by(BuyingFor.stated_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if stated is None:
        return None
    codes = (await db.execute(select(Need.code).where(Need.id.in_(list(stated.need_ids))))).scalars().all()
    return stated, tuple(sorted(set(codes)))


async def stop_buying_for(db: AsyncSession, *, who: Principal, now: datetime) -> None:
    """``who`` is no longer buying for a family: their card purchases meet the unassigned limit."""
    ended = await db.execute(delete(BuyingFor).where(BuyingFor.worker_id == who.person_id, BuyingFor.expires_at > now))
    if getattr(ended, "rowcount", 0):
        await audit.record(
            db, actor=who, action="buying_for.stopped", subject_type="person", subject_id=who.person_id, now=now
        )

"""A purchase being put together on the pages, kept on the server between the steps.

What a key worker types about a purchase (what it is, the shop) is free text, and free text
never travels in an address: addresses reach access logs, browser history and ``Referer``
headers. So the buying steps carry ids, codes and the amount in the address, and the words are
kept here, under the person and the flow's idempotency key (random, not personal), until the
purchase is made.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ledger.schema import Identity
from wallet.access import Principal
from wallet.models import TZ, Base


class BuyDraft(Base):
    """The free text of one person's purchase in progress (one flow: one idempotency key)."""

    __tablename__ = "buy_drafts"
    __table_args__ = (UniqueConstraint("person_id", "key", name="uq_buy_drafts_person_key"),)
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    key: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(200))
    supplier: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(TZ)


async def keep_draft(
    db: AsyncSession, *, who: Principal, key: str, description: str, supplier: str, now: datetime
) -> None:
    """Keep (or replace) what the person typed for the purchase in flow ``key``."""
    found = await _draft(db, who=who, key=key)
    if found is None:
        db.add(BuyDraft(person_id=who.person_id, key=key, description=description, supplier=supplier, updated_at=now))
    else:
        found.description, found.supplier, found.updated_at = description, supplier, now
    await db.flush()


async def draft_words(db: AsyncSession, *, who: Principal, key: str) -> tuple[str, str]:
    """(description, supplier) kept for flow ``key`` of this person; empty when there are none."""
    found = await _draft(db, who=who, key=key)
    return ("", "") if found is None else (found.description, found.supplier)


async def forget_draft(db: AsyncSession, *, who: Principal, key: str) -> None:
    """The purchase is made (or abandoned): its draft goes."""
    await db.execute(delete(BuyDraft).where(BuyDraft.person_id == who.person_id, BuyDraft.key == key))


async def _draft(db: AsyncSession, *, who: Principal, key: str) -> BuyDraft | None:
    statement = select(BuyDraft).where(BuyDraft.person_id == who.person_id, BuyDraft.key == key)
    return (await db.execute(statement)).scalar_one_or_none()

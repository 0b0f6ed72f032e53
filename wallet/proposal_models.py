"""The table behind two-person changes (separation of duties), on the shared ``metadata``.

A proposal records what one person asked for (grant a role, publish a policy, fund a pot
above the threshold); it takes effect only when a different person confirms it. The rules
are in :mod:`wallet.duties` and :mod:`wallet.proposals`; the database refuses the rest (see
migration 0012): the person who decides is never the proposer, a decided proposal carries
who and when, and its kind and status are known words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger.schema import Identity
from wallet.models import TZ, Base

PROPOSAL_KINDS = ("grant_role", "publish_policy", "fund_pot")
PROPOSAL_STATUSES = ("pending", "confirmed", "refused")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Proposal(Base):
    """A change one person proposed and a second must confirm before it takes effect."""

    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint(_in("kind", PROPOSAL_KINDS), name="kind_known"),
        CheckConstraint(_in("status", PROPOSAL_STATUSES), name="status_known"),
        CheckConstraint("decided_by IS NULL OR decided_by <> proposed_by", name="second_person_decides"),
        CheckConstraint(
            "(status = 'pending') = (decided_by IS NULL AND decided_at IS NULL)", name="decided_has_who_and_when"
        ),
        Index("ix_proposals_status", "status", "id"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(200))
    proposed_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    proposed_at: Mapped[datetime] = mapped_column(TZ)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(TZ)
    outcome: Mapped[str | None] = mapped_column(String(100))
    """What confirming made: the role grant's, policy version's or funding transfer's id."""

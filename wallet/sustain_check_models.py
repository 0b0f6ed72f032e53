"""The six-month check's table: one row per closed case, due six months after it closed, until
the key worker records what the check found (sustained, not sustained, could not contact)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.schema import Identity
from wallet.models import TZ, Base

CHECK_RESULTS = ("sustained", "not_sustained", "could_not_contact")
#: A check still owed a reminder: not recorded, and the manager not yet told it is overdue
#: (the reminder job reads only these, through their partial index; migration 0029).
STILL_DUE = "recorded_at IS NULL AND manager_told_at IS NULL"


class SustainCheck(Base):
    """A family's six-month check after the case closed: when it is due, who was reminded when,
    and, once recorded, what it found."""

    __tablename__ = "sustain_checks"
    __table_args__ = (
        CheckConstraint(
            "result IS NULL OR result IN ('sustained', 'not_sustained', 'could_not_contact')", name="result_known"
        ),
        CheckConstraint(
            "(result IS NULL) = (checked_on IS NULL) AND (result IS NULL) = (recorded_at IS NULL)"
            " AND (result IS NULL) = (recorded_by IS NULL)",
            name="recorded_whole",
        ),
        CheckConstraint("checked_on IS NULL OR checked_on >= closed_on", name="checked_after_closure"),
        CheckConstraint("due_on > closed_on", name="due_after_closure"),
        CheckConstraint("note IS NULL OR result IS NOT NULL", name="note_with_result"),
        Index("ix_sustain_checks_still_due", "due_on", postgresql_where=text(STILL_DUE), sqlite_where=text(STILL_DUE)),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id"), unique=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    closed_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(TZ)
    worker_told_at: Mapped[datetime | None] = mapped_column(TZ)
    manager_told_at: Mapped[datetime | None] = mapped_column(TZ)
    result: Mapped[str | None] = mapped_column(String(20))
    checked_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[datetime | None] = mapped_column(TZ)

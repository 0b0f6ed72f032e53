"""Reports' tables: finance's explanations of a month's reconciliation exceptions, the
fingerprints of a closed month's reports (so "reproducible byte for byte" can be checked),
and the council's own redaction lists (edited by admins, read by every published file).

The explanations and fingerprints are written by ``reports.close``, and so are the spend
snapshots (each purchase's spend to a closed month's end, kept at its close); they live on the
shared metadata like every table.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.schema import Identity
from wallet.models import TZ, Base, NeedReview


class ReconciliationExplanation(Base):
    """Why a reconciliation exception of a month is acceptable, in finance's words."""

    __tablename__ = "reconciliation_explanations"
    __table_args__ = (UniqueConstraint("month", "finding_key", name="uq_reconciliation_explanations_month_key"),)
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    finding_key: Mapped[str] = mapped_column(String(300))
    explanation: Mapped[str] = mapped_column(String(1000))
    explained_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    explained_at: Mapped[datetime] = mapped_column(TZ)


class ClosedReport(Base):
    """A report of a closed month as it was at the close: its SHA-256 and size."""

    __tablename__ = "closed_reports"
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    generated_at: Mapped[datetime] = mapped_column(TZ)


class RedactionTerm(Base):
    """One entry of a council's redaction lists: a payee, organisation, word or name (stored as
    typed; compared without case or extra spaces)."""

    __tablename__ = "redaction_terms"
    __table_args__ = (UniqueConstraint("list_name", "term", name="uq_redaction_terms_list_term"),)
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    list_name: Mapped[str] = mapped_column(String(30))
    term: Mapped[str] = mapped_column(String(120))
    added_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    added_at: Mapped[datetime] = mapped_column(TZ)


class SpendSnapshot(Base):
    """A closed month whose spend to date was kept at its close (``SpendToDate``): the
    needs-and-outcomes report of that month or a later one starts from it and reads only the
    ledger's movements since (``reports.spend_to_date``)."""

    __tablename__ = "spend_snapshots"
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    as_at: Mapped[datetime] = mapped_column(TZ)


class SpendToDate(Base):
    """A purchase's net spend (pence) to the end of ``month``, as at the month's close: kept for
    each purchase whose spend moved since the snapshot before (every purchase with spend, at the
    first); its spend to a later snapshot's month is its row of the latest month up to it."""

    __tablename__ = "spend_to_date"
    month: Mapped[date] = mapped_column(ForeignKey("spend_snapshots.month"), primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"), primary_key=True)
    net: Mapped[int] = mapped_column(BigInteger)


class LatestReview(Base):
    """A need's latest review (by the day reviewed, then the order recorded) up to the end of
    ``month``, as at the month's close: kept for each need reviewed since the snapshot before
    (every reviewed need, at the first), beside ``SpendToDate``."""

    __tablename__ = "latest_reviews"
    month: Mapped[date] = mapped_column(ForeignKey("spend_snapshots.month"), primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("need_reviews.id"))
    reviewed_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(10))


# The reviews recorded, or dated, since a snapshot (migration 0031).
Index("ix_need_reviews_created_at", cast("Any", NeedReview.__table__).c.created_at)
Index("ix_need_reviews_reviewed_on", cast("Any", NeedReview.__table__).c.reviewed_on)

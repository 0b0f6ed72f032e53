"""Idempotency records: the first response to a POST with an ``Idempotency-Key``, kept in the
database (not in a process's memory) so a retry to any app process gets the same answer, once.
Unique per person and key; the request's hash tells a retry from a different request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.schema import Identity
from wallet.models import TZ, Base


class IdempotencyRecord(Base):
    """The first response to a POST with an ``Idempotency-Key``, replayed to any retry."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("person_id", "key", name="uq_idempotency_records_person_key"),)
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    key: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(80))
    replays: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(TZ)

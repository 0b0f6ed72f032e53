"""The tables of keeping and erasing: receipts' bytes (the database receipt store), the
retention job's erasure permit, and the purchases still to be looked at for a missing receipt."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from wallet.models import TZ, Base


class ReceiptContent(Base):
    """A receipt's bytes, keyed by their SHA-256: the database receipt store (the default)."""

    __tablename__ = "receipt_contents"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ErasurePermit(Base):
    """Present only inside the retention job's transaction: while a row is here, the audit log's
    guard lets old entries be deleted (and nothing else changed)."""

    __tablename__ = "erasure_permits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(TZ)


class PurchaseAwaitingReceipt(Base):
    """A purchase that settled needing a receipt since the receipt sweep last looked: added by a
    trigger on ``purchases`` (migration 0024), taken by the sweep, so it never reads every
    settled purchase for the few that are new."""

    __tablename__ = "purchases_awaiting_receipt"
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"), primary_key=True)

"""Finance's settings kept in the app: each change is a new version, never an edit.

The newest version in force at a moment is the one the GL journal of that moment uses, so a
closed month's journal is made with the settings it was closed under. What a version holds
and how it is checked is :mod:`reports.finance_settings`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from ledger.schema import Identity
from wallet.models import TZ, Base


class FinanceSettingsVersion(Base):
    """One version of finance's settings (GL layout, codes, cost centres, VAT treatments)."""

    __tablename__ = "finance_settings_versions"
    __table_args__ = (CheckConstraint("version >= 1", name="version_positive"),)
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    changed_at: Mapped[datetime] = mapped_column(TZ, index=True)

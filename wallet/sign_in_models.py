"""The tables of signing in that hold a secret's hash: browser sessions and personal API tokens.

Each secret handed out (a session cookie, an API token) is stored only as its SHA-256. A
session has an absolute end and an idle timeout (``wallet.identity``); a token expires, and a
``read`` token may only read.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger.schema import Identity
from wallet.models import TZ, Base


class BrowserSession(Base):
    """A signed-in browser: the cookie's token is stored only as its SHA-256."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZ)
    expires_at: Mapped[datetime] = mapped_column(TZ)  # the absolute end, however busy
    last_seen_at: Mapped[datetime] = mapped_column(TZ)  # the idle timeout counts from here
    revoked_at: Mapped[datetime | None] = mapped_column(TZ)


class ApiToken(Base):
    """A personal API token for machine clients, stored only as its SHA-256. It expires, and a
    ``read`` token may only read (safe methods)."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("scope IN ('read', 'read_write')", name="scope_known"),)
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(TZ)
    last_used_at: Mapped[datetime | None] = mapped_column(TZ)
    revoked_at: Mapped[datetime | None] = mapped_column(TZ)
    expires_at: Mapped[datetime] = mapped_column(TZ)
    scope: Mapped[str] = mapped_column(String(20), server_default="read_write")


class SignInFlow(Base):
    """One single sign-on attempt, known by its state's and nonce's SHA-256 (the secrets
    themselves ride in the browser's cookie); used at most once, so a replayed state fails."""

    __tablename__ = "sign_in_flows"
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZ)
    used_at: Mapped[datetime | None] = mapped_column(TZ)


class SignInAttempt(Base):
    """A sign-in attempt, kept to rate-limit guessing across every app process."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_email_at", "email", "at"),
        Index("ix_sign_in_attempts_ip_at", "ip", "at"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(TZ)

"""Notifications: an outbox written with the event, sent later by email, read as an inbox.

``notify`` only adds a row in the caller's transaction, so a decision and the news of it
commit together and an unreachable mail server never blocks or undoes the decision.
``send_due`` (run by a job) claims a batch of unsent rows, sends each through a ``Mailer``,
and records the result; a failure is retried later with a growing pause, up to a limit.

Sending is safe to run twice. The claim is committed before any email leaves (it counts the
attempt and sets when the row may next be tried), each email's sending is committed as soon
as the mail server takes it, and a Stripe-like key travels with it: the ``Message-ID`` is the
notification's own. So a second run, or a worker killed after the server took an email, sends
nothing already sent or claimed; only a row claimed by a worker that died before recording
its result is tried again, after the pause, with the same ``Message-ID`` (mail programs show
a repeated id once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wallet.approval_models import Notification
from wallet.errors import NotFound
from wallet.models import Person, RoleGrant
from wallet.visibility import roles_see

MAX_ATTEMPTS = 8
BATCH = 50


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    body: str
    reference: str = ""
    """Names the message for good (``notification.<id>``): the mailer makes its ``Message-ID`` of it."""


class Mailer(Protocol):
    """Delivers one email or raises; the SMTP mailer is in ``approvals.mail``."""

    async def send(self, email: Email) -> None: ...


async def notify(
    db: AsyncSession,
    *,
    recipient_ids: Sequence[int],
    kind: str,
    subject: str,
    body: str,
    link: str | None,
    now: datetime,
    free_text: str | None = None,
) -> None:
    """Queue one notification per distinct recipient, in the caller's transaction. ``subject``
    and ``body`` must carry no free text or family detail; ``free_text`` (what a person typed)
    is added to the inbox's copy of each recipient whose roles see it, never to the email
    (:mod:`wallet.visibility`)."""
    recipients = sorted(set(recipient_ids))
    roles: dict[int, set[str]] = {r: set() for r in recipients}
    if free_text:
        grants = await db.execute(
            select(RoleGrant.person_id, RoleGrant.role).where(RoleGrant.person_id.in_(recipients))
        )
        for person_id, role in grants.all():
            roles[int(person_id)].add(str(role))
    for recipient_id in recipients:
        shown = free_text and roles_see(roles[recipient_id], "free_text", "notifications")
        db.add(
            Notification(
                recipient_id=recipient_id,
                kind=kind,
                subject=subject,
                body=f"{body} {free_text}" if shown else body,
                email_body=body,
                link=link,
                created_at=now,
                next_attempt_at=now,
                attempts=0,
            )
        )
    await db.flush()


async def inbox(db: AsyncSession, *, person_id: int, unread_only: bool = False, limit: int = 50) -> list[Notification]:
    """A person's notifications, newest first."""
    statement = select(Notification).where(Notification.recipient_id == person_id)
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    statement = statement.order_by(Notification.id.desc()).limit(limit)
    return list((await db.execute(statement)).scalars())


async def unread_count(db: AsyncSession, *, person_id: int) -> int:
    found = await db.execute(
        select(func.count())
        .select_from(Notification)
        .where(Notification.recipient_id == person_id, Notification.read_at.is_(None))
    )
    return int(found.scalar_one())


async def mark_read(db: AsyncSession, *, person_id: int, notification_id: int, now: datetime) -> Notification:
    """Mark one of the person's own notifications read (idempotent)."""
    row = await db.get(Notification, notification_id)
    if row is None or row.recipient_id != person_id:
        raise NotFound(f"no notification {notification_id}")
    if row.read_at is None:
        row.read_at = now
        await db.flush()
    return row


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int
    failed: int


async def send_due(
    sessions: async_sessionmaker[AsyncSession], *, mailer: Mailer, now: datetime, base_url: str = ""
) -> SendReport:
    """Send the notifications that are due, claimed first and each recorded as it goes (the
    module's docstring says why this is safe twice); other senders skip the claimed rows."""
    async with sessions() as db, db.begin():
        claimed = await claim_due(db, now=now, base_url=base_url)
    sent = failed = 0
    for notification_id, email in claimed:
        try:
            await mailer.send(email)
        except Exception as exc:
            failed += 1
            async with sessions() as db, db.begin():
                await _record(db, notification_id, last_error=f"{type(exc).__name__}: {exc}"[:500])
            continue
        sent += 1
        async with sessions() as db, db.begin():
            await _record(db, notification_id, sent_at=now, last_error=None)
    return SendReport(sent=sent, failed=failed)


async def claim_due(db: AsyncSession, *, now: datetime, base_url: str = "") -> list[tuple[int, Email]]:
    """Claim a batch of due notifications: each claim counts as an attempt and puts the row's
    next try after the pause, so no other run takes it meanwhile. Returns the emails to send."""
    statement = (
        select(Notification, Person.email)
        .join(Person, Person.id == Notification.recipient_id)
        .where(
            Notification.sent_at.is_(None),
            Notification.next_attempt_at <= now,
            Notification.attempts < MAX_ATTEMPTS,
        )
        .order_by(Notification.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True, of=Notification)
    )
    claimed = []
    for row, address in (await db.execute(statement)).all():
        attempts = row.attempts + 1
        await _record(db, row.id, attempts=attempts, next_attempt_at=now + _backoff(attempts))
        email = Email(to=address, subject=row.subject, body=_body(row, base_url), reference=f"notification.{row.id}")
        claimed.append((int(row.id), email))
    return claimed


async def _record(db: AsyncSession, notification_id: int, **values: object) -> None:
    await db.execute(
        update(Notification)
        .where(Notification.id == notification_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _body(row: Notification, base_url: str) -> str:
    """The email: never the inbox's free text (older rows, kept before 0012, say only their subject)."""
    said = row.email_body if row.email_body is not None else f"{row.subject}."
    if row.link:
        return f"{said}\n\nOpen Tide: {base_url}{row.link}\n"
    return f"{said}\n"

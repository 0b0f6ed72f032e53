"""Notifications are written with the event and really delivered by email to a local SMTP server
(aiosmtpd); a failed delivery is recorded and retried later, and never undoes the event."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.ext.asyncio import async_sessionmaker

from api.jobs import JobContext, send_notifications
from approvals.mail import SmtpMailer
from approvals.notifications import Email
from tests.approvals.support import at, decide, parked, scene
from tests.wallet.conftest import ClientFactory
from tests.wallet.support import County
from wallet.approval_models import Notification
from wallet.clock import now_utc
from wallet.demo import email

pytestmark = pytest.mark.dates


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802, ARG002 - aiosmtpd's hook
        assert isinstance(envelope.content, bytes)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _about(message: EmailMessage, request_id: int) -> bool:
    """Whether ``message`` links to that request (``/approvals/2`` is not ``/approvals/24``)."""
    return re.search(rf"/approvals/{request_id}(?!\d)", str(message)) is not None


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def context(county: County, port: int, moment: datetime) -> JobContext:
    return JobContext(
        sessionmaker=async_sessionmaker(county.engine, expire_on_commit=False),
        clock=at(moment),
        mailer=SmtpMailer(host="127.0.0.1", port=port, sender="tide@council.example", timeout_seconds=5),
        base_url="https://tide.council.example",
    )


async def send_everything(ctx: JobContext) -> None:
    while await send_notifications(ctx):
        pass


async def test_a_managers_notification_is_delivered_by_email(
    county: County, new_client: ClientFactory, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    s = await scene(county)
    client = await new_client()
    _, request_id = await parked(client, s)

    await send_everything(context(county, port, now_utc()))

    to_manager = [m for m in inbox.messages if m["To"] == email("manager.exeter") and _about(m, request_id)]
    assert len(to_manager) == 1
    message = to_manager[0]
    assert message["From"] == "tide@council.example"
    assert message["Subject"].startswith("Approval needed: £150.00")
    assert f"Open Tide: https://tide.council.example/approvals/{request_id}" in message.get_content()
    async with county.session() as db:
        row = (
            await db.execute(
                Notification.__table__.select().where(
                    Notification.recipient_id == s.manager.person_id, Notification.link == f"/approvals/{request_id}"
                )
            )
        ).one()
        assert row.sent_at is not None
        assert row.attempts == 1


async def test_an_unreachable_mail_server_never_blocks_the_decision_and_delivery_is_retried(
    county: County, new_client: ClientFactory, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    s = await scene(county)
    now = now_utc()
    client = await new_client(at(now))
    _, request_id = await parked(client, s)
    approved = await decide(client, s.manager, request_id)
    assert approved.status_code == 200, approved.text

    await send_everything(context(county, free_port(), now))  # nothing listens there
    async with county.session() as db:
        row: Any = (
            await db.execute(
                Notification.__table__.select().where(
                    Notification.recipient_id == s.worker.person_id, Notification.kind == "approval.approved"
                )
            )
        ).one()
        assert (row.sent_at, row.attempts) == (None, 1)
        assert row.last_error
        assert row.next_attempt_at > now

    await send_everything(context(county, port, now))  # not yet due again: nothing is resent
    assert not [m for m in inbox.messages if m["To"] == s.worker.email]

    await send_everything(context(county, port, now + timedelta(minutes=5)))
    delivered = [m for m in inbox.messages if m["To"] == s.worker.email]
    assert [m["Subject"] for m in delivered] == ["Approved: up to £150.00"]


async def test_the_inbox_lists_a_persons_own_notifications_and_marks_them_read(
    county: County, new_client: ClientFactory
) -> None:
    s = await scene(county)
    client = await new_client()
    _, request_id = await parked(client, s)
    await decide(client, s.manager, request_id)

    mine = await client.get("/api/v1/notifications", params={"unread": True}, headers=s.me.headers)
    assert [n["kind"] for n in mine.json()] == ["approval.approved"]
    notification_id = mine.json()[0]["id"]
    not_theirs = await client.post(f"/api/v1/notifications/{notification_id}/read", headers=s.manager.with_key())
    assert not_theirs.status_code == 404, not_theirs.text
    read = await client.post(f"/api/v1/notifications/{notification_id}/read", headers=s.me.with_key())
    assert read.status_code == 200, read.text
    assert read.json()["read_at"] is not None
    assert (await client.get("/api/v1/notifications", params={"unread": True}, headers=s.me.headers)).json() == []


class KilledAfterSending:
    """A mailer whose worker is killed just after the mail server took each email: the job
    never learns it was sent (the kill is the job's cancellation, as a stopping worker's)."""

    def __init__(self, mailer: SmtpMailer) -> None:
        self.mailer = mailer

    async def send(self, email: Email) -> None:
        await self.mailer.send(email)
        raise asyncio.CancelledError


async def test_a_notification_job_run_twice_sends_each_email_once(
    county: County, new_client: ClientFactory, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    s = await scene(county)
    now = now_utc()
    client = await new_client(at(now))
    _, request_id = await parked(client, s)
    ctx = context(county, port, now)

    await asyncio.gather(send_notifications(ctx), send_notifications(ctx))  # two workers at once
    await send_notifications(ctx)  # and once more, as a retried job
    about = [m["Message-ID"] for m in inbox.messages if _about(m, request_id)]
    assert about, "the request's emails were sent"
    assert len(about) == len(set(about)), about  # each email once (other approvers may have one each)
    to_manager = [m for m in inbox.messages if m["To"] == email("manager.exeter") and _about(m, request_id)]
    assert len(to_manager) == 1, [m["Message-ID"] for m in to_manager]


async def test_a_worker_killed_after_the_server_took_the_email_does_not_send_it_again_on_retry(
    county: County, new_client: ClientFactory, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    s = await scene(county)
    now = now_utc()
    client = await new_client(at(now))
    _, request_id = await parked(client, s)
    ctx = context(county, port, now)
    killed = JobContext(
        sessionmaker=ctx.sessionmaker, clock=ctx.clock, mailer=KilledAfterSending(SmtpMailer(
            host="127.0.0.1", port=port, sender="tide@council.example", timeout_seconds=5)), base_url=ctx.base_url,
    )  # fmt: skip

    with pytest.raises(asyncio.CancelledError):
        await send_notifications(killed)
    taken = [m["Message-ID"] for m in inbox.messages if _about(m, request_id)]
    assert len(taken) == 1  # the worker died after the mail server took this one
    killed_id = taken[0]

    def sent_as(message_id: str) -> int:
        return sum(1 for m in inbox.messages if m["Message-ID"] == message_id)

    await send_everything(ctx)  # the job retried at once: the claim holds, that email is not sent again
    assert sent_as(killed_id) == 1
    # Only after the pause is an unrecorded email tried again, and it keeps its Message-ID.
    await send_everything(context(county, port, now + timedelta(minutes=5)))
    assert sent_as(killed_id) == 2
    assert killed_id.startswith("<notification.")
    others = [m["Message-ID"] for m in inbox.messages if _about(m, request_id) and m["Message-ID"] != killed_id]
    assert len(others) == len(set(others))  # any other approver's email, once each

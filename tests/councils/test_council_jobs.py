"""Workers serve every council's queue, each from its own database, and each council's emails
go only to its own people, from its own sender, with links to its own address."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from api.council_jobs import council_job_apps, work_every_queue
from api.councils import councils_of
from ledger.database import create_engine
from tests.approvals.test_notifications import Inbox, free_port
from tests.councils.conftest import KEYS, deployment, host
from wallet.clock import now_utc

pytestmark = pytest.mark.postgresql


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def _people(url: str) -> set[str]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return {str(row[0]) for row in await connection.execute(text("SELECT email FROM people"))}
    finally:
        await engine.dispose()


async def _jobs_done(url: str) -> int:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            done = await connection.execute(
                text(
                    "SELECT count(*) FROM procrastinate.procrastinate_jobs "
                    "WHERE task_name = 'send_notifications' AND status = 'succeeded'"
                )
            )
            return int(done.scalar_one())
    finally:
        await engine.dispose()


async def test_one_worker_per_council_emails_each_councils_own_people_only(
    registry: Path, council_urls: dict[str, str], smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    councils = councils_of(deployment(registry, smtp_host="127.0.0.1", smtp_port=port))
    async with council_job_apps(councils, clock=now_utc) as apps:
        for app in apps.values():
            await app.configure_task("send_notifications").defer_async()
    await work_every_queue(councils, clock=now_utc, wait=False)

    for key in KEYS:
        assert await _jobs_done(council_urls[key]) >= 1, key
        sent = [message for message in inbox.messages if message["From"] == f"tide@{key}.example"]
        people = await _people(council_urls[key])
        assert {str(message["To"]) for message in sent} == people
        for message in sent:
            assert str(message["To"]).endswith(f"@{key}.example")
            assert f"https://{host(key)}/" in message.get_content()
    assert len(inbox.messages) == sum([len(await _people(url)) for url in council_urls.values()])

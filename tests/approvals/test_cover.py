"""Cover: a deputy decides on their dates only; a request that waits too long escalates to the
fallback approver, who cannot decide before then. Times come from injected clocks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import async_sessionmaker

from api.jobs import JobContext, escalate_approvals
from approvals import escalation
from tests.approvals.support import at, decide, new_manager, parked, scene
from tests.ledger.test_bounded_sweeps import _plan
from tests.wallet.conftest import ClientFactory
from tests.wallet.support import County
from wallet.approval_models import ApprovalRequest, Notification
from wallet.clock import local_date, now_utc
from wallet.policy import ApprovalRules

pytestmark = pytest.mark.dates


async def test_a_deputy_decides_for_the_manager_on_their_dates_and_not_after(
    county: County, new_client: ClientFactory
) -> None:
    s = await scene(county)
    now = now_utc()
    client = await new_client(at(now))
    deputy = await county.bearer(await new_manager(county, team_id=2))  # another team's manager, covering Exeter
    named = await client.post(
        "/api/v1/deputies",
        json={
            "deputy_id": deputy.person_id,
            "starts_on": local_date(now).isoformat(),
            "ends_on": (local_date(now) + timedelta(days=1)).isoformat(),
        },
        headers=s.manager.with_key(),
    )
    assert named.status_code == 201, named.text
    _, today_request = await parked(client, s)
    _, later_request = await parked(client, s)

    inbox = await client.get("/api/v1/approvals", params={"box": "inbox"}, headers=deputy.headers)
    assert today_request in [r["id"] for r in inbox.json()["items"]]
    assert (await decide(client, deputy, today_request)).status_code == 200

    three_days_on = await new_client(at(now + timedelta(days=3)))
    refused = await decide(three_days_on, deputy, later_request)
    assert refused.status_code == 404, refused.text  # no longer covering: the request is out of sight


async def test_a_deputy_must_be_a_manager_or_finance_and_the_dates_in_order(
    county: County, new_client: ClientFactory
) -> None:
    s = await scene(county)
    client = await new_client()
    today = local_date(now_utc())
    worker = await county.bearer(s.worker)
    not_approver = await client.post(
        "/api/v1/deputies",
        json={"deputy_id": worker.person_id, "starts_on": today.isoformat(), "ends_on": today.isoformat()},
        headers=s.manager.with_key(),
    )
    backwards = await client.post(
        "/api/v1/deputies",
        json={
            "deputy_id": (await county.bearer("finance")).person_id,
            "starts_on": today.isoformat(),
            "ends_on": (today - timedelta(days=1)).isoformat(),
        },
        headers=s.manager.with_key(),
    )

    assert not_approver.status_code == 403, not_approver.text
    assert backwards.status_code == 422, backwards.text


async def test_an_undecided_request_escalates_to_the_fallback_after_the_configured_time(
    county: County, new_client: ClientFactory
) -> None:
    s = await scene(county)
    fallback = await new_manager(county, team_id=2)  # a Torridge manager is Exeter's fallback
    fallback_in = await county.bearer(fallback)
    admin = await county.bearer("admin")
    now = now_utc()
    client = await new_client(at(now))
    set_cover = await client.put(
        "/api/v1/teams/1/fallback-approver", json={"person_id": fallback.person_id}, headers=admin.headers
    )
    assert set_cover.status_code == 200, set_cover.text
    _, request_id = await parked(client, s)

    too_soon = await decide(client, fallback_in, request_id)
    assert too_soon.status_code == 403, too_soon.text
    assert too_soon.json()["type"] == "urn:tide:problem:not-an-approver"

    def job_at(moment: datetime) -> JobContext:
        return JobContext(
            sessionmaker=async_sessionmaker(county.engine, expire_on_commit=False), clock=at(moment), mailer=None
        )

    async def escalated_at() -> object:
        async with county.session() as db:
            request = await db.get(ApprovalRequest, request_id)
            assert request is not None
            return request.escalated_at

    await escalate_approvals(job_at(now + timedelta(minutes=9)))
    assert await escalated_at() is None
    await escalate_approvals(job_at(now + timedelta(minutes=10, seconds=1)))
    assert await escalated_at() == now + timedelta(minutes=10, seconds=1)
    await escalate_approvals(job_at(now + timedelta(minutes=20)))
    assert await escalated_at() == now + timedelta(minutes=10, seconds=1)  # once only
    async with county.session() as db:
        told = await db.execute(
            select(Notification.kind).where(
                Notification.recipient_id == fallback.person_id, Notification.link == f"/approvals/{request_id}"
            )
        )
        assert list(told.scalars()) == ["approval.escalated"]

    later = await new_client(at(now + timedelta(minutes=11)))
    inbox = await later.get("/api/v1/approvals", params={"box": "inbox"}, headers=fallback_in.headers)
    assert request_id in [r["id"] for r in inbox.json()["items"]]
    decided = await decide(later, fallback_in, request_id)
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"


async def test_only_an_admin_names_the_fallback_and_only_an_approver_can_be_one(
    county: County, new_client: ClientFactory
) -> None:
    s = await scene(county)
    client = await new_client()
    by_manager = await client.put(
        "/api/v1/teams/1/fallback-approver", json={"person_id": s.manager.person_id}, headers=s.manager.headers
    )
    a_worker = await client.put(
        "/api/v1/teams/1/fallback-approver",
        json={"person_id": s.worker.person_id},
        headers=(await county.bearer("admin")).headers,
    )

    assert by_manager.status_code == 403, by_manager.text
    assert a_worker.status_code == 403, a_worker.text
    assert a_worker.json()["type"] == "urn:tide:problem:not-an-approver"


OLD_REQUESTS = 200


async def test_the_escalation_job_reads_only_the_requests_still_waiting(
    county: County, new_client: ClientFactory
) -> None:
    if county.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan shows what is read")
    s = await scene(county)
    now = now_utc()
    client = await new_client(at(now))
    _, request_id = await parked(client, s)
    async with county.session() as db:  # decided long ago: the job has nothing to do with them
        model = await db.get(ApprovalRequest, request_id)
        assert model is not None
        columns = {c.key: getattr(model, c.key) for c in ApprovalRequest.__table__.columns if c.key != "id"}
        decided = {"status": "declined", "decided_at": now, "decided_by": s.manager.person_id}
        db.add_all(ApprovalRequest(**{**columns, **decided}) for _ in range(OLD_REQUESTS))

    later = now + timedelta(minutes=11)
    async with county.engine.connect() as connection, connection.begin():
        await connection.execute(text("ANALYZE approval_requests"))
        query = escalation.overdue_query(rules=ApprovalRules(), now=later)
        steps = await _plan(connection, query)
        due: list[Any] = list((await connection.execute(query)).scalars())  # the first column: the ids
    assert request_id in due
    read = [step for step in steps if step.get("Relation Name") == "approval_requests"]
    assert [step.get("Index Name") for step in read] == ["ix_approval_requests_awaiting_escalation"], steps
    assert not any(step["Node Type"] == "Seq Scan" for step in steps)

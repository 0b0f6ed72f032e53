"""Approval requests over the API: raised by the policy or ahead, decided once, by the right people."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tests.approvals.support import NEEDS_APPROVAL, advance, at, decide, new_manager, parked, purchase, scene
from tests.wallet.conftest import ClientFactory
from tests.wallet.support import County
from wallet.approval_models import ApprovalRequest, Notification
from wallet.clock import now_utc

# Raising -----------------------------------------------------------------------------------


async def test_a_purchase_the_policy_sends_for_approval_raises_a_request_in_the_managers_inbox(
    county: County, client: AsyncTestClient[Any]
) -> None:
    s = await scene(county)
    purchase_id, request_id = await parked(client, s)

    inbox = await client.get("/api/v1/approvals", params={"box": "inbox"}, headers=s.manager.headers)
    assert inbox.status_code == 200, inbox.text
    mine = [r for r in inbox.json()["items"] if r["id"] == request_id]
    assert len(mine) == 1
    request = mine[0]
    assert (request["origin"], request["status"], request["purchase_id"]) == ("policy", "open", purchase_id)
    assert (request["amount_pence"], request["category"], request["family_id"]) == (
        NEEDS_APPROVAL,
        "HH-ESS",
        s.case.family_id,
    )
    assert request["context"]["wallet_available_pence"] == 50_000  # nothing held for a parked purchase
    assert request["context"]["family_open_needs"] == ["HOU-COND"]
    async with county.session() as db:
        told = (
            await db.execute(
                select(Notification.kind).where(
                    Notification.recipient_id == s.manager.person_id, Notification.link == f"/approvals/{request_id}"
                )
            )
        ).scalars()
        assert list(told) == ["approval.raised"]


async def test_a_key_worker_asks_in_advance_and_only_their_teams_manager_sees_it(
    county: County, client: AsyncTestClient[Any]
) -> None:
    s = await scene(county)
    raised = await client.post("/api/v1/approvals", json=advance(s.case), headers=s.me.with_key())
    assert raised.status_code == 201, raised.text
    assert raised.json()["origin"] == "advance"
    request_id = raised.json()["id"]

    other = await county.bearer("manager.torridge")
    assert (await client.get(f"/api/v1/approvals/{request_id}", headers=other.headers)).status_code == 404
    refused = await decide(client, other, request_id)
    assert refused.status_code == 404, refused.text


async def test_a_request_for_a_need_of_another_family_is_refused(county: County, client: AsyncTestClient[Any]) -> None:
    s = await scene(county)
    elsewhere = await county.open_family(s.worker, needs=("FIN-DEBT",))
    body = advance(s.case, need_ids=elsewhere.need_ids)
    refused = await client.post("/api/v1/approvals", json=body, headers=s.me.with_key())
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"] == "urn:tide:problem:need-not-open"


# Deciding ----------------------------------------------------------------------------------


async def test_nobody_approves_their_own_request_even_as_a_manager(
    county: County, client: AsyncTestClient[Any]
) -> None:
    boss = await new_manager(county, with_wallet=True)  # a manager who is also a key worker
    me = await county.bearer(boss)
    case = await county.open_family(boss)
    made = await client.post("/api/v1/purchases", json=purchase(case), headers=me.with_key())
    assert made.status_code == 202, made.text

    refused = await decide(client, me, made.json()["approval_request_id"])

    assert refused.status_code == 403, refused.text
    assert refused.json()["type"] == "urn:tide:problem:self-approval-refused"


async def test_the_database_refuses_a_request_decided_by_its_requester(county: County) -> None:
    s = await scene(county)
    async with county.session() as db:
        row = ApprovalRequest(
            requester_id=s.worker.person_id, wallet_id=s.worker.wallet_id, team_id=1, family_id=None, need_ids=[],
            category="HH-ESS", amount=100, reason="r", origin="advance", status="open", needs_second=False,
            created_at=now_utc(), updated_at=now_utc(),
        )  # fmt: skip
        db.add(row)
    with pytest.raises(DBAPIError, match="no_self_decision"):
        async with county.session() as db:
            await db.execute(
                text("UPDATE approval_requests SET status = 'declined', decided_by = requester_id, decided_at = :t"
                     " WHERE id = :id"),
                {"t": now_utc(), "id": row.id},
            )  # fmt: skip


async def test_a_decline_needs_a_reason_and_declines_the_parked_purchase(
    county: County, client: AsyncTestClient[Any]
) -> None:
    s = await scene(county)
    purchase_id, request_id = await parked(client, s)

    no_reason = await decide(client, s.manager, request_id, "decline")
    assert no_reason.status_code == 422, no_reason.text
    assert no_reason.json()["type"] == "urn:tide:problem:reason-required"
    declined = await decide(client, s.manager, request_id, "decline", reason="Ask the furniture scheme first")
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"

    bought = await client.get(f"/api/v1/purchases/{purchase_id}", headers=s.me.headers)
    assert bought.json()["status"] == "declined"
    assert "approval_declined" in bought.json()["reason_codes"]


async def test_a_decision_is_final_and_a_second_one_is_refused(county: County, client: AsyncTestClient[Any]) -> None:
    s = await scene(county)
    _, request_id = await parked(client, s)
    assert (await decide(client, s.manager, request_id)).status_code == 200

    again = await decide(client, s.manager, request_id, "decline", reason="changed my mind")

    assert again.status_code == 409, again.text
    assert again.json()["type"] == "urn:tide:problem:approval-already-decided"


async def test_the_database_refuses_to_change_a_decided_request(county: County, client: AsyncTestClient[Any]) -> None:
    s = await scene(county)
    _, request_id = await parked(client, s)
    assert (await decide(client, s.manager, request_id, "decline", reason="no")).status_code == 200
    with pytest.raises(DBAPIError, match="already decided"):
        async with county.session() as db:
            await db.execute(text("UPDATE approval_requests SET reason = 'x' WHERE id = :id"), {"id": request_id})


async def test_an_approval_may_lower_the_ceiling_but_never_raise_it(
    county: County, client: AsyncTestClient[Any]
) -> None:
    s = await scene(county)
    _, request_id = await parked(client, s)

    higher = await decide(client, s.manager, request_id, ceiling_pence=NEEDS_APPROVAL + 1)
    assert higher.status_code == 422, higher.text
    assert higher.json()["type"] == "urn:tide:problem:ceiling-above-request"
    lower = await decide(client, s.manager, request_id, ceiling_pence=12_000)
    assert lower.status_code == 200, lower.text
    assert (lower.json()["status"], lower.json()["approved_ceiling_pence"]) == ("approved", 12_000)


async def test_above_the_threshold_a_second_person_must_approve_too(
    county: County, client: AsyncTestClient[Any]
) -> None:
    s = await scene(county)
    raised = await client.post("/api/v1/approvals", json=advance(s.case, 22_000), headers=s.me.with_key())
    request_id = raised.json()["id"]
    assert raised.json()["needs_second"] is True

    first = await decide(client, s.manager, request_id)
    assert (first.json()["status"], first.json()["allowance_id"]) == ("awaiting_second", None)
    same_again = await decide(client, s.manager, request_id)
    assert same_again.status_code == 409, same_again.text
    assert same_again.json()["type"] == "urn:tide:problem:second-approver-required"
    other_team = await decide(client, await county.bearer("manager.torridge"), request_id)
    assert other_team.status_code in {403, 404}, other_team.text

    finance = await county.bearer("finance")
    second = await decide(client, finance, request_id)
    assert second.status_code == 200, second.text
    assert (second.json()["status"], second.json()["approved_ceiling_pence"]) == ("approved", 22_000)
    assert second.json()["first_approver_id"] == s.manager.person_id
    assert second.json()["decided_by"] == finance.person_id


async def test_a_first_approval_lowered_below_the_threshold_needs_nobody_else(
    county: County, client: AsyncTestClient[Any]
) -> None:
    s = await scene(county)
    raised = await client.post("/api/v1/approvals", json=advance(s.case, 22_000), headers=s.me.with_key())

    approved = await decide(client, s.manager, raised.json()["id"], ceiling_pence=18_000)

    assert (approved.json()["status"], approved.json()["approved_ceiling_pence"]) == ("approved", 18_000)


# The allowance -----------------------------------------------------------------------------


async def test_an_approval_lets_the_retry_at_the_till_through_once(
    county: County, client: AsyncTestClient[Any]
) -> None:
    s = await scene(county)
    _, request_id = await parked(client, s)
    approved = await decide(client, s.manager, request_id)
    assert approved.json()["allowance_id"] is not None

    retry = await client.post("/api/v1/purchases", json=purchase(s.case), headers=s.me.with_key())
    assert retry.status_code == 201, retry.text
    assert (retry.json()["decision"], retry.json()["allowance_id"]) == ("allow", approved.json()["allowance_id"])
    assert "allowance_used" in retry.json()["purchase"]["reason_codes"]
    assert await county.available(s.worker.wallet_id) == 50_000 - NEEDS_APPROVAL

    once_more = await client.post("/api/v1/purchases", json=purchase(s.case), headers=s.me.with_key())
    assert once_more.status_code == 202, once_more.text
    used = await client.get(f"/api/v1/approvals/{request_id}", headers=s.me.headers)
    assert used.json()["allowance_used"] is True


async def test_an_allowance_never_widens_its_ceiling(county: County, client: AsyncTestClient[Any]) -> None:
    s = await scene(county)
    _, request_id = await parked(client, s)
    await decide(client, s.manager, request_id, ceiling_pence=12_000)

    above = await client.post("/api/v1/purchases", json=purchase(s.case, 12_001), headers=s.me.with_key())
    assert above.status_code == 202, above.text
    within = await client.post("/api/v1/purchases", json=purchase(s.case, 12_000), headers=s.me.with_key())
    assert within.status_code == 201, within.text


async def test_an_allowance_is_bound_to_its_family_and_category(county: County, client: AsyncTestClient[Any]) -> None:
    s = await scene(county)
    _, request_id = await parked(client, s)
    await decide(client, s.manager, request_id)
    another = await county.open_family(s.worker)

    other_family = await client.post("/api/v1/purchases", json=purchase(another), headers=s.me.with_key())
    other_category = await client.post(
        "/api/v1/purchases", json=purchase(s.case, category="DIGITAL"), headers=s.me.with_key()
    )

    assert (other_family.status_code, other_category.status_code) == (202, 202)


async def test_an_expired_allowance_allows_nothing(county: County, new_client: ClientFactory) -> None:
    s = await scene(county)
    today = await new_client()
    _, request_id = await parked(today, s)
    await decide(today, s.manager, request_id)

    tomorrow = await new_client(at(now_utc() + timedelta(hours=24, minutes=1)))
    late = await tomorrow.post("/api/v1/purchases", json=purchase(s.case), headers=s.me.with_key())

    assert late.status_code == 202, late.text


async def test_the_policys_no_stays_no_whatever_was_approved(county: County, client: AsyncTestClient[Any]) -> None:
    s = await scene(county)
    _, request_id = await parked(client, s)
    await decide(client, s.manager, request_id)

    gambling = await client.post(
        "/api/v1/purchases", json=purchase(s.case, 5_000, category="GAMBLING"), headers=s.me.with_key()
    )

    assert gambling.status_code == 402, gambling.text


async def test_a_parked_purchase_is_completed_once_approved(county: County, client: AsyncTestClient[Any]) -> None:
    s = await scene(county)
    purchase_id, request_id = await parked(client, s)
    early = await client.post(f"/api/v1/purchases/{purchase_id}/complete", headers=s.me.with_key())
    assert early.status_code == 409, early.text

    await decide(client, s.manager, request_id)
    done = await client.post(f"/api/v1/purchases/{purchase_id}/complete", headers=s.me.with_key())

    assert done.status_code == 200, done.text
    assert done.json()["status"] == "held"
    assert await county.available(s.worker.wallet_id) == 50_000 - NEEDS_APPROVAL
    twice = await client.post(f"/api/v1/purchases/{purchase_id}/complete", headers=s.me.with_key())
    assert twice.status_code == 409, twice.text


async def test_the_database_refuses_to_use_an_allowance_twice(county: County, client: AsyncTestClient[Any]) -> None:
    s = await scene(county)
    _, request_id = await parked(client, s)
    allowance_id = (await decide(client, s.manager, request_id)).json()["allowance_id"]
    first = await client.post("/api/v1/purchases", json=purchase(s.case), headers=s.me.with_key())
    assert first.status_code == 201
    with pytest.raises(DBAPIError, match="allowance"):
        async with county.session() as db:
            await db.execute(
                text("UPDATE allowances SET consumed_purchase_id = NULL, consumed_at = NULL WHERE id = :id"),
                {"id": allowance_id},
            )


# Questions, answers, cancelling ------------------------------------------------------------


async def test_a_manager_asks_a_question_the_request_stays_open_and_the_worker_answers(
    county: County, client: AsyncTestClient[Any]
) -> None:
    s = await scene(county)
    _, request_id = await parked(client, s)

    asked = await client.post(
        f"/api/v1/approvals/{request_id}/questions", json={"body": "Is the old bed beyond repair?"},
        headers=s.manager.with_key(),
    )  # fmt: skip
    assert asked.status_code == 201, asked.text
    answered = await client.post(
        f"/api/v1/approvals/{request_id}/messages", json={"body": "Yes, the frame has snapped"}, headers=s.me.with_key()
    )
    assert answered.status_code == 201, answered.text
    worker_asks = await client.post(
        f"/api/v1/approvals/{request_id}/questions", json={"body": "?"}, headers=s.me.with_key()
    )
    assert worker_asks.status_code == 403, worker_asks.text

    request = (await client.get(f"/api/v1/approvals/{request_id}", headers=s.manager.headers)).json()
    assert request["status"] == "open"
    assert [(m["kind"], m["body"]) for m in request["messages"]] == [
        ("question", "Is the old bed beyond repair?"),
        ("answer", "Yes, the frame has snapped"),
    ]
    mine = await client.get("/api/v1/notifications", params={"unread": True}, headers=s.manager.headers)
    assert any(n["kind"] == "approval.answer" and n["link"] == f"/approvals/{request_id}" for n in mine.json())


async def test_only_the_requester_cancels_and_a_cancelled_request_takes_no_decision(
    county: County, client: AsyncTestClient[Any]
) -> None:
    s = await scene(county)
    purchase_id, request_id = await parked(client, s)

    by_manager = await client.post(f"/api/v1/approvals/{request_id}/cancel", headers=s.manager.with_key())
    assert by_manager.status_code == 403, by_manager.text
    cancelled = await client.post(f"/api/v1/approvals/{request_id}/cancel", headers=s.me.with_key())
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert (await client.get(f"/api/v1/purchases/{purchase_id}", headers=s.me.headers)).json()["status"] == "cancelled"
    late = await decide(client, s.manager, request_id)
    assert late.status_code == 409, late.text


async def test_a_retried_decision_answers_the_first_response_again(
    county: County, client: AsyncTestClient[Any]
) -> None:
    s = await scene(county)
    _, request_id = await parked(client, s)
    headers = s.manager.with_key()
    first = await client.post(f"/api/v1/approvals/{request_id}/decision", json={"verdict": "approve"}, headers=headers)
    again = await client.post(f"/api/v1/approvals/{request_id}/decision", json={"verdict": "approve"}, headers=headers)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()

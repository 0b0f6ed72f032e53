"""Leavers and roles taken back: a departing manager's waiting requests go to the team's
fallback approver and their deputyships too; a departing key worker's own open requests are
withdrawn; admins deactivate, reactivate and revoke from the API, but never themselves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from approvals import cover
from approvals.leavers import deactivate_person
from approvals.requests import RequestAsk, raise_request
from ledger.clock import now_utc
from ledger.database import create_engine
from tests.api.conftest import sign_in
from wallet import families
from wallet.access import Principal, load_principal
from wallet.approval_models import ApprovalRequest, Deputy, Notification
from wallet.clock import local_date
from wallet.demo import email
from wallet.models import Person
from wallet.policies import current_policy


async def _who(db: AsyncSession, name: str) -> Principal:
    person_id = (await db.execute(select(Person.id).where(Person.email == email(name)))).scalar_one()
    return await load_principal(db, person_id=person_id)


async def test_a_leaving_manager_hands_requests_and_deputyships_to_the_fallback_and_a_leaving_worker_withdraws_theirs(
    county_url: str,
) -> None:
    engine = create_engine(county_url, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            now = now_utc()
            admin, finance = await _who(db, "admin"), await _who(db, "finance")
            leaving_manager, other_manager = await _who(db, "manager.torridge"), await _who(db, "manager.exeter")
            worker = await _who(db, "kw.torridge.01")
            team_id = min(worker.worker_team_ids)
            for team in (team_id, min(other_manager.managed_team_ids)):
                await cover.set_fallback(db, who=admin, team_id=team, person_id=finance.person_id, now=now)
            deputy = await cover.name_deputy(
                db, who=other_manager, deputy_id=leaving_manager.person_id, starts_on=local_date(now),
                ends_on=local_date(now) + timedelta(days=7), now=now,
            )  # fmt: skip
            family = await families.open_family(
                db, who=worker, team_id=team_id, lead_worker_id=worker.person_id, locality="Torridge",
                age_bands=["5-10"], opened_on=local_date(now), now=now,
            )  # fmt: skip
            need = await families.add_need(
                db, who=worker, family_id=family.id, code="EDU-ATT", whose="child", identified_on=local_date(now),
                evidence_source="school", baseline_score=4, now=now,
            )  # fmt: skip
            _, policy = await current_policy(db)
            ask = RequestAsk(family_id=family.id, need_ids=[need.id], category="CLOTH", amount=15_000, reason="Coat")
            request = await raise_request(db, who=worker, ask=ask, rules=policy.approvals, now=now)

            manager_left = await deactivate_person(db, actor=admin, person_id=leaving_manager.person_id, now=now)

            assert manager_left.requests_handed_over == 1
            assert request.escalated_at == now
            assert (await db.get(Deputy, deputy.id)).deputy_id == finance.person_id  # type: ignore[union-attr]
            told = await db.execute(select(Notification.kind).where(Notification.recipient_id == finance.person_id))
            assert "approval.escalated" in set(told.scalars())

            worker_left = await deactivate_person(db, actor=admin, person_id=worker.person_id, now=now)

            assert worker_left.requests_cancelled == 1
            assert (await db.get(ApprovalRequest, request.id)).status == "cancelled"  # type: ignore[union-attr]
            await db.rollback()  # the county stays as it was for the other tests
    finally:
        await engine.dispose()


async def test_admins_deactivate_and_reactivate_people_and_revoke_roles_but_never_their_own(
    client: AsyncTestClient[Any],
) -> None:
    admin = await sign_in(client, "admin")
    headers = {**admin.headers, "idempotency-key": "identity-fresh-person"}
    body = {"email": "fresh.person@identity.invalid", "display_name": "Fresh Person", "password": "a long password"}
    made = await client.post("/api/v1/people", json=body, headers=headers)
    person_id = made.json()["id"]

    own_role = await client.delete(f"/api/v1/people/{admin.person_id}/roles/admin", headers=admin.headers)
    assert own_role.status_code == 403
    assert own_role.json()["type"] == "urn:tide:problem:own-admin-role-kept"
    own_deactivation = await client.post(f"/api/v1/people/{admin.person_id}/deactivation", headers=admin.headers)
    assert own_deactivation.status_code == 403

    left = await client.post(f"/api/v1/people/{person_id}/deactivation", headers=admin.headers)
    assert left.status_code == 200, left.text
    assert left.json()["person_id"] == person_id
    again = await client.post(f"/api/v1/people/{person_id}/deactivation", headers=admin.headers)
    assert again.status_code == 409
    back = await client.post(f"/api/v1/people/{person_id}/reactivation", headers=admin.headers)
    assert (back.status_code, back.json()["active"]) == (200, True)

    auditor = await sign_in(client, "auditor")
    admin = await sign_in(client, "admin")
    revoked = await client.delete(f"/api/v1/people/{auditor.person_id}/roles/auditor", headers=admin.headers)
    assert revoked.status_code == 204, revoked.text
    gone = await client.delete(f"/api/v1/people/{auditor.person_id}/roles/auditor", headers=admin.headers)
    assert gone.status_code == 404


async def test_the_admin_page_deactivates_and_reactivates_with_the_same_use_case(
    client: AsyncTestClient[Any],
) -> None:
    admin = await sign_in(client, "admin")
    body = {"email": "page.leaver@identity.invalid", "display_name": "Page Leaver", "password": "a long password"}
    made = await client.post("/api/v1/people", json=body, headers={**admin.headers, "idempotency-key": "page-leaver"})
    person_id = made.json()["id"]

    for action, done in (("deactivate", "deactivated"), ("reactivate", "reactivated")):
        overview = await client.get("/admin")
        assert f'action="/admin/people/{person_id}/{action}"' in overview.text
        assert f'action="/admin/people/{admin.person_id}/' not in overview.text  # no button for oneself
        form = {"csrf_token": admin.headers["x-csrf-token"], "idempotency_key": f"page-{action}"}
        sent = await client.post(f"/admin/people/{person_id}/{action}", data=form, follow_redirects=False)
        assert (sent.status_code, sent.headers["location"]) == (303, f"/admin?done={done}")

    refused = await client.post(
        f"/admin/people/{admin.person_id}/deactivate",
        data={"csrf_token": admin.headers["x-csrf-token"], "idempotency_key": "page-self"},
    )
    assert refused.status_code == 403
    assert "Another admin must do this" in refused.text

"""Separation of duties (wallet.duties): no one person funds, grants, publishes and spends alone.

An admin holds no wallet and no key worker's role; nobody grants themselves a role; granting a
role, publishing the spend policy and funding a pot above the threshold are proposed by one
person and take effect only when a different person confirms them; every step is audited.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from tests.wallet.support import PASSWORD, County, SignedIn
from wallet import organisation
from wallet.clock import now_utc
from wallet.demo import email as demo_email
from wallet.errors import SecondPersonNeeded
from wallet.models import AuditEntry, FundingSource, Person, RoleGrant
from wallet.policy import DEFAULT_POLICY

OVER_THRESHOLD = 1_000_001  # £10,000.01: the default threshold is £10,000


async def roles_of(county: County, person_id: int) -> set[str]:
    async with county.session() as db:
        return set((await db.execute(select(RoleGrant.role).where(RoleGrant.person_id == person_id))).scalars())


async def actions(county: County) -> list[str]:
    async with county.session() as db:
        return list((await db.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars())


async def pot_id(county: County) -> int:
    async with county.session() as db:
        return int((await db.execute(select(FundingSource.id).where(FundingSource.code == "prevention"))).scalar_one())


async def confirm(client: AsyncTestClient[Any], who: SignedIn, proposal_id: int) -> Any:
    return await client.post(f"/api/v1/proposals/{proposal_id}/confirmation", headers=who.headers)


# One admin alone ----------------------------------------------------------------------------------


async def test_an_admin_cannot_grant_themselves_a_role_nor_open_themselves_a_wallet(
    county: County, client: AsyncTestClient[Any]
) -> None:
    admin = await county.bearer("admin")

    own_role = await client.post(
        f"/api/v1/people/{admin.person_id}/roles", json={"role": "team_manager", "team_id": 1}, headers=admin.headers
    )
    own_wallet = await client.post(
        "/api/v1/wallets", json={"person_id": admin.person_id, "team_id": 1}, headers=admin.headers
    )

    assert own_role.status_code == 403, own_role.text
    assert own_role.json()["type"] == "urn:tide:problem:own-grant-refused"
    assert own_wallet.status_code in (403, 409), own_wallet.text
    assert await roles_of(county, admin.person_id) == {"admin"}
    assert admin.wallet_id is None


async def test_an_admin_is_never_made_a_key_worker_and_a_wallet_holder_is_never_made_an_admin(
    county: County, client: AsyncTestClient[Any]
) -> None:
    admin = await county.bearer("admin")
    other_admin = await county.new_person("admin")
    worker = await county.new_key_worker(team_id=1, wallet_pence=0)

    admin_as_worker = await client.post(
        f"/api/v1/people/{other_admin}/roles", json={"role": "key_worker", "team_id": 1}, headers=admin.headers
    )
    wallet_for_admin = await client.post(
        "/api/v1/wallets", json={"person_id": other_admin, "team_id": 1}, headers=admin.headers
    )
    worker_as_admin = await client.post(
        f"/api/v1/people/{worker.person_id}/roles", json={"role": "admin"}, headers=admin.headers
    )

    for refused in (admin_as_worker, wallet_for_admin, worker_as_admin):
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"] == "urn:tide:problem:admin-holds-no-wallet"
    assert await roles_of(county, other_admin) == {"admin"}
    assert await roles_of(county, worker.person_id) == {"key_worker"}


async def test_granting_a_role_is_proposed_by_one_admin_and_takes_effect_only_when_another_confirms(
    county: County, client: AsyncTestClient[Any]
) -> None:
    admin = await county.bearer("admin")
    second = await county.bearer(await county.new_person("admin"))
    newcomer = await county.new_person("auditor")

    proposed = await client.post(f"/api/v1/people/{newcomer}/roles", json={"role": "finance"}, headers=admin.headers)
    held_while_pending = await roles_of(county, newcomer)
    by_proposer = await confirm(client, admin, proposed.json()["id"])
    by_second = await confirm(client, second, proposed.json()["id"])
    again = await confirm(client, second, proposed.json()["id"])

    assert proposed.status_code == 202, proposed.text
    assert proposed.json()["status"] == "pending"
    assert held_while_pending == {"auditor"}
    assert by_proposer.status_code == 403
    assert by_proposer.json()["type"] == "urn:tide:problem:own-grant-refused"
    assert by_second.status_code == 200, by_second.text
    assert by_second.json()["status"] == "confirmed"
    assert by_second.json()["decided_by"] == second.person_id
    assert again.status_code == 409
    assert await roles_of(county, newcomer) == {"auditor", "finance"}
    assert {"proposal.made.grant_role", "role.granted", "proposal.confirmed.grant_role"} <= set(await actions(county))


async def test_nobody_confirms_a_role_proposed_for_themselves(county: County, client: AsyncTestClient[Any]) -> None:
    admin = await county.bearer("admin")
    second = await county.bearer(await county.new_person("admin"))

    proposed = await client.post(
        f"/api/v1/people/{second.person_id}/roles", json={"role": "auditor"}, headers=admin.headers
    )
    confirmed_by_grantee = await confirm(client, second, proposed.json()["id"])

    assert proposed.status_code == 202, proposed.text
    assert confirmed_by_grantee.status_code == 403
    assert await roles_of(county, second.person_id) == {"admin"}


async def test_a_new_policy_even_an_empty_one_is_in_force_only_once_a_second_admin_confirms_it(
    county: County, client: AsyncTestClient[Any]
) -> None:
    admin = await county.bearer("admin")
    second = await county.bearer(await county.new_person("admin"))
    before = (await client.get("/api/v1/policy", headers=admin.headers)).json()

    proposed = await client.put("/api/v1/policy", json={"rules": [], "note": "no limits"}, headers=admin.headers)
    while_pending = (await client.get("/api/v1/policy", headers=admin.headers)).json()
    by_proposer = await confirm(client, admin, proposed.json()["id"])
    refused = await client.post(f"/api/v1/proposals/{proposed.json()['id']}/refusal", headers=second.headers)
    after_refusal = (await client.get("/api/v1/policy", headers=admin.headers)).json()

    assert proposed.status_code == 202, proposed.text
    assert while_pending == before
    assert by_proposer.status_code == 403
    assert refused.status_code == 200, refused.text
    assert refused.json()["status"] == "refused"
    assert after_refusal == before
    restored = await client.put(
        "/api/v1/policy",
        json={"rules": DEFAULT_POLICY.model_dump(mode="json")["rules"], "note": "the default again"},
        headers=admin.headers,
    )
    assert (await confirm(client, second, restored.json()["id"])).status_code == 200
    assert "policy.published" in await actions(county)


async def test_funding_above_the_threshold_needs_a_second_person_and_below_it_does_not(
    county: County, client: AsyncTestClient[Any]
) -> None:
    finance = await county.bearer("finance")
    admin = await county.bearer("admin")
    source = await pot_id(county)
    url = f"/api/v1/funding-sources/{source}/funding"

    small = await client.post(url, json={"amount_pence": 1_000_000, "reason": "top-up"}, headers=finance.with_key())
    large = await client.post(url, json={"amount_pence": OVER_THRESHOLD, "reason": "grant"}, headers=finance.with_key())
    by_proposer = await confirm(client, finance, large.json()["id"])
    by_admin = await confirm(client, admin, large.json()["id"])

    assert small.status_code == 201, small.text
    assert large.status_code == 202, large.text
    assert large.json()["kind"] == "fund_pot"
    assert by_proposer.status_code == 403
    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json()["outcome"].startswith("transfer:")
    async with county.session() as db:
        funded = (
            await db.execute(select(AuditEntry).where(AuditEntry.action == "pot.funded").order_by(AuditEntry.id))
        ).scalars()
        amounts = [(e.actor_id, e.details["amount"], e.details["proposal_id"]) for e in funded]
    assert (finance.person_id, 1_000_000, None) in amounts
    assert (admin.person_id, OVER_THRESHOLD, large.json()["id"]) in amounts


async def test_the_use_cases_refuse_a_person_who_skips_the_proposal(county: County) -> None:
    admin = await county.principal(await county.person_id("admin"))
    newcomer = await county.new_person("auditor")

    async with county.session() as db:
        with pytest.raises(SecondPersonNeeded):
            await organisation.grant_role(
                db, actor=admin, person_id=newcomer, role="finance", team_id=None, now=now_utc()
            )

    assert await roles_of(county, newcomer) == {"auditor"}


async def test_proposals_are_read_by_admins_finance_and_the_auditor_only(
    county: County, client: AsyncTestClient[Any]
) -> None:
    finance = await county.bearer("finance")
    source = await pot_id(county)
    await client.post(
        f"/api/v1/funding-sources/{source}/funding",
        json={"amount_pence": OVER_THRESHOLD, "reason": "grant"},
        headers=finance.with_key(),
    )

    seen = {
        name: (await client.get("/api/v1/proposals?status=pending", headers=(await county.bearer(name)).headers))
        for name in ("admin", "finance", "auditor", "manager.exeter")
    }

    assert {name: r.status_code for name, r in seen.items()} == {
        "admin": 200, "finance": 200, "auditor": 200, "manager.exeter": 403,
    }  # fmt: skip
    assert any(p["kind"] == "fund_pot" for p in seen["admin"].json()["items"])


async def test_a_second_admin_confirms_a_role_on_the_page_and_the_proposer_cannot(
    county: County, client: AsyncTestClient[Any]
) -> None:
    admin = await county.bearer("admin")
    second_id = await county.new_person("admin")
    newcomer = await county.new_person("auditor")
    proposed = await client.post(f"/api/v1/people/{newcomer}/roles", json={"role": "finance"}, headers=admin.headers)
    proposal_id = proposed.json()["id"]

    async def decide_on_page(email: str) -> Any:
        client.cookies.clear()
        signed = await client.post("/api/v1/auth/sign-in", json={"email": email, "password": PASSWORD})
        listed = await client.get("/proposals")
        form = {"csrf_token": signed.json()["csrf_token"], "idempotency_key": uuid.uuid4().hex, "decision": "confirm"}
        decided = await client.post(f"/proposals/{proposal_id}", data=form, follow_redirects=False)
        client.cookies.clear()
        return listed, decided

    own_list, by_proposer = await decide_on_page(demo_email("admin"))
    async with county.session() as db:
        second_email = (await db.execute(select(Person.email).where(Person.id == second_id))).scalar_one()
    other_list, by_second = await decide_on_page(second_email)

    assert f'action="/proposals/{proposal_id}"' not in own_list.text  # no button on one's own proposal
    assert by_proposer.status_code == 403  # as the API answers: own-grant-refused
    assert f'action="/proposals/{proposal_id}"' in other_list.text
    assert by_second.status_code == 303, by_second.text
    assert await roles_of(county, newcomer) == {"auditor", "finance"}


async def test_an_admin_never_spends_from_a_wallet_even_one_older_data_gave_them(county: County) -> None:
    worker = await county.new_key_worker(team_id=1, wallet_pence=0)
    async with county.session() as db:  # older data: a wallet holder made an admin before the rule
        db.add(RoleGrant(person_id=worker.person_id, role="admin", team_id=None, granted_at=now_utc()))

    principal = await county.principal(worker.person_id)

    assert principal.wallet_id is None

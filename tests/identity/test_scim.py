"""SCIM provisioning: the identity provider creates, changes and deactivates people, and a
leaver deactivated through it is locked out, their card frozen at Stripe by one job run, their
budget back with the team, and the ledger still verifies. Bad input gets SCIM's error format."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import ledger
from api import jobs
from api.scim import ERROR, PATCH_OP, USER
from cards.models import Card
from ledger.clock import now_utc
from ledger.database import create_engine
from tests.api.conftest import sign_in
from tests.cards.fake_stripe import FakeStripe
from tests.identity.conftest import SCIM, identity_settings
from wallet.demo import DEMO_PASSWORD, email
from wallet.models import Allocation, AuditEntry, Person, RoleGrant, TeamBudget, Wallet

ENTRA_USER = {
    "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "externalId": "0b6a1c7e-5d2f-4e1a-9a53-2f0c4d6e8b11",
    "userName": "new.starter@council.example",
    "active": True,
    "displayName": "New Starter",
    "emails": [{"primary": True, "type": "work", "value": "new.starter@council.example"}],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "New Starter", "familyName": "Starter", "givenName": "New"},
    "title": "Family Support Worker",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Early Help"},
}


async def _in_db(url: str, read: Any) -> Any:
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            return await read(db)
    finally:
        await engine.dispose()


async def _person_id(url: str, name: str) -> int:
    async def read(db: AsyncSession) -> int:
        return int((await db.execute(select(Person.id).where(Person.email == email(name)))).scalar_one())

    return int(await _in_db(url, read))


async def test_a_joiner_is_created_found_by_user_name_and_external_id_and_has_no_password(
    client: AsyncTestClient[Any],
) -> None:
    user_name, external_id = f"{uuid.uuid4().hex[:8]}@council.example", str(uuid.uuid4())
    body = {**ENTRA_USER, "userName": user_name, "externalId": external_id}
    created = await client.post("/scim/v2/Users", json=body, headers=SCIM)
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith("application/scim+json")
    user = created.json()
    assert (user["userName"], user["externalId"], user["active"]) == (body["userName"], body["externalId"], True)

    for query in (f'userName eq "{user_name.upper()}"', f'externalId eq "{external_id}"'):
        found = await client.get("/scim/v2/Users", params={"filter": query}, headers=SCIM)
        assert found.status_code == 200, found.text
        assert [r["id"] for r in found.json()["Resources"]] == [user["id"]]
        assert found.json()["totalResults"] == 1

    again = await client.post("/scim/v2/Users", json=body, headers=SCIM)
    assert again.status_code == 409
    assert again.json()["scimType"] == "uniqueness"
    refused = await client.post(
        "/api/v1/auth/sign-in", json={"email": body["userName"], "password": "!identity-provider"}
    )
    assert refused.status_code == 401


async def test_a_leaver_deactivated_through_scim_is_locked_out_frozen_at_stripe_emptied_back_to_the_team(
    client: AsyncTestClient[Any], county_url: str, fake_stripe: FakeStripe
) -> None:
    worker = await sign_in(client, "kw.torridge.02")
    made = await client.post(
        "/api/v1/me/tokens", json={"name": "phone"}, headers={**worker.headers, "idempotency-key": str(uuid.uuid4())}
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    card = await client.post(
        f"/api/v1/wallets/{worker.wallet_id}/cards", json={"type": "virtual"},
        headers={**worker.headers, "idempotency-key": str(uuid.uuid4())},
    )  # fmt: skip
    assert card.status_code == 201, card.text

    async def money(db: AsyncSession) -> tuple[int, int, int]:
        wallet = (await db.execute(select(Wallet).where(Wallet.id == worker.wallet_id))).scalar_one()
        budget = (await db.execute(select(TeamBudget).where(TeamBudget.team_id == wallet.team_id))).scalar_one()
        return (
            (await ledger.balance(db, account_id=wallet.account_id)).available,
            (await ledger.balance(db, account_id=budget.account_id)).available,
            budget.account_id,
        )

    wallet_before, team_before, _ = await _in_db(county_url, money)
    assert wallet_before > 0

    leaver = await client.patch(
        f"/scim/v2/Users/{worker.person_id}",
        json={"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
        headers=SCIM,
    )
    assert leaver.status_code == 200, leaver.text
    assert leaver.json()["active"] is False

    assert (await client.get("/api/v1/me", headers=worker.headers)).status_code == 401  # the session ended
    assert (await client.get("/api/v1/me", headers={"authorization": f"Bearer {token}"})).status_code == 401
    again = await client.post("/api/v1/auth/sign-in", json={"email": worker.email, "password": DEMO_PASSWORD})
    assert again.status_code == 401

    settings = identity_settings(county_url)
    engine = create_engine(county_url, pool_size=2)
    try:
        ctx = jobs.job_context(settings, sessionmaker=async_sessionmaker(engine, expire_on_commit=False), clock=now_utc)
        assert await jobs.cards_follow_wallets(ctx) >= 1
    finally:
        await engine.dispose()

    async def after(db: AsyncSession) -> dict[str, Any]:
        cards = (await db.execute(select(Card).where(Card.wallet_id == worker.wallet_id))).scalars().all()
        wallet = await db.get(Wallet, worker.wallet_id)
        returned = (
            (
                await db.execute(
                    select(Allocation).where(Allocation.wallet_id == worker.wallet_id, Allocation.level == "return")
                )
            )
            .scalars()
            .all()
        )
        audit = (
            (await db.execute(select(AuditEntry.action).where(AuditEntry.subject_id == str(worker.person_id))))
            .scalars()
            .all()
        )
        return {
            "stripe_ids": [c.stripe_id for c in cards], "wallet": (wallet.status if wallet else None),
            "returned": [(a.amount, a.allocated_by) for a in returned], "audit": list(audit),
            "money": await money(db), "findings": await ledger.verify(db),
        }  # fmt: skip

    seen = await _in_db(county_url, after)
    assert seen["stripe_ids"]
    assert all(fake_stripe.cards[i]["status"] == "inactive" for i in seen["stripe_ids"])  # frozen at Stripe
    assert seen["wallet"] == "suspended"
    assert seen["returned"] == [(wallet_before, None)]  # by the system, all that was unspent
    wallet_after, team_after, _ = seen["money"]
    assert (wallet_after, team_after) == (0, team_before + wallet_before)
    assert "person.deactivated" in seen["audit"]
    assert seen["findings"] == []


async def test_groups_mapped_to_roles_grant_and_take_back_the_role(
    client: AsyncTestClient[Any], county_url: str
) -> None:
    person_id = await _person_id(county_url, "kw.exeter.02")
    listed = await client.get("/scim/v2/Groups", params={"filter": 'displayName eq "tide-auditors"'}, headers=SCIM)
    assert [g["id"] for g in listed.json()["Resources"]] == ["tide-auditors"]

    async def roles(db: AsyncSession) -> set[str]:
        return set((await db.execute(select(RoleGrant.role).where(RoleGrant.person_id == person_id))).scalars())

    add = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "Add", "path": "members", "value": [{"value": str(person_id)}]}],
    }
    assert (await client.patch("/scim/v2/Groups/tide-auditors", json=add, headers=SCIM)).status_code == 204
    assert "auditor" in await _in_db(county_url, roles)
    group = (await client.get("/scim/v2/Groups/tide-auditors", headers=SCIM)).json()
    assert str(person_id) in [m["value"] for m in group["members"]]

    remove = {"schemas": [PATCH_OP], "Operations": [{"op": "Remove", "path": f'members[value eq "{person_id}"]'}]}
    assert (await client.patch("/scim/v2/Groups/tide-auditors", json=remove, headers=SCIM)).status_code == 204
    assert "auditor" not in await _in_db(county_url, roles)


async def test_deleting_a_user_deactivates_them_and_hides_them_but_keeps_their_row(
    client: AsyncTestClient[Any], county_url: str
) -> None:
    body = {**ENTRA_USER, "userName": f"{uuid.uuid4().hex[:8]}@council.example", "externalId": str(uuid.uuid4())}
    user = (await client.post("/scim/v2/Users", json=body, headers=SCIM)).json()
    assert (await client.delete(f"/scim/v2/Users/{user['id']}", headers=SCIM)).status_code == 204
    gone = await client.get(f"/scim/v2/Users/{user['id']}", headers=SCIM)
    assert gone.status_code == 404
    assert gone.json()["schemas"] == [ERROR]

    async def row(db: AsyncSession) -> tuple[bool, bool]:
        person = await db.get(Person, int(user["id"]))
        assert person is not None
        return person.active, person.removed_at is not None

    assert await _in_db(county_url, row) == (False, True)


def _patch(*operations: Any, schemas: Any = (PATCH_OP,)) -> dict[str, Any]:
    return {"schemas": list(schemas), "Operations": list(operations) if operations != ("all",) else "all"}


NOT_AN_ID = {"op": "add", "path": "members", "value": [{"value": "abc"}]}
BAD_INPUT = [
    ("get", "/scim/v2/Users", {"filter": 'userName eq "unterminated'}, None, 400, "invalidFilter"),
    ("get", "/scim/v2/Users", {"filter": 'userName co "x"'}, None, 400, "invalidFilter"),
    ("get", "/scim/v2/Users", {"filter": 'password eq "x"'}, None, 400, "invalidFilter"),
    ("get", "/scim/v2/Users", {"filter": "userName eq x) or (1 eq 1"}, None, 400, "invalidFilter"),
    ("get", "/scim/v2/Users", {"startIndex": "minus one"}, None, 400, "invalidSyntax"),
    ("post", "/scim/v2/Users", None, {**ENTRA_USER, "favouriteColour": "teal"}, 400, "invalidSyntax"),
    ("post", "/scim/v2/Users", None, {**ENTRA_USER, "schemas": ["urn:example:not:scim"]}, 400, "invalidValue"),
    ("post", "/scim/v2/Users", None, {**ENTRA_USER, "schemas": [USER, "urn:example:extra"]}, 400, "invalidValue"),
    ("post", "/scim/v2/Users", None, {**ENTRA_USER, "schemas": "not a list"}, 400, "invalidSyntax"),
    ("post", "/scim/v2/Users", None, {**ENTRA_USER, "userName": ""}, 400, "invalidValue"),
    ("post", "/scim/v2/Users", None, {**ENTRA_USER, "active": "perhaps"}, 400, "invalidValue"),
    ("post", "/scim/v2/Users", None, {**ENTRA_USER, "userName": 42}, 400, "invalidValue"),
    ("post", "/scim/v2/Users", None, [1, 2, 3], 400, "invalidSyntax"),
    ("post", "/scim/v2/Users", None, b"{not json", 400, "invalidSyntax"),
    ("patch", "/scim/v2/Users/1", None, _patch({"op": "Replace", "path": "shoeSize", "value": 9}), 400, "invalidPath"),
    ("patch", "/scim/v2/Users/1", None, _patch({"op": "Explode", "path": "active"}), 400, "invalidSyntax"),
    ("patch", "/scim/v2/Users/1", None, {"schemas": [USER], "Operations": []}, 400, "invalidValue"),
    ("patch", "/scim/v2/Users/1", None, _patch("all"), 400, "invalidSyntax"),
    ("patch", "/scim/v2/Users/1", None, _patch({"op": "replace", "value": {"colour": 1}}), 400, "invalidSyntax"),
    ("get", "/scim/v2/Users/not-a-number", None, None, 404, None),
    ("get", "/scim/v2/Users/999999", None, None, 404, None),
    ("get", "/scim/v2/Groups/not-mapped", None, None, 404, None),
    ("patch", "/scim/v2/Groups/tide-auditors", None, _patch(NOT_AN_ID), 400, "invalidValue"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "params", "body", "status", "scim_type"), BAD_INPUT)
async def test_bad_input_gets_scims_own_error_never_a_500(  # noqa: PLR0917 - the table's columns
    client: AsyncTestClient[Any],
    method: str,
    path: str,
    params: dict[str, str] | None,
    body: Any,
    status: int,
    scim_type: str | None,
) -> None:
    content = body if isinstance(body, bytes) else None
    sent = await client.request(
        method.upper(), path, params=params, json=None if content is not None else body, content=content, headers=SCIM
    )
    assert sent.status_code == status, sent.text
    assert sent.headers["content-type"].startswith("application/scim+json")
    error = sent.json()
    assert error["schemas"] == [ERROR]
    assert error["status"] == str(status)
    assert error.get("scimType") == scim_type


@pytest.mark.parametrize(
    "authorization", [None, "Bearer not-the-token", "Basic c2NpbTpzY2lt", "Bearer ", "Bearer tide_pat_whatever"]
)
async def test_a_request_without_the_providers_token_is_refused_in_scims_format(
    client: AsyncTestClient[Any], authorization: str | None
) -> None:
    headers = {"content-type": "application/scim+json"}
    if authorization is not None:
        headers["authorization"] = authorization
    for method, path, body in (("GET", "/scim/v2/Users", None), ("POST", "/scim/v2/Users", ENTRA_USER)):
        sent = await client.request(method, path, json=body, headers=headers)
        assert sent.status_code == 401, sent.text
        assert sent.headers["content-type"].startswith("application/scim+json")
        assert sent.json()["schemas"] == [ERROR]

"""Month end without carry-over: a manager returns a wallet's unspent budget to the team."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from tests.api.conftest import sign_in


async def test_a_manager_returns_what_a_wallet_left_unspent_and_the_wallet_is_then_empty(
    client: AsyncTestClient[Any],
) -> None:
    manager = await sign_in(client, "manager.torridge")
    wallet = next(w for w in (await client.get("/api/v1/wallets?team_id=2")).json()["items"] if w["available_pence"])
    available = wallet["available_pence"]
    key = {"idempotency-key": str(uuid.uuid4())}

    returned = await client.post(
        f"/api/v1/wallets/{wallet['id']}/returns",
        json={"funding_source_id": 1, "reason": "Month end: no carry-over"},
        headers={**manager.headers, **key},
    )
    assert returned.status_code == 201, returned.text
    assert returned.json()["level"] == "return"
    assert returned.json()["amount_pence"] == available
    after = (await client.get(f"/api/v1/wallets/{wallet['id']}")).json()
    assert after["available_pence"] == 0

    again = await client.post(
        f"/api/v1/wallets/{wallet['id']}/returns",
        json={"funding_source_id": 1, "reason": "Month end: no carry-over"},
        headers={**manager.headers, **key},
    )
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    nothing_left = await client.post(
        f"/api/v1/wallets/{wallet['id']}/returns",
        json={"funding_source_id": 1, "reason": "twice"},
        headers={**manager.headers, "idempotency-key": str(uuid.uuid4())},
    )
    assert nothing_left.status_code == 409
    assert nothing_left.json()["type"] == "urn:tide:problem:nothing-to-change"


async def test_a_key_worker_cannot_return_budget_and_another_team_cannot_see_the_wallet(
    client: AsyncTestClient[Any],
) -> None:
    worker = await sign_in(client, "kw.exeter.02")
    own = await client.post(
        f"/api/v1/wallets/{worker.wallet_id}/returns",
        json={"funding_source_id": 1, "reason": "mine"},
        headers={**worker.headers, "idempotency-key": str(uuid.uuid4())},
    )
    assert own.status_code == 403
    await client.post("/api/v1/auth/sign-out", headers=worker.headers)
    other = await sign_in(client, "manager.torridge")
    hidden = await client.post(
        f"/api/v1/wallets/{worker.wallet_id}/returns",
        json={"funding_source_id": 1, "reason": "not mine"},
        headers={**other.headers, "idempotency-key": str(uuid.uuid4())},
    )
    assert hidden.status_code == 404

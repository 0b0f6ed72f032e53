"""A key worker's purchase from sign-in to a receipt, seen by their manager and by finance."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from tests import receipt_files
from tests.api.conftest import sign_in

PNG = receipt_files.png("an end-to-end receipt")


async def test_a_key_worker_buys_for_a_need_with_a_receipt_and_the_manager_and_finance_see_it(
    client: AsyncTestClient[Any],
) -> None:
    worker = await sign_in(client, "kw.exeter.01")
    wallet_before = (await client.get(f"/api/v1/wallets/{worker.wallet_id}")).json()

    opened = await client.post(
        "/api/v1/families",
        json={"team_id": 1, "locality": "Exeter", "age_bands": ["5-10"]},
        headers=worker.headers,
    )
    assert opened.status_code == 201, opened.text
    family = opened.json()
    assert family["reference"].startswith("F-")
    need = await client.post(
        f"/api/v1/families/{family['id']}/needs",
        json={
            "code": "EDU-ATT",
            "whose": "child",
            "identified_on": "2026-11-01",
            "evidence_source": "school",
            "baseline_score": 3,
        },
        headers=worker.headers,
    )
    assert need.status_code == 201, need.text

    purchase = await client.post(
        "/api/v1/purchases",
        json={
            "family_id": family["id"],
            "need_ids": [need.json()["id"]],
            "category": "CLOTH",
            "description": "School shoes",
            "supplier": "Clarks",
            "amount_pence": 4_250,
            "payment_method": "card",
        },
        headers={**worker.headers, "idempotency-key": str(uuid.uuid4())},
    )
    assert purchase.status_code == 201, purchase.text
    decision = purchase.json()
    assert decision["decision"] == "allow"
    assert decision["purchase"]["status"] == "held"
    purchase_id = decision["purchase"]["id"]

    receipt = await client.post(
        f"/api/v1/purchases/{purchase_id}/receipts",
        files={"data": ("till.png", PNG, "image/png")},
        headers=worker.headers,
    )
    assert receipt.status_code == 201, receipt.text
    assert receipt.json()["content_type"] == "image/png"

    wallet_after = (await client.get(f"/api/v1/wallets/{worker.wallet_id}")).json()
    assert wallet_after["available_pence"] == wallet_before["available_pence"] - 4_250
    assert wallet_after["held_pence"] == wallet_before["held_pence"] + 4_250

    await client.post("/api/v1/auth/sign-out", headers=worker.headers)
    manager = await sign_in(client, "manager.exeter")
    seen = await client.get(f"/api/v1/purchases?family_id={family['id']}")
    assert [p["id"] for p in seen.json()["items"]] == [purchase_id]
    assert seen.json()["items"][0]["need_ids"] == [need.json()["id"]]
    image = await client.get(f"/api/v1/receipts/{receipt.json()['id']}")
    assert image.status_code == 200
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")  # re-encoded: no metadata kept
    assert image.headers["content-disposition"].startswith("attachment")

    await client.post("/api/v1/auth/sign-out", headers=manager.headers)
    await sign_in(client, "finance")
    listed = await client.get(f"/api/v1/purchases?worker_id={worker.person_id}&status=held")
    mine = [p for p in listed.json()["items"] if p["id"] == purchase_id]
    assert len(mine) == 1
    assert mine[0]["amount_pence"] == 4_250
    assert mine[0]["need_ids"] is None, "finance sees no needs detail"
    assert (await client.get(f"/api/v1/families/{family['id']}")).status_code == 404

"""Edges found while testing: finance cannot filter by needs; a case cannot close before it opened."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from tests.api.conftest import sign_in


async def test_finance_filtering_purchases_by_a_need_is_told_there_is_no_such_need(
    client: AsyncTestClient[Any],
) -> None:
    await sign_in(client, "finance")
    response = await client.get("/api/v1/purchases?need_id=1")
    assert response.status_code == 404
    assert response.json()["type"] == "urn:tide:problem:not-found"


async def test_a_case_cannot_be_closed_before_it_was_opened(client: AsyncTestClient[Any]) -> None:
    worker = await sign_in(client, "kw.exeter.01")
    opened = await client.post(
        "/api/v1/families",
        json={"team_id": 1, "locality": "Exeter", "age_bands": ["0-4"], "opened_on": "2026-10-01"},
        headers={**worker.headers, "idempotency-key": str(uuid.uuid4())},
    )
    assert opened.status_code == 201, opened.text
    family_id = opened.json()["id"]
    early = await client.post(
        f"/api/v1/families/{family_id}/closure",
        json={"reason": "outcomes_met", "closed_on": "2026-09-30"},
        headers=worker.headers,
    )
    assert early.status_code == 422
    assert early.json()["type"] == "urn:tide:problem:dates-out-of-order"
    still_open = await client.get(f"/api/v1/families/{family_id}")
    assert still_open.json()["status"] == "open"

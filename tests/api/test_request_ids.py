"""A request id from the caller is taken only when it is sane; no header (or token) ever fails a request.

The audit trail keeps a request id of at most 64 characters, so an ``X-Request-Id`` of 65 once
made every audited write a 500. Each odd header below must still let the write land, with a
sane id recorded instead of what was sent.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.request_ids import sane_request_id
from tests.api.conftest import sign_in

SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")

ODD_IDS = [
    pytest.param("a" * 65, id="65 characters"),
    pytest.param("x" * 5000, id="5000 characters"),
    pytest.param("has spaces in it", id="spaces"),
    pytest.param("semi;colon\\back'quote\"", id="punctuation"),
    pytest.param("", id="empty"),
]


async def _open_family(client: AsyncTestClient[Any], headers: dict[str, str]) -> int:
    opened = await client.post(
        "/api/v1/families",
        json={"team_id": 1, "locality": "Exeter", "age_bands": ["0-4"]},
        headers={**headers, "idempotency-key": str(uuid.uuid4())},
    )
    assert opened.status_code == 201, opened.text
    return int(opened.json()["id"])


async def _audited_request_id(client: AsyncTestClient[Any], family_id: int) -> str:
    await sign_in(client, "auditor")
    entries = await client.get(f"/api/v1/audit?subject_type=family&subject_id={family_id}")
    assert entries.status_code == 200, entries.text
    opened = [e for e in entries.json()["items"] if e["action"] == "family.opened"]
    assert len(opened) == 1
    return str(opened[0]["request_id"])


@pytest.mark.parametrize("sent", ODD_IDS)
async def test_an_audited_write_with_an_odd_request_id_lands_with_a_fresh_sane_id(
    client: AsyncTestClient[Any], sent: str
) -> None:
    worker = await sign_in(client, "kw.exeter.01")
    family_id = await _open_family(client, {**worker.headers, "x-request-id": sent})
    recorded = await _audited_request_id(client, family_id)
    assert SANE.fullmatch(recorded)
    assert recorded != sent


async def test_a_sane_request_id_is_kept_in_the_audit_trail(client: AsyncTestClient[Any]) -> None:
    worker = await sign_in(client, "kw.exeter.01")
    sent = f"trace-{uuid.uuid4().hex}.1_a"
    family_id = await _open_family(client, {**worker.headers, "x-request-id": sent})
    assert await _audited_request_id(client, family_id) == sent


async def test_a_request_id_of_bytes_that_are_not_ascii_does_not_fail_the_write(client: AsyncTestClient[Any]) -> None:
    worker = await sign_in(client, "kw.exeter.01")
    odd = {**worker.headers, "x-request-id": "caf\xe9-\xff".encode("latin-1")}
    family_id = await _open_family(client, odd)  # type: ignore[arg-type]
    assert SANE.fullmatch(await _audited_request_id(client, family_id))


@pytest.mark.parametrize("sent", [None, "", "a" * 65, "tab\there", "ok-id", "\u00b2", "a" * 64])
def test_a_request_id_is_sane_or_fresh(sent: str | None) -> None:
    chosen = sane_request_id(sent)
    assert SANE.fullmatch(chosen)
    if sent is not None and SANE.fullmatch(sent):
        assert chosen == sent


async def test_a_csrf_token_of_characters_that_are_not_ascii_is_refused_not_a_server_error(
    client: AsyncTestClient[Any],
) -> None:
    await sign_in(client, "kw.exeter.01")
    odd = {"x-csrf-token": "caf\xe9".encode("latin-1"), "idempotency-key": str(uuid.uuid4())}
    refused = await client.post(
        "/api/v1/families",
        json={"team_id": 1, "locality": "Exeter", "age_bands": ["0-4"]},
        headers=odd,  # type: ignore[arg-type]
    )
    assert refused.status_code == 403, refused.text
    form = await client.post("/families/1/close", data={"csrf_token": "caf\xe9 \u00b2", "reason": "outcomes_met"})
    assert form.status_code == 403, form.text
    sign_in_form = await client.post("/sign-in", data={"csrf_token": "\u00b2", "email": "a@b.c", "password": "x"})
    assert sign_in_form.status_code < 500, sign_in_form.text

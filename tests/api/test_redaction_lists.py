"""Admins edit the council's redaction lists; the free-text check (and every published file)
reads them; nobody else may edit them."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from tests.api.conftest import sign_in


async def test_an_admin_adds_a_word_and_free_text_holding_it_is_then_warned_about(
    client: AsyncTestClient[Any],
) -> None:
    word = f"haven{uuid.uuid4().hex[:8]}"
    worker = await sign_in(client, "kw.exeter.01")
    before = await client.post(
        "/api/v1/free-text-check", json={"text": f"Deposit paid to {word}"}, headers=worker.headers
    )
    assert before.status_code == 200, before.text
    assert before.json()["kinds"] == []

    admin = await sign_in(client, "admin")
    added = await client.post(
        "/api/v1/redaction-terms", json={"list_name": "vulnerability_words", "term": word}, headers=admin.headers
    )
    assert added.status_code == 201, added.text
    listed = (await client.get("/api/v1/redaction-terms", headers=admin.headers)).json()
    assert any(t["term"] == word for t in listed)
    again = await client.post(
        "/api/v1/redaction-terms", json={"list_name": "vulnerability_words", "term": word}, headers=admin.headers
    )
    assert again.status_code == 409

    worker = await sign_in(client, "kw.exeter.01")
    after = await client.post(
        "/api/v1/free-text-check", json={"text": f"Deposit paid to {word}"}, headers=worker.headers
    )
    assert after.json()["kinds"] == ["an organisation that reveals a need"]

    admin = await sign_in(client, "admin")
    removed = await client.delete(f"/api/v1/redaction-terms/{added.json()['id']}", headers=admin.headers)
    assert removed.status_code == 204


async def test_only_an_admin_edits_the_lists(client: AsyncTestClient[Any]) -> None:
    finance = await sign_in(client, "finance")
    refused = await client.post(
        "/api/v1/redaction-terms", json={"list_name": "surnames", "term": "Quill"}, headers=finance.headers
    )
    assert refused.status_code == 403
    assert (await client.get("/api/v1/redaction-terms", headers=finance.headers)).status_code == 403


async def test_the_free_text_check_names_what_looks_personal_but_never_echoes_it(
    client: AsyncTestClient[Any],
) -> None:
    worker = await sign_in(client, "kw.exeter.01")
    checked = await client.post(
        "/api/v1/free-text-check", json={"text": "Cot for Sarah Jones, EX4 3PQ"}, headers=worker.headers
    )
    body = checked.json()
    assert body["kinds"] == ["a person's name", "an address, phone, postcode or National Insurance number"]
    assert "Sarah" not in checked.text
    assert "EX4" not in checked.text

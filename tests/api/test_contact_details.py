"""An admin keeps an existing person's work mobile and an existing team's office address up to
date, over the API: strict bodies, a UK mobile or 422 ``not-a-uk-mobile``, admins only, audited."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from tests.api.conftest import sign_in


async def _fresh_person(client: AsyncTestClient[Any], headers: dict[str, str]) -> int:
    answer = await client.post(
        "/api/v1/people",
        json={"email": f"{uuid.uuid4().hex[:10]}@contact.invalid", "display_name": "Pat Contact",
              "password": "a long password"},
        headers={**headers, "idempotency-key": str(uuid.uuid4())},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def _audit(client: AsyncTestClient[Any], headers: dict[str, str], kind: str, subject: int) -> list[str]:
    answer = await client.get(f"/api/v1/audit?subject_type={kind}&subject_id={subject}", headers=headers)
    assert answer.status_code == 200, answer.text
    return [entry["action"] for entry in answer.json()["items"]]


async def test_an_admin_records_an_existing_persons_work_mobile_kept_in_e164_and_audited(
    client: AsyncTestClient[Any],
) -> None:
    admin = await sign_in(client, "admin")
    person_id = await _fresh_person(client, admin.headers)
    answer = await client.put(
        f"/api/v1/people/{person_id}/work-mobile", json={"work_mobile": "07700 900123"}, headers=admin.headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": person_id, "work_mobile": "+447700900123"}
    assert "person.work_mobile_set" in await _audit(client, admin.headers, "person", person_id)


async def test_a_number_that_is_not_a_uk_mobile_is_422_not_a_uk_mobile_and_nothing_changes(
    client: AsyncTestClient[Any],
) -> None:
    admin = await sign_in(client, "admin")
    person_id = await _fresh_person(client, admin.headers)
    answer = await client.put(
        f"/api/v1/people/{person_id}/work-mobile", json={"work_mobile": "01392 123456"}, headers=admin.headers
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"].endswith("not-a-uk-mobile")
    assert "person.work_mobile_set" not in await _audit(client, admin.headers, "person", person_id)


async def test_the_work_mobile_body_is_strict(client: AsyncTestClient[Any]) -> None:
    admin = await sign_in(client, "admin")
    for bad in ({"work_mobile": 7700900123}, {"work_mobile": "07700900123", "name": "x"}, {}):
        answer = await client.put(f"/api/v1/people/{admin.person_id}/work-mobile", json=bad, headers=admin.headers)
        assert answer.status_code == 422, (bad, answer.text)


async def test_a_key_worker_cannot_change_a_work_mobile_not_even_their_own(client: AsyncTestClient[Any]) -> None:
    worker = await sign_in(client, "kw.exeter.01")
    answer = await client.put(
        f"/api/v1/people/{worker.person_id}/work-mobile", json={"work_mobile": "07700 900999"}, headers=worker.headers
    )
    assert answer.status_code == 403, answer.text


async def test_no_such_person_is_404(client: AsyncTestClient[Any]) -> None:
    admin = await sign_in(client, "admin")
    answer = await client.put(
        "/api/v1/people/999999/work-mobile", json={"work_mobile": "07700 900123"}, headers=admin.headers
    )
    assert answer.status_code == 404, answer.text


async def test_an_admin_records_an_existing_teams_office_address_and_it_is_audited(
    client: AsyncTestClient[Any],
) -> None:
    admin = await sign_in(client, "admin")
    made = await client.post(
        "/api/v1/teams",
        json={"name": f"Team {uuid.uuid4().hex[:8]}", "locality": "Exeter", "cost_centre": f"EH-{uuid.uuid4().hex[:8]}",
              "department": "Children's Services - Early Help"},
        headers={**admin.headers, "idempotency-key": str(uuid.uuid4())},
    )  # fmt: skip
    team_id = int(made.json()["id"])
    assert made.json()["office_line1"] is None
    answer = await client.put(
        f"/api/v1/teams/{team_id}/office-address",
        json={"line1": "Exeter Family Hub", "line2": "Room 4", "city": "Exeter", "postal_code": "ex1 1aa"},
        headers=admin.headers,
    )
    assert answer.status_code == 200, answer.text
    read = (await client.get(f"/api/v1/teams/{team_id}", headers=admin.headers)).json()
    assert (read["office_line1"], read["office_line2"], read["office_city"], read["office_postal_code"]) == (
        "Exeter Family Hub", "Room 4", "Exeter", "EX1 1AA",
    )  # fmt: skip
    assert "team.office_address_set" in await _audit(client, admin.headers, "team", team_id)


async def test_an_office_address_needs_a_uk_postcode_and_admins_only(client: AsyncTestClient[Any]) -> None:
    admin = await sign_in(client, "admin")
    answer = await client.put(
        "/api/v1/teams/1/office-address",
        json={"line1": "Hub", "city": "Exeter", "postal_code": "90210"},
        headers=admin.headers,
    )
    assert answer.status_code == 422, answer.text
    manager = await sign_in(client, "manager.exeter")
    answer = await client.put(
        "/api/v1/teams/1/office-address",
        json={"line1": "Hub", "city": "Exeter", "postal_code": "EX1 1AA"},
        headers=manager.headers,
    )
    assert answer.status_code == 403, answer.text

"""Families, needs, reviews and closure over the API: pseudonymous, coded, and closed for good."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.wallet.support import Case, County, SignedIn, Worker

REFERENCE = re.compile(r"^F-[23456789BCDFGHJKLMNPQRSTVWXZ]{8}$")
FAMILY_FIELDS = {
    "id",
    "reference",
    "team_id",
    "lead_worker_id",
    "locality",
    "age_bands",
    "status",
    "opened_on",
    "closed_on",
    "closure_reason",
    "sustain_check_on",
}
A_NEED = {
    "code": "HOU-COND",
    "whose": "household",
    "identified_on": "2026-11-02",
    "evidence_source": "housing",
    "baseline_score": 3,
}


async def a_worker(county: County) -> tuple[Worker, SignedIn]:
    worker = await county.new_key_worker(wallet_pence=0)
    return worker, await county.bearer(worker)


async def open_family(client: AsyncTestClient[Any], me: SignedIn, **changes: Any) -> dict[str, Any]:
    body = {"team_id": 1, "locality": "Exeter", "age_bands": ["5-10"], **changes}
    opened = await client.post("/api/v1/families", json=body, headers=me.headers)
    assert opened.status_code == 201, opened.text
    family: dict[str, Any] = opened.json()
    return family


# Opening a family ------------------------------------------------------------------------


async def test_a_key_worker_opens_a_family_known_only_by_a_random_reference(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me = await a_worker(county)

    first = await open_family(client, me, age_bands=["11-15", "0-4", "11-15"], opened_on="2026-10-05")
    second = await open_family(client, me)

    assert REFERENCE.match(first["reference"]), first["reference"]
    assert REFERENCE.match(second["reference"]), second["reference"]
    assert first["reference"] != second["reference"]
    assert set(first) == FAMILY_FIELDS, "no name, address, date of birth or case-system id"
    assert first["lead_worker_id"] == worker.person_id
    assert first["age_bands"] == ["0-4", "11-15"], "deduplicated, youngest first"
    assert (first["status"], first["opened_on"], first["closed_on"]) == ("open", "2026-10-05", None)


async def test_a_family_cannot_be_opened_with_personal_details(county: County, client: AsyncTestClient[Any]) -> None:
    _, me = await a_worker(county)

    refused = await client.post(
        "/api/v1/families",
        json={"team_id": 1, "locality": "Exeter", "age_bands": ["5-10"], "surname": "Smith"},
        headers=me.headers,
    )

    assert refused.status_code == 422
    assert refused.json()["type"] == "urn:tide:problem:validation-error"


async def test_a_family_is_found_by_its_reference(county: County, client: AsyncTestClient[Any]) -> None:
    _, me = await a_worker(county)
    family = await open_family(client, me)

    found = await client.get(f"/api/v1/families?reference={family['reference'].lower()}", headers=me.headers)

    assert [f["id"] for f in found.json()["items"]] == [family["id"]]


async def test_a_key_worker_cannot_open_a_family_in_another_team_or_for_a_colleague(
    county: County, client: AsyncTestClient[Any]
) -> None:
    colleague = await county.new_key_worker(wallet_pence=0)
    _, me = await a_worker(county)

    other_team = await client.post(
        "/api/v1/families", json={"team_id": 2, "locality": "Torridge", "age_bands": ["5-10"]}, headers=me.headers
    )
    for_colleague = await client.post(
        "/api/v1/families",
        json={"team_id": 1, "locality": "Exeter", "age_bands": ["5-10"], "lead_worker_id": colleague.person_id},
        headers=me.headers,
    )

    assert (other_team.status_code, for_colleague.status_code) == (403, 403)


async def test_a_family_is_not_found_by_a_worker_of_another_team_nor_by_finance(
    county: County, client: AsyncTestClient[Any]
) -> None:
    _, me = await a_worker(county)
    family = await open_family(client, me)
    stranger = await county.bearer(await county.new_key_worker(team_id=2, wallet_pence=0))
    finance = await county.bearer("finance")

    assert (await client.get(f"/api/v1/families/{family['id']}", headers=stranger.headers)).status_code == 404
    assert (await client.get(f"/api/v1/families/{family['id']}", headers=finance.headers)).status_code == 404
    assert (await client.get(f"/api/v1/families/{family['id']}", headers=me.headers)).status_code == 200


async def test_the_teams_manager_adds_a_second_key_worker_who_then_sees_the_family(
    county: County, client: AsyncTestClient[Any]
) -> None:
    _, me = await a_worker(county)
    family = await open_family(client, me)
    second = await county.new_key_worker(wallet_pence=0)
    second_in = await county.bearer(second)
    manager = await county.bearer("manager.exeter")
    assert (await client.get(f"/api/v1/families/{family['id']}", headers=second_in.headers)).status_code == 404

    added = await client.post(
        f"/api/v1/families/{family['id']}/workers", json={"person_id": second.person_id}, headers=manager.headers
    )

    assert added.status_code == 204, added.text
    assert (await client.get(f"/api/v1/families/{family['id']}", headers=second_in.headers)).status_code == 200


async def test_a_key_worker_cannot_add_a_colleague_to_their_family(
    county: County, client: AsyncTestClient[Any]
) -> None:
    _, me = await a_worker(county)
    family = await open_family(client, me)
    colleague = await county.new_key_worker(wallet_pence=0)

    refused = await client.post(
        f"/api/v1/families/{family['id']}/workers", json={"person_id": colleague.person_id}, headers=me.headers
    )

    assert refused.status_code == 403


# Needs -----------------------------------------------------------------------------------


async def test_a_need_is_recorded_with_its_taxonomy_code_label_and_headline_outcome(
    county: County, client: AsyncTestClient[Any]
) -> None:
    _, me = await a_worker(county)
    family = await open_family(client, me)

    added = await client.post(f"/api/v1/families/{family['id']}/needs", json=A_NEED, headers=me.headers)

    assert added.status_code == 201, added.text
    need = added.json()
    assert need["code"] == "HOU-COND"
    assert need["label"] == "Unsuitable or unfurnished home, or keeping a tenancy"
    assert need["outcome"] == 9
    assert (need["whose"], need["evidence_source"], need["baseline_score"]) == ("household", "housing", 3)
    assert need["status"] == "open"
    listed = await client.get(f"/api/v1/families/{family['id']}/needs", headers=me.headers)
    assert [n["id"] for n in listed.json()] == [need["id"]]


@pytest.mark.parametrize("code", ["HOU-XYZ", "hou-cond", "NEGLECT"])
async def test_a_need_outside_the_taxonomy_is_refused(county: County, client: AsyncTestClient[Any], code: str) -> None:
    _, me = await a_worker(county)
    family = await open_family(client, me)

    refused = await client.post(
        f"/api/v1/families/{family['id']}/needs", json={**A_NEED, "code": code}, headers=me.headers
    )

    assert refused.status_code == 422
    assert refused.json()["type"] == "urn:tide:problem:unknown-code"
    assert (await client.get(f"/api/v1/families/{family['id']}/needs", headers=me.headers)).json() == []


@pytest.mark.parametrize(("score", "status"), [(0, 422), (1, 201), (10, 201), (11, 422)])
async def test_a_baseline_score_runs_from_1_to_10(
    county: County, client: AsyncTestClient[Any], score: int, status: int
) -> None:
    _, me = await a_worker(county)
    family = await open_family(client, me)

    added = await client.post(
        f"/api/v1/families/{family['id']}/needs", json={**A_NEED, "baseline_score": score}, headers=me.headers
    )

    assert added.status_code == status, added.text


async def test_a_review_records_the_outcome_and_score_and_may_close_the_need(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me = await a_worker(county)
    case = await county.open_family(worker)
    need_id = case.need_ids[0]

    first = await client.post(
        f"/api/v1/needs/{need_id}/reviews",
        json={"outcome": "no_change", "score": 3, "reviewed_on": "2026-11-10"},
        headers=me.headers,
    )
    second = await client.post(
        f"/api/v1/needs/{need_id}/reviews",
        json={"outcome": "improved", "score": 7, "reviewed_on": "2026-12-22", "close_need": True},
        headers=me.headers,
    )

    assert (first.status_code, second.status_code) == (201, 201)
    reviews = (await client.get(f"/api/v1/needs/{need_id}/reviews", headers=me.headers)).json()
    assert [(r["outcome"], r["score"], r["reviewed_on"]) for r in reviews] == [
        ("no_change", 3, "2026-11-10"),
        ("improved", 7, "2026-12-22"),
    ]
    assert all(r["reviewed_by"] == worker.person_id for r in reviews)
    assert (await client.get(f"/api/v1/needs/{need_id}", headers=me.headers)).json()["status"] == "closed"


@pytest.mark.parametrize("review", [{"outcome": "better", "score": 5}, {"outcome": "worse", "score": 11}])
async def test_a_review_with_an_unknown_outcome_or_a_score_out_of_range_is_refused(
    county: County, client: AsyncTestClient[Any], review: dict[str, Any]
) -> None:
    worker, me = await a_worker(county)
    case = await county.open_family(worker)

    refused = await client.post(f"/api/v1/needs/{case.need_ids[0]}/reviews", json=review, headers=me.headers)

    assert refused.status_code == 422
    assert (await client.get(f"/api/v1/needs/{case.need_ids[0]}/reviews", headers=me.headers)).json() == []


async def test_an_auditor_reads_needs_but_cannot_review_them(county: County, client: AsyncTestClient[Any]) -> None:
    worker, _ = await a_worker(county)
    case = await county.open_family(worker)
    auditor = await county.bearer("auditor")

    assert (await client.get(f"/api/v1/needs/{case.need_ids[0]}", headers=auditor.headers)).status_code == 200
    refused = await client.post(
        f"/api/v1/needs/{case.need_ids[0]}/reviews", json={"outcome": "improved", "score": 6}, headers=auditor.headers
    )
    assert refused.status_code == 403


# Closing the case ------------------------------------------------------------------------


async def test_closing_a_case_sets_its_sustain_check_182_days_later(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me = await a_worker(county)
    case = await county.open_family(worker, opened_on=date(2025, 9, 1))

    closed = await client.post(
        f"/api/v1/families/{case.family_id}/closure",
        json={"reason": "outcomes_met", "closed_on": "2026-03-01"},
        headers=me.headers,
    )

    assert closed.status_code == 200, closed.text
    family = closed.json()
    assert (family["status"], family["closure_reason"]) == ("closed", "outcomes_met")
    assert (family["closed_on"], family["sustain_check_on"]) == ("2026-03-01", "2026-08-30")


async def test_a_case_closed_twice_is_refused_the_second_time(county: County, client: AsyncTestClient[Any]) -> None:
    worker, me = await a_worker(county)
    case = await county.open_family(worker)
    url = f"/api/v1/families/{case.family_id}/closure"
    assert (await client.post(url, json={"reason": "moved_away"}, headers=me.headers)).status_code == 200

    again = await client.post(url, json={"reason": "disengaged"}, headers=me.headers)

    assert again.status_code == 409
    assert again.json()["type"] == "urn:tide:problem:nothing-to-change"
    family = (await client.get(f"/api/v1/families/{case.family_id}", headers=me.headers)).json()
    assert family["closure_reason"] == "moved_away"


async def test_a_closed_family_takes_no_new_needs(county: County, client: AsyncTestClient[Any]) -> None:
    worker, me = await a_worker(county)
    case = await county.open_family(worker)
    closed = await client.post(
        f"/api/v1/families/{case.family_id}/closure", json={"reason": "step_down_to_universal"}, headers=me.headers
    )
    assert closed.status_code == 200

    refused = await client.post(f"/api/v1/families/{case.family_id}/needs", json=A_NEED, headers=me.headers)

    assert refused.status_code == 409
    assert refused.json()["type"] == "urn:tide:problem:family-closed"
    needs = (await client.get(f"/api/v1/families/{case.family_id}/needs", headers=me.headers)).json()
    assert [n["id"] for n in needs] == case.need_ids


# The restricted link to the council's case system ----------------------------------------


async def linked_case(county: County, client: AsyncTestClient[Any]) -> tuple[Case, SignedIn]:
    worker, _ = await a_worker(county)
    case = await county.open_family(worker)
    admin = await county.bearer("admin")
    written = await client.put(
        f"/api/v1/families/{case.family_id}/case-link",
        json={"case_system": "Liquidlogic", "case_system_id": "EH-000123"},
        headers=admin.headers,
    )
    assert written.status_code == 200, written.text
    return case, admin


async def test_an_admin_links_a_family_to_the_case_system_and_reads_it_back(
    county: County, client: AsyncTestClient[Any]
) -> None:
    case, admin = await linked_case(county, client)

    link = await client.get(f"/api/v1/families/{case.family_id}/case-link", headers=admin.headers)

    assert link.status_code == 200
    assert link.json() == {"family_id": case.family_id, "case_system": "Liquidlogic", "case_system_id": "EH-000123"}


@pytest.mark.parametrize("name", ["manager.exeter", "auditor", "finance", "kw.exeter.01"])
async def test_the_case_link_is_not_found_by_anyone_but_an_admin(
    county: County, client: AsyncTestClient[Any], name: str
) -> None:
    case, _ = await linked_case(county, client)
    who = await county.bearer(name)

    read = await client.get(f"/api/v1/families/{case.family_id}/case-link", headers=who.headers)
    written = await client.put(
        f"/api/v1/families/{case.family_id}/case-link",
        json={"case_system": "Mosaic", "case_system_id": "X-1"},
        headers=who.headers,
    )

    assert (read.status_code, written.status_code) == (404, 404)
    assert "EH-000123" not in read.text


async def test_the_lead_worker_does_not_see_the_case_link_on_the_family(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, _ = await a_worker(county)
    me = await county.bearer(worker)
    case = await county.open_family(worker)
    admin = await county.bearer("admin")
    await client.put(
        f"/api/v1/families/{case.family_id}/case-link",
        json={"case_system": "Mosaic", "case_system_id": "EH-777"},
        headers=admin.headers,
    )

    family = await client.get(f"/api/v1/families/{case.family_id}", headers=me.headers)
    link = await client.get(f"/api/v1/families/{case.family_id}/case-link", headers=me.headers)

    assert family.status_code == 200
    assert "EH-777" not in family.text
    assert link.status_code == 404

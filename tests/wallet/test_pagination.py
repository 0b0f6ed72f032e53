"""Lists: cursor pages that neither repeat nor skip, and the filters on purchases and families."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.wallet.support import Case, County, SignedIn, Worker
from wallet import purchases
from wallet.access import load_principal
from wallet.policy import DEFAULT_POLICY


async def buy(
    county: County,
    worker: Worker,
    case: Case,
    *,
    at: datetime = datetime(2025, 5, 14, 10, tzinfo=UTC),
    amount: int = 1_000,
    need_ids: Sequence[int] | None = None,
) -> int:
    """An allowed purchase (by invoice, so no card hold expires) made at ``at``; its id."""
    async with county.session() as db:
        who = await load_principal(db, person_id=worker.person_id)
        ask = purchases.PurchaseAsk(
            family_id=case.family_id,
            need_ids=list(need_ids or case.need_ids[:1]),
            category="LEARN",
            description="Reading books",
            supplier="Waterstones",
            amount=amount,
            payment_method="invoice",
        )
        result = await purchases.make_purchase(db, who=who, ask=ask, policy=DEFAULT_POLICY, now=at)
        assert result.purchase.status == "held"
        return result.purchase.id


async def every_page(client: AsyncTestClient[Any], url: str, me: SignedIn, *, limit: int) -> list[list[int]]:
    """The ids on each page of ``url``, following ``next_cursor`` to the end."""
    pages: list[list[int]] = []
    cursor: str | None = None
    separator = "&" if "?" in url else "?"
    while True:
        query = f"{separator}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(url + query, headers=me.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "the cursor never ran out"


async def ids(client: AsyncTestClient[Any], url: str, me: SignedIn) -> list[int]:
    response = await client.get(url, headers=me.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def worker_with_purchases(county: County, count: int) -> tuple[Worker, SignedIn, Case, list[int]]:
    worker = await county.new_key_worker()
    case = await county.open_family(worker)
    bought = [await buy(county, worker, case) for _ in range(count)]
    return worker, await county.bearer(worker), case, bought


# Cursor pages ----------------------------------------------------------------------------


async def test_purchases_come_newest_first_in_pages_that_neither_repeat_nor_skip(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me, _, bought = await worker_with_purchases(county, 7)

    pages = await every_page(client, f"/api/v1/purchases?worker_id={worker.person_id}", me, limit=3)

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [pid for page in pages for pid in page] == sorted(bought, reverse=True)


async def test_a_list_that_fits_one_page_has_no_next_cursor(county: County, client: AsyncTestClient[Any]) -> None:
    worker, me, _, bought = await worker_with_purchases(county, 3)

    pages = await every_page(client, f"/api/v1/purchases?worker_id={worker.person_id}", me, limit=3)

    assert pages == [sorted(bought, reverse=True)]


async def test_a_purchase_made_between_pages_does_not_shift_the_pages_after(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker, me, case, bought = await worker_with_purchases(county, 4)
    url = f"/api/v1/purchases?worker_id={worker.person_id}&limit=2"
    first = (await client.get(url, headers=me.headers)).json()

    newer = await buy(county, worker, case)
    second = (await client.get(f"{url}&cursor={first['next_cursor']}", headers=me.headers)).json()

    newest_first = sorted(bought, reverse=True)
    assert [p["id"] for p in first["items"]] == newest_first[:2]
    assert [p["id"] for p in second["items"]] == newest_first[2:]
    assert second["next_cursor"] is None
    assert newer not in [p["id"] for p in second["items"]]


async def test_families_come_in_pages_that_neither_repeat_nor_skip(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker = await county.new_key_worker(wallet_pence=0)
    opened = [(await county.open_family(worker)).family_id for _ in range(5)]
    me = await county.bearer(worker)

    pages = await every_page(client, "/api/v1/families", me, limit=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [fid for page in pages for fid in page] == sorted(opened, reverse=True)


async def test_a_limit_below_one_gives_one_item_per_page(county: County, client: AsyncTestClient[Any]) -> None:
    worker, me, _, bought = await worker_with_purchases(county, 2)

    page = (await client.get(f"/api/v1/purchases?worker_id={worker.person_id}&limit=0", headers=me.headers)).json()

    assert [p["id"] for p in page["items"]] == [max(bought)]
    assert page["next_cursor"] is not None


def _b64(raw: str | bytes) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        _b64("id:abc"),
        _b64("page:5"),
        _b64("id:"),
        _b64("id:0"),
        _b64("id:-5"),
        _b64("id:99999999999999999999999"),
        _b64(b"\xff\xfe:1"),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/purchases", "/api/v1/families"])
async def test_a_cursor_tide_did_not_give_out_is_refused_with_422(
    county: County, client: AsyncTestClient[Any], path: str, cursor: str
) -> None:
    me = await county.bearer("manager.exeter")

    refused = await client.get(f"{path}?cursor={cursor}", headers=me.headers)

    assert refused.status_code == 422, refused.text
    assert refused.json()["type"] == "urn:tide:problem:unknown-code"


@pytest.mark.parametrize("path", ["/api/v1/purchases", "/api/v1/families"])
async def test_a_cursor_that_is_not_even_utf8_is_a_malformed_address(
    county: County, client: AsyncTestClient[Any], path: str
) -> None:
    me = await county.bearer("manager.exeter")

    refused = await client.get(f"{path}?cursor=%FF%FE", headers=me.headers)

    assert refused.status_code == 400, refused.text
    assert refused.json()["type"] == "urn:tide:problem:malformed-request"


# Filters on purchases --------------------------------------------------------------------


async def test_purchases_are_filtered_by_inclusive_uk_calendar_dates(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker = await county.new_key_worker()
    case = await county.open_family(worker)
    june_30 = await buy(county, worker, case, at=datetime(2025, 6, 30, 12, tzinfo=UTC))
    # 23:30 on 30 June in UTC is 00:30 on 1 July in London (BST): it belongs to July.
    july_1_in_london = await buy(county, worker, case, at=datetime(2025, 6, 30, 23, 30, tzinfo=UTC))
    july_2 = await buy(county, worker, case, at=datetime(2025, 7, 2, 9, tzinfo=UTC))
    me = await county.bearer(worker)
    url = f"/api/v1/purchases?worker_id={worker.person_id}"

    assert await ids(client, f"{url}&date_to=2025-06-30", me) == [june_30]
    assert await ids(client, f"{url}&date_from=2025-07-01", me) == [july_2, july_1_in_london]
    assert await ids(client, f"{url}&date_from=2025-07-01&date_to=2025-07-01", me) == [july_1_in_london]
    assert await ids(client, f"{url}&date_from=2025-06-30&date_to=2025-07-02", me) == [
        july_2,
        july_1_in_london,
        june_30,
    ]
    assert await ids(client, f"{url}&date_from=2025-07-03", me) == []


async def test_purchases_are_filtered_by_team(county: County, client: AsyncTestClient[Any]) -> None:
    exeter, _, _, exeter_bought = await worker_with_purchases(county, 1)
    torridge = await county.new_key_worker(team_id=2)
    torridge_bought = await buy(county, torridge, await county.open_family(torridge))
    finance = await county.bearer("finance")

    response = await client.get("/api/v1/purchases?team_id=2&limit=200", headers=finance.headers)

    items = response.json()["items"]
    assert {p["team_id"] for p in items} == {2}
    assert torridge_bought in [p["id"] for p in items]
    assert exeter_bought[0] not in [p["id"] for p in items]
    assert exeter.team_id == 1


async def test_purchases_are_filtered_by_worker(county: County, client: AsyncTestClient[Any]) -> None:
    first, _, _, first_bought = await worker_with_purchases(county, 2)
    second, _, _, second_bought = await worker_with_purchases(county, 1)
    manager = await county.bearer("manager.exeter")

    assert await ids(client, f"/api/v1/purchases?worker_id={first.person_id}", manager) == sorted(
        first_bought, reverse=True
    )
    assert await ids(client, f"/api/v1/purchases?worker_id={second.person_id}", manager) == second_bought


async def test_purchases_are_filtered_by_family_and_by_need(county: County, client: AsyncTestClient[Any]) -> None:
    worker = await county.new_key_worker()
    case = await county.open_family(worker, needs=("EDU-ATT", "HOU-COND"))
    other = await county.open_family(worker)
    for_school = await buy(county, worker, case, need_ids=[case.need_ids[0]])
    for_home = await buy(county, worker, case, need_ids=[case.need_ids[1]])
    for_both = await buy(county, worker, case, need_ids=case.need_ids)
    elsewhere = await buy(county, worker, other)
    me = await county.bearer(worker)

    assert await ids(client, f"/api/v1/purchases?family_id={case.family_id}", me) == [for_both, for_home, for_school]
    assert await ids(client, f"/api/v1/purchases?family_id={other.family_id}", me) == [elsewhere]
    assert await ids(client, f"/api/v1/purchases?need_id={case.need_ids[0]}", me) == [for_both, for_school]
    assert await ids(client, f"/api/v1/purchases?need_id={case.need_ids[1]}", me) == [for_both, for_home]


async def test_purchases_are_filtered_by_status(county: County, client: AsyncTestClient[Any]) -> None:
    worker, me, _, bought = await worker_with_purchases(county, 3)
    cancelled = await client.post(f"/api/v1/purchases/{bought[1]}/cancellation", headers=me.headers)
    assert cancelled.status_code == 200
    url = f"/api/v1/purchases?worker_id={worker.person_id}"

    assert await ids(client, f"{url}&status=cancelled", me) == [bought[1]]
    assert await ids(client, f"{url}&status=held", me) == [bought[2], bought[0]]


async def test_filters_combine_and_paginate_together(county: County, client: AsyncTestClient[Any]) -> None:
    worker = await county.new_key_worker()
    case = await county.open_family(worker)
    in_march = [await buy(county, worker, case, at=datetime(2025, 3, day, 10, tzinfo=UTC)) for day in range(1, 6)]
    await buy(county, worker, case, at=datetime(2025, 4, 1, 10, tzinfo=UTC))
    me = await county.bearer(worker)

    pages = await every_page(
        client,
        f"/api/v1/purchases?family_id={case.family_id}&date_from=2025-03-01&date_to=2025-03-31",
        me,
        limit=2,
    )

    newest_first = in_march[::-1]
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:]]


async def test_a_key_worker_lists_only_purchases_they_may_see(county: County, client: AsyncTestClient[Any]) -> None:
    _, me, _, mine = await worker_with_purchases(county, 1)
    colleague, _, _, theirs = await worker_with_purchases(county, 1)

    seen = await ids(client, f"/api/v1/purchases?worker_id={colleague.person_id}", me)
    asked_for_mine = await ids(client, "/api/v1/purchases?limit=200", me)

    assert seen == []
    assert asked_for_mine == mine
    assert theirs[0] not in asked_for_mine


# Filters on families ---------------------------------------------------------------------


async def test_families_are_filtered_by_status_and_team(county: County, client: AsyncTestClient[Any]) -> None:
    worker = await county.new_key_worker(wallet_pence=0)
    still_open = await county.open_family(worker)
    to_close = await county.open_family(worker)
    me = await county.bearer(worker)
    closed = await client.post(
        f"/api/v1/families/{to_close.family_id}/closure", json={"reason": "disengaged"}, headers=me.headers
    )
    assert closed.status_code == 200

    assert await ids(client, "/api/v1/families?status=closed", me) == [to_close.family_id]
    assert await ids(client, "/api/v1/families?status=open", me) == [still_open.family_id]
    assert await ids(client, "/api/v1/families?team_id=1", me) == [to_close.family_id, still_open.family_id]
    assert await ids(client, "/api/v1/families?team_id=2", me) == []


async def test_a_manager_lists_only_their_teams_families(county: County, client: AsyncTestClient[Any]) -> None:
    torridge = await county.new_key_worker(team_id=2, wallet_pence=0)
    theirs = await county.open_family(torridge)
    exeter_manager = await county.bearer("manager.exeter")
    torridge_manager = await county.bearer("manager.torridge")

    exeter_seen = await ids(client, "/api/v1/families?limit=200", exeter_manager)
    torridge_seen = await ids(client, "/api/v1/families?team_id=2&limit=200", torridge_manager)

    assert theirs.family_id not in exeter_seen
    assert theirs.family_id in torridge_seen
    assert await ids(client, "/api/v1/families?team_id=2", exeter_manager) == []

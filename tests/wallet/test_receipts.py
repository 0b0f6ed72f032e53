"""Receipts: accepted by what they contain, fingerprinted, and shown only to who may see the purchase."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests import receipt_files
from tests.wallet.support import PNG, County, SignedIn, Worker, purchase_body
from wallet.receipts import MAX_RECEIPT_BYTES, sniff

JPEG = receipt_files.jpeg("a till receipt")
PDF = receipt_files.pdf()
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)
TEXT = b"Thank you for shopping with us. Total: 42.50\n"


# Sniffing the content --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (JPEG, "image/jpeg"),
        (PNG, "image/png"),
        (PDF, "application/pdf"),
        (HEIC, "image/heic"),
        (b"\x00\x00\x00\x1cftypmif1" + bytes(16), "image/heic"),
    ],
)
def test_a_receipt_is_recognised_by_its_first_bytes(content: bytes, content_type: str) -> None:
    assert sniff(content) == content_type


@pytest.mark.parametrize(
    "content",
    [
        TEXT,
        b"",
        b"\x89PNG",  # a PNG signature cut short
        b"\x00\x00\x00\x18ftypisom" + bytes(16),  # an MP4 video, not a HEIC photo
        b"GIF89a" + bytes(32),
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    ],
)
def test_anything_else_is_not_recognised(content: bytes) -> None:
    assert sniff(content) is None


# Attaching over the API ------------------------------------------------------------------


async def a_purchase(county: County, client: AsyncTestClient[Any], *, team_id: int = 1) -> tuple[Worker, SignedIn, int]:
    worker = await county.new_key_worker(team_id=team_id)
    me = await county.bearer(worker)
    case = await county.open_family(worker)
    made = await client.post("/api/v1/purchases", json=purchase_body(case, 2_500), headers=me.with_key())
    assert made.status_code == 201, made.text
    return worker, me, int(made.json()["purchase"]["id"])


async def attach(
    client: AsyncTestClient[Any], me: SignedIn, purchase_id: int, content: bytes, name: str = "till.png"
) -> Any:
    return await client.post(
        f"/api/v1/purchases/{purchase_id}/receipts",
        files={"data": (name, content, "image/png")},
        headers=me.headers,
    )


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(JPEG, "image/jpeg"), (PNG, "image/png"), (PDF, "application/pdf")],
)
async def test_a_photo_or_pdf_is_stored_as_the_type_its_content_shows_whatever_it_claims(
    county: County, client: AsyncTestClient[Any], content: bytes, content_type: str
) -> None:
    _, me, purchase_id = await a_purchase(county, client)

    attached = await attach(client, me, purchase_id, content, name="receipt.png")

    assert attached.status_code == 201, attached.text
    receipt = attached.json()
    assert (receipt["purchase_id"], receipt["content_type"]) == (purchase_id, content_type)
    assert receipt["duplicate_of"] is None


async def test_a_text_file_named_like_a_png_is_rejected(county: County, client: AsyncTestClient[Any]) -> None:
    _, me, purchase_id = await a_purchase(county, client)

    refused = await attach(client, me, purchase_id, TEXT, name="receipt.png")

    assert refused.status_code == 422
    assert refused.json()["type"] == "urn:tide:problem:receipt-rejected"
    assert (await client.get(f"/api/v1/purchases/{purchase_id}/receipts", headers=me.headers)).json() == []


async def test_an_empty_file_is_rejected(county: County, client: AsyncTestClient[Any]) -> None:
    _, me, purchase_id = await a_purchase(county, client)

    refused = await attach(client, me, purchase_id, b"")

    assert refused.status_code == 422
    assert refused.json()["type"] == "urn:tide:problem:receipt-rejected"


async def test_a_receipt_form_without_a_file_is_rejected(county: County, client: AsyncTestClient[Any]) -> None:
    _, me, purchase_id = await a_purchase(county, client)

    refused = await client.post(
        f"/api/v1/purchases/{purchase_id}/receipts", data={"note": "forgot it"}, headers=me.headers
    )

    assert refused.status_code == 422
    assert refused.json()["type"] == "urn:tide:problem:receipt-rejected"


async def test_a_receipt_of_exactly_the_size_limit_is_accepted_and_one_byte_more_is_rejected(
    county: County, client: AsyncTestClient[Any]
) -> None:
    _, me, purchase_id = await a_purchase(county, client)
    largest = PNG + bytes(MAX_RECEIPT_BYTES - len(PNG))

    accepted = await attach(client, me, purchase_id, largest)
    refused = await attach(client, me, purchase_id, largest + b"\x00")

    assert accepted.status_code == 201, accepted.text
    assert refused.status_code in (413, 422)
    assert "10 MB" in refused.json()["detail"]
    listed = (await client.get(f"/api/v1/purchases/{purchase_id}/receipts", headers=me.headers)).json()
    assert [r["id"] for r in listed] == [accepted.json()["id"]]


async def test_a_body_far_over_the_limit_is_refused_as_too_large(county: County, client: AsyncTestClient[Any]) -> None:
    _, me, purchase_id = await a_purchase(county, client)

    refused = await attach(client, me, purchase_id, PNG + bytes(12 * 1024 * 1024))

    assert refused.status_code == 413
    assert (await client.get(f"/api/v1/purchases/{purchase_id}/receipts", headers=me.headers)).json() == []


# Fingerprints and duplicates -------------------------------------------------------------


async def test_the_same_receipt_on_another_purchase_is_flagged_to_the_manager_as_a_duplicate_of_the_first(
    county: County, client: AsyncTestClient[Any]
) -> None:
    _, me, first_purchase = await a_purchase(county, client)
    _, other, second_purchase = await a_purchase(county, client)
    till = PNG + b"till 0042 total 25.00"

    original = await attach(client, me, first_purchase, till)
    reused = await attach(client, other, second_purchase, till)

    assert (original.status_code, reused.status_code) == (201, 201)
    assert original.json()["sha256"] == reused.json()["sha256"]
    assert original.json()["duplicate_of"] is None
    manager = await county.bearer("manager.exeter")
    seen = await client.get(f"/api/v1/purchases/{second_purchase}/receipts", headers=manager.headers)
    assert [r["duplicate_of"] for r in seen.json()] == [original.json()["id"]]
    assert reused.json()["duplicate_of"] is None  # the other worker is not told whose receipt it was


async def test_the_same_receipt_attached_twice_to_one_purchase_is_not_a_duplicate(
    county: County, client: AsyncTestClient[Any]
) -> None:
    _, me, purchase_id = await a_purchase(county, client)
    till = PNG + b"till 0043 total 25.00"

    await attach(client, me, purchase_id, till)
    again = await attach(client, me, purchase_id, till)

    assert again.status_code == 201
    assert again.json()["duplicate_of"] is None


async def test_the_fingerprint_is_the_sha256_of_the_bytes(county: County, client: AsyncTestClient[Any]) -> None:
    _, me, purchase_id = await a_purchase(county, client)

    attached = await attach(client, me, purchase_id, PDF)

    assert attached.json()["sha256"] == hashlib.sha256(PDF).hexdigest()


# Who sees and who adds -------------------------------------------------------------------


async def test_a_receipt_comes_back_byte_for_byte_as_its_type_and_is_not_cached(
    county: County, client: AsyncTestClient[Any]
) -> None:
    _, me, purchase_id = await a_purchase(county, client)
    receipt = (await attach(client, me, purchase_id, PDF)).json()

    served = await client.get(f"/api/v1/receipts/{receipt['id']}", headers=me.headers)

    assert served.status_code == 200
    assert served.content == PDF
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["cache-control"] == "private, no-store"
    assert served.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(("name", "status"), [("manager.exeter", 200), ("finance", 200), ("auditor", 200)])
async def test_a_receipt_is_served_to_the_manager_finance_and_the_auditor(
    county: County, client: AsyncTestClient[Any], name: str, status: int
) -> None:
    _, me, purchase_id = await a_purchase(county, client)
    receipt = (await attach(client, me, purchase_id, JPEG)).json()
    who = await county.bearer(name)

    served = await client.get(f"/api/v1/receipts/{receipt['id']}", headers=who.headers)

    assert served.status_code == status
    assert served.content == (await client.get(f"/api/v1/receipts/{receipt['id']}", headers=me.headers)).content


async def test_a_receipt_is_not_found_by_a_worker_of_another_team_or_another_teams_manager(
    county: County, client: AsyncTestClient[Any]
) -> None:
    _, me, purchase_id = await a_purchase(county, client)
    receipt = (await attach(client, me, purchase_id, JPEG)).json()
    stranger = await county.bearer(await county.new_key_worker(team_id=2, wallet_pence=0))
    colleague = await county.bearer(await county.new_key_worker(team_id=1, wallet_pence=0))
    other_manager = await county.bearer("manager.torridge")

    for who in (stranger, colleague, other_manager):
        served = await client.get(f"/api/v1/receipts/{receipt['id']}", headers=who.headers)
        listed = await client.get(f"/api/v1/purchases/{purchase_id}/receipts", headers=who.headers)
        assert (served.status_code, listed.status_code) == (404, 404)
        assert JPEG not in served.content


async def test_a_receipt_is_added_only_by_the_worker_who_bought_or_their_manager(
    county: County, client: AsyncTestClient[Any]
) -> None:
    _, me, purchase_id = await a_purchase(county, client)
    finance = await county.bearer("finance")
    manager = await county.bearer("manager.exeter")
    stranger = await county.bearer(await county.new_key_worker(team_id=2, wallet_pence=0))

    by_finance = await attach(client, finance, purchase_id, JPEG)
    by_stranger = await attach(client, stranger, purchase_id, JPEG)
    by_manager = await attach(client, manager, purchase_id, JPEG)

    assert (by_finance.status_code, by_stranger.status_code, by_manager.status_code) == (403, 404, 201)
    listed = (await client.get(f"/api/v1/purchases/{purchase_id}/receipts", headers=me.headers)).json()
    assert [r["id"] for r in listed] == [by_manager.json()["id"]]

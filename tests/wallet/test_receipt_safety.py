"""Receipts read by real parsers: no decompression bomb, no active PDF, no metadata kept; served as
sandboxed downloads; and a duplicate found in another team is told to finance, not to the worker."""

from __future__ import annotations

import io
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from PIL import Image

from tests import receipt_files
from tests.wallet.support import County
from tests.wallet.test_receipts import a_purchase, attach

# Refused: what a receipt must not be -----------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(receipt_files.png_declaring(50_000, 50_000), id="png-declaring-50000x50000"),
        pytest.param(receipt_files.png_declaring(12_001, 10), id="png-wider-than-any-receipt"),
        pytest.param(receipt_files.PDF_WITH_JS, id="pdf-with-javascript-in-names"),
        pytest.param(receipt_files.PDF_OPENING_WITH_JS, id="pdf-with-javascript-open-action"),
        pytest.param(receipt_files.PDF_WITH_HIDDEN_JS, id="pdf-with-hex-escaped-javascript-link"),
        pytest.param(receipt_files.PDF_WITH_EMBEDDED_FILE, id="pdf-with-embedded-file"),
        pytest.param(receipt_files.PDF_LAUNCHING, id="pdf-launching-a-program"),
    ],
)
async def test_a_decompression_bomb_or_a_pdf_that_runs_or_carries_anything_is_refused(
    county: County, client: AsyncTestClient[Any], content: bytes
) -> None:
    _, me, purchase_id = await a_purchase(county, client)

    refused = await attach(client, me, purchase_id, content)

    assert refused.status_code == 422, refused.text
    assert refused.json()["type"] == "urn:tide:problem:receipt-unsafe"
    assert (await client.get(f"/api/v1/purchases/{purchase_id}/receipts", headers=me.headers)).json() == []


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, id="png-signature-then-noise"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"<script>alert(1)</script>", id="jpeg-signature-then-html"),
        pytest.param(b"%PDF-1.7\n<html><script>alert(1)</script></html>", id="pdf-signature-then-html"),
        pytest.param(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64), id="heic-no-parser-checks"),
    ],
)
async def test_a_file_that_only_starts_like_a_receipt_is_refused(
    county: County, client: AsyncTestClient[Any], content: bytes
) -> None:
    _, me, purchase_id = await a_purchase(county, client)

    refused = await attach(client, me, purchase_id, content)

    assert refused.status_code == 422, refused.text
    assert refused.json()["type"] == "urn:tide:problem:receipt-rejected"


# Kept: a photo re-encoded without its metadata --------------------------------------------------


async def test_a_photos_gps_position_and_camera_are_gone_once_uploaded(
    county: County, client: AsyncTestClient[Any]
) -> None:
    _, me, purchase_id = await a_purchase(county, client)
    photo = receipt_files.jpeg("till 0042", exif=receipt_files.gps_exif())
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(0x8825)  # the test's photo does carry GPS

    attached = await attach(client, me, purchase_id, photo, name="receipt.jpg")
    served = await client.get(f"/api/v1/receipts/{attached.json()['id']}", headers=me.headers)

    assert attached.status_code == 201, attached.text
    kept = Image.open(io.BytesIO(served.content))
    assert kept.format == "JPEG"
    assert kept.size == (32, 24)
    assert not kept.getexif()
    assert "exif" not in kept.info
    assert b"SecretPhoneMaker" not in served.content
    assert b"Model-GPS-42" not in served.content


async def test_text_chunks_and_bytes_after_a_png_are_not_kept(county: County, client: AsyncTestClient[Any]) -> None:
    _, me, purchase_id = await a_purchase(county, client)
    image = Image.open(io.BytesIO(receipt_files.png("till")))
    out = io.BytesIO()
    info = __import__("PIL.PngImagePlugin", fromlist=["PngInfo"]).PngInfo()
    info.add_text("Comment", "home address: 1 Acacia Avenue")
    image.save(out, format="PNG", pnginfo=info)
    photo = out.getvalue() + b"<html><script>alert(1)</script></html>"

    attached = await attach(client, me, purchase_id, photo)
    served = await client.get(f"/api/v1/receipts/{attached.json()['id']}", headers=me.headers)

    assert attached.status_code == 201, attached.text
    assert b"Acacia" not in served.content
    assert b"<script>" not in served.content
    assert Image.open(io.BytesIO(served.content)).size == (24, 16)


# Served: a sandboxed download, on both channels ---------------------------------------------------


@pytest.mark.parametrize(
    "content", [receipt_files.png("a"), receipt_files.jpeg("b"), receipt_files.pdf()], ids=["png", "jpeg", "pdf"]
)
async def test_a_receipt_is_served_as_a_sandboxed_attachment_never_sniffed(
    county: County, client: AsyncTestClient[Any], content: bytes
) -> None:
    _, me, purchase_id = await a_purchase(county, client)
    receipt = (await attach(client, me, purchase_id, content)).json()

    served = await client.get(f"/api/v1/receipts/{receipt['id']}", headers=me.headers)

    assert served.status_code == 200
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert served.headers["x-content-type-options"] == "nosniff"


# Duplicates: told to those who may see both, not to another team's worker -------------------------


async def test_a_duplicate_held_by_another_team_is_not_revealed_to_the_worker_but_is_to_finance(
    county: County, client: AsyncTestClient[Any]
) -> None:
    _, exeter, first = await a_purchase(county, client, team_id=1)
    _, torridge, second = await a_purchase(county, client, team_id=2)
    till = receipt_files.png("till 0099 total 25.00")
    original = (await attach(client, exeter, first, till)).json()

    reused = await attach(client, torridge, second, till)
    listed = await client.get(f"/api/v1/purchases/{second}/receipts", headers=torridge.headers)
    finance = await county.bearer("finance")
    seen_by_finance = await client.get(f"/api/v1/purchases/{second}/receipts", headers=finance.headers)

    assert reused.status_code == 201, reused.text
    assert reused.json()["duplicate_of"] is None
    assert [r["duplicate_of"] for r in listed.json()] == [None]
    assert [r["duplicate_of"] for r in seen_by_finance.json()] == [original["id"]]

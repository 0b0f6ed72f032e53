"""An invoice purchase from request to paid over the API, the files downloaded and checked, the
ledger verified after each step; and each refusal answered as problem+json."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

import ledger
from tests import receipt_files
from tests.wallet.support import County, SignedIn, purchase_body

PNG = receipt_files.png("an invoice for the API test")
SUPPLIER = {"name": "Cots & Co", "address": "4 Quay St, Exeter", "vat_number": "GB 123 4567 89",
            "sort_code": "08-99-99", "account_number": "66374958"}  # fmt: skip


async def verified(county: County) -> None:
    async with county.engine.connect() as connection:
        assert await ledger.verify(connection) == []


async def post(client: AsyncTestClient[Any], who: SignedIn, path: str, json: Any = None, **kwargs: Any) -> Any:
    return await client.post(f"/api/v1{path}", json=json, headers=who.with_key(), **kwargs)


def problem_of(response: Any, status: int, slug: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"urn:tide:problem:{slug}"
    return str(body["detail"])


@pytest.fixture
async def finance(county: County) -> tuple[SignedIn, SignedIn]:
    return await county.bearer(await county.new_person("finance")), await county.bearer(
        await county.new_person("finance")
    )


async def test_an_invoice_is_paid_over_the_api_and_its_files_match_the_layouts(
    county: County, client: AsyncTestClient[Any], finance: tuple[SignedIn, SignedIn]
) -> None:
    maker, checker = finance
    worker = await county.new_key_worker(wallet_pence=20_000)
    me = await county.bearer(worker)
    case = await county.open_family(worker)
    supplier = (await post(client, maker, "/suppliers", SUPPLIER)).json()
    assert (supplier["status"], supplier["account_ending"], supplier["vat_number"]) == (
        "pending",
        "4958",
        "GB123456789",
    )
    assert (await post(client, checker, f"/suppliers/{supplier['id']}/confirmation")).status_code == 200

    made = await post(client, me, "/purchases", purchase_body(case, 7_500, payment_method="invoice", category="HH-ESS"))
    assert made.status_code == 201, made.text
    purchase_id = made.json()["purchase"]["id"]
    await verified(county)
    payee = await post(
        client, me, f"/purchases/{purchase_id}/payee", {"supplier_id": supplier["id"], "reference": "INV-7"}
    )
    assert payee.status_code == 201, payee.text
    refused = await post(client, maker, f"/purchases/{purchase_id}/payment-approval")
    assert "attach the invoice" in problem_of(refused, 409, "receipt-needed")
    attached = await post(
        client, me, f"/purchases/{purchase_id}/receipts", files={"file": ("inv.png", PNG, "image/png")}
    )
    assert attached.status_code == 201, attached.text
    assert (await post(client, maker, f"/purchases/{purchase_id}/payment-approval")).status_code == 200

    run = await post(client, maker, "/payment-runs")
    assert run.status_code == 201, run.text
    run_id = run.json()["id"]
    await verified(county)
    ap = await client.get(f"/api/v1/payment-runs/{run_id}/ap-import.csv", headers=maker.headers)
    assert ap.status_code == 200, ap.text
    mine = [row for row in csv.DictReader(io.StringIO(ap.text)) if row["purchase"] == str(purchase_id)]
    assert mine == [{
        "run": str(run_id), "line": mine[0]["line"], "payee": "supplier", "supplier_number": f"S{supplier['id']}",
        "supplier_name": "Cots & Co", "vat_number": "GB123456789", "sort_code": "089999", "account_number": "66374958",
        "reference": "INV-7", "purchase": str(purchase_id), "amount": "75.00", "currency": "GBP",
        "payment_date": mine[0]["payment_date"],
    }]  # fmt: skip

    paid = await post(client, checker, f"/payment-runs/{run_id}/payment")
    assert (paid.status_code, paid.json()["status"]) == (200, "paid"), paid.text
    await verified(county)
    assert await county.available(worker.wallet_id) == 20_000 - 7_500
    returned = await post(client, maker, f"/purchases/{purchase_id}/returned-payment")
    assert (returned.status_code, returned.json()["status"]) == (200, "returned"), returned.text
    await verified(county)
    assert await county.available(worker.wallet_id) == 20_000


async def test_bad_bank_details_are_refused_with_a_problem_naming_the_modulus_check(
    client: AsyncTestClient[Any], finance: tuple[SignedIn, SignedIn]
) -> None:
    maker, _ = finance
    refused = await post(client, maker, "/suppliers", {**SUPPLIER, "account_number": "66374959"})
    assert "modulus check" in problem_of(refused, 422, "bad-bank-details")


async def test_a_bank_change_confirmed_by_its_proposer_is_refused(
    client: AsyncTestClient[Any], finance: tuple[SignedIn, SignedIn]
) -> None:
    maker, checker = finance
    supplier = (await post(client, maker, "/suppliers", SUPPLIER)).json()
    await post(client, checker, f"/suppliers/{supplier['id']}/confirmation")
    change = await post(client, maker, f"/suppliers/{supplier['id']}/bank-details",
                        {"sort_code": "107999", "account_number": "88837491"})  # fmt: skip
    assert change.status_code == 202, change.text
    refused = await post(client, maker, f"/bank-details-changes/{change.json()['id']}/decision", {"confirm": True})
    assert "different finance person" in problem_of(refused, 403, "second-person-needed")


async def test_a_payment_run_with_nothing_approved_is_refused(
    client: AsyncTestClient[Any], finance: tuple[SignedIn, SignedIn]
) -> None:
    maker, _ = finance
    first = await post(client, maker, "/payment-runs")  # collects anything earlier tests approved
    assert first.status_code in (201, 409), first.text
    refused = await post(client, maker, "/payment-runs")
    assert "nothing approved" in problem_of(refused, 409, "nothing-to-pay")


async def test_a_worker_gives_the_name_on_their_account_over_the_api(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker = await county.new_key_worker(wallet_pence=1_000)
    me = await county.bearer(worker)
    details = {"sort_code": "08-99-99", "account_number": "66374958", "account_name": "Kim Worker"}
    made = await post(client, me, f"/people/{worker.person_id}/bank-accounts", details)
    assert made.status_code == 202, made.text
    assert (made.json()["account_name"], made.json()["account_ending"]) == ("Kim Worker", "4958")
    assert "66374958" not in made.text
    unknown = await post(client, me, f"/people/{worker.person_id}/bank-accounts", {**details, "iban": "GB00"})
    assert unknown.status_code == 422


async def test_a_payment_runs_ap_import_is_in_the_layout_finance_chose_in_its_settings(
    county: County, client: AsyncTestClient[Any], finance: tuple[SignedIn, SignedIn]
) -> None:
    maker, checker = finance
    worker = await county.new_key_worker(wallet_pence=20_000)
    me = await county.bearer(worker)
    case = await county.open_family(worker)
    supplier = (await post(client, maker, "/suppliers", SUPPLIER)).json()
    await post(client, checker, f"/suppliers/{supplier['id']}/confirmation")
    purchase_id = (
        await post(client, me, "/purchases", purchase_body(case, 4_200, payment_method="invoice", category="HH-ESS"))
    ).json()["purchase"]["id"]
    await post(client, me, f"/purchases/{purchase_id}/payee", {"supplier_id": supplier["id"], "reference": "INV-8"})
    await post(client, me, f"/purchases/{purchase_id}/receipts", files={"file": ("inv.png", PNG, "image/png")})
    assert (await post(client, maker, f"/purchases/{purchase_id}/payment-approval")).status_code == 200
    chosen = await client.put("/api/v1/finance-settings", json={"ap_layout": "sap"}, headers=maker.headers)
    assert (chosen.status_code, chosen.json()["ap_layout"]) == (200, "sap"), chosen.text

    run = await post(client, maker, "/payment-runs")
    ap = await client.get(f"/api/v1/payment-runs/{run.json()['id']}/ap-import.csv", headers=maker.headers)

    assert ap.status_code == 200, ap.text
    rows = list(csv.DictReader(io.StringIO(ap.text)))
    assert list(rows[0]) == ["LIFNR", "XBLNR", "BLDAT", "BUDAT", "WRBTR", "WAERS", "SGTXT", "BLART"]
    mine = [row for row in rows if row["SGTXT"] == str(purchase_id)]
    assert [(r["LIFNR"], r["XBLNR"], r["WRBTR"], r["BLART"]) for r in mine] == [
        (f"S{supplier['id']}", "INV-8", "42.00", "KR")
    ]
    assert (await client.put("/api/v1/finance-settings", json={}, headers=maker.headers)).status_code == 200
    again = await client.get(f"/api/v1/payment-runs/{run.json()['id']}/ap-import.csv", headers=maker.headers)
    assert again.text == ap.text  # the version in force when the run was started

"""Finance keeps the GL settings through the API: a strict body, problem+json for bad codes and
layouts, every change a new audited version, and the month's GL journal in the chosen layout."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.api.conftest import sign_in
from wallet.clock import now_utc

CUSTOM = {
    "layout": "custom",
    "columns": [
        {"field": "account", "header": "GL Code"},
        {"field": "cost_centre", "header": "Cost Centre"},
        {"field": "debit", "header": "Dr"},
        {"field": "credit", "header": "Cr"},
    ],
    "category_accounts": {"HH-ESS": "5100"},
    "payment_accounts": {"card": "9100", "invoice": "9200", "reimbursement": "9300"},
    "control_accounts": {"vat_recoverable": "9400", "corporate_cost_centre": "C000"},
    "category_vat": {"FOOD-VCH": {"treatment": "outside_scope", "recoverable": False}},
}


@pytest.fixture
async def finance(client: AsyncTestClient[Any]) -> AsyncIterator[dict[str, str]]:
    """Finance signed in; the county's settings are put back to the environment's afterwards."""
    signed = await sign_in(client, "finance")
    yield signed.headers
    signed = await sign_in(client, "finance")
    reset = await client.put("/api/v1/finance-settings", json={}, headers=signed.headers)
    assert reset.status_code == 200, reset.text


async def test_finance_saves_a_custom_layout_and_codes_and_the_months_journal_uses_them(
    client: AsyncTestClient[Any], finance: dict[str, str]
) -> None:
    before = (await client.get("/api/v1/finance-settings", headers=finance)).json()

    saved = await client.put("/api/v1/finance-settings", json=CUSTOM, headers=finance)

    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["version"] == before["version"] + 1
    assert body["layout"] == "custom"
    assert body["columns"] == CUSTOM["columns"]
    assert body["payment_accounts"] == CUSTOM["payment_accounts"]
    assert body["category_vat"] == {"FOOD-VCH": {"treatment": "outside_scope", "recoverable": False}}
    assert (await client.get("/api/v1/finance-settings", headers=finance)).json() == body

    journal = await client.get(f"/api/v1/reports/{now_utc():%Y-%m}/gl-journal.csv", headers=finance)
    assert journal.status_code == 200, journal.text
    rows = list(csv.reader(io.StringIO(journal.text)))
    assert rows[0] == ["GL Code", "Cost Centre", "Dr", "Cr"]
    assert all(row[1] == "C000" for row in rows[1:] if row[0] in {"9100", "9200", "9300", "9400"})
    assert not {"Procurement Card Control", "Supplier Creditors", "VAT Recoverable"} & {row[0] for row in rows}


async def test_every_change_is_audited_with_its_version(client: AsyncTestClient[Any], finance: dict[str, str]) -> None:
    saved = (await client.put("/api/v1/finance-settings", json={"layout": "sap"}, headers=finance)).json()

    admin = await sign_in(client, "admin")
    entries = await client.get(
        "/api/v1/audit", params={"subject_type": "finance_settings", "subject_id": str(saved["version"])},
        headers=admin.headers,
    )  # fmt: skip
    assert entries.status_code == 200, entries.text
    assert [e["action"] for e in entries.json()["items"]] == ["finance_settings.changed"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"payment_accounts": {"card": "91=00;"}}, "bad-account-code"),
        ({"control_accounts": {"vat_recoverable": "=HYPERLINK(1)"}}, "bad-account-code"),
        ({"team_cost_centres": {"1": "x" * 41}}, "bad-account-code"),
        ({"category_accounts": {"NOT-A-CATEGORY": "5100"}}, "unknown-code"),
        ({"team_cost_centres": {"999999": "C1"}}, "unknown-code"),
        ({"layout": "custom", "columns": [{"field": "account", "header": "GL"}]}, "bad-journal-layout"),
        (
            {"layout": "custom", "columns": [{"field": "debit", "header": "A"}, {"field": "debit", "header": "B"}]},
            "bad-journal-layout",
        ),
        ({"layout": "custom", "columns": [{"field": "family", "header": "F"}]}, "validation-error"),
        ({"category_vat": {"FOOD-VCH": {"treatment": "standard", "recoverable": "no"}}}, "validation-error"),
        ({"layout": "oracle", "colour": "blue"}, "validation-error"),
    ],
)
async def test_a_bad_code_or_layout_is_a_problem_naming_the_rule_and_nothing_is_saved(
    client: AsyncTestClient[Any], finance: dict[str, str], change: dict[str, Any], problem: str
) -> None:
    before = (await client.get("/api/v1/finance-settings", headers=finance)).json()

    refused = await client.put("/api/v1/finance-settings", json=change, headers=finance)

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith(problem)
    assert (await client.get("/api/v1/finance-settings", headers=finance)).json() == before


async def test_the_auditor_reads_the_settings_but_cannot_change_them(client: AsyncTestClient[Any]) -> None:
    auditor = await sign_in(client, "auditor")

    assert (await client.get("/api/v1/finance-settings", headers=auditor.headers)).status_code == 200
    refused = await client.put("/api/v1/finance-settings", json={"layout": "oracle"}, headers=auditor.headers)
    assert refused.status_code == 403


async def test_finance_sets_the_presets_fixed_values_and_the_journal_writes_them(
    client: AsyncTestClient[Any], finance: dict[str, str]
) -> None:
    chosen = {"ledger_id": "2021", "entity": "DCC", "company_code": "DV01", "document_type": "KR", "currency": "EUR"}

    saved = await client.put(
        "/api/v1/finance-settings", json={"layout": "oracle", "preset_values": chosen}, headers=finance
    )

    assert saved.status_code == 200, saved.text
    assert saved.json()["preset_values"] == chosen
    journal = await client.get(f"/api/v1/reports/{now_utc():%Y-%m}/gl-journal.csv", headers=finance)
    rows = list(csv.reader(io.StringIO(journal.text)))
    column = {name: i for i, name in enumerate(rows[0])}
    assert len(rows) > 1
    assert {(r[column["LEDGER_ID"]], r[column["SEGMENT1"]], r[column["CURRENCY_CODE"]]) for r in rows[1:]} == {
        ("2021", "DCC", "EUR")
    }
    sap = await client.put("/api/v1/finance-settings", json={"layout": "sap", "preset_values": chosen}, headers=finance)
    assert sap.status_code == 200, sap.text
    journal = await client.get(f"/api/v1/reports/{now_utc():%Y-%m}/gl-journal.csv", headers=finance)
    rows = list(csv.reader(io.StringIO(journal.text)))
    assert {(r[0], r[3], r[4]) for r in rows[1:]} == {("DV01", "KR", "EUR")}


async def test_a_custom_layout_holds_a_column_of_fixed_text(
    client: AsyncTestClient[Any], finance: dict[str, str]
) -> None:
    columns = [{"value": "Devon Main Ledger", "header": "Ledger"}, *CUSTOM["columns"]]

    saved = await client.put("/api/v1/finance-settings", json={**CUSTOM, "columns": columns}, headers=finance)

    assert saved.status_code == 200, saved.text
    assert saved.json()["columns"] == columns
    journal = await client.get(f"/api/v1/reports/{now_utc():%Y-%m}/gl-journal.csv", headers=finance)
    rows = list(csv.reader(io.StringIO(journal.text)))
    assert rows[0] == ["Ledger", "GL Code", "Cost Centre", "Dr", "Cr"]
    assert {row[0] for row in rows[1:]} == {"Devon Main Ledger"}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"preset_values": {"ledger_id": "=1+1"}}, "bad-account-code"),
        ({"preset_values": {"currency": "POUNDS"}}, "bad-account-code"),
        ({"preset_values": {"source": "Tide"}}, "validation-error"),
        ({**CUSTOM, "columns": [*CUSTOM["columns"], {"value": "@SUM(A1)", "header": "X"}]}, "bad-journal-layout"),
        ({**CUSTOM, "columns": [*CUSTOM["columns"], {"value": "-2+3", "header": "X"}]}, "bad-journal-layout"),
        (
            {**CUSTOM, "columns": [*CUSTOM["columns"], {"field": "period", "value": "x", "header": "X"}]},
            "validation-error",
        ),
    ],
)
async def test_a_bad_preset_value_or_fixed_column_is_a_problem_and_nothing_is_saved(
    client: AsyncTestClient[Any], finance: dict[str, str], change: dict[str, Any], problem: str
) -> None:
    before = (await client.get("/api/v1/finance-settings", headers=finance)).json()

    refused = await client.put("/api/v1/finance-settings", json=change, headers=finance)

    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith(problem)
    assert (await client.get("/api/v1/finance-settings", headers=finance)).json() == before

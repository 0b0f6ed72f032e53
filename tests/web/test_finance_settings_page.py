"""Finance keeps the GL settings on a page: one form without JavaScript, what was typed kept with
a readable message when a code is refused, the auditor reads, a key worker is refused."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from tests import databases
from tests.api.conftest import _seed, settings_for
from tests.web.test_pages import csrf_of, sign_in
from wallet.clock import now_utc


@pytest.fixture(scope="module")
def settings_county(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = databases.sqlite_url(Path(tmp_path_factory.mktemp("finance-settings")))
    databases.migrate(url)
    _seed(url)
    return url


@pytest.fixture
async def app_client(settings_county: str) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings_for(settings_county))) as client:
        client.follow_redirects = False
        yield client


def _form(csrf: str, key: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf, "idempotency_key": key, **fields}


async def test_finance_chooses_its_own_columns_and_codes_and_the_journal_follows(
    app_client: AsyncTestClient[Any],
) -> None:
    csrf = await sign_in(app_client, "finance")
    shown = await app_client.get("/finance/settings")
    assert shown.status_code == 200, shown.text
    assert "Nothing is saved yet: the defaults apply." in shown.text
    assert "Blank: Procurement Card Control" in shown.text

    saved = await app_client.post(
        "/finance/settings",
        data=_form(
            csrf, "k-custom", layout="custom",
            **{
                "column-account-place": "1", "column-account-header": "GL Code",
                "column-cost_centre-place": "2", "column-cost_centre-header": "Cost Centre",
                "column-posting_key-place": "3",
                "column-amount-place": "4", "column-amount-header": "Value",
                "payment-card": "9100", "control-corporate_cost_centre": "C000",
                "category-HH-ESS-account": "5100", "category-HH-ESS-vat": "standard",
                "category-FOOD-VCH-vat": "outside_scope", "category-FOOD-VCH-irrecoverable": "yes",
            },
        ),
    )  # fmt: skip

    assert saved.status_code == 303, saved.text
    again = await app_client.get(saved.headers["location"])
    assert "The settings are saved as version 1." in again.text
    assert 'name="payment-card" type="text" value="9100"' in again.text
    assert re.search(r'<option value="outside_scope" selected>', again.text)
    journal = await app_client.get(f"/api/v1/reports/{now_utc():%Y-%m}/gl-journal.csv")
    assert journal.status_code == 200, journal.text
    assert next(csv.reader(io.StringIO(journal.text))) == [
        "GL Code",
        "Cost Centre",
        "Posting key (40 debit, 50 credit)",
        "Value",
    ]


async def test_a_refused_code_is_shown_against_its_box_and_what_was_typed_is_kept(
    app_client: AsyncTestClient[Any],
) -> None:
    csrf = await sign_in(app_client, "finance")

    forged = await app_client.post("/finance/settings", data=_form("not-the-token", "k-forged", layout="sap"))
    assert forged.status_code == 403
    refused = await app_client.post(
        "/finance/settings",
        data=_form(csrf, "k-bad", layout="oracle", **{"payment-invoice": "92;00", "control-vat_recoverable": "9400"}),
    )

    assert refused.status_code == 422
    assert 'id="payment-invoice-error"' in refused.text
    assert "The code for payment type invoice is 1 to 40 letters" in refused.text
    assert 'value="92;00"' in refused.text
    assert 'value="9400"' in refused.text
    misplaced = await app_client.post(
        "/finance/settings", data=_form(csrf, "k-place", layout="custom", **{"column-debit-place": "first"})
    )
    assert misplaced.status_code == 422
    assert "Write the place of Debit as a number, like 3" in misplaced.text
    incomplete = await app_client.post(
        "/finance/settings", data=_form(csrf, "k-money", layout="custom", **{"column-account-place": "1"})
    )
    assert incomplete.status_code == 422
    assert "A journal needs the account, and debit and credit" in incomplete.text


async def test_the_auditor_reads_the_settings_and_a_key_worker_is_refused(app_client: AsyncTestClient[Any]) -> None:
    csrf = await sign_in(app_client, "auditor")
    shown = await app_client.get("/finance/settings")
    assert shown.status_code == 200
    assert "Finance or an admin changes them." in shown.text
    assert "Save the settings" not in shown.text
    refused = await app_client.post("/finance/settings", data=_form(csrf_of(shown.text), "k-aud", layout="sap"))
    assert refused.status_code == 403
    del csrf

    await sign_in(app_client, "kw.exeter.01")
    assert (await app_client.get("/finance/settings")).status_code == 403


async def test_finance_sets_the_sap_company_code_and_a_fixed_column_on_the_page(
    app_client: AsyncTestClient[Any],
) -> None:
    csrf = await sign_in(app_client, "finance")
    shown = await app_client.get("/finance/settings")
    assert "Blank: 1000" in shown.text  # BUKRS's default
    assert 'name="fixed-1-value"' in shown.text

    saved = await app_client.post(
        "/finance/settings",
        data=_form(
            csrf, "k-sap", layout="sap",
            **{"preset-company_code": "DV01", "preset-document_type": "KR", "preset-currency": "EUR",
               "ap_layout": "oracle"},
        ),
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    again = await app_client.get(saved.headers["location"])
    assert 'name="preset-company_code" type="text" value="DV01"' in again.text
    assert 'name="ap_layout" type="radio" value="oracle" checked' in again.text
    assert "As the deployment says (Generic payments CSV)" in again.text
    journal = await app_client.get(f"/api/v1/reports/{now_utc():%Y-%m}/gl-journal.csv")
    rows = list(csv.reader(io.StringIO(journal.text)))
    assert {(r[0], r[3], r[4]) for r in rows[1:]} == {("DV01", "KR", "EUR")}

    custom = {"column-account-place": "2", "column-debit-place": "3", "column-credit-place": "4"}
    fixed = {"fixed-1-place": "1", "fixed-1-header": "Ledger", "fixed-1-value": "Devon Main Ledger"}
    saved = await app_client.post("/finance/settings", data=_form(csrf, "k-fixed", layout="custom", **custom, **fixed))
    assert saved.status_code == 303, saved.text
    again = await app_client.get(saved.headers["location"])
    assert 'name="fixed-1-value" type="text" value="Devon Main Ledger"' in again.text
    journal = await app_client.get(f"/api/v1/reports/{now_utc():%Y-%m}/gl-journal.csv")
    rows = list(csv.reader(io.StringIO(journal.text)))
    assert rows[0] == ["Ledger", "Account code", "Debit", "Credit"]
    assert {row[0] for row in rows[1:]} == {"Devon Main Ledger"}

    formula = {**fixed, "fixed-1-value": "=HYPERLINK(1)"}
    refused = await app_client.post("/finance/settings", data=_form(csrf, "k-eq", layout="custom", **custom, **formula))
    assert refused.status_code == 422
    assert "starting with no formula character" in refused.text
    assert 'value="=HYPERLINK(1)"' in refused.text

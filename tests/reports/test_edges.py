"""The reports at Tide's edges: ``wallet report monthly`` and the API downloads."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pypdf
import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.cli import main
from tests.api.conftest import settings_for
from tests.reports.conftest import Built

pytestmark = pytest.mark.dates

PASSWORD = "a long enough password"  # noqa: S105 - the worked example's test accounts


def test_wallet_report_monthly_writes_the_five_files(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", built.url)
    result = CliRunner().invoke(main, ["report", "monthly", "--month", "2026-10", "--out", str(tmp_path / "out")])

    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "finance-pack-2026-10.pdf",
        "gl-journal-2026-10.csv",
        "needs-outcomes-2026-10.csv",
        "reconciliation-2026-10.csv",
        "transparency-2026-10.csv",
    ]
    transparency = (tmp_path / "out" / "transparency-2026-10.csv").read_text(encoding="utf-8")
    assert len(list(csv.reader(io.StringIO(transparency)))) == 1 + 13
    assert pypdf.PdfReader(tmp_path / "out" / "finance-pack-2026-10.pdf").pages[0].extract_text().count("2026-10")


def test_wallet_report_monthly_refuses_a_month_that_is_not_one(built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", built.url)
    result = CliRunner().invoke(main, ["report", "monthly", "--month", "2026-13", "--out", "unused"])

    assert result.exit_code == 2
    assert "YYYY-MM" in result.output or "not a month" in result.output


async def _signed_in(client: AsyncTestClient[Any], email: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/sign-in", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"x-csrf-token": response.json()["csrf_token"]}


async def test_finance_downloads_a_report_and_a_key_worker_may_not(built: Built) -> None:
    async with AsyncTestClient(app=create_app(settings_for(built.url))) as client:
        await _signed_in(client, "fiona.ledger@world.invalid")
        csv_file = await client.get("/api/v1/reports/2026-10/transparency.csv")
        pdf_file = await client.get("/api/v1/reports/2026-10/finance-pack.pdf")
        period = await client.get("/api/v1/periods/2026-10")
        unknown = await client.get("/api/v1/reports/2026-10/payroll.csv")
        bad_month = await client.get("/api/v1/reports/2026-13/transparency.csv")
        client.cookies.clear()
        await _signed_in(client, "annabel.quill@world.invalid")
        refused = await client.get("/api/v1/reports/2026-10/transparency.csv")

    assert csv_file.status_code == 200, csv_file.text
    assert csv_file.headers["content-type"].startswith("text/csv")
    assert csv_file.headers["content-disposition"] == 'attachment; filename="transparency-2026-10.csv"'
    assert csv_file.text.splitlines()[0].startswith("Date of transaction,Local authority department,Beneficiary")
    assert len(csv_file.text.splitlines()) == 14
    assert pdf_file.headers["content-type"] == "application/pdf"
    assert pdf_file.content.startswith(b"%PDF-")
    body = period.json()
    assert body["status"] == "open"
    assert body["totals_pence"]["Net card and purchase spend"] == 107_500
    assert any(f["check"] == "over-capture" for f in body["findings"])
    assert unknown.status_code in (400, 404, 422)
    assert bad_month.status_code in (400, 422)
    assert refused.status_code == 403


def test_wallet_report_monthly_uses_the_councils_name_and_account_codes_from_its_settings(
    built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", built.url)
    monkeypatch.setenv("TIDE_COUNCIL_NAME", "Torbay Council")
    monkeypatch.setenv("TIDE_GL_CARD_CONTROL", "9100")
    monkeypatch.setenv("TIDE_GL_CORPORATE_COST_CENTRE", "CC000")
    result = CliRunner().invoke(main, ["report", "monthly", "--month", "2026-10", "--out", str(tmp_path)])

    assert result.exit_code == 0, result.output
    journal = list(csv.DictReader(io.StringIO((tmp_path / "gl-journal-2026-10.csv").read_text(encoding="utf-8"))))
    control = [row for row in journal if row["Description"].startswith("Card spend settled")]
    assert control
    assert {(row["Cost centre"], row["Account"]) for row in control} == {("CC000", "9100")}
    assert "Procurement Card Control" not in {row["Account"] for row in journal}
    assert "Torbay Council" in pypdf.PdfReader(tmp_path / "finance-pack-2026-10.pdf").pages[0].extract_text()


async def test_a_downloaded_journal_uses_the_councils_account_codes(built: Built) -> None:
    settings = settings_for(built.url).model_copy(update={"gl_vat_recoverable": "2200", "council_name": "Torbay"})
    async with AsyncTestClient(app=create_app(settings)) as client:
        await _signed_in(client, "fiona.ledger@world.invalid")
        journal = await client.get("/api/v1/reports/2026-10/gl-journal.csv")
        pack = await client.get("/api/v1/reports/2026-10/finance-pack.pdf")

    assert journal.status_code == 200, journal.text
    accounts = {row["Account"] for row in csv.DictReader(io.StringIO(journal.text))}
    assert "2200" in accounts
    assert "VAT Recoverable" not in accounts
    assert "Torbay" in pypdf.PdfReader(io.BytesIO(pack.content)).pages[0].extract_text()

"""The council's own values reach the reports through their options, never by reports importing api."""

from __future__ import annotations

from api.council import chart_of_accounts, report_options
from api.settings import Settings
from reports.journal import ChartOfAccounts


def _defaults() -> Settings:
    """Every council setting at its default, whatever the machine's environment says."""
    return Settings.model_construct()


def test_the_default_settings_keep_the_account_codes_the_journal_always_used() -> None:
    assert chart_of_accounts(_defaults()) == ChartOfAccounts()


def test_a_councils_own_account_codes_and_name_become_the_reports_options() -> None:
    settings = Settings(
        council_name="Torbay Council",
        gl_supplies_and_services="5100",
        gl_transport="5200",
        gl_third_party_payments="5300",
        gl_transfer_payments="5400",
        gl_vat_recoverable="2200",
        gl_card_control="9100",
        gl_corporate_cost_centre="CC000",
    )

    options = report_options(settings)

    assert options.council_name == "Torbay Council"
    assert options.chart == ChartOfAccounts(
        expense_accounts={
            "supplies_and_services": "5100",
            "transport": "5200",
            "third_party_payments": "5300",
            "transfer_payments": "5400",
        },
        vat_recoverable="2200",
        card_control="9100",
        corporate_cost_centre="CC000",
    )

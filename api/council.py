"""The council's own values, from the settings to the reports.

``reports`` knows a council only through ``ReportOptions`` (it never imports ``api``): its
name for the finance pack's cover and its chart of accounts for the general-ledger journal.
Both the report routes and ``wallet report monthly`` take their options from here.
"""

from __future__ import annotations

from api.settings import Settings
from reports.journal import ChartOfAccounts
from reports.monthly import ReportOptions


def chart_of_accounts(settings: Settings) -> ChartOfAccounts:
    """The council's account codes: one per SeRCOP expense group, VAT, the card control account."""
    return ChartOfAccounts(
        expense_accounts={
            "supplies_and_services": settings.gl_supplies_and_services,
            "transport": settings.gl_transport,
            "third_party_payments": settings.gl_third_party_payments,
            "transfer_payments": settings.gl_transfer_payments,
        },
        vat_recoverable=settings.gl_vat_recoverable,
        card_control=settings.gl_card_control,
        supplier_creditor=settings.gl_supplier_creditor,
        reimbursements=settings.gl_reimbursements,
        corporate_cost_centre=settings.gl_corporate_cost_centre,
    )


def report_options(settings: Settings) -> ReportOptions:
    """The month's reports as this council wants them."""
    return ReportOptions(council_name=settings.council_name, chart=chart_of_accounts(settings))

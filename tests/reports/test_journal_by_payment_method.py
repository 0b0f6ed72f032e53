"""The GL journal credits spend by how it was paid: card control, supplier creditors, payroll/expenses."""

from __future__ import annotations

from datetime import date

from reports.journal import ChartOfAccounts, Journal
from reports.movements import Movement

CHART = ChartOfAccounts(card_control="9100", supplier_creditor="9200", reimbursements="9300")


def movement(purchase_id: int, amount: int, payment_method: str) -> Movement:
    return Movement(
        operation_id=f"purchase:{purchase_id}:capture", kind="capture", accounting_date=date(2026, 11, 3),
        amount=amount, flagged=False, purchase_id=purchase_id, purchase_amount=amount, team_id=1,
        cost_centre="EH-EX", department="Early Help", funding_source="prevention", category="HH-ESS",
        supplier="Beds Ltd", payment_method=payment_method, vat_evidence="outside_scope", vat_rate=None,
        vat_amount=None, has_receipt=True, merchant_category=None,
    )  # fmt: skip


def test_card_invoice_and_reimbursement_spend_are_each_credited_to_their_own_account() -> None:
    journal = Journal(CHART)
    for number, (amount, method) in enumerate([(1_000, "card"), (9_000, "invoice"), (250, "reimbursement")], 1):
        journal.add(movement(number, amount, method))
    lines = journal.lines()
    credits = {(line.account, line.description): line.credit for line in lines if line.credit}
    assert credits == {
        ("9100", "Card spend settled"): 1_000,
        ("9200", "Invoices payable"): 9_000,
        ("9300", "Reimbursements payable"): 250,
    }
    assert sum(line.debit for line in lines) == sum(line.credit for line in lines) == 10_250

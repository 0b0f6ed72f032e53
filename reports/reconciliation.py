"""Reconciliation of a month: does Tide agree with Stripe, and the ledger with the budgets and
the purchases? Like ``ledger.verify`` it returns findings rather than raising.

Checks, each producing *exceptions* (finance must explain them before the month closes) or
*notes* (worth knowing, nothing to explain), each in a module of its own:

- against Stripe (``reports.against_stripe``): the month's card purchases against Stripe's
  own list of its Issuing transactions, per transaction, per card and in total;
- the ledger (``reports.ledger_checks``): over-captures and what the overspend receivable
  took, purchases against what the ledger captured, holds open or overdue at the month's end;
- allocations (``reports.allocation_checks``): budget records against ledger transfers.

A finding's ``key`` names it stably (``check:subject``) so an explanation recorded against
it still applies when the reconciliation is run again (``reports.findings``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TextIO

from ledger.money import pounds
from ledger.operations import Db
from reports import ledger_checks
from reports.against_stripe import against_stripe
from reports.allocation_checks import allocations
from reports.card_source import Statement, statement_for
from reports.csv_safe import csv_writer
from reports.findings import Finding, Reconciliation, Severity, StripeAgreement
from reports.period import Period

__all__ = ["HEADER", "Finding", "Reconciliation", "Severity", "StripeAgreement", "reconcile", "write_csv"]


async def reconcile(
    db: Db,
    period: Period,
    *,
    statement: Statement | None = None,
    explanations: Mapping[str, str] | None = None,
    use_processor: bool = True,
) -> Reconciliation:
    """Reconcile ``period``. Stripe's side defaults to its statement as recorded from Stripe;
    with ``use_processor`` false (or no cards' tables) only the ledger side is reconciled."""
    result = Reconciliation(period=period, explanations=dict(explanations or {}))
    if statement is None and use_processor:
        statement = await statement_for(db)
    await ledger_checks.ledger_totals(db, period, result)
    await ledger_checks.over_captures(db, period, result)
    if statement is None:
        result.card_side_reconciled = False
        result.findings.append(
            Finding(
                "card",
                "processor statement",
                "Stripe's statement is not read here: only the ledger side is reconciled",
                severity="note",
            )
        )
    else:
        await against_stripe(db, period, statement, result)
    await ledger_checks.purchases_against_ledger(db, period, result)
    await allocations(db, period, result)
    await ledger_checks.holds(db, period, result)
    return result


HEADER = ("Section", "Check", "Subject", "Amount", "Detail", "Explanation")


def write_csv(reconciliation: Reconciliation, out: TextIO) -> None:
    """The reconciliation as finance reads it: Stripe's agreement, totals, exceptions, then notes."""
    writer = csv_writer(out)
    writer.writerow(HEADER)
    if reconciliation.stripe is not None:
        agreed = reconciliation.stripe
        writer.writerow(("stripe", "", "Card spend against Stripe", pounds(agreed.difference), agreed.sentence(), ""))
    for label, pence in reconciliation.totals.items():
        writer.writerow(("total", "", label, pounds(pence), "", ""))
    for severity in ("exception", "note"):
        for finding in _sorted(reconciliation.findings, severity):
            writer.writerow(
                (
                    severity,
                    finding.check,
                    finding.subject,
                    pounds(finding.amount),
                    finding.detail,
                    reconciliation.explanations.get(finding.key, ""),
                )
            )


def _sorted(findings: Sequence[Finding], severity: str) -> list[Finding]:
    return [f for f in findings if f.severity == severity]

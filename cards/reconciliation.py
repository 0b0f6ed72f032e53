"""Stripe's transactions against the ledger: every one must be in Tide and match its ledger
transfers to the penny, and every card capture or refund in the ledger must have one.

Findings are returned, not raised. The month's reconciliation for finance
(``reports.reconciliation``) reads ``card_transactions`` on its own; this is the check the
card tests make after every scenario, against the fake Stripe's own list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cards.models import CardTransaction
from ledger.schema import transfers


@dataclass(frozen=True, slots=True)
class ReconciliationFinding:
    """A Stripe transaction that does not match exactly one ledger capture or refund."""

    stripe_id: str
    kind: str
    amount: int
    reason: str


async def _ledger_total(db: AsyncSession, operation: str) -> int:
    """What the ledger moved for one card operation (capture and any excess, or the refund)."""
    total = await db.execute(
        select(func.coalesce(func.sum(transfers.c.amount), 0)).where(
            transfers.c.operation_id == operation,
            transfers.c.kind.in_(("capture", "excess", "refund", "allocation")),
        )
    )
    return int(total.scalar_one())


async def reconcile(
    db: AsyncSession, *, stripe_transactions: Sequence[Mapping[str, Any]] | None = None
) -> list[ReconciliationFinding]:
    """Every Stripe transaction must be in Tide and match its ledger transfers to the penny.

    ``stripe_transactions`` is Stripe's own list for the period (from the card issuer); without
    it, Tide's recorded transactions are checked against the ledger only.
    """
    findings: list[ReconciliationFinding] = []
    recorded = {t.stripe_id: t for t in (await db.execute(select(CardTransaction))).scalars()}
    for obj in stripe_transactions or ():
        stripe_id, kind, amount = str(obj["id"]), str(obj.get("type")), abs(int(obj.get("amount") or 0))
        mine = recorded.get(stripe_id)
        if mine is None:
            findings.append(ReconciliationFinding(stripe_id, kind, amount, "not recorded in Tide (event missed?)"))
        elif mine.amount != amount or mine.kind != kind:
            findings.append(
                ReconciliationFinding(stripe_id, kind, amount, f"Tide recorded a {mine.kind} of {mine.amount}p")
            )
    for txn in recorded.values():
        in_ledger = await _ledger_total(db, txn.ledger_transfer_id or "")
        if txn.ledger_transfer_id is None:
            findings.append(ReconciliationFinding(txn.stripe_id, txn.kind, txn.amount, "no ledger transfer"))
        elif in_ledger != txn.amount:
            findings.append(
                ReconciliationFinding(
                    txn.stripe_id, txn.kind, txn.amount, f"the ledger has {in_ledger}p for it, not {txn.amount}p"
                )
            )
    stray = await db.execute(
        select(transfers.c.id).where(
            transfers.c.id.like("card:%"),
            transfers.c.kind.in_(("capture", "refund")),
            transfers.c.id.not_like("%:excess"),
        )
    )
    for (transfer_id,) in stray:
        txn_id = str(transfer_id).split(":")[1]
        if txn_id.startswith("ipi_") and txn_id not in recorded:
            findings.append(
                ReconciliationFinding(txn_id, "unknown", 0, f"ledger transfer {transfer_id} has no Stripe transaction")
            )
    return findings

"""Captures with no hold left that the wallet cannot cover: the wallet pays what it has, the
overspend receivable the rest as a flagged excess, and the month's reports show it to the penny.

Each scenario is driven through the fake Stripe network and the webhook, then read back from
the ledger, the card reconciliation, and the reports (reconciliation and movements).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

import ledger
from api import card_sync
from api.stripe_gateway import StripeGateway
from cards import holds
from cards.models import CardTransaction
from ledger.schema import transfers
from reports.movements import Movement, stream_movements
from reports.period import Period
from reports.reconciliation import Finding, reconcile
from tests.cards.conftest import Rig
from wallet.budgets import house_accounts
from wallet.clock import local_date, month_start, now_utc
from wallet.models import Purchase, Wallet


@dataclass(frozen=True)
class Books:
    """What the ledger and the reports say about one card transaction."""

    txn: CardTransaction
    purchase: Purchase
    posted: list[tuple[str, str, int, bool]]  # (kind, debit account's kind, amount, flagged), by id
    wallet: ledger.Balance
    findings: list[Finding]
    movements: list[Movement]


async def books_of(rig: Rig, stripe_id: str) -> Books:
    month = month_start(local_date(now_utc()))
    sessions = async_sessionmaker(rig.engine, expire_on_commit=False)
    await card_sync.fetch_statement(sessions, StripeGateway(rig.config), month=month, now=now_utc())  # Stripe's list
    async with rig.county.session() as db:
        txn = (await db.execute(select(CardTransaction).where(CardTransaction.stripe_id == stripe_id))).scalar_one()
        assert txn.ledger_transfer_id is not None
        assert txn.purchase_id is not None
        purchase = await db.get(Purchase, txn.purchase_id)
        wallet = await db.get(Wallet, txn.wallet_id)
        assert purchase is not None
        assert wallet is not None
        clearing, receivable = await house_accounts(db)
        named = {clearing: "clearing", receivable: "receivable", wallet.account_id: "wallet"}
        rows = await db.execute(
            select(transfers)
            .where(transfers.c.operation_id == txn.ledger_transfer_id, transfers.c.kind != "hold")
            .order_by(transfers.c.id)
        )
        posted = [(row.kind, named.get(row.debit_account_id, "other"), row.amount, row.flagged) for row in rows]
        balance = await ledger.balance(db, account_id=wallet.account_id)
        now = now_utc()
        period = Period(first=month_start(local_date(now)), as_at=now)
        operation = txn.ledger_transfer_id
        mine = {f"ledger {operation}", f"stripe {stripe_id}", f"purchase {purchase.id}"}
        findings = [f for f in (await reconcile(db, period)).findings if f.subject in mine]
        movements = [m async for m in stream_movements(db, period) if m.operation_id == operation]
    return Books(txn, purchase, posted, balance, findings, movements)


async def allocations_of(rig: Rig, stripe_id: str) -> list[str]:
    """The transaction's allocations: none (the old way moved the shortfall into the wallet)."""
    async with rig.county.session() as db:
        found = await db.execute(
            select(transfers.c.id).where(transfers.c.id.like(f"card:{stripe_id}:%"), transfers.c.kind == "allocation")
        )
        return list(found.scalars())


async def test_a_forced_capture_on_an_empty_wallet_is_all_flagged_overspend_in_the_ledger_and_the_reports(
    rig: Rig,
) -> None:
    _, card = await rig.new_card(wallet_pence=0)

    forced = rig.force_capture(card, 450)

    books = await books_of(rig, forced["id"])
    assert books.posted == [("excess", "receivable", 450, True), ("release", "receivable", 450, False)]
    assert await allocations_of(rig, forced["id"]) == []
    assert books.txn.overspend == 450
    assert (books.wallet.debits_pending, books.wallet.debits_posted, books.wallet.credits_posted) == (0, 0, 0)
    assert books.purchase.captured_amount == 450
    assert books.purchase.policy_reasons == ["force_capture", "overspend"]
    assert books.purchase.hold_transfer_id == f"{books.txn.ledger_transfer_id}:hold"
    operation = books.txn.ledger_transfer_id
    assert sorted((f.check, f.subject, f.amount) for f in books.findings) == [
        ("forced-capture", f"stripe {forced['id']}", 450),
        ("over-capture", f"purchase {books.purchase.id}", 450),
        ("overspend", f"ledger {operation}", 450),
    ]
    assert [(m.kind, m.amount, m.flagged, m.purchase_id) for m in books.movements] == [
        ("capture", 450, True, books.purchase.id)
    ]
    await rig.check_books()


async def test_a_late_capture_after_the_hold_expired_takes_what_the_wallet_has_and_flags_the_rest(
    rig: Rig,
) -> None:
    worker, card = await rig.new_card(wallet_pence=5_000)
    auth = rig.pay(card, 2_000)
    async with rig.county.session() as db:
        assert await holds.expire_card_holds(db, now=now_utc() + timedelta(days=8))
    spent = rig.pay(card, 4_000)
    rig.capture(spent["id"], 4_000)
    assert await rig.available(worker) == 1_000

    late = rig.capture(auth["id"], 2_000)["transactions"][-1]  # after Tide let the hold go

    books = await books_of(rig, late["id"])
    assert books.posted == [("capture", "wallet", 1_000, False), ("excess", "receivable", 1_000, True)]
    assert await allocations_of(rig, late["id"]) == []
    assert books.txn.overspend == 1_000
    assert await rig.available(worker) == 0
    assert books.wallet.debits_posted + books.wallet.debits_pending == books.wallet.credits_posted == 5_000
    assert (books.purchase.status, books.purchase.captured_amount) == ("captured", 2_000)
    assert "overspend" in books.purchase.policy_reasons
    operation = books.txn.ledger_transfer_id
    assert sorted((f.check, f.subject, f.amount) for f in books.findings) == [
        ("over-capture", f"purchase {books.purchase.id}", 2_000),
        ("overspend", f"ledger {operation}", 1_000),
    ]
    assert [(m.kind, m.amount, m.flagged) for m in books.movements] == [("capture", 2_000, True)]
    await rig.check_books()


async def test_a_refund_of_a_capture_the_wallet_paid_none_of_repays_the_overspend_receivable(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=0)
    forced = rig.force_capture(card, 600)

    refund = rig.refund(forced["id"], 600)

    async with rig.county.session() as db:
        _, receivable = await house_accounts(db)
        txn = (await db.execute(select(CardTransaction).where(CardTransaction.stripe_id == refund["id"]))).scalar_one()
        handed_back = (await db.execute(select(transfers).where(transfers.c.id == txn.ledger_transfer_id))).one()
    assert (handed_back.kind, handed_back.credit_account_id, handed_back.amount) == ("refund", receivable, 600)
    assert handed_back.refund_of_id == f"card:{forced['id']}:capture:overspend"
    assert await rig.available(worker) == 0
    await rig.check_books()


async def test_a_capture_whose_hold_the_ledger_sweeper_expired_first_lands_under_an_id_of_its_own(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=1_500)
    auth = rig.pay(card, 1_200)
    async with rig.county.session() as db:  # the ledger's sweeper alone: the card's decision still looks open
        assert await ledger.expire_due_holds(db, now=now_utc() + timedelta(days=8))

    late = rig.capture(auth["id"], 2_000)["transactions"][-1]

    books = await books_of(rig, late["id"])
    assert books.txn.ledger_transfer_id == f"card:{late['id']}:capture:late"
    assert books.posted == [("capture", "wallet", 1_500, False), ("excess", "receivable", 500, True)]
    assert books.txn.overspend == 500
    assert await rig.available(worker) == 0
    assert [(m.amount, m.flagged) for m in books.movements] == [(2_000, True)]
    await rig.check_books()

"""Refunds to match: card refunds Tide could not place on a purchase by rule (no
authorization and no single purchase at that merchant that could take them, or more than the
authorization's purchase can take). The money is back in the wallet already; the key worker
whose wallet it is (or finance) says which card purchase it was for, and the refund is then
handed back from that purchase's captures (``card:<ipi>:refund:assigned``) and the
allocation that held it reversed. Like a card purchase waiting for its family.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cards import refunds
from cards.errors import RefundDoesNotFit, RefundNotToMatch
from cards.models import CardTransaction
from cards.payments import lock_wallet
from cards.refund_links import sources_of
from wallet import audit
from wallet.access import Principal
from wallet.errors import NotAllowed, NotFound
from wallet.models import Purchase, Wallet


@dataclass(frozen=True, slots=True)
class Candidate:
    """A card purchase of the refund's wallet, on its card, that can take all of it: what it
    captured and what it has left to hand back (captured less refunds already on it)."""

    purchase_id: int
    supplier: str
    captured: int
    left: int
    same_merchant: bool


@dataclass(frozen=True, slots=True)
class RefundToMatch:
    """A card refund waiting for a person to say which purchase it was for."""

    id: int
    wallet_id: int
    amount: int
    merchant_name: str
    created_at: datetime
    #: The purchases that could take it (``candidates``), when asked for.
    candidates: tuple[Candidate, ...] = ()


def _may_see(who: Principal, wallet: Wallet) -> bool:
    return who.sees_all_money or wallet.person_id == who.person_id


async def refunds_to_match(db: AsyncSession, *, who: Principal, with_candidates: bool = False) -> list[RefundToMatch]:
    """The refunds to match on the wallets ``who`` may match refunds for, oldest first; each
    with the purchases that could take it (``candidates``) when ``with_candidates``."""
    rows = await db.execute(
        select(CardTransaction, Wallet)
        .join(Wallet, Wallet.id == CardTransaction.wallet_id)
        .where(
            CardTransaction.kind == "refund",
            CardTransaction.purchase_id.is_(None),
            CardTransaction.ledger_transfer_id.is_not(None),
        )
        .order_by(CardTransaction.created_at, CardTransaction.id)
    )
    found = []
    for txn, wallet in rows:
        if _may_see(who, wallet) and await refunds.state_of(db, txn) == refunds.TO_MATCH:
            options = tuple(await _candidates_of(db, txn)) if with_candidates else ()
            found.append(RefundToMatch(txn.id, txn.wallet_id, txn.amount, txn.merchant_name, txn.created_at, options))
    return found


async def refund_to_match(db: AsyncSession, *, who: Principal, refund_id: int) -> RefundToMatch:
    """One refund still to match that ``who`` may see (anything else: not found)."""
    found = [row for row in await refunds_to_match(db, who=who) if row.id == refund_id]
    if not found:
        raise NotFound(f"no card refund {refund_id} to match")
    return found[0]


async def candidates(db: AsyncSession, *, who: Principal, refund_id: int) -> list[Candidate]:
    """The card purchases on the refund's card that could take all of it, the same merchant's
    first, newest first. None when the refund is larger than every purchase left to hand back
    (it then stays to match: the wallet keeps the money, finance sees it in the reconciliation)."""
    await refund_to_match(db, who=who, refund_id=refund_id)
    refund = await db.get(CardTransaction, refund_id)
    if refund is None:  # pragma: no cover - listed just now, in this transaction
        raise NotFound(f"no card refund {refund_id}")
    return await _candidates_of(db, refund)


async def _candidates_of(db: AsyncSession, refund: CardTransaction) -> list[Candidate]:
    captures = list(
        (
            await db.execute(
                select(CardTransaction)
                .where(
                    CardTransaction.kind == "capture",
                    CardTransaction.card_id == refund.card_id,
                    CardTransaction.purchase_id.is_not(None),
                    CardTransaction.ledger_transfer_id.is_not(None),
                )
                .order_by(CardTransaction.created_at.desc(), CardTransaction.id.desc())
            )
        ).scalars()
    )
    merchant = {c.purchase_id for c in captures if _same_merchant(c, refund)}
    found = []
    for source in await sources_of(db, captures):
        purchase = await db.get(Purchase, source.purchase_id) if source.purchase_id is not None else None
        if purchase is not None and purchase.wallet_id == refund.wallet_id and source.total >= refund.amount:
            found.append(
                Candidate(purchase.id, purchase.supplier, source.captured, source.total, purchase.id in merchant)
            )
    return sorted(found, key=lambda c: not c.same_merchant)


def _same_merchant(capture: CardTransaction, refund: CardTransaction) -> bool:
    if capture.merchant_network_id and refund.merchant_network_id:
        return capture.merchant_network_id == refund.merchant_network_id
    return capture.merchant_name.lower() == refund.merchant_name.lower()


async def assign_refund(
    db: AsyncSession, *, who: Principal, refund_id: int, purchase_id: int, now: datetime
) -> CardTransaction:
    """Say which card purchase of the same wallet a refund to match came from."""
    refund = await db.get(CardTransaction, refund_id)
    wallet = await lock_wallet(db, refund.wallet_id) if refund is not None and refund.kind == "refund" else None
    if refund is None or wallet is None or not (_may_see(who, wallet) or wallet.team_id in who.managed_team_ids):
        raise NotFound(f"no card refund {refund_id}")
    if not (wallet.person_id == who.person_id or who.has("finance")):
        raise NotAllowed("only the key worker whose wallet it is, or finance, matches a card refund")
    if await refunds.state_of(db, refund) != refunds.TO_MATCH:
        raise RefundNotToMatch("the refund is on its purchase already, or still waiting for its capture")
    purchase = await db.get(Purchase, purchase_id)
    if purchase is None or purchase.wallet_id != wallet.id or purchase.payment_method != "card":
        raise RefundDoesNotFit("a refund goes to a card purchase of the wallet it came back to")
    captures = (
        await db.execute(
            select(CardTransaction)
            .where(
                CardTransaction.purchase_id == purchase.id,
                CardTransaction.kind == "capture",
                CardTransaction.ledger_transfer_id.is_not(None),
            )
            .order_by(CardTransaction.created_at.desc(), CardTransaction.id.desc())
        )
    ).scalars()
    sources = await sources_of(db, list(captures))
    source = sources[0] if len(sources) == 1 else None
    if source is None or source.total < refund.amount:
        raise RefundDoesNotFit("the purchase's captures cannot take all of the refund")
    held = str(refund.ledger_transfer_id)
    operation = f"card:{refund.stripe_id}:refund:assigned"
    await refunds.land(db, refund=refund, source=source, operation=operation, now=now)
    await refunds.reverse_transfer(db, held, f"card:{refund.stripe_id}:matched:assigned", now=now)
    await db.flush()
    await audit.record(
        db,
        actor=who,
        action="card.refund.assigned",
        subject_type="card_transaction",
        subject_id=refund.id,
        now=now,
        details={"purchase_id": purchase.id, "amount": refund.amount},
    )
    return refund

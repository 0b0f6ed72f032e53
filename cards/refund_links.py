"""Which purchase a refund came from: found by rule, never guessed.

* A refund that names its authorization came from that authorization's purchase: it lands
  there when the purchase's captures can take it (what they captured less what was handed
  back already). Before any capture of the authorization is here, it *waits* for one.
* A refund with no authorization (a merchant's new, unlinked transaction) came from a
  purchase on the same card at the same merchant (the network's id for it when both
  transactions have one, else its name), captured before the refund and at most
  ``REFUND_WINDOW`` earlier, that could take it: it captured at least the refund. Exactly
  one such purchase, with that much still to hand back: it lands there. None, or more than
  one: it is a *refund to match*, which a person assigns. Whether a purchase could take a
  refund is asked of what it captured, not of what other refunds have taken from it, so
  refunds competing for one merchant's purchases land the same in any order.

Only Stripe's own facts decide (its ``created`` moments, the card, the merchant), so the same
refund finds the same purchase whatever order its events came in, once they have all come.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cards.models import CardTransaction
from ledger.operations import returned_so_far
from ledger.schema import transfers

#: How far back a refund with no authorization looks for the purchase it came from.
REFUND_WINDOW = timedelta(days=120)

#: The order a capture's transfers are handed back in: the wallet's capture, the wallet's
#: excess above the hold, then what the overspend receivable paid.
_BACK_FIRST = {"capture": 0, "excess": 1}


@dataclass(frozen=True, slots=True)
class Source:
    """A purchase a refund can land on: its id (``None`` for a capture with no purchase) and
    what each of its capture transfers has left to hand back, newest capture first."""

    purchase_id: int | None
    left: tuple[tuple[str, int], ...]
    #: What its captures took (capture and excess transfers), whatever was handed back since.
    captured: int = 0

    @property
    def total(self) -> int:
        return sum(amount for _, amount in self.left)

    def parts(self, amount: int) -> list[tuple[str, int]]:
        """The transfers ``amount`` is handed back from (it must be at most ``total``)."""
        chosen: list[tuple[str, int]] = []
        for transfer_id, left in self.left:
            if amount <= 0:
                break
            take = min(left, amount)
            if take > 0:
                chosen.append((transfer_id, take))
                amount -= take
        return chosen


async def captures_of_authorization(db: AsyncSession, refund: CardTransaction) -> list[CardTransaction]:
    """The captures on the refund's card of the authorization it names, already in the ledger."""
    found = await db.execute(
        select(CardTransaction)
        .where(
            CardTransaction.kind == "capture",
            CardTransaction.card_id == refund.card_id,
            CardTransaction.authorization_stripe_id == refund.authorization_stripe_id,
            CardTransaction.ledger_transfer_id.is_not(None),
        )
        .order_by(CardTransaction.created_at.desc(), CardTransaction.id.desc())
    )
    return list(found.scalars())


async def captures_at_merchant(db: AsyncSession, refund: CardTransaction) -> list[CardTransaction]:
    """The captures a refund with no authorization may have come from: same card and
    merchant, captured before it, within the window; newest first."""
    same_merchant = (
        CardTransaction.merchant_network_id == refund.merchant_network_id
        if refund.merchant_network_id
        else func.lower(CardTransaction.merchant_name) == refund.merchant_name.lower()
    )
    found = await db.execute(
        select(CardTransaction)
        .where(
            CardTransaction.kind == "capture",
            CardTransaction.card_id == refund.card_id,
            CardTransaction.ledger_transfer_id.is_not(None),
            CardTransaction.created_at <= refund.created_at,
            CardTransaction.created_at >= refund.created_at - REFUND_WINDOW,
            same_merchant,
        )
        .order_by(CardTransaction.created_at.desc(), CardTransaction.id.desc())
    )
    captures = list(found.scalars())
    if refund.merchant_network_id:  # a capture with no network id is matched by name
        by_name = await db.execute(
            select(CardTransaction).where(
                CardTransaction.kind == "capture",
                CardTransaction.card_id == refund.card_id,
                CardTransaction.ledger_transfer_id.is_not(None),
                CardTransaction.merchant_network_id.is_(None),
                CardTransaction.created_at <= refund.created_at,
                CardTransaction.created_at >= refund.created_at - REFUND_WINDOW,
                func.lower(CardTransaction.merchant_name) == refund.merchant_name.lower(),
            )
        )
        captures.extend(by_name.scalars())
    return captures


async def sources_of(
    db: AsyncSession, captures: Sequence[CardTransaction], *, giving_back: CardTransaction | None = None
) -> list[Source]:
    """The purchases the captures paid for, each with what it has left to hand back.
    ``giving_back`` is a refund already landed on one of them: its own pence count as left."""
    by_purchase: dict[int | None, list[tuple[str, int]]] = {}
    captured: dict[int | None, int] = {}
    for capture in captures:
        key = capture.purchase_id if capture.purchase_id is not None else -capture.id
        for transfer_id, left, took in await _left_of(db, str(capture.ledger_transfer_id), giving_back):
            by_purchase.setdefault(key, []).append((transfer_id, left))
            captured[key] = captured.get(key, 0) + took
    return [
        Source(purchase_id=key if key is not None and key > 0 else None, left=tuple(left), captured=captured[key])
        for key, left in by_purchase.items()
    ]


async def _left_of(db: AsyncSession, operation: str, giving_back: CardTransaction | None) -> list[tuple[str, int, int]]:
    rows = await db.execute(
        select(transfers.c.id, transfers.c.kind, transfers.c.amount).where(
            transfers.c.operation_id == operation, transfers.c.kind.in_(("capture", "excess"))
        )
    )
    ordered = sorted(rows, key=lambda row: (_BACK_FIRST[row.kind], not str(row.id).endswith(":excess"), row.id))
    mine = await _own_refunds(db, giving_back) if giving_back is not None else {}
    left = []
    for row in ordered:
        remaining = int(row.amount) - await returned_so_far(db, str(row.id)) + mine.get(str(row.id), 0)
        left.append((str(row.id), remaining, int(row.amount)))
    return left


async def _own_refunds(db: AsyncSession, refund: CardTransaction) -> dict[str, int]:
    """What the refund's current ledger operation handed back, capture transfer by transfer."""
    rows = await db.execute(
        select(transfers.c.refund_of_id, transfers.c.amount).where(
            transfers.c.operation_id == refund.ledger_transfer_id, transfers.c.kind == "refund"
        )
    )
    return {str(original): int(amount) for original, amount in rows}


def the_one_that_takes(sources: Sequence[Source], amount: int) -> Source | None:
    """The one purchase that could take ``amount`` by what it captured, if it still can;
    ``None`` when none could or several could. What other refunds took is not asked, so
    refunds competing for one merchant's purchases land the same whichever came first."""
    could = [source for source in sources if source.captured >= amount]
    return could[0] if len(could) == 1 and could[0].total >= amount else None

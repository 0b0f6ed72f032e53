"""The month's spend, movement by movement, straight from the ledger.

A *movement* is posted money for a purchase dated in the month: a capture of its hold
(with any flagged excess above the hold folded in: one payment), a refund of it, or a
reversal of one of those. Captures are positive, refunds and reversals negative. Each is
joined to its purchase (what, from whom, for which team and funding source, with what VAT
evidence), so every report counts the same pennies. Rows stream from the database in
accounting-date order; nothing holds the month in memory. Published, each Stripe object is
one movement per purchase: a refund moved between being matched and landing (refunds are
decided in Stripe's order, so one that arrived early may be moved) shows as what it came to,
whatever order its events came in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal, cast

from sqlalchemy import Select, Subquery, and_, case, column, exists, func, literal, or_, select, table, union_all
from sqlalchemy.orm import aliased

from ledger.operations import Db
from ledger.schema import transfers
from reports.card_source import card_transactions, statement_for
from reports.period import Period
from wallet.models import FundingSource, Purchase, Receipt, Team

MOVEMENT_KINDS = ("capture", "excess", "refund", "reversal")
_BATCH = 2000


@dataclass(frozen=True, slots=True)
class Movement:
    """Posted money for one purchase on one accounting date; ``amount`` signed in pence."""

    operation_id: str
    kind: str
    accounting_date: date
    amount: int
    flagged: bool
    purchase_id: int
    purchase_amount: int
    team_id: int
    cost_centre: str
    department: str
    funding_source: str
    category: str
    supplier: str
    payment_method: str
    vat_evidence: str
    vat_rate: str | None
    vat_amount: int | None
    has_receipt: bool
    merchant_category: str | None


#: Card captures: each names the purchase it paid for. A purchase captured several times (a
#: hotel's or a shop's captures on one authorization, a late capture after its hold expired)
#: has captures from holds other than its own; they are counted as the purchase's.
_card_captures = table("card_transactions", column("kind"), column("ledger_transfer_id"), column("purchase_id"))


def purchase_holds() -> Subquery:
    """``(operation, purchase_hold)``: the hold of the purchase each card capture paid for."""
    c = _card_captures.c
    return (
        select(c.ledger_transfer_id.label("operation"), Purchase.hold_transfer_id.label("purchase_hold"))
        .join(Purchase, Purchase.id == c.purchase_id)
        .where(c.kind == "capture", c.ledger_transfer_id.is_not(None))
        .subquery("purchase_holds")
    )


def _month_transfers(period: Period) -> Subquery:
    """The month's captures, excesses, refunds and reversals of captures, each with the hold of
    the purchase it belongs to: captures straight from their hold, the others through the
    capture they hand back (looked up by key). No join on an expression over the whole ledger."""
    t = transfers.c
    original = aliased(transfers, name="original")
    dated = (t.accounting_date >= period.first, t.accounting_date < period.end, t.recorded_at <= period.as_at)
    columns = (t.id, t.operation_id, t.kind, t.accounting_date, t.flagged)
    own, theirs = purchase_holds(), purchase_holds()
    captures = (
        select(*columns, t.amount.label("amount"), func.coalesce(own.c.purchase_hold, t.pending_id).label("hold_id"))
        .outerjoin(own, own.c.operation == t.operation_id)
        .where(t.kind.in_(("capture", "excess")), *dated)
    )
    handed_back = (
        select(
            *columns,
            (-t.amount).label("amount"),
            func.coalesce(theirs.c.purchase_hold, original.c.pending_id).label("hold_id"),
        )
        .join(original, original.c.id == func.coalesce(t.refund_of_id, t.reverses_id))
        .outerjoin(theirs, theirs.c.operation == original.c.operation_id)
        .where(
            t.kind.in_(("refund", "reversal")),
            # A reversal counts only when it corrects a capture or an excess (or a refund: below).
            or_(t.kind == "refund", original.c.kind.in_(("capture", "excess"))),
            *dated,
        )
    )
    undone = _refunds_reversed(lambda hold: (*columns, t.amount.label("amount"), hold), dated)
    return union_all(captures, handed_back, undone).subquery("moved_transfers")


def _refunds_reversed(columns: Callable[[Any], tuple[Any, ...]], dated: Sequence[Any]) -> Select[Any]:
    """Reversals of refunds (a refund moved off its purchase, a won dispute's funds rescinded):
    spend again, positive, on the purchase of the capture the refund handed back."""
    t = transfers.c
    refund, capture = aliased(transfers, name="refund_reversed"), aliased(transfers, name="refunded_capture")
    holds = purchase_holds()
    return (
        select(*columns(func.coalesce(holds.c.purchase_hold, capture.c.pending_id).label("hold_id")))
        .join(refund, refund.c.id == t.reverses_id)
        .join(capture, capture.c.id == refund.c.refund_of_id)
        .outerjoin(holds, holds.c.operation == capture.c.operation_id)
        .where(t.kind == "reversal", refund.c.kind == "refund", *dated)
    )


def movements_query(period: Period, *, with_processor: bool, card_only: bool = False) -> Select[tuple[object, ...]]:
    """The month's movements, one row per transfer, ordered so a capture's excess follows it."""
    m = _month_transfers(period)
    has_receipt = exists().where(Receipt.purchase_id == Purchase.id, Receipt.uploaded_at <= period.as_at)
    processor = card_transactions.alias("processor")
    merchant_category = processor.c.merchant_category if with_processor else literal(None)
    query = (
        select(
            m.c.operation_id,
            m.c.kind,
            m.c.accounting_date,
            m.c.amount,
            m.c.flagged,
            Purchase.id.label("purchase_id"),
            Purchase.amount.label("purchase_amount"),
            Purchase.team_id,
            Team.cost_centre,
            Team.department,
            FundingSource.code.label("funding_source"),
            Purchase.category,
            Purchase.supplier,
            Purchase.payment_method,
            Purchase.vat_evidence,
            Purchase.vat_rate,
            Purchase.vat_amount,
            has_receipt.label("has_receipt"),
            merchant_category.label("merchant_category"),
        )
        .select_from(m)
        .join(Purchase, Purchase.hold_transfer_id == m.c.hold_id)
        .join(Team, Team.id == Purchase.team_id)
        .join(FundingSource, FundingSource.id == Purchase.funding_source_id)
        .order_by(m.c.accounting_date, m.c.operation_id, m.c.id)
    )
    if with_processor:
        # The processor's transaction this movement became (a hash join: no per-row lookups).
        same_kind = case((m.c.kind.in_(("capture", "excess")), "capture"), else_="refund")
        query = query.outerjoin(
            processor, and_(processor.c.ledger_transfer_id == m.c.operation_id, processor.c.kind == same_kind)
        )
    if card_only:
        query = query.where(Purchase.payment_method == "card")
    return query


async def stream_movements(db: Db, period: Period, *, card_only: bool = False) -> AsyncIterator[Movement]:
    """The month's movements, oldest first, each Stripe object's net on each purchase (a card
    capture with its flagged excess folded in, a refund with any moves it made between being
    matched and landing) as one; an object that nets to nothing is not a movement."""
    with_processor = await statement_for(db) is not None
    rows = await db.stream(
        movements_query(period, with_processor=with_processor, card_only=card_only).execution_options(yield_per=_BATCH)
    )
    group: tuple[date, str] | None = None
    netted: dict[int, Movement] = {}
    # A batch at a time: one hop into the database driver per batch, not per row.
    async for batch in rows.partitions():
        for row in batch:
            movement = _movement(cast("tuple[Any, ...]", row))
            key = (movement.accounting_date, published_object(movement.operation_id))
            if key != group:
                for done in _net(netted):
                    yield done
                group, netted = key, {}
            before = netted.get(movement.purchase_id)
            netted[movement.purchase_id] = movement if before is None else _fold(before, movement)
    await rows.close()
    for done in _net(netted):
        yield done


def _movement(row: tuple[Any, ...]) -> Movement:
    (
        operation_id, kind, accounting_date, amount, flagged, purchase_id, purchase_amount, team_id,
        cost_centre, department, funding_source, category, supplier, payment_method, vat_evidence, vat_rate,
        vat_amount, has_receipt, merchant_category,
    ) = row  # fmt: skip
    return Movement(
        operation_id,
        "capture" if kind == "excess" else kind,
        _date(accounting_date),
        int(amount),
        bool(flagged),
        purchase_id,
        int(purchase_amount),
        team_id,
        cost_centre,
        department,
        funding_source,
        category,
        supplier,
        payment_method,
        vat_evidence,
        vat_rate,
        None if vat_amount is None else int(vat_amount),
        bool(has_receipt),
        merchant_category,
    )


def published_object(operation_id: str) -> str:
    """What a movement is published as: the Stripe object its ledger operation books
    (``card:<ipi>:…``: the transaction, however often it moved; ``card:<ipi>:dispute:<du>…``:
    the dispute), or the operation itself."""
    parts = operation_id.split(":")
    if parts[0] != "card" or len(parts) < 3:
        return operation_id
    return ":".join(parts[:4]) if parts[2] == "dispute" else ":".join(parts[:2])


def _net(netted: dict[int, Movement]) -> list[Movement]:
    return [movement for movement in netted.values() if movement.amount != 0]


def _date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _fold(first: Movement, then: Movement) -> Movement:
    """Two movements of one object on one purchase as one: a capture's excess (flagged), a
    refund's moves; the processor's merchant category wherever one of them has it."""
    amount = first.amount + then.amount
    kind = first.kind if (amount > 0) == (first.amount > 0) else then.kind
    return replace(
        first,
        amount=amount,
        kind=kind,
        flagged=first.flagged or (then.flagged and then.amount > 0),
        merchant_category=first.merchant_category or then.merchant_category,
    )


Span = Literal["month", "to_date", "before"]


def _posted(period: Period, *, span: Span) -> Subquery:
    """``(hold_id, amount)`` for each movement of the span."""
    t = transfers.c
    dated = [t.recorded_at <= period.as_at]
    dated.append(t.accounting_date < (period.first if span == "before" else period.end))
    if span == "month":
        dated.append(t.accounting_date >= period.first)
    return _posted_where(dated)


def _posted_where(dated: Sequence[Any]) -> Subquery:
    """``(hold_id, amount)`` for each movement ``dated`` says: captures straight from their hold,
    refunds and reversals through the capture they hand back (two plain joins, not one on an
    expression)."""
    t = transfers.c
    original = aliased(transfers, name="original")
    own, theirs = purchase_holds(), purchase_holds()
    captures = (
        select(func.coalesce(own.c.purchase_hold, t.pending_id).label("hold_id"), t.amount.label("amount"))
        .outerjoin(own, own.c.operation == t.operation_id)
        .where(t.kind.in_(("capture", "excess")), *dated)
    )
    handed_back = (
        select(
            func.coalesce(theirs.c.purchase_hold, original.c.pending_id).label("hold_id"), (-t.amount).label("amount")
        )
        .join(original, original.c.id == func.coalesce(t.refund_of_id, t.reverses_id))
        .outerjoin(theirs, theirs.c.operation == original.c.operation_id)
        .where(
            t.kind.in_(("refund", "reversal")),
            or_(t.kind == "refund", original.c.kind.in_(("capture", "excess"))),
            *dated,
        )
    )
    undone = _refunds_reversed(lambda hold: (hold, t.amount.label("amount")), dated)
    return union_all(captures, handed_back, undone).subquery("posted")


def net_spend_query(period: Period, *, month_only: bool = True, span: Span | None = None) -> Select[int, Any]:
    """``(purchase_id, net)``: each purchase's posted spend in the month (or up to its end, or
    before it), in pence."""
    posted = _posted(period, span=span or ("month" if month_only else "to_date"))
    return (
        select(Purchase.id.label("purchase_id"), func.sum(posted.c.amount).label("net"))
        .join(posted, posted.c.hold_id == Purchase.hold_transfer_id)
        .group_by(Purchase.id)
    )


def net_spend_since(period: Period, *, since: date, recorded_after: datetime) -> Select[int, Any]:
    """``(purchase_id, net)``: each purchase's posted spend to the month's end (as at its moment)
    that is dated from ``since`` or was recorded after ``recorded_after`` (a snapshot's month end
    and moment): what moved since the snapshot, read through the indexes of both."""
    t = transfers.c
    dated = (
        t.recorded_at <= period.as_at,
        t.accounting_date < period.end,
        or_(t.accounting_date >= since, t.recorded_at > recorded_after),
    )
    posted = _posted_where(dated)
    return (
        select(Purchase.id.label("purchase_id"), func.sum(posted.c.amount).label("net"))
        .join(posted, posted.c.hold_id == Purchase.hold_transfer_id)
        .group_by(Purchase.id)
    )


def net_spend_by_purchase(period: Period, *, month_only: bool = True) -> Subquery:
    """``net_spend_query`` as a subquery named ``spend``."""
    return net_spend_query(period, month_only=month_only).subquery("spend")

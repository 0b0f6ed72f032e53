"""The month's card spend against Stripe's own list of Issuing transactions.

Stripe's side is its statement (``reports.card_source``): the month's Issuing transactions as
Stripe listed them, fetched through the gateway, each beside the ledger operation Tide made of
it. Tide's side is its card purchases: the month's movements (``reports.movements``) of
purchases paid by card, which is exactly what the Transparency Code file publishes. Captures
count positive, refunds negative, and every amount is Stripe's less Tide's.

Exceptions, each naming the Stripe objects (transaction, authorization, card) and the purchase:

- a transaction on Stripe's statement that Tide never booked;
- a refund Stripe made that Tide attached to no purchase (or a capture no purchase carries): a
  refund to match (held on the card's wallet from card clearing) is one until a person says
  which purchase it was for, and clears once it is assigned;
- a transaction whose amount differs from what Tide's purchase moved for it;
- a card movement in Tide with no transaction on Stripe's statement;
- a forced capture (no authorization), or a disputed transaction not won;
- Stripe's statement not fetched for a month in which Tide has card spend.

A won dispute: Stripe reinstates the funds on its balance, not as an Issuing transaction, and
Tide books them as a refund of the disputed purchase (``card:<ipi>:dispute:<idp>``). Such a
refund is Stripe's when the transaction it names is a capture on Stripe's statement (of any
month) at least as large; the month's reinstated total is then taken off Stripe's captured -
refunded (``StripeAgreement.reinstated``), and the disputed line is a note, not an exception.
A reinstatement naming no capture of Stripe's, or more than it, stays an exception.

Per card, the differences are summed into a note naming the transactions behind them; in
total, ``Reconciliation.stripe`` holds Tide's card spend and Stripe's captured - refunded, which
the finance pack's cover states. Only the lines that disagree come back from the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Subquery, and_, case, exists, func, or_, select

from cards.models import Card, CardTransaction
from ledger.money import pounds, pounds_display
from ledger.operations import Db
from ledger.schema import transfers
from reports.card_source import Statement
from reports.findings import Finding, Reconciliation, StripeAgreement
from reports.movements import movements_query
from reports.period import Period

_BATCH = 1000
#: Tide's refund of a disputed capture when the dispute is won (``cards.disputes``).
_DISPUTE_OPERATIONS = "card:%:dispute:%"


@dataclass
class _Cards:
    """Differences found so far, by Stripe card id: the amount and the subjects behind it."""

    difference: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    subjects: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, card: str, amount: int, subject: str) -> None:
        self.difference[card] += amount
        self.subjects[card].append(subject)


def _tide_by_operation(period: Period) -> Subquery:
    """Tide's card purchases of the month, one row per ledger operation: net amount and purchase."""
    moved = movements_query(period, with_processor=False, card_only=True).order_by(None).subquery("card_moved")
    return (
        select(
            moved.c.operation_id,
            func.sum(moved.c.amount).label("amount"),
            func.min(moved.c.purchase_id).label("purchase_id"),
        )
        .group_by(moved.c.operation_id)
        .subquery("tide")
    )


async def against_stripe(db: Db, period: Period, statement: Statement, result: Reconciliation) -> None:
    """Reconcile the month's card purchases with Stripe's statement, into ``result``."""
    tide = _tide_by_operation(period)
    tide_total, tide_count = (
        await db.execute(select(func.coalesce(func.sum(tide.c.amount), 0), func.count()).select_from(tide))
    ).one()
    result.totals["Tide card purchases"] = int(tide_total)
    if not (await statement.fetched(db, period)).fetched:
        _not_fetched(period, int(tide_total), int(tide_count), result)
        return
    lines = statement.lines(period)
    sums = await db.execute(select(lines.c.kind, func.sum(lines.c.amount)).group_by(lines.c.kind))
    by_kind = {str(kind): int(total or 0) for kind, total in sums}
    won = await _disputes_won(db, period, statement, tide)
    agreement = StripeAgreement(
        fetched=True,
        tide=int(tide_total),
        captured=by_kind.get("capture", 0),
        refunded=by_kind.get("refund", 0),
        reinstated=sum(won.values()),
    )
    result.stripe = agreement
    result.totals["Stripe captures"] = agreement.captured
    result.totals["Stripe refunds"] = agreement.refunded
    if agreement.reinstated:
        result.totals["Stripe reinstated for disputes won"] = agreement.reinstated
    result.totals["Stripe captured - refunded"] = agreement.stripe
    result.totals["Difference (Stripe - Tide)"] = agreement.difference
    cards = _Cards()
    await _stripe_lines(db, lines, tide, result, cards)
    await _tide_not_on_stripe(db, lines, tide, result, cards, reinstated=set(won))
    for card, difference in sorted(cards.difference.items()):
        if difference:
            behind = ", ".join(cards.subjects[card][:10])
            by = pounds_display(difference)
            detail = f"Stripe's captured - refunded differs from Tide's card purchases by {by}: {behind}"
            result.findings.append(Finding("stripe-card", f"card {card or 'unknown'}", detail, difference, "note"))


def _not_fetched(period: Period, tide_total: int, tide_count: int, result: Reconciliation) -> None:
    result.card_side_reconciled = False
    result.stripe = StripeAgreement(fetched=False, tide=tide_total)
    detail = (
        f"Stripe's statement of {period.label} has not been fetched (wallet stripe statement {period.label}): "
        f"Tide's card purchases of {pounds(tide_total)} are not reconciled with Stripe"
    )
    subject = f"statement {period.label}"
    if tide_count:
        result.findings.append(Finding("stripe", subject, detail, tide_total))
    else:
        result.findings.append(Finding("stripe", subject, detail, tide_total, "note"))


def _objects(row: object) -> str:
    authorization = getattr(row, "authorization_stripe_id", None)
    card = getattr(row, "card_stripe_id", None) or "unknown"
    return f"authorization {authorization}, card {card}" if authorization else f"no authorization, card {card}"


async def _stripe_lines(db: Db, lines: Subquery, tide: Subquery, result: Reconciliation, cards: _Cards) -> None:
    """Each of Stripe's lines that disagrees with Tide's purchases, is forced, or is disputed."""
    signed = case((lines.c.kind == "capture", lines.c.amount), else_=-lines.c.amount)
    forced = and_(lines.c.kind == "capture", lines.c.authorization_stripe_id.is_(None))
    held = exists().where(transfers.c.operation_id == lines.c.ledger_transfer_id, transfers.c.kind == "allocation")
    rows = await db.stream(
        select(
            *lines.c,
            signed.label("signed"),
            forced.label("forced"),
            held.label("to_match"),
            tide.c.amount.label("tide"),
            tide.c.purchase_id,
        )
        .select_from(lines)
        .outerjoin(tide, tide.c.operation_id == lines.c.ledger_transfer_id)
        .where(
            or_(
                tide.c.amount.is_(None),
                tide.c.amount != signed,
                forced,
                lines.c.dispute_status.is_not(None),
            )
        )
        .order_by(lines.c.stripe_id)
        .execution_options(yield_per=_BATCH)
    )
    async for row in rows:
        subject, objects = f"stripe {row.stripe_id}", _objects(row)
        if row.forced:
            result.findings.append(
                Finding("forced-capture", subject, f"captured unauthorised ({objects})", int(row.signed))
            )
        if row.dispute_status:
            result.findings.append(_dispute(row, subject, objects))
        found = _disagreement(row, objects)
        if found is not None:
            detail, amount = found
            result.findings.append(Finding("stripe", subject, detail, amount))
            cards.add(str(row.card_stripe_id or ""), amount, row.stripe_id)
    await rows.close()


def _dispute(row: Any, subject: str, objects: str) -> Finding:
    """A disputed line: a note once won (Stripe reinstated the funds), else an exception."""
    if row.dispute_status == "won":
        detail = f"disputed, won: Stripe reinstated the funds on its balance ({objects})"
        return Finding("dispute", subject, detail, int(row.signed), "note")
    return Finding("dispute", subject, f"disputed, {row.dispute_status} ({objects})", int(row.signed))


def _disagreement(row: Any, objects: str) -> tuple[str, int] | None:
    """What is wrong with one of Stripe's lines, and by how much (``None``: Tide agrees)."""
    amount = int(row.signed)
    what = f"Stripe's {row.kind} {row.stripe_id} ({objects}) of {pounds(abs(amount))}"
    if row.ledger_transfer_id is None:
        return f"{what} is not booked in Tide", amount
    if row.tide is None and row.to_match:
        return (
            f"{what} is attached to no purchase in Tide: a refund to match, back on the card's wallet "
            f"(ledger card:{row.stripe_id}:refund) until the key worker or finance says which purchase it was for",
            amount,
        )
    if row.tide is None:
        nowhere = "is attached to no purchase" if row.kind == "refund" else "is carried by no card purchase"
        return f"{what} {nowhere} in Tide this month (ledger {row.ledger_transfer_id})", amount
    if int(row.tide) != amount:
        return f"{what}: Tide's purchase {row.purchase_id} has {pounds(int(row.tide))} for it", amount - int(row.tide)
    return None


async def _disputes_won(db: Db, period: Period, statement: Statement, tide: Subquery) -> dict[str, int]:
    """Tide's refunds of the month for disputes won that Stripe's statement bears out: by ledger
    operation, the pence reinstated. The operation (``card:<ipi>:dispute:<idp>``) names the disputed
    transaction; Stripe's statement (any month: the capture may be older) must list it as a capture
    of at least that much. Funds Stripe rescinded are the reinstatement's reversal, netted with it."""
    rows = await db.execute(
        select(tide.c.operation_id, tide.c.amount).where(tide.c.operation_id.like(_DISPUTE_OPERATIONS))
    )
    back = [(str(operation), str(operation).split(":")[1], -int(amount)) for operation, amount in rows]
    if not back:
        return {}
    net: dict[str, int] = {}  # a reinstatement less its rescission (``…:rescinded:<n>``), if Stripe took it back
    for operation, _, pence in back:
        reinstatement = operation.split(":rescinded:")[0]
        net[reinstatement] = net.get(reinstatement, 0) + pence
    every = statement.lines(period, any_month=True)
    captures = await db.execute(
        select(every.c.stripe_id, every.c.amount).where(
            every.c.kind == "capture", every.c.stripe_id.in_([transaction for _, transaction, _ in back])
        )
    )
    on_stripe = {str(stripe_id): int(amount) for stripe_id, amount in captures}
    return {
        operation: pence
        for operation, transaction, pence in back
        if 0 <= net[operation.split(":rescinded:")[0]] <= on_stripe.get(transaction, 0)
    }


async def _tide_not_on_stripe(
    db: Db, lines: Subquery, tide: Subquery, result: Reconciliation, cards: _Cards, *, reinstated: set[str]
) -> None:
    """Tide's card purchase movements of the month with no transaction on Stripe's statement (a
    won dispute's reinstatement Stripe's statement bears out is counted apart: ``reinstated``)."""
    on_statement = select(lines.c.ledger_transfer_id).where(lines.c.ledger_transfer_id.is_not(None))
    card = (
        select(func.min(Card.stripe_id))
        .join(CardTransaction, CardTransaction.card_id == Card.id)
        .where(CardTransaction.ledger_transfer_id == tide.c.operation_id)
        .scalar_subquery()
    )
    rows = await db.stream(
        select(tide.c.operation_id, tide.c.amount, tide.c.purchase_id, card.label("card"))
        .where(tide.c.operation_id.not_in(on_statement), tide.c.amount != 0)
        .order_by(tide.c.operation_id)
        .execution_options(yield_per=_BATCH)
    )
    by_object: dict[str, list[Any]] = defaultdict(list)
    async for row in rows:
        if row.operation_id not in reinstated:
            by_object[_stripe_object_of(str(row.operation_id))].append(row)
    await rows.close()
    for moved in by_object.values():
        if sum(int(row.amount) for row in moved) == 0:
            continue  # one refund's operations that cancel out (it landed on a purchase, then moved off)
        for row in moved:
            on_card = f", card {row.card}" if row.card else ""
            detail = (
                f"Tide's purchase {row.purchase_id} moved {pounds(int(row.amount))} "
                f"(ledger {row.operation_id}{on_card}) but Stripe's statement has no transaction for it this month"
            )
            result.findings.append(Finding("stripe", f"ledger {row.operation_id}", detail, -int(row.amount)))
            cards.add(str(row.card or ""), -int(row.amount), f"ledger {row.operation_id}")


#: A refund's own operations (``cards.refunds``): landed, moved off to be matched, matched.
_REFUND_STEPS = frozenset({"refund", "unlanded", "matched"})


def _stripe_object_of(operation_id: str) -> str:
    """The Stripe refund a card refund's operation belongs to (``card:<stripe id>:refund…``),
    else the operation itself (a capture or a dispute stands alone)."""
    parts = operation_id.split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "card" and parts[2] in _REFUND_STEPS else operation_id

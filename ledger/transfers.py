"""Posted transfers: allocations of budget, refunds of captures, reversals for corrections.

Each is one immutable transfer. A refund or reversal hands money back along the original's
path, and never more than the original (refunds and reversals of one transfer together).
Concurrent refunds of one capture are serialised by locking the capture's row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from ledger import errors
from ledger.operations import (
    Db,
    Leg,
    account_info,
    accounting_date_of,
    apply_legs,
    as_utc,
    check_amount,
    check_id,
    claim,
    decline,
    insert_transfer,
    load_outcome,
    load_transfer,
    returned_so_far,
    same_ledger,
)
from ledger.types import Outcome


async def allocate(
    db: Db,
    *,
    transfer_id: str,
    from_account_id: int,
    to_account_id: int,
    amount: int,
    memo: str | None = None,
    accounting_date: date | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Move ``amount`` pence of budget from one account to another (funding pot → team →
    wallet), posted at once. Declined when the giving account cannot cover it."""
    amount = check_amount(amount)
    check_id(transfer_id)
    now = as_utc(now)
    request = {"from": from_account_id, "to": to_account_id, "amount": amount, "memo": memo}
    replay = await claim(db, operation_id=transfer_id, kind="allocation", request=request, now=now)
    if replay is not None:
        return replay
    giver, receiver = await account_info(db, from_account_id), await account_info(db, to_account_id)
    ledger = same_ledger(giver, receiver)
    if not await apply_legs(
        db, [Leg(giver, debits_posted=amount, check_limit=True), Leg(receiver, credits_posted=amount)]
    ):
        return await decline(db, operation_id=transfer_id, error=errors.InsufficientFunds)
    await insert_transfer(
        db,
        id=transfer_id,
        operation_id=transfer_id,
        ledger=ledger,
        kind="allocation",
        debit_account_id=giver.id,
        credit_account_id=receiver.id,
        amount=amount,
        accounting_date=accounting_date or accounting_date_of(now),
        recorded_at=now,
        memo=memo,
    )
    return await load_outcome(db, operation_id=transfer_id, outcome="applied", replayed=False)


async def refund(
    db: Db,
    *,
    transfer_id: str,
    capture_id: str,
    amount: int,
    memo: str | None = None,
    accounting_date: date | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Hand ``amount`` pence of a capture back to the account it was taken from.

    Declined with ``refund_exceeds_capture`` when refunds would pass what was captured.
    """
    return await _hand_back(
        db,
        kind="refund",
        transfer_id=transfer_id,
        original_id=capture_id,
        amount=amount,
        memo=memo,
        accounting_date=accounting_date,
        now=now,
    )


async def reverse(
    db: Db,
    *,
    transfer_id: str,
    original_id: str,
    amount: int | None = None,
    memo: str | None = None,
    accounting_date: date | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Correct a posted transfer by moving ``amount`` (default: all that is left of it)
    back the other way, dated in an open period. The original is never edited."""
    return await _hand_back(
        db,
        kind="reversal",
        transfer_id=transfer_id,
        original_id=original_id,
        amount=amount,
        memo=memo,
        accounting_date=accounting_date,
        now=now,
    )


async def _hand_back(
    db: Db,
    *,
    kind: str,
    transfer_id: str,
    original_id: str,
    amount: int | None,
    memo: str | None,
    accounting_date: date | None,
    now: datetime | None,
) -> Outcome:
    if amount is not None or kind == "refund":
        amount = check_amount(amount)
    check_id(transfer_id)
    check_id(original_id, what="original transfer id")
    now = as_utc(now)
    request = {"original": original_id, "amount": amount, "memo": memo}
    replay = await claim(db, operation_id=transfer_id, kind=kind, request=request, now=now)
    if replay is not None:
        return replay
    kinds = ("capture", "excess") if kind == "refund" else ("allocation", "capture", "excess", "refund")
    original = await load_transfer(db, original_id, kinds=kinds, lock=True)
    left = original.amount - await returned_so_far(db, original_id)
    wanted = left if amount is None else amount
    if wanted <= 0 or wanted > left:
        too_much = errors.RefundExceedsCapture if kind == "refund" else errors.ReversalExceedsOriginal
        return await decline(db, operation_id=transfer_id, error=too_much)
    payer = await account_info(db, original.credit_account_id)
    payee = await account_info(db, original.debit_account_id)
    same_ledger(payer, payee)
    if not await apply_legs(
        db, [Leg(payer, debits_posted=wanted, check_limit=True), Leg(payee, credits_posted=wanted)]
    ):
        return await decline(db, operation_id=transfer_id, error=errors.InsufficientFunds)
    links: dict[str, Any] = {"refund_of_id": original.id} if kind == "refund" else {"reverses_id": original.id}
    await insert_transfer(
        db,
        id=transfer_id,
        operation_id=transfer_id,
        ledger=original.ledger,
        kind=kind,
        debit_account_id=payer.id,
        credit_account_id=payee.id,
        amount=wanted,
        accounting_date=accounting_date or accounting_date_of(now),
        recorded_at=now,
        memo=memo,
        **links,
    )
    return await load_outcome(db, operation_id=transfer_id, outcome="applied", replayed=False)


async def refund_across(
    db: Db,
    *,
    transfer_id: str,
    parts: Sequence[tuple[str, int]],
    memo: str | None = None,
    accounting_date: date | None = None,
    now: datetime | None = None,
) -> Outcome:
    """One refund handed back across several captures (``parts``: capture id and pence),
    as one operation: all of it or none. The first transfer takes ``transfer_id``, the
    others ``<transfer_id>:2``, ``:3``… Declined with ``refund_exceeds_capture`` when any
    part would pass what is left of its capture."""
    check_id(transfer_id)
    now = as_utc(now)
    amounts = [check_amount(amount) for _, amount in parts]
    if not parts or len({capture for capture, _ in parts}) != len(parts):
        raise errors.InvalidTransfer("a refund across captures names each capture once, at least one")
    request = {"parts": [[capture, amount] for capture, amount in parts], "memo": memo}
    replay = await claim(db, operation_id=transfer_id, kind="refund", request=request, now=now)
    if replay is not None:
        return replay
    originals = [await load_transfer(db, capture, kinds=("capture", "excess"), lock=True) for capture, _ in parts]
    for original, amount in zip(originals, amounts, strict=True):
        if amount > original.amount - await returned_so_far(db, original.id):
            return await decline(db, operation_id=transfer_id, error=errors.RefundExceedsCapture)
    for number, (original, amount) in enumerate(zip(originals, amounts, strict=True), start=1):
        payer = await account_info(db, original.credit_account_id)
        payee = await account_info(db, original.debit_account_id)
        same_ledger(payer, payee)
        if not await apply_legs(
            db, [Leg(payer, debits_posted=amount, check_limit=True), Leg(payee, credits_posted=amount)]
        ):  # pragma: no cover - a capture's payer is card clearing, which has no limit
            raise errors.InsufficientFunds(f"refund {transfer_id} could not be paid back")
        await insert_transfer(
            db,
            id=transfer_id if number == 1 else f"{transfer_id}:{number}",
            operation_id=transfer_id,
            ledger=original.ledger,
            kind="refund",
            debit_account_id=payer.id,
            credit_account_id=payee.id,
            amount=amount,
            accounting_date=accounting_date or accounting_date_of(now),
            recorded_at=now,
            memo=memo,
            refund_of_id=original.id,
        )
    return await load_outcome(db, operation_id=transfer_id, outcome="applied", replayed=False)

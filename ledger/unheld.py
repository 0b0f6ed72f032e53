"""Captures with no hold to take: forced, late (after the hold expired), or before their hold.

The card network settles them whatever the wallet holds, so the ledger never declines one.
It posts them in the shape of a capture above its hold (``ledger.holds.capture``), so every
reader treats them alike: a hold made and resolved in the same operation, from the wallet as
far as its available balance covers the amount, and the rest as a flagged ``excess`` from
the overspend receivable to card clearing, hanging on that hold.

When the wallet covers some of it, the hold is the wallet's and is captured for what it
covers. When the wallet covers none of it, there is nothing of the wallet's to hold: the
hold is the overspend receivable's, for the shortfall, and is released at once, so only the
flagged excess is posted. No budget ever moves into the wallet, and the wallet's limit holds.

Transfers, for operation ``T``: ``T:hold`` (resolved at once), then ``T`` (the capture) or
``T:release``, then ``T:overspend`` (flagged) when the wallet fell short.
"""

from __future__ import annotations

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
    available,
    check_amount,
    check_id,
    claim,
    insert_transfer,
    load_outcome,
    lock_accounts,
    same_ledger,
)
from ledger.types import Account, Outcome


async def capture_without_hold(
    db: Db,
    *,
    transfer_id: str,
    wallet_id: int,
    clearing_id: int,
    amount: int,
    overspend_account_id: int,
    memo: str | None = None,
    accounting_date: date | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Capture ``amount`` pence from the wallet with no hold to take it from: the wallet pays
    what its available balance covers (perhaps nothing), the overspend receivable the rest,
    as a flagged excess. Never declined."""
    amount = check_amount(amount)
    check_id(transfer_id)
    now = as_utc(now)
    request = {
        "wallet": wallet_id,
        "clearing": clearing_id,
        "amount": amount,
        "overspend": overspend_account_id,
        "memo": memo,
    }
    replay = await claim(db, operation_id=transfer_id, kind="capture", request=request, now=now)
    if replay is not None:
        return replay
    wallet, clearing = await account_info(db, wallet_id), await account_info(db, clearing_id)
    receivable = await account_info(db, overspend_account_id)
    ledger = same_ledger(wallet, clearing)
    same_ledger(receivable, clearing)
    # The wallet is locked before it is read, and the receivable after it (by ``apply_legs``):
    # the order ``capture`` takes them in when it posts an excess, so the two cannot deadlock.
    await lock_accounts(db, (wallet, clearing))
    covered = min(amount, await available(db, wallet)) if wallet.debits_must_not_exceed_credits else amount
    rest = amount - covered
    legs = [Leg(clearing, credits_posted=amount)]
    if covered:
        legs.append(Leg(wallet, debits_posted=covered, check_limit=True))
    if rest:
        legs.append(Leg(receivable, debits_posted=rest, check_limit=True))
    if not await apply_legs(db, legs):  # pragma: no cover - the rows are locked; this would be a ledger bug
        raise errors.InsufficientFunds("wallet changed under a locked capture")
    common: dict[str, Any] = {
        "ledger": ledger,
        "accounting_date": accounting_date or accounting_date_of(now),
        "recorded_at": now,
    }
    held_from = wallet if covered else receivable
    await _record(
        db, transfer_id=transfer_id, held_from=held_from, clearing=clearing, receivable=receivable,
        covered=covered, rest=rest, memo=memo, common=common,
    )  # fmt: skip
    return await load_outcome(db, operation_id=transfer_id, outcome="applied", replayed=False)


async def _record(
    db: Db,
    *,
    transfer_id: str,
    held_from: Account,
    clearing: Account,
    receivable: Account,
    covered: int,
    rest: int,
    memo: str | None,
    common: dict[str, Any],
) -> None:
    """The transfers: the hold (the wallet's for what it covers, else the receivable's for the
    shortfall), resolved at once by a capture or a release, and the flagged excess when short."""
    hold_id = f"{transfer_id}:hold"
    held = covered or rest
    await insert_transfer(
        db,
        id=hold_id,
        operation_id=transfer_id,
        kind="hold",
        debit_account_id=held_from.id,
        credit_account_id=clearing.id,
        amount=held,
        memo=memo if covered else _note(memo, "nothing of the wallet's to hold"),
        **common,
    )
    await insert_transfer(
        db,
        id=transfer_id if covered else f"{transfer_id}:release",
        operation_id=transfer_id,
        kind="capture" if covered else "release",
        debit_account_id=held_from.id,
        credit_account_id=clearing.id,
        amount=held,
        pending_id=hold_id,
        memo=memo,
        **common,
    )
    if rest:
        await insert_transfer(
            db,
            id=f"{transfer_id}:overspend",
            operation_id=transfer_id,
            kind="excess",
            debit_account_id=receivable.id,
            credit_account_id=clearing.id,
            amount=rest,
            pending_id=hold_id,
            flagged=True,
            memo=memo,
            **common,
        )


def _note(memo: str | None, note: str) -> str:
    return f"{memo}: {note}"[:200] if memo else note

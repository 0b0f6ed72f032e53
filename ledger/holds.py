"""Holds: money set aside for a purchase, then captured, released or expired, once.

A hold debits the wallet's *pending* counter, so it counts against the limit at once. It
resolves at most once (the database's resolve-once index decides any race between capture,
release and the expiry sweeper). A capture may be partial (the rest goes back) or above the
hold: the excess is posted as separate, flagged transfers, from the wallet as far as it can
cover it and from the overspend receivable for the rest, so the wallet's limit still holds.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select, text
from sqlalchemy.exc import DBAPIError

from ledger import errors
from ledger.gates import wallet_gate
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
    decline,
    dialect_name,
    insert_transfer,
    load_outcome,
    load_transfer,
    lock_accounts,
    request_hash,
    same_ledger,
    translate,
)
from ledger.schema import open_holds, transfers
from ledger.types import Account, Outcome, Transfer


async def place_hold(
    db: Db,
    *,
    transfer_id: str,
    wallet_id: int,
    clearing_id: int,
    amount: int,
    expires_at: datetime | None = None,
    memo: str | None = None,
    accounting_date: date | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Set ``amount`` pence of the wallet aside until it is captured, released or expires.

    Declined (and recorded) with ``insufficient_funds`` when the wallet cannot cover it.
    """
    amount = check_amount(amount)
    check_id(transfer_id)
    now = as_utc(now)
    request = {"wallet": wallet_id, "clearing": clearing_id, "amount": amount, "memo": memo}
    wallet, clearing = await account_info(db, wallet_id), await account_info(db, clearing_id)
    hold = Transfer(
        id=transfer_id,
        operation_id=transfer_id,
        kind="hold",
        debit_account_id=wallet.id,
        credit_account_id=clearing.id,
        amount=amount,
        ledger=same_ledger(wallet, clearing),
        pending_id=None,
        refund_of_id=None,
        reverses_id=None,
        expires_at=None if expires_at is None else as_utc(expires_at),
        flagged=False,
        accounting_date=accounting_date or accounting_date_of(now),
        recorded_at=now,
        memo=memo,
    )
    if dialect_name(db) == "postgresql" and wallet.tracks_balance and not clearing.tracks_balance:
        return await _place_hold_in_one_call(db, hold, request_hash("hold", request))
    replay = await claim(db, operation_id=transfer_id, kind="hold", request=request, now=now)
    if replay is not None:
        return replay
    legs = [
        Leg(wallet, debits_pending=amount, check_limit=True),
        Leg(clearing, credits_pending=amount),
    ]
    if not await apply_legs(db, legs):
        return await decline(db, operation_id=transfer_id, error=errors.InsufficientFunds)
    await insert_transfer(db, **asdict(hold))
    return Outcome(transfer_id=transfer_id, transfers=(hold,), declined=None, replayed=False)


_PLACE_HOLD = text(
    "SELECT ledger_place_hold(:id, :wallet, :clearing, :amount, :expires_at, :memo, :hash, :accounting_date,"
    " :recorded_at, :ledger)"
)


async def _place_hold_in_one_call(db: Db, hold: Transfer, fingerprint: str) -> Outcome:
    """PostgreSQL: the same steps as the Python path, in one SQL function call (migration 0003),
    behind this process's gate for the wallet (``ledger.gates``)."""
    try:
        async with wallet_gate(hold.debit_account_id):
            answer = await _call_place_hold(db, hold, fingerprint)
    except DBAPIError as exc:
        raise translate(exc) from exc
    if answer == "applied":
        return Outcome(transfer_id=hold.id, transfers=(hold,), declined=None, replayed=False)
    if answer.startswith("conflict:"):
        first_kind = answer.split(":", 1)[1]
        raise errors.IdempotencyConflict(
            f"transfer id {hold.id!r} was already used for a different {first_kind} request"
        )
    if answer.startswith("replay:"):
        return await load_outcome(db, operation_id=hold.id, outcome=answer.split(":", 1)[1], replayed=True)
    return Outcome(transfer_id=hold.id, transfers=(), declined=answer, replayed=False)


async def _call_place_hold(db: Db, hold: Transfer, fingerprint: str) -> str:
    answer = (
        await db.execute(
            _PLACE_HOLD,
            {
                "id": hold.id,
                "wallet": hold.debit_account_id,
                "clearing": hold.credit_account_id,
                "amount": hold.amount,
                "expires_at": hold.expires_at,
                "memo": hold.memo,
                "hash": fingerprint,
                "accounting_date": hold.accounting_date,
                "recorded_at": hold.recorded_at,
                "ledger": hold.ledger,
            },
        )
    ).scalar_one()
    return str(answer)


async def capture(
    db: Db,
    *,
    transfer_id: str,
    hold_id: str,
    amount: int,
    overspend_account_id: int | None = None,
    memo: str | None = None,
    accounting_date: date | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Capture ``amount`` pence of a hold: partly (the rest is released) or above it.

    Above the hold, the excess is flagged and taken from the wallet as far as it can cover
    it, the rest from ``overspend_account_id`` (required only when needed).
    """
    amount = check_amount(amount)
    check_id(transfer_id)
    check_id(hold_id, what="hold id")
    now = as_utc(now)
    request = {"hold": hold_id, "amount": amount, "overspend": overspend_account_id, "memo": memo}
    replay = await claim(db, operation_id=transfer_id, kind="capture", request=request, now=now)
    if replay is not None:
        return replay
    hold = await load_transfer(db, hold_id, kinds=("hold",))
    wallet = await account_info(db, hold.debit_account_id)
    clearing = await account_info(db, hold.credit_account_id)
    when = accounting_date or accounting_date_of(now)
    captured = min(amount, hold.amount)
    common: dict[str, Any] = {"ledger": hold.ledger, "recorded_at": now, "accounting_date": when, "memo": memo}
    # The hold's accounts are locked before its resolution is written: see expire_due_holds.
    await lock_accounts(db, (wallet, clearing))
    resolved = await insert_transfer(
        db, on_conflict_index=True, id=transfer_id, operation_id=transfer_id, kind="capture",
        debit_account_id=wallet.id, credit_account_id=clearing.id, amount=captured, pending_id=hold.id, **common,
    )  # fmt: skip
    if not resolved:
        return await decline(db, operation_id=transfer_id, error=errors.HoldAlreadyResolved)
    await apply_legs(
        db,
        [
            Leg(wallet, debits_pending=-hold.amount, debits_posted=captured),
            Leg(clearing, credits_pending=-hold.amount, credits_posted=captured),
        ],
    )
    if amount > hold.amount:
        await _post_excess(
            db, transfer_id=transfer_id, hold=hold, wallet=wallet, clearing=clearing, excess=amount - hold.amount,
            overspend_account_id=overspend_account_id, common=common,
        )  # fmt: skip
    return await load_outcome(db, operation_id=transfer_id, outcome="applied", replayed=False)


async def _post_excess(
    db: Db,
    *,
    transfer_id: str,
    hold: Transfer,
    wallet: Account,
    clearing: Account,
    excess: int,
    overspend_account_id: int | None,
    common: dict[str, Any],
) -> None:
    from_wallet = excess
    if wallet.debits_must_not_exceed_credits:
        # The wallet row is already locked by this transaction's capture of the hold.
        from_wallet = min(excess, await available(db, wallet))
    if from_wallet:
        covered = await apply_legs(
            db,
            [Leg(wallet, debits_posted=from_wallet, check_limit=True), Leg(clearing, credits_posted=from_wallet)],
        )
        if not covered:  # pragma: no cover - the row is locked; this would be a ledger bug
            raise errors.InsufficientFunds("wallet changed under a locked capture")
        await insert_transfer(
            db,
            id=f"{transfer_id}:excess",
            operation_id=transfer_id,
            kind="excess",
            debit_account_id=wallet.id,
            credit_account_id=clearing.id,
            amount=from_wallet,
            pending_id=hold.id,
            flagged=True,
            **common,
        )
    rest = excess - from_wallet
    if rest:
        if overspend_account_id is None:
            raise errors.OverspendAccountRequired(f"capture {transfer_id} is {rest}p above what the wallet can cover")
        receivable = await account_info(db, overspend_account_id)
        same_ledger(receivable, clearing)
        await apply_legs(
            db, [Leg(receivable, debits_posted=rest, check_limit=True), Leg(clearing, credits_posted=rest)]
        )
        await insert_transfer(
            db,
            id=f"{transfer_id}:overspend",
            operation_id=transfer_id,
            kind="excess",
            debit_account_id=receivable.id,
            credit_account_id=clearing.id,
            amount=rest,
            pending_id=hold.id,
            flagged=True,
            **common,
        )


async def release(
    db: Db,
    *,
    transfer_id: str,
    hold_id: str,
    memo: str | None = None,
    accounting_date: date | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Give a hold's whole amount back to the wallet."""
    check_id(transfer_id)
    check_id(hold_id, what="hold id")
    now = as_utc(now)
    request = {"hold": hold_id, "memo": memo}
    replay = await claim(db, operation_id=transfer_id, kind="release", request=request, now=now)
    if replay is not None:
        return replay
    return await _void(
        db,
        kind="release",
        transfer_id=transfer_id,
        hold_id=hold_id,
        memo=memo,
        accounting_date=accounting_date,
        now=now,
    )


async def _void(
    db: Db,
    *,
    kind: str,
    transfer_id: str,
    hold_id: str,
    memo: str | None,
    accounting_date: date | None,
    now: datetime,
) -> Outcome:
    hold = await load_transfer(db, hold_id, kinds=("hold",))
    wallet = await account_info(db, hold.debit_account_id)
    clearing = await account_info(db, hold.credit_account_id)
    # The hold's accounts are locked before its resolution is written: see expire_due_holds.
    await lock_accounts(db, (wallet, clearing))
    resolved = await insert_transfer(
        db,
        on_conflict_index=True,
        id=transfer_id,
        operation_id=transfer_id,
        ledger=hold.ledger,
        kind=kind,
        debit_account_id=hold.debit_account_id,
        credit_account_id=hold.credit_account_id,
        amount=hold.amount,
        pending_id=hold.id,
        accounting_date=accounting_date or accounting_date_of(now),
        recorded_at=now,
        memo=memo,
    )
    if not resolved:
        return await decline(db, operation_id=transfer_id, error=errors.HoldAlreadyResolved)
    await apply_legs(db, [Leg(wallet, debits_pending=-hold.amount), Leg(clearing, credits_pending=-hold.amount)])
    return await load_outcome(db, operation_id=transfer_id, outcome="applied", replayed=False)


def expiry_id(hold_id: str) -> str:
    """The transfer id the sweeper uses to expire a hold: the same in every process."""
    return f"expiry:{hold_id}"


def due_holds_query(*, now: datetime, limit: int) -> Select[Any]:
    """Up to ``limit`` holds due to expire at ``now``, oldest expiry first: read from the open
    holds alone (``ledger_open_holds``, through its expiry index), so the sweep reads what is
    due however many holds were ever placed and resolved."""
    return (
        select(transfers.c.id, transfers.c.debit_account_id, transfers.c.credit_account_id)
        .join(open_holds, open_holds.c.hold_id == transfers.c.id)
        .where(open_holds.c.expires_at <= now)
        .order_by(open_holds.c.expires_at, open_holds.c.hold_id)
        .limit(limit)
    )


async def expire_due_holds(db: Db, *, now: datetime | None = None, limit: int = 500) -> list[str]:
    """Expire up to ``limit`` unresolved holds whose time has come; return their ids.

    Safe to run in several processes at once: each hold expires at most once, and a hold
    captured or released meanwhile is left as it is.

    Lock order: every resolution (capture, release, expiry) locks the hold's accounts before
    it writes to the resolve-once index. The sweeper resolves many holds in one transaction,
    so it locks all their accounts first, in id order; otherwise, holding a wallet it has
    just expired a hold on, it could wait on a capture of the wallet's next hold that is
    itself waiting for the wallet (a deadlock), and two sweepers could do the same to each
    other through the expiry ids.
    """
    now = as_utc(now)
    due_holds = (await db.execute(due_holds_query(now=now, limit=limit))).all()
    involved = {account_id for row in due_holds for account_id in (row.debit_account_id, row.credit_account_id)}
    await lock_accounts(db, [await account_info(db, account_id) for account_id in sorted(involved)])
    expired: list[str] = []
    for hold_id, _, _ in due_holds:
        transfer_id = expiry_id(hold_id)
        replay = await claim(db, operation_id=transfer_id, kind="expiry", request={"hold": hold_id}, now=now)
        if replay is not None:
            continue
        outcome = await _void(
            db, kind="expiry", transfer_id=transfer_id, hold_id=hold_id, memo=None, accounting_date=None, now=now
        )
        if outcome.accepted:
            expired.append(hold_id)
    return expired

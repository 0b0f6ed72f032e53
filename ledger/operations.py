"""The machinery every ledger request shares: claim the id, move the counters, record.

A request is one *operation*, keyed by the client's transfer id. It is claimed first
(``INSERT … ON CONFLICT DO NOTHING``), so a duplicate either waits for the first to commit
and then replays its answer, or finds a different request under the same id and is refused.
Counter changes are single conditional ``UPDATE`` statements: the limit check and the
update cannot be separated by another writer. When one request touches two balance-tracking
accounts it locks them in id order first, so no two requests can deadlock.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, func, not_, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from ledger import clock, errors
from ledger.schema import RESOLVING_KINDS, accounts, operations, replays, transfers
from ledger.types import Account, Outcome, Transfer

Db = AsyncConnection | AsyncSession
"""Where ledger functions run: the caller's connection or session, inside its transaction."""

MAX_ID_LENGTH = 80
MAX_AMOUNT = 10_000_000_00  # £10m in pence: anything larger is a typing error, not a purchase

#: Accounts' identities, per database engine, by id and by code (they never change; the
#: database refuses it).
_ACCOUNT_CACHE: weakref.WeakKeyDictionary[Engine, dict[int, Account]] = weakref.WeakKeyDictionary()
_CODE_CACHE: weakref.WeakKeyDictionary[Engine, dict[str, Account]] = weakref.WeakKeyDictionary()


def as_utc(moment: datetime | None) -> datetime:
    """``moment`` (default: the clock's now) in UTC; a naive datetime is refused, not guessed at."""
    if moment is not None and moment.tzinfo is None:
        raise errors.InvalidTransfer("times must carry a time zone")
    return clock.as_utc(moment)


def accounting_date_of(moment: datetime) -> date:
    """The accounting date of a moment: its calendar date in the council's time zone."""
    return clock.local_date(moment)


def check_id(transfer_id: str, *, what: str = "transfer id", limit: int = MAX_ID_LENGTH) -> None:
    """A client's id: a non-empty string of at most 80 characters (the ledger appends short
    suffixes of its own for the transfers one request makes)."""
    if not isinstance(transfer_id, str) or not transfer_id.strip():
        raise errors.InvalidTransfer(f"{what} must be a non-empty string")
    if len(transfer_id) > limit:
        raise errors.InvalidTransfer(f"{what} must be at most {limit} characters")


def check_amount(amount: object) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise errors.InvalidTransfer("amount must be a whole number of pence")
    if amount <= 0:
        raise errors.InvalidTransfer("amount must be more than zero pence")
    if amount > MAX_AMOUNT:
        raise errors.InvalidTransfer(f"amount must be at most {MAX_AMOUNT} pence")
    return amount


def _bind(db: Db) -> AsyncConnection | AsyncEngine:
    bind = db.bind if isinstance(db, AsyncSession) else db
    if bind is None:
        raise errors.LedgerError("the session is not bound to a database")
    return bind


def dialect_name(db: Db) -> str:
    return _bind(db).dialect.name


def _engine_of(db: Db) -> Engine:
    bind = _bind(db)
    return bind.sync_engine if isinstance(bind, AsyncEngine) else bind.engine.sync_engine


def _accounts_known(db: Db) -> dict[int, Account]:
    return _ACCOUNT_CACHE.setdefault(_engine_of(db), {})


def accounts_known_by_code(db: Db) -> dict[str, Account]:
    """The accounts already read from ``db``'s database, by code (see ``find_account``)."""
    return _CODE_CACHE.setdefault(_engine_of(db), {})


def request_hash(kind: str, request: Mapping[str, Any]) -> str:
    """A stable fingerprint of what a request asks for (not when it was sent)."""
    body = json.dumps({"kind": kind, **request}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


#: The predicate of the resolve-once index (``uq_ledger_transfers_resolves_hold_once``), as SQL.
RESOLVES_HOLD_ONCE_WHERE = text("kind IN (" + ", ".join(f"'{kind}'" for kind in RESOLVING_KINDS) + ")")


def insert_ignoring_conflict(db: Db, table: Any, *, index_elements: Sequence[str], index_where: Any = None) -> Any:
    """An ``INSERT … ON CONFLICT DO NOTHING`` for whichever database ``db`` is."""
    dialect = postgresql if dialect_name(db) == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=list(index_elements), index_where=index_where)


async def claim(db: Db, *, operation_id: str, kind: str, request: Mapping[str, Any], now: datetime) -> Outcome | None:
    """Claim ``operation_id`` for this request, or answer the first request's outcome again.

    Returns ``None`` when the id is new and now ours. Raises ``IdempotencyConflict`` when
    the id was used for a different request.
    """
    check_id(operation_id, limit=MAX_ID_LENGTH + 20)
    fingerprint = request_hash(kind, request)
    statement = insert_ignoring_conflict(db, operations, index_elements=["id"]).values(
        id=operation_id, kind=kind, request_hash=fingerprint, outcome="applied", recorded_at=now
    )
    claimed = (await db.execute(statement.returning(operations.c.id))).first()
    if claimed is not None:
        return None
    first = (await db.execute(select(operations).where(operations.c.id == operation_id))).one()
    if first.kind != kind or first.request_hash != fingerprint:
        raise errors.IdempotencyConflict(
            f"transfer id {operation_id!r} was already used for a different {first.kind} request"
        )
    await db.execute(replays.insert().values(operation_id=operation_id, replayed_at=now))
    return await load_outcome(db, operation_id=operation_id, outcome=first.outcome, replayed=True)


async def decline(db: Db, *, operation_id: str, error: type[errors.Decline]) -> Outcome:
    """Record that the claimed operation was declined, and answer so."""
    await db.execute(update(operations).where(operations.c.id == operation_id).values(outcome=error.code))
    return Outcome(transfer_id=operation_id, transfers=(), declined=error.code, replayed=False)


async def load_outcome(db: Db, *, operation_id: str, outcome: str, replayed: bool) -> Outcome:
    if outcome != "applied":
        return Outcome(transfer_id=operation_id, transfers=(), declined=outcome, replayed=replayed)
    rows = await db.execute(select(transfers).where(transfers.c.operation_id == operation_id).order_by(transfers.c.id))
    return Outcome(
        transfer_id=operation_id,
        transfers=tuple(transfer_from_row(row) for row in rows),
        declined=None,
        replayed=replayed,
    )


def transfer_from_row(row: Row[Any]) -> Transfer:
    return Transfer(
        id=row.id,
        operation_id=row.operation_id,
        kind=row.kind,
        debit_account_id=row.debit_account_id,
        credit_account_id=row.credit_account_id,
        amount=row.amount,
        ledger=row.ledger,
        pending_id=row.pending_id,
        refund_of_id=row.refund_of_id,
        reverses_id=row.reverses_id,
        expires_at=_aware(row.expires_at),
        flagged=bool(row.flagged),
        accounting_date=row.accounting_date,
        recorded_at=_aware(row.recorded_at) or row.recorded_at,
        memo=row.memo,
    )


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands timestamps back naive; everything the ledger writes is UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def account_from_row(row: Row[Any]) -> Account:
    return Account(
        id=row.id,
        code=row.code,
        name=row.name,
        kind=row.kind,
        ledger=row.ledger,
        debits_must_not_exceed_credits=bool(row.debits_must_not_exceed_credits),
        tracks_balance=bool(row.tracks_balance),
    )


async def account_info(db: Db, account_id: int) -> Account:
    """An account's identity and flags. They never change (the database refuses it), so
    they are remembered per database after the first read."""
    if isinstance(account_id, bool) or not isinstance(account_id, int):
        raise errors.AccountNotFound(f"account {account_id!r} does not exist")
    known = _accounts_known(db)
    cached = known.get(account_id)
    if cached is not None:
        return cached
    row = (await db.execute(select(accounts).where(accounts.c.id == account_id))).first()
    if row is None:
        raise errors.AccountNotFound(f"account {account_id} does not exist")
    account = account_from_row(row)
    known[account_id] = account
    return account


@dataclass(frozen=True, slots=True)
class Leg:
    """A change to one account's four counters, in pence."""

    account: Account
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0
    check_limit: bool = False


async def apply_legs(db: Db, legs: Sequence[Leg]) -> bool:
    """Apply the counter changes of one request; ``False`` (and nothing changed) if a
    limited account would go over its limit.

    Accounts that do not track their balance are skipped: their counters are the sum of
    their transfers. With two or more tracked accounts, rows are locked in id order first.
    """
    tracked = sorted((leg for leg in legs if leg.account.tracks_balance), key=lambda leg: leg.account.id)
    if len(tracked) > 1:
        await lock_accounts(db, [leg.account for leg in tracked])
    # Checked legs first: if one fails, nothing has been changed yet.
    for leg in sorted(tracked, key=lambda leg: not leg.check_limit):
        if not await _apply_leg(db, leg):
            return False
    return True


async def lock_accounts(db: Db, accounts_to_lock: Iterable[Account]) -> None:
    """PostgreSQL: lock the rows of the balance-tracking accounts among ``accounts_to_lock``,
    in id order. (SQLite needs nothing: ``BEGIN IMMEDIATE`` has serialised writers.)"""
    ids = sorted({account.id for account in accounts_to_lock if account.tracks_balance})
    if ids and dialect_name(db) == "postgresql":
        await db.execute(select(accounts.c.id).where(accounts.c.id.in_(ids)).order_by(accounts.c.id).with_for_update())


async def available(db: Db, account: Account) -> int:
    """What an account can still pay: credits posted less every debit, pending or posted, never
    below 0. Read inside the caller's transaction (lock the row first where that matters)."""
    a = accounts.c
    row = (
        await db.execute(select(a.credits_posted - a.debits_posted - a.debits_pending).where(a.id == account.id))
    ).scalar_one()
    return max(0, int(row))


async def _apply_leg(db: Db, leg: Leg) -> bool:
    a = accounts.c
    statement = (
        update(accounts)
        .where(a.id == leg.account.id)
        .values(
            debits_pending=a.debits_pending + leg.debits_pending,
            debits_posted=a.debits_posted + leg.debits_posted,
            credits_pending=a.credits_pending + leg.credits_pending,
            credits_posted=a.credits_posted + leg.credits_posted,
        )
        .returning(a.id)
    )
    if leg.check_limit and leg.account.debits_must_not_exceed_credits:
        statement = statement.where(_within_limit(leg))
    return (await db.execute(statement)).first() is not None


def _within_limit(leg: Leg) -> ColumnElement[bool]:
    a = accounts.c
    return or_(
        not_(a.debits_must_not_exceed_credits),
        (a.debits_pending + leg.debits_pending) + (a.debits_posted + leg.debits_posted)
        <= a.credits_posted + leg.credits_posted,
    )


async def insert_transfer(db: Db, *, on_conflict_index: bool = False, **values: Any) -> bool:
    """Insert one transfer. With ``on_conflict_index``, a second resolution of the same hold
    is ignored and ``False`` returned (the resolve-once index decides the race)."""
    try:
        if on_conflict_index:
            statement = insert_ignoring_conflict(
                db,
                transfers,
                index_elements=["pending_id"],
                # Literal SQL, not bound parameters: PostgreSQL infers the partial index from
                # this predicate, and under a generic plan (from a prepared statement's sixth
                # run on a connection) parameters match no index and the insert fails.
                index_where=RESOLVES_HOLD_ONCE_WHERE,
            ).values(**values)
            return (await db.execute(statement.returning(transfers.c.id))).first() is not None
        await db.execute(transfers.insert().values(**values))
    except DBAPIError as exc:
        raise translate(exc) from exc
    return True


def translate(exc: DBAPIError) -> Exception:
    """Turn a refusal by the database's own triggers into the rule's error class."""
    message = str(exc.orig)
    if "ledger:period_closed" in message:
        return errors.PeriodClosed("the accounting period of that date is closed")
    if "fk_ledger_transfers_debit_account" in message or "fk_ledger_transfers_credit_account" in message:
        return errors.InvalidTransfer("both accounts of a transfer must be on the same ledger")
    if "ledger:" in message:
        return errors.InvalidTransfer(message.split("ledger:", 1)[1].split("\n", 1)[0])
    return exc


async def returned_so_far(db: Db, original_id: str) -> int:
    """Pence already handed back from a transfer by refunds and reversals, less what reversals
    of those refunds took back (a refund reversed leaves its pence to be handed back again)."""
    total = await db.execute(
        select(func.coalesce(func.sum(transfers.c.amount), 0)).where(
            or_(transfers.c.refund_of_id == original_id, transfers.c.reverses_id == original_id)
        )
    )
    refunds = select(transfers.c.id).where(transfers.c.refund_of_id == original_id).scalar_subquery()
    undone = await db.execute(
        select(func.coalesce(func.sum(transfers.c.amount), 0)).where(
            transfers.c.kind == "reversal", transfers.c.reverses_id.in_(refunds)
        )
    )
    return int(total.scalar_one()) - int(undone.scalar_one())


async def load_transfer(db: Db, transfer_id: str, *, kinds: Sequence[str], lock: bool = False) -> Transfer:
    statement = select(transfers).where(and_(transfers.c.id == transfer_id, transfers.c.kind.in_(kinds)))
    if lock:
        statement = statement.with_for_update()
    row = (await db.execute(statement)).first()
    if row is None:
        raise errors.TransferNotFound(f"no {' or '.join(kinds)} transfer with id {transfer_id!r}")
    return transfer_from_row(row)


def same_ledger(debit: Account, credit: Account) -> str:
    if debit.id == credit.id:
        raise errors.InvalidTransfer("a transfer needs two different accounts")
    if debit.ledger != credit.ledger:
        raise errors.InvalidTransfer(
            f"accounts {debit.id} and {credit.id} are on different ledgers ({debit.ledger}, {credit.ledger})"
        )
    return debit.ledger

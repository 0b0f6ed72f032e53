"""Opening accounts and finding them again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ledger import errors
from ledger.operations import Db, account_from_row, accounts_known_by_code, as_utc
from ledger.schema import accounts
from ledger.types import LIMITED_KINDS, UNTRACKED_KINDS, Account, AccountKind


async def open_account(
    db: Db,
    *,
    code: str,
    name: str,
    kind: AccountKind,
    ledger: str = "GBP",
    now: datetime | None = None,
) -> Account:
    """Open an account. Budgets and wallets may never spend more than they were given;
    card clearing and refunds are house accounts whose balance is summed from transfers."""
    if not code or len(code) > 120:
        raise errors.InvalidTransfer("an account code is 1 to 120 characters")
    limited = kind in LIMITED_KINDS
    try:
        async with _savepoint(db):
            row = (
                await db.execute(
                    accounts.insert()
                    .values(
                        code=code,
                        name=name,
                        kind=kind,
                        ledger=ledger,
                        debits_must_not_exceed_credits=limited,
                        tracks_balance=kind not in UNTRACKED_KINDS,
                        created_at=as_utc(now),
                    )
                    .returning(*accounts.c)
                )
            ).one()
    except IntegrityError as exc:
        if "code" in str(exc.orig):
            raise errors.AccountCodeTaken(f"an account with code {code!r} already exists") from exc
        raise
    return account_from_row(row)


def _savepoint(db: Db):  # type: ignore[no-untyped-def]
    return db.begin_nested()


async def find_account(db: Db, *, code: str) -> Account:
    """The account with ``code`` (read once per database: an account's identity never changes)."""
    known = accounts_known_by_code(db)
    found = known.get(code)
    if found is not None:
        return found
    row = (await db.execute(select(accounts).where(accounts.c.code == code))).first()
    if row is None:
        raise errors.AccountNotFound(f"no account with code {code!r}")
    found = known[code] = account_from_row(row)
    return found


async def list_accounts(db: Db) -> list[Account]:
    """Every account, in the order they were opened."""
    rows = await db.execute(select(accounts).order_by(accounts.c.id))
    return [account_from_row(row) for row in rows]

"""Balances: an account's counters, and the same counters folded from its transfers.

For accounts that track their balance the row's counters are the answer (and ``verify``
checks they equal the fold). For house accounts that do not, the fold is the answer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, func, literal, select, union_all
from sqlalchemy.orm import aliased

from ledger.operations import Db, account_info
from ledger.schema import POSTED_KINDS, RESOLVING_KINDS, accounts, transfers
from ledger.types import Balance

COUNTERS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


def folded_counters(*, account_id: int | None = None) -> Select[Any]:
    """A query of (account_id, debits_pending, debits_posted, credits_pending, credits_posted)
    summed from transfers alone, for one account or all that have transfers."""
    t = transfers.c
    resolution = aliased(transfers)
    open_holds = (
        select(transfers)
        .outerjoin(resolution, and_(resolution.c.pending_id == t.id, resolution.c.kind.in_(RESOLVING_KINDS)))
        .where(t.kind == "hold", resolution.c.id.is_(None))
        .subquery("open_holds")
    )
    posted = select(transfers).where(t.kind.in_(POSTED_KINDS)).subquery("posted")

    def leg(account: Any, dp: Any = 0, dpo: Any = 0, cp: Any = 0, cpo: Any = 0) -> Select[Any]:
        return select(
            account.label("account_id"),
            *(
                (value if not isinstance(value, int) else literal(value)).label(name)
                for name, value in zip(COUNTERS, (dp, dpo, cp, cpo), strict=True)
            ),
        )

    legs = union_all(
        leg(open_holds.c.debit_account_id, dp=open_holds.c.amount),
        leg(open_holds.c.credit_account_id, cp=open_holds.c.amount),
        leg(posted.c.debit_account_id, dpo=posted.c.amount),
        leg(posted.c.credit_account_id, cpo=posted.c.amount),
    ).subquery("legs")
    query = select(legs.c.account_id, *(func.sum(legs.c[name]).label(name) for name in COUNTERS)).group_by(
        legs.c.account_id
    )
    if account_id is not None:
        query = query.where(legs.c.account_id == account_id)
    return query


async def balance(db: Db, *, account_id: int) -> Balance:
    """The account's counters in pence, pending and posted."""
    account = await account_info(db, account_id)
    counters: tuple[int, int, int, int]
    if account.tracks_balance:
        a = accounts.c
        row = (
            await db.execute(
                select(a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted).where(a.id == account_id)
            )
        ).one()
        counters = (int(row[0]), int(row[1]), int(row[2]), int(row[3]))
    else:
        found = (await db.execute(folded_counters(account_id=account_id))).first()
        counters = (0, 0, 0, 0) if found is None else (int(found[1]), int(found[2]), int(found[3]), int(found[4]))
    return Balance(account_id, *counters)

"""Funding sources kept whole: which pot pays for a purchase, and what each pot put where.

A pot (a ``FundingSource``) is a grant. Its conditions are data on its row: the dates it runs
(``starts_on``, ``ends_on``), and, when not empty, the only purchase categories, need codes and
teams it funds; ``claw_back_unspent`` says the funder takes back what is not spent.

Money moves pot → team budget (one ledger account per team and pot) → wallet. A wallet is one
ledger account holding money from several pots, so what each pot put into it is kept by the
records: a wallet's **share** of a pot is what was allocated to it from that pot, less what it
returned to that pot, less what its purchases charged to that pot take now. Invariants:

* a purchase is charged to one pot that funds its category, needs and team on the day, and
  whose share of the buyer's wallet covers it; a pot never funded into the wallet pays nothing;
* a return goes back to the team budget of the pot that paid, and never more than its share;
* refunds give back to the purchase, so to the pot it was charged to;
* the shares of a wallet's pots add up to what its ledger account holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet import audit
from wallet.access import Principal
from wallet.errors import (
    DatesOutOfOrder,
    FundingSourceNotEligible,
    FundingSourceNotFunded,
    NotFound,
    UnknownCode,
)
from wallet.models import Allocation, FundingSource, Purchase, Wallet
from wallet.spending import committed
from wallet.taxonomy import CATEGORIES, NEEDS


def grant_refusal(source: FundingSource, *, category: str, needs: Sequence[str], team_id: int, on: date) -> str | None:
    """Why the grant does not fund this purchase, in words (``None``: it does)."""
    if source.starts_on is not None and on < source.starts_on:
        return f"the grant {source.code} starts on {source.starts_on.isoformat()}"
    if source.ends_on is not None and on > source.ends_on:
        return f"the grant {source.code} ended on {source.ends_on.isoformat()}"
    if source.eligible_categories and category not in source.eligible_categories:
        return f"the grant {source.code} does not fund {category} purchases"
    if source.eligible_needs and not set(needs) & set(source.eligible_needs):
        return f"the grant {source.code} funds none of these needs"
    if source.eligible_team_ids and team_id not in source.eligible_team_ids:
        return f"the grant {source.code} does not fund this team"
    return None


def _signed_allocations() -> ColumnElement[int]:
    return func.coalesce(func.sum(case((Allocation.level == "return", -Allocation.amount), else_=Allocation.amount)), 0)


async def wallet_shares(db: AsyncSession, *, wallet_id: int) -> dict[int, int]:
    """What each pot has in the wallet now: allocated from it, less returned to it, less what
    purchases charged to it take (:func:`wallet.spending.committed`)."""
    given = await db.execute(
        select(Allocation.funding_source_id, _signed_allocations())
        .where(Allocation.wallet_id == wallet_id)
        .group_by(Allocation.funding_source_id)
    )
    shares = {int(source): int(amount) for source, amount in given.all()}
    taken = await db.execute(
        select(Purchase.funding_source_id, func.coalesce(func.sum(committed()), 0))
        .where(Purchase.wallet_id == wallet_id)
        .group_by(Purchase.funding_source_id)
    )
    for source, amount in taken.all():
        shares[int(source)] = shares.get(int(source), 0) - int(amount)
    return shares


async def pot_for_purchase(
    db: AsyncSession,
    *,
    wallet: Wallet,
    category: str,
    needs: Sequence[str],
    amount: int,
    on: date,
    asked: int | None,
    fallback: int | None,
) -> int | None:
    """The pot a purchase is charged to: the one asked for, if its grant funds the purchase and
    its share of the wallet covers it; otherwise the first such pot, the soonest to end first.
    When the whole wallet could not cover the purchase anyway, the best pot there is (or
    ``fallback``), for the ledger to decline. ``FundingSourceNotEligible`` or
    ``FundingSourceNotFunded`` say why no pot will do for a purchase the wallet could cover."""
    shares = await wallet_shares(db, wallet_id=wallet.id)
    if asked is not None:
        source = await db.get(FundingSource, asked)
        if source is None:
            raise NotFound(f"no funding source {asked}")
        _check_eligible(source, category=category, needs=needs, team_id=wallet.team_id, on=on)
        if shares.get(asked, 0) < amount:
            raise FundingSourceNotFunded(f"the grant {source.code} has not put that much into this wallet")
        return asked
    candidates = (await db.execute(select(FundingSource).where(FundingSource.id.in_(list(shares))))).scalars().all()
    eligible = sorted(
        (
            s
            for s in candidates
            if grant_refusal(s, category=category, needs=needs, team_id=wallet.team_id, on=on) is None
        ),
        key=lambda s: (s.ends_on or date.max, s.id),
    )
    covering = [s for s in eligible if shares[s.id] >= amount]
    if covering:
        return covering[0].id
    if sum(max(share, 0) for share in shares.values()) >= amount:
        if not eligible:
            raise FundingSourceNotEligible("no grant that funded this wallet funds this purchase")
        raise FundingSourceNotFunded("no single grant that funds this purchase has put that much into this wallet")
    best = max(eligible, key=lambda s: shares[s.id], default=None)
    return best.id if best is not None else fallback


async def pot_for_card(
    db: AsyncSession,
    *,
    wallet: Wallet,
    category: str,
    needs: Sequence[str],
    amount: int,
    on: date,
    fallback: int | None,
) -> tuple[int | None, str | None]:
    """The pot a card payment at the till is charged to, by :func:`pot_for_purchase`'s rule
    (nobody names a pot at the till): ``(pot, None)``, or ``(None, reason)`` when no pot will
    do, the reason a code for the till's answer."""
    try:
        pot = await pot_for_purchase(
            db, wallet=wallet, category=category, needs=needs, amount=amount, on=on, asked=None, fallback=fallback
        )
    except FundingSourceNotEligible:
        return None, "no_eligible_funding_source"
    except FundingSourceNotFunded:
        return None, "funding_source_not_funded"
    return pot, None if pot is not None else "no_funding_source"


async def pot_for_payment_made(
    db: AsyncSession, *, wallet: Wallet, category: str, amount: int, on: date, fallback: int | None
) -> int | None:
    """The pot a card payment Tide was not asked about (a stand-in approval, a forced capture)
    is charged to: the rule's pot when one will do, else ``fallback`` (the money is spent)."""
    pot, _ = await pot_for_card(db, wallet=wallet, category=category, needs=(), amount=amount, on=on, fallback=fallback)
    return pot if pot is not None else fallback


def _check_eligible(source: FundingSource, *, category: str, needs: Sequence[str], team_id: int, on: date) -> None:
    refusal = grant_refusal(source, category=category, needs=needs, team_id=team_id, on=on)
    if refusal is not None:
        raise FundingSourceNotEligible(refusal)


async def set_grant_conditions(
    db: AsyncSession,
    *,
    actor: Principal,
    funding_source_id: int,
    starts_on: date | None,
    ends_on: date | None,
    categories: Sequence[str],
    needs: Sequence[str],
    team_ids: Sequence[int],
    claw_back_unspent: bool,
    now: datetime,
) -> FundingSource:
    """Finance records a grant's conditions (they apply to purchases from now on)."""
    actor.require("finance", "admin")
    source = await db.get(FundingSource, funding_source_id)
    if source is None:
        raise NotFound(f"no funding source {funding_source_id}")
    if starts_on is not None and ends_on is not None and ends_on < starts_on:
        raise DatesOutOfOrder("a grant cannot end before it starts")
    unknown = [c for c in categories if c not in CATEGORIES] + [n for n in needs if n not in NEEDS]
    if unknown:
        raise UnknownCode(f"unknown categories or needs: {', '.join(unknown)}")
    source.starts_on, source.ends_on, source.claw_back_unspent = starts_on, ends_on, claw_back_unspent
    source.eligible_categories = sorted(set(categories))
    source.eligible_needs = sorted(set(needs))
    source.eligible_team_ids = sorted(set(team_ids))
    await db.flush()
    await audit.record(
        db, actor=actor, action="funding_source.conditions_set", subject_type="funding_source",
        subject_id=source.id, now=now, details={"ends_on": ends_on.isoformat() if ends_on else None},
    )  # fmt: skip
    return source

"""Demo books: a realistic county's early help budgets and three months of card spend.

Figures follow the shared domain notes: six localities, about seventy key workers, £125
per worker per month, purchases drawn like Devon County Council's early help card (median
£62, p90 £232, a few refunds). Every transfer id is derived from the scenario, so seeding
twice changes nothing: the second run is answered by the ledger's idempotent replays.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import ledger
from ledger.operations import Db

LOCALITIES = ("Exeter", "East Devon", "Mid Devon", "North Devon", "South Hams", "Torridge")
WORKERS_PER_TEAM = 12
WALLET_PER_MONTH = 12_500
SEED = 20261122

# Devon early help card amount percentiles (pence): p0, p10, p25, p50, p75, p90, max.
_AMOUNT_QUANTILES = (0.0, 0.10, 0.25, 0.50, 0.75, 0.90, 1.0)
_AMOUNT_PENCE = (500, 1_300, 3_000, 6_200, 16_000, 23_200, 59_900)


@dataclass(frozen=True)
class DemoSummary:
    """What seeding made (or found already made)."""

    teams: int
    wallets: int
    holds: int
    captures: int
    refunds: int
    declines: int


def demo_amount(rng: random.Random) -> int:
    """An amount in pence drawn from Devon's early help card distribution."""
    u = rng.random()
    i = min(bisect_right(_AMOUNT_QUANTILES, u) - 1, len(_AMOUNT_QUANTILES) - 2)
    q0, q1 = _AMOUNT_QUANTILES[i], _AMOUNT_QUANTILES[i + 1]
    a0, a1 = _AMOUNT_PENCE[i], _AMOUNT_PENCE[i + 1]
    return round(a0 + (a1 - a0) * (u - q0) / (q1 - q0))


async def _account(db: Db, code: str, name: str, kind: ledger.types.AccountKind) -> int:
    try:
        return (await ledger.find_account(db, code=code)).id
    except ledger.AccountNotFound:
        return (await ledger.open_account(db, code=code, name=name, kind=kind)).id


def _months(today: date, count: int) -> list[date]:
    months = [today.replace(day=1)]
    while len(months) < count:
        months.insert(0, (months[0] - timedelta(days=1)).replace(day=1))
    return months


async def seed_demo(db: Db, *, today: date | None = None) -> DemoSummary:
    """Open the demo accounts and replay three months of allocations and purchases."""
    today = today or datetime.now(UTC).date()
    rng = random.Random(SEED)
    grant = await _account(db, "demo:source:dfe", "Children's Social Care Prevention Grant", "funding_source")
    pot = await _account(db, "demo:pot:prevention", "Prevention grant pot", "funding_pot")
    clearing = await _account(db, "demo:card-clearing", "Card clearing", "card_clearing")
    receivable = await _account(db, "demo:overspend", "Overspend receivable", "overspend_receivable")
    teams: dict[str, int] = {}
    wallets: list[tuple[str, int]] = []
    for locality in LOCALITIES:
        slug = locality.lower().replace(" ", "-")
        teams[locality] = await _account(db, f"demo:team:{slug}", f"{locality} early help team", "team_budget")
        for n in range(1, WORKERS_PER_TEAM + 1):
            key = f"{slug}-{n:02d}"
            wallets.append((locality, await _account(db, f"demo:wallet:{key}", f"Key worker {key}", "worker_wallet")))
    holds = captures = refunds = declines = 0
    months = _months(today, 3)
    for month in months:
        tag = month.strftime("%Y-%m")
        start = datetime(month.year, month.month, 1, 9, tzinfo=UTC)
        total = WALLET_PER_MONTH * len(wallets)
        await _must(
            ledger.allocate(
                db,
                transfer_id=f"demo:{tag}:grant",
                from_account_id=grant,
                to_account_id=pot,
                amount=total,
                accounting_date=month,
                now=start,
            )
        )
        for locality, team in teams.items():
            team_total = WALLET_PER_MONTH * sum(1 for loc, _ in wallets if loc == locality)
            await _must(
                ledger.allocate(
                    db,
                    transfer_id=f"demo:{tag}:team:{team}",
                    from_account_id=pot,
                    to_account_id=team,
                    amount=team_total,
                    accounting_date=month,
                    now=start,
                )
            )
        for locality, wallet in wallets:
            team = teams[locality]
            await _must(
                ledger.allocate(
                    db,
                    transfer_id=f"demo:{tag}:wallet:{wallet}",
                    from_account_id=team,
                    to_account_id=wallet,
                    amount=WALLET_PER_MONTH,
                    accounting_date=month,
                    now=start,
                )
            )
            for n in range(rng.randint(0, 2)):
                day = min(month.day + rng.randint(1, 27), 28)
                when = start.replace(day=day, hour=rng.randint(9, 17))
                if when.date() > today:
                    continue
                hold_id = f"demo:{tag}:{wallet}:{n}"
                amount = demo_amount(rng)
                hold = await ledger.place_hold(
                    db,
                    transfer_id=hold_id,
                    wallet_id=wallet,
                    clearing_id=clearing,
                    amount=amount,
                    expires_at=when + timedelta(days=7),
                    accounting_date=when.date(),
                    now=when,
                )
                if not hold.accepted:
                    declines += 1
                    continue
                holds += 1
                if when.date() >= today - timedelta(days=2):
                    continue  # still pending at the till
                captured = amount if rng.random() < 0.85 else max(1, amount - rng.randint(1, amount // 4 + 1))
                capture = await ledger.capture(
                    db,
                    transfer_id=f"{hold_id}:capture",
                    hold_id=hold_id,
                    amount=captured,
                    overspend_account_id=receivable,
                    accounting_date=when.date(),
                    now=when + timedelta(hours=1),
                )
                captures += 1
                if rng.random() < 0.03:
                    await _must(
                        ledger.refund(
                            db,
                            transfer_id=f"{hold_id}:refund",
                            capture_id=capture.transfer_id,
                            amount=captured,
                            accounting_date=when.date(),
                            now=when + timedelta(days=2),
                        )
                    )
                    refunds += 1
    await ledger.expire_due_holds(db, now=datetime.now(UTC))
    return DemoSummary(len(teams), len(wallets), holds, captures, refunds, declines)


async def _must(pending: Awaitable[ledger.Outcome]) -> ledger.Outcome:
    outcome = await pending
    outcome.raise_if_declined()
    return outcome

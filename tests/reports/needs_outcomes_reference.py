"""The needs-and-outcomes report as computed before it was bounded (issue 16): kept here as the
independent reference the report is compared with, over the worked-example county with later
activity (``test_needs_outcomes_as_before``). It reads each family's whole history up to the
month's end; it is not used by Tide. Copied from ``reports/needs_outcomes.py`` at commit fd9d694
(less its CSV writer: the tables compared are the published text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    FromClause,
    Select,
    and_,
    case,
    cast,
    func,
    select,
    type_coerce,
    union_all,
)

from ledger.money import pounds
from ledger.operations import Db, dialect_name
from reports.movements import net_spend_query
from reports.period import Period
from wallet.clock import local_date
from wallet.models import FundingSource, Need, NeedReview, Purchase, PurchaseNeed, Team
from wallet.taxonomy import CATEGORIES, NEEDS, OUTCOMES

SMALLEST_COUNT = 5
SUPPRESSED = "<5"
NOTE = (
    "Descriptive, not causal: families with purchases differ from families without in many ways, so these "
    "figures show what happened alongside the purchases, not what the purchases caused. Counts of 1 to 4, "
    "and amounts resting on fewer than 5 families, are suppressed."
)


@dataclass(frozen=True)
class Table:
    """A table as published: its title, column headings and rows of text (suppression applied)."""

    title: str
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]


@dataclass
class NeedsOutcomes:
    period: Period
    tables: list[Table] = field(default_factory=list)
    #: Spend by headline outcome for the chart: ``None`` where suppressed.
    outcome_spend: list[tuple[str, int | None]] = field(default_factory=list)


def count(n: int) -> str:
    """A count as published: ``<5`` for 1 to 4."""
    return SUPPRESSED if 0 < n < SMALLEST_COUNT else str(n)


def amount(pence: int, families: int) -> str:
    """An amount as published: suppressed when it rests on 1 to 4 families."""
    return SUPPRESSED if 0 < families < SMALLEST_COUNT else pounds(pence)


@dataclass(frozen=True)
class _Sources:
    """The month's spend per purchase, the spend to the month's end, and the month's shares
    between the needs the purchases answer: computed once, read by every table."""

    month: FromClause
    to_date: FromClause
    month_shares: FromClause


def need_shares(spend: FromClause) -> Select[Any]:
    """Each (purchase, need) with its share of the purchase's net spend, to the penny, and the
    need's code, headline outcome and family."""
    rank = func.row_number().over(partition_by=PurchaseNeed.purchase_id, order_by=PurchaseNeed.need_id)
    needs = func.count().over(partition_by=PurchaseNeed.purchase_id)
    ranked = (
        select(
            PurchaseNeed.purchase_id,
            PurchaseNeed.need_id,
            type_coerce(spend.c.net, BigInteger).label("net"),
            rank.label("rank"),
            type_coerce(needs, BigInteger).label("needs"),
        )
        .join(spend, spend.c.purchase_id == PurchaseNeed.purchase_id)
        .subquery("ranked")
    )
    base = ranked.c.net // ranked.c.needs
    remainder = ranked.c.net - base * ranked.c.needs
    extra = case(
        (and_(remainder > 0, ranked.c.rank <= remainder), 1),
        (and_(remainder < 0, ranked.c.rank <= -remainder), -1),
        else_=0,
    )
    return select(
        ranked.c.purchase_id,
        ranked.c.need_id,
        (base + extra).label("share"),
        Need.code,
        _outcome_of(Need.code).label("outcome"),
        Need.family_id,
    ).join(Need, Need.id == ranked.c.need_id)


def _sources(period: Period) -> _Sources:
    """The month's spend, the spend to its end and the month's shares, as common table
    expressions each query names: no temporary table, so the report runs in a read-only
    transaction (a streaming replica's)."""
    month = net_spend_query(period, month_only=True).cte("month_spend")
    # To the month's end = the month and everything before it.
    before = net_spend_query(period, span="before")
    both = union_all(select(month.c.purchase_id, month.c.net), before).subquery("both")
    to_date = (
        select(both.c.purchase_id, func.sum(both.c.net).label("net")).group_by(both.c.purchase_id).cte("spend_to_date")
    )
    return _Sources(month=month, to_date=to_date, month_shares=need_shares(month).cte("month_shares"))


def _outcome_of(code: Any) -> ColumnElement[int]:
    return case({c: n.outcome for c, n in NEEDS.items()}, value=code, else_=0)


async def _spend_by_need(db: Db, sources: _Sources) -> tuple[Table, Table, list[tuple[str, int | None]]]:
    joined = sources.month_shares
    by_code = await db.execute(
        select(
            joined.c.code,
            func.sum(joined.c.share),
            func.count(func.distinct(joined.c.purchase_id)),
            func.count(func.distinct(joined.c.family_id)),
        ).group_by(joined.c.code)
    )
    found = {row[0]: (int(row[1] or 0), int(row[2]), int(row[3])) for row in by_code}
    need_rows = [
        (f"{code} {need.label}", count(found[code][2]), count(found[code][1]), amount(found[code][0], found[code][2]))
        for code, need in NEEDS.items()
        if code in found
    ]
    outcome = joined.c.outcome
    by_outcome = await db.execute(
        select(
            outcome,
            func.sum(joined.c.share),
            func.count(func.distinct(joined.c.purchase_id)),
            func.count(func.distinct(joined.c.family_id)),
        ).group_by(outcome)
    )
    outcomes = {int(row[0]): (int(row[1] or 0), int(row[2]), int(row[3])) for row in by_outcome}
    outcome_rows = []
    chart: list[tuple[str, int | None]] = []
    for number, label in OUTCOMES.items():
        pence, purchases, families = outcomes.get(number, (0, 0, 0))
        outcome_rows.append((f"{number} {label}", count(families), count(purchases), amount(pence, families)))
        chart.append((f"{number}", None if 0 < families < SMALLEST_COUNT else pence))
    headers = ("Group", "Families", "Purchases", "Spend £")
    return (
        Table("Spend by need", headers, need_rows),
        Table("Spend by headline outcome", headers, outcome_rows),
        chart,
    )


async def _spend_by(db: Db, sources: _Sources, *, title: str, keys: Sequence[Any]) -> Table:
    spend = sources.month
    rows = await db.execute(
        select(
            *keys,
            func.sum(spend.c.net),
            func.count(spend.c.purchase_id),
            func.count(func.distinct(Purchase.family_id)),
        )
        .select_from(spend)
        .join(Purchase, Purchase.id == spend.c.purchase_id)
        .join(Team, Team.id == Purchase.team_id)
        .join(FundingSource, FundingSource.id == Purchase.funding_source_id)
        .group_by(*keys)
        .order_by(*keys)
    )
    out = []
    for row in rows:
        names = [str(v) for v in row[: len(keys)]]
        if title.endswith("category"):
            names = [CATEGORIES[names[0]].label if names[0] in CATEGORIES else names[0]]
        pence, purchases, families = int(row[-3] or 0), int(row[-2]), int(row[-1])
        out.append((" / ".join(names), count(families), count(purchases), amount(pence, families)))
    return Table(title, ("Group", "Families", "Purchases", "Spend £"), out)


def _latest_reviews(period: Period) -> Select[Any]:
    rank = func.row_number().over(
        partition_by=NeedReview.need_id, order_by=(NeedReview.reviewed_on.desc(), NeedReview.id.desc())
    )
    ranked = (
        select(NeedReview.need_id, NeedReview.outcome, rank.label("rank"))
        .where(NeedReview.reviewed_on < period.end, NeedReview.created_at <= period.as_at)
        .subquery("ranked_reviews")
    )
    return select(ranked.c.need_id, ranked.c.outcome).where(ranked.c.rank == 1)


async def _reviews(db: Db, period: Period, sources: _Sources) -> tuple[Table, Table]:
    latest = _latest_reviews(period).subquery("latest")
    spend = sources.to_date
    with_purchases = (
        select(Purchase.family_id)
        .join(spend, spend.c.purchase_id == Purchase.id)
        .where(spend.c.net > 0, Purchase.family_id.is_not(None))
        .distinct()
        .subquery("bought_for")
    )
    bought = case((with_purchases.c.family_id.is_not(None), 1), else_=0)
    per_need = (
        select(bought.label("bought"), func.coalesce(latest.c.outcome, "not_reviewed").label("outcome"))
        .select_from(Need)
        .outerjoin(latest, latest.c.need_id == Need.id)
        .outerjoin(with_purchases, with_purchases.c.family_id == Need.family_id)
        .where(Need.identified_on < period.end, Need.created_at <= period.as_at)
        .subquery("per_need")
    )
    rows = await db.execute(
        select(per_need.c.bought, per_need.c.outcome, func.count()).group_by(per_need.c.bought, per_need.c.outcome)
    )
    counts = {(int(row[0]), str(row[1])): int(row[2]) for row in rows}
    outcomes = ("improved", "no_change", "worse", "not_reviewed")
    review_rows = [
        (
            "Families with purchases" if group else "Families without purchases",
            *(count(counts.get((group, o), 0)) for o in outcomes),
        )
        for group in (1, 0)
    ]
    reviews = Table(
        "Needs as last reviewed", ("Group", "Improved", "No change", "Worse", "Not yet reviewed"), review_rows
    )

    # Shares only of the purchases that answer an improved need (each shared among all its needs).
    improved_needs = select(latest.c.need_id).where(latest.c.outcome == "improved")
    touched = select(PurchaseNeed.purchase_id).where(PurchaseNeed.need_id.in_(improved_needs))
    spend_touched = (
        select(sources.to_date.c.purchase_id, sources.to_date.c.net)
        .where(sources.to_date.c.purchase_id.in_(touched))
        .subquery("spend_touched")
    )
    shares = need_shares(spend_touched).subquery("improved_shares")
    improved = await db.execute(
        select(func.coalesce(func.sum(shares.c.share), 0), func.count(func.distinct(shares.c.need_id)))
        .select_from(shares)
        .join(latest, latest.c.need_id == shares.c.need_id)
        .where(latest.c.outcome == "improved")
    )
    pence, needs = (int(v or 0) for v in improved.one())
    cost = SUPPRESSED if 0 < needs < SMALLEST_COUNT else (pounds((pence + needs // 2) // needs) if needs else "")
    cost_table = Table(
        "Cost per improved need (to the month's end)",
        ("Group", "Improved needs with purchases", "Spend on them £", "Cost per improved need £"),
        [("All teams", count(needs), amount(pence, needs), cost)],
    )
    return reviews, cost_table


async def _days_waited(db: Db, sources: _Sources) -> dict[int, int]:
    """How many needs waited how many days (UK calendar) from being identified to their first purchase."""
    first = func.min(Purchase.created_at)
    per_need = (
        select(Need.identified_on, first.label("first"))
        .join(PurchaseNeed, PurchaseNeed.need_id == Need.id)
        .join(Purchase, Purchase.id == PurchaseNeed.purchase_id)
        .join(sources.to_date, sources.to_date.c.purchase_id == Purchase.id)
        .group_by(Need.id, Need.identified_on)
    )
    if dialect_name(db) == "postgresql":
        # Counted by the database: the UK date of the first purchase less the day identified.
        waited = per_need.subquery("per_need")
        local_day = cast(func.timezone("Europe/London", waited.c.first), Date)
        days = func.greatest(local_day - waited.c.identified_on, 0).label("days")
        rows = await db.execute(select(days, func.count()).group_by(days))
        return {int(d): int(n) for d, n in rows}
    histogram: dict[int, int] = {}
    streamed = await db.stream(per_need.execution_options(yield_per=5000))
    async for identified_on, first_at in streamed:
        first_day: date = local_date(first_at)
        waited_days = max((first_day - identified_on).days, 0)
        histogram[waited_days] = histogram.get(waited_days, 0) + 1
    await streamed.close()
    return histogram


async def _time_to_first_purchase(db: Db, sources: _Sources) -> Table:
    days = await _days_waited(db, sources)
    total = sum(days.values())
    summary: tuple[str, ...]
    if total < SMALLEST_COUNT:
        hidden = SUPPRESSED if total else ""
        summary = ("All needs with a purchase", count(total), hidden, hidden, hidden)
    else:
        quartiles = [_quantile(days, total, q) for q in (0.25, 0.5, 0.75)]
        summary = ("All needs with a purchase", str(total), *(str(q) for q in quartiles))
    headings = ("Group", "Needs", "Lower quartile", "Median", "Upper quartile")
    return Table("Days from need identified to first purchase", headings, [summary])


def _quantile(histogram: dict[int, int], total: int, q: float) -> int:
    position = int(q * (total - 1))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen > position:
            return value
    return max(histogram)


async def needs_outcomes(db: Db, period: Period) -> NeedsOutcomes:
    """The month's needs and outcomes report (aggregates only; small counts suppressed)."""
    report = NeedsOutcomes(period=period)
    sources = _sources(period)
    by_need, by_outcome, chart = await _spend_by_need(db, sources)
    by_category = await _spend_by(db, sources, title="Spend by purchase category", keys=[Purchase.category])
    by_team = await _spend_by(
        db, sources, title="Spend by team and funding source", keys=[Team.name, FundingSource.name]
    )
    reviews, cost = await _reviews(db, period, sources)
    waited = await _time_to_first_purchase(db, sources)
    report.tables = [by_need, by_outcome, by_category, by_team, reviews, cost, waited]
    report.outcome_spend = chart
    return report

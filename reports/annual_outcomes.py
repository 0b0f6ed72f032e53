"""The annual report's outcome tables: needs at review and at the six-month check, the cost per
improved need with a Wilson interval, families returning after a closed case, the ten headline
outcomes, and the days from a need being identified to its first purchase.

*At review*: each need's latest review dated in the year. *At the six-month check*: the
needs of families whose six-month check was recorded in the year (``sustain_checks``), each
by its latest review on or before the case closed ("improved by closure") and what the check
found: an improvement is *sustained* when the check found it had lasted; families the check
could not contact are counted apart.

The cost per improved need is the year's spend on reviewed needs divided by the number that
improved. Its interval comes from the Wilson 95% interval on the improved proportion (how sure
the proportion is, given how many needs were reviewed), computed with :class:`decimal.Decimal`
so every run gives the same pence.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from sqlalchemy import Date, and_, case, cast, func, select

from ledger.operations import Db, dialect_name
from reports.disclosure import Cell, Column, Row, Table
from reports.financial_year import FinancialYear, outcome_of, year_spend
from reports.needs_outcomes import need_shares
from wallet.clock import local_date
from wallet.models import Family, FamilyCaseLink, Need, NeedReview, Purchase, PurchaseNeed, Team
from wallet.sustain_check_models import SustainCheck
from wallet.taxonomy import OUTCOMES

Z = Decimal("1.959963984540054")  # the 97.5th percentile of the standard normal: a 95% interval


def wilson(improved: int, reviewed: int) -> tuple[Decimal, Decimal]:
    """The Wilson score interval for ``improved`` of ``reviewed``, as exact-enough Decimals."""
    with localcontext() as ctx:
        ctx.prec = 28
        n, k = Decimal(reviewed), Decimal(improved)
        p = k / n
        z2 = Z * Z
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = (Z / (1 + z2 / n)) * (p * (1 - p) / n + z2 / (4 * n * n)).sqrt()
        return max(centre - half, Decimal(0)), min(centre + half, Decimal(1))


def _pence(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def cost_interval(pence: int, improved: int, reviewed: int) -> tuple[int | None, int | None, int | None]:
    """Cost per improved need and its interval (low, high), in pence; ``None`` where undefined."""
    if not improved or not reviewed:
        return None, None, None
    low_p, high_p = wilson(improved, reviewed)
    cost = _pence(Decimal(pence) / improved)
    low = _pence(Decimal(pence) / (high_p * reviewed))
    high = _pence(Decimal(pence) / (low_p * reviewed)) if low_p > 0 else None
    return cost, low, high


def _latest(where: Any, *, newest_first: bool = True, name: str) -> Any:
    order = (
        (NeedReview.reviewed_on.desc(), NeedReview.id.desc())
        if newest_first
        else (NeedReview.reviewed_on, NeedReview.id)
    )
    rank = func.row_number().over(partition_by=NeedReview.need_id, order_by=order).label("rank")
    ranked = select(NeedReview.need_id, NeedReview.outcome, rank).join(Need, Need.id == NeedReview.need_id)
    ranked_q = ranked.join(Family, Family.id == Need.family_id).where(where).subquery(name + "_ranked")
    return select(ranked_q.c.need_id, ranked_q.c.outcome).where(ranked_q.c.rank == 1).subquery(name)


async def _at_review(db: Db, year: FinancialYear) -> tuple[Table, dict[int, int]]:
    latest = _latest(and_(NeedReview.reviewed_on >= year.first, NeedReview.reviewed_on < year.end), name="at_review")
    outcome = outcome_of(Need.code).label("outcome")
    inner = (
        select(outcome, latest.c.outcome.label("result"))
        .select_from(latest)
        .join(Need, Need.id == latest.c.need_id)
        .subquery("reviewed_outcomes")
    )
    rows = await db.execute(
        select(inner.c.outcome, inner.c.result, func.count()).group_by(inner.c.outcome, inner.c.result)
    )
    grid: dict[int, dict[str, int]] = {}
    for number, result, n in rows:
        grid.setdefault(int(number), {})[str(result)] = int(n)
    results = ("improved", "no_change", "worse")
    columns = (Column("Improved"), Column("No change"), Column("Worse"), Column("Needs reviewed"))
    table = Table("outcomes_at_review", "Needs at their latest review in the year", "Headline outcome", columns)
    table.total_column = 3
    for number, label in OUTCOMES.items():
        counts = [grid.get(number, {}).get(r, 0) for r in results]
        table.rows.append(Row(f"{number} {label}", [Cell(n, n) for n in (*counts, sum(counts))]))
    totals = [sum(grid.get(n, {}).get(r, 0) for n in OUTCOMES) for r in results]
    table.rows.append(Row("All needs", [Cell(n, n) for n in (*totals, sum(totals))], is_total=True))
    return table, {n: grid.get(n, {}).get("improved", 0) for n in OUTCOMES}


async def _at_check(db: Db, year: FinancialYear) -> tuple[Table, dict[int, int]]:
    in_year = and_(SustainCheck.checked_on >= year.first, SustainCheck.checked_on < year.end)
    checked = Family.id.in_(select(SustainCheck.family_id).where(in_year))
    at_close = _latest(and_(checked, NeedReview.reviewed_on <= Family.closed_on), name="at_close")
    improved_then = at_close.c.outcome == "improved"
    found = SustainCheck.result
    state = case(
        (found == "could_not_contact", 3),
        (and_(improved_then, found == "sustained"), 0),
        (improved_then, 1),
        else_=2,
    ).label("state")
    outcome = outcome_of(Need.code).label("outcome")
    inner = (
        select(outcome, state)
        .select_from(SustainCheck)
        .join(Need, Need.family_id == SustainCheck.family_id)
        .outerjoin(at_close, at_close.c.need_id == Need.id)
        .where(in_year)
        .subquery("checked_outcomes")
    )
    rows = await db.execute(
        select(inner.c.outcome, inner.c.state, func.count()).group_by(inner.c.outcome, inner.c.state)
    )
    grid: dict[int, list[int]] = {}
    for number, s, n in rows:
        grid.setdefault(int(number), [0, 0, 0, 0])[int(s)] = int(n)
    columns = (
        Column("Improved by closure and sustained"),
        Column("Improved by closure, not sustained"),
        Column("Not improved by closure"),
        Column("Needs checked"),
        Column("Needs of families the check could not contact", additive=False),
    )
    table = Table(
        "outcomes_at_six_month_check",
        "Needs at the six-month check after the case closed",
        "Headline outcome",
        columns,
        note="The six-month checks recorded in the year. Sustained: the key worker found that what had improved "
        "by the case's closure had lasted. Families the check could not contact are counted apart, not as checked.",
    )
    table.total_column = 3
    for number, label in OUTCOMES.items():
        counts = grid.get(number, [0, 0, 0, 0])
        table.rows.append(Row(f"{number} {label}", [Cell(n, n) for n in (*counts[:3], sum(counts[:3]), counts[3])]))
    totals = [sum(grid.get(n, [0, 0, 0, 0])[i] for n in OUTCOMES) for i in range(4)]
    cells = [Cell(n, n) for n in (*totals[:3], sum(totals[:3]), totals[3])]
    table.rows.append(Row("All needs", cells, is_total=True))
    return table, {n: grid.get(n, [0, 0, 0, 0])[0] for n in OUTCOMES}


async def _cost_per_improved(db: Db, year: FinancialYear, *, by_team: bool) -> Table:
    latest = _latest(and_(NeedReview.reviewed_on >= year.first, NeedReview.reviewed_on < year.end), name="reviewed")
    shares = need_shares(year_spend(year)).subquery("cost_shares")
    per_need = (
        select(shares.c.need_id, func.sum(shares.c.share).label("spend"))
        .group_by(shares.c.need_id)
        .subquery("need_spend")
    )
    group = Team.name if by_team else outcome_of(Need.code)
    inner = (
        select(group.label("grp"), latest.c.outcome.label("result"), per_need.c.spend)
        .select_from(per_need)
        .join(latest, latest.c.need_id == per_need.c.need_id)
        .join(Need, Need.id == per_need.c.need_id)
        .join(Family, Family.id == Need.family_id)
        .join(Team, Team.id == Family.team_id)
        .subquery("reviewed_spend")
    )
    improved = func.sum(case((inner.c.result == "improved", 1), else_=0))
    rows = await db.execute(
        select(inner.c.grp, func.count(), improved, func.sum(inner.c.spend)).group_by(inner.c.grp).order_by(inner.c.grp)
    )
    columns = (
        Column("Reviewed needs with spend"),
        Column("Improved"),
        Column("Spend on them £", "money"),
        Column("Cost per improved need £", "money", additive=False),
        Column("Interval from £", "money", additive=False),
        Column("Interval to £", "money", additive=False),
    )
    heading = "Team" if by_team else "Headline outcome"
    table = Table(
        "cost_per_improved_need_by_" + ("team" if by_team else "outcome"),
        f"Cost per improved need, by {heading.lower()}",
        heading,
        columns,
        note="The interval is 95%, from the Wilson interval on the share of reviewed needs that improved.",
    )
    totals = [0, 0, 0]
    for grp, reviewed, k, pence in rows:
        label = str(grp) if by_team else f"{int(grp)} {OUTCOMES.get(int(grp), '')}"
        figures = (int(reviewed), int(k or 0), int(pence or 0))
        totals = [a + b for a, b in zip(totals, figures, strict=True)]
        table.rows.append(Row(label, _cost_cells(*figures)))
    table.rows.append(Row("All", _cost_cells(*totals), is_total=True))
    return table


def _cost_cells(reviewed: int, improved: int, pence: int) -> list[Cell]:
    cost, low, high = cost_interval(pence, improved, reviewed)
    return [
        Cell(reviewed, reviewed),
        Cell(improved, improved),
        Cell(pence, reviewed),
        Cell(cost, improved),
        Cell(low, improved),
        Cell(high, improved),
    ]


async def _returning(db: Db, year: FinancialYear) -> Table:
    """Families opened in the year whose case-system record was an earlier Tide family's that had closed."""
    earlier = Family.__table__.alias("earlier")
    earlier_link = FamilyCaseLink.__table__.alias("earlier_link")
    opened = and_(Family.opened_on >= year.first, Family.opened_on < year.end)
    returned = (
        select(earlier_link.c.family_id)
        .join(earlier, earlier.c.id == earlier_link.c.family_id)
        .where(
            earlier_link.c.case_system == FamilyCaseLink.case_system,
            earlier_link.c.case_system_id == FamilyCaseLink.case_system_id,
            earlier.c.id != Family.id,
            earlier.c.closed_on < Family.opened_on,
        )
        .exists()
    )
    opened_n = int((await db.execute(select(func.count()).select_from(Family).where(opened))).scalar_one())
    returning_n = int(
        (
            await db.execute(
                select(func.count(func.distinct(Family.id)))
                .join(FamilyCaseLink, FamilyCaseLink.family_id == Family.id)
                .where(opened, returned)
            )
        ).scalar_one()
    )
    columns = (Column("Families opened", additive=False), Column("Returning after a closed case", additive=False))
    row = Row("The year", [Cell(opened_n, opened_n), Cell(returning_n, returning_n)])
    return Table("families_returning", "Families returning after a case closed", "", columns, rows=[row])


async def _headline(db: Db, year: FinancialYear, improved: dict[int, int], sustained: dict[int, int]) -> Table:
    outcome = outcome_of(Need.code).label("outcome")
    identified = and_(Need.identified_on >= year.first, Need.identified_on < year.end)
    inner = select(outcome, Need.family_id).where(identified).subquery("identified_outcomes")
    demand = await db.execute(
        select(inner.c.outcome, func.count(), func.count(func.distinct(inner.c.family_id))).group_by(inner.c.outcome)
    )
    needs = {int(o): (int(n), int(f)) for o, n, f in demand}
    shares = need_shares(year_spend(year)).subquery("headline_shares")
    spent = await db.execute(
        select(shares.c.outcome, func.sum(shares.c.share), func.count(func.distinct(shares.c.family_id))).group_by(
            shares.c.outcome
        )
    )
    spend = {int(o): (int(p or 0), int(f)) for o, p, f in spent}
    columns = (
        Column("Needs identified"),
        Column("Families", additive=False),
        Column("Spend £", "money"),
        Column("Improved at review"),
        Column("Sustained at six-month check"),
    )
    table = Table("headline_outcomes", "The Supporting Families ten headline outcomes", "Headline outcome", columns)
    for number, label in OUTCOMES.items():
        n, f = needs.get(number, (0, 0))
        pence, spent_f = spend.get(number, (0, 0))
        i, s = improved.get(number, 0), sustained.get(number, 0)
        table.rows.append(
            Row(f"{number} {label}", [Cell(n, f), Cell(f, f), Cell(pence, spent_f), Cell(i, i), Cell(s, s)])
        )
    n = sum(v[0] for v in needs.values())
    f = int((await db.execute(select(func.count(func.distinct(Need.family_id))).where(identified))).scalar_one())
    pence = sum(v[0] for v in spend.values())
    spend_f = max((v[1] for v in spend.values()), default=0)
    i, s = sum(improved.values()), sum(sustained.values())
    table.rows.append(Row("All", [Cell(n, f), Cell(f, f), Cell(pence, spend_f), Cell(i, i), Cell(s, s)], is_total=True))
    return table


async def outcome_tables(db: Db, year: FinancialYear) -> list[Table]:
    review, improved = await _at_review(db, year)
    check, sustained = await _at_check(db, year)
    return [
        review,
        check,
        await _cost_per_improved(db, year, by_team=False),
        await _cost_per_improved(db, year, by_team=True),
        await _returning(db, year),
        await _headline(db, year, improved, sustained),
    ]


async def days_to_first_purchase(db: Db, year: FinancialYear) -> tuple[int, int | None]:
    """How many needs had their first purchase in the year, and the median days (UK dates) they
    waited from being identified (the lower median when the count is even)."""
    first = func.min(Purchase.created_at)
    per_need = (
        select(Need.identified_on, first.label("first"))
        .join(PurchaseNeed, PurchaseNeed.need_id == Need.id)
        .join(Purchase, Purchase.id == PurchaseNeed.purchase_id)
        .where(Purchase.captured_amount > 0)
        .group_by(Need.id, Need.identified_on)
        .having(and_(first >= year.moment(year.first), first < year.moment(year.end)))
    )
    histogram: dict[int, int] = {}
    if dialect_name(db) == "postgresql":
        waited = per_need.subquery("waited")
        local_day = cast(func.timezone("Europe/London", waited.c.first), Date)
        days = func.greatest(local_day - waited.c.identified_on, 0).label("days")
        for d, n in await db.execute(select(days, func.count()).group_by(days)):
            histogram[int(d)] = int(n)
    else:
        streamed = await db.stream(per_need.execution_options(yield_per=5000))
        async for identified_on, first_at in streamed:
            first_day: date = local_date(first_at)
            key = max((first_day - identified_on).days, 0)
            histogram[key] = histogram.get(key, 0) + 1
        await streamed.close()
    total = sum(histogram.values())
    if not total:
        return 0, None
    position, seen = (total - 1) // 2, 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen > position:
            return total, value
    return total, None

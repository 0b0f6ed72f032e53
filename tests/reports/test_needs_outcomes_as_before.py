"""The needs-and-outcomes report publishes exactly what the computation before issue 16's
bounding published (``needs_outcomes_reference``), month by month, over the worked-example
county with later activity: a refund in a later month of an earlier month's purchase, a review
back-dated into an earlier month and recorded after it, a need identified later, and an old
month asked again after all of it (as at its end, as at a moment between, and as at now)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from reports import needs_outcomes, spend_to_date
from reports.period import Period
from tests.reports import needs_outcomes_reference as reference
from tests.reports.conftest import Built
from tests.reports.world import at
from wallet import families, purchases

pytestmark = pytest.mark.dates

SEPTEMBER, OCTOBER, NOVEMBER, DECEMBER = (date(2026, m, 1) for m in (9, 10, 11, 12))


def published(report: needs_outcomes.NeedsOutcomes | reference.NeedsOutcomes) -> list[object]:
    return [*((t.title, t.headers, list(t.rows)) for t in report.tables), report.outcome_spend]


async def same_as_before(db: AsyncSession, period: Period) -> list[object]:
    now = published(await needs_outcomes.needs_outcomes(db, period))
    assert now == published(await reference.needs_outcomes(db, period)), period
    return now


async def later_activity(db: AsyncSession, built: Built) -> None:
    """November: purchase #4 (October) refunded in part; family A's HOU-COND reviewed "worse"
    on 20 October, recorded on 12 November, and FIN-DEBT "improved" on 13 November; family B's
    DA "improved" with a review dated 26 October, recorded on 27 October (before October's end)."""
    world = built.world
    await purchases.refund_purchase(
        db,
        who=world.finance,
        purchase_id=world.purchase_ids["4"],
        amount=2_000,
        refund_id="later:refund:4",
        now=at(date(2026, 11, 10)),
    )
    reviews = (
        ("HOU-COND", "worse", 3, date(2026, 10, 20), date(2026, 11, 12)),
        ("FIN-DEBT", "improved", 7, date(2026, 11, 13), date(2026, 11, 13)),
        ("DA", "improved", 8, date(2026, 10, 26), date(2026, 10, 27)),
    )
    for code, outcome, score, reviewed_on, recorded_on in reviews:
        who = world.ann if code in ("HOU-COND", "FIN-DEBT") else world.ben
        await families.review_need(
            db,
            who=who,
            need_id=world.need_ids[code],
            outcome=outcome,
            score=score,
            reviewed_on=reviewed_on,
            now=at(recorded_on),
        )
    await db.flush()


MOMENTS = (
    datetime(2026, 10, 2, 12, tzinfo=UTC),
    datetime(2026, 10, 31, 23, tzinfo=UTC),  # October's end: the back-dated review not yet recorded
    datetime(2026, 11, 4, 9, tzinfo=UTC),  # October's close, in the second test
    datetime(2026, 11, 5, 9, tzinfo=UTC),
    datetime(2026, 11, 12, 12, tzinfo=UTC),  # the back-dated review recorded, the refund posted
    datetime(2026, 12, 20, 9, tzinfo=UTC),
)


async def every_month_as_before(db: AsyncSession) -> dict[tuple[date, datetime], list[object]]:
    seen = {}
    for month in (SEPTEMBER, OCTOBER, NOVEMBER, DECEMBER):
        for as_at in MOMENTS:
            if as_at.date() >= month:
                seen[month, as_at] = await same_as_before(db, Period(first=month, as_at=as_at))
    # The later activity shows in what October publishes as at later moments: the cases differ.
    assert len({str(seen[OCTOBER, as_at]) for as_at in MOMENTS if as_at.date() >= OCTOBER}) >= 2
    return seen


async def test_every_month_publishes_what_it_did_before_as_at_any_moment(db: AsyncSession, built: Built) -> None:
    await later_activity(db, built)

    await every_month_as_before(db)


async def test_with_spend_kept_at_each_close_every_month_still_publishes_what_it_did_before(
    db: AsyncSession, built: Built
) -> None:
    await later_activity(db, built)
    closes = ((SEPTEMBER, MOMENTS[0]), (OCTOBER, MOMENTS[2]), (NOVEMBER, datetime(2026, 12, 2, 9, tzinfo=UTC)))
    for month, closed_at in closes:
        assert await spend_to_date.keep_at_close(db, month=month, now=closed_at)
    assert not await spend_to_date.keep_at_close(db, month=OCTOBER, now=MOMENTS[-1])  # only in month order

    seen = await every_month_as_before(db)

    used = {key: await spend_to_date.snapshot_for(db, Period(first=key[0], as_at=key[1])) for key in seen}
    assert {(s.month if s else None) for s in used.values()} == {SEPTEMBER, OCTOBER, NOVEMBER}


async def test_movements_recorded_after_a_snapshot_but_dated_before_its_months_end_are_counted(
    db: AsyncSession, built: Built
) -> None:
    """As a card capture dated by the card network arrives after its month was snapshotted: here
    October's spend is kept as at the 10th, and the purchases and the refund recorded later in October come after it."""
    await later_activity(db, built)
    assert await spend_to_date.keep_at_close(db, month=SEPTEMBER, now=MOMENTS[0])
    assert await spend_to_date.keep_at_close(db, month=OCTOBER, now=datetime(2026, 10, 10, 12, tzinfo=UTC))

    await every_month_as_before(db)

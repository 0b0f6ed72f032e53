"""Time, in one place: the council's time zone, calendar dates of moments, and "now".

Every moment Tide keeps is timezone-aware UTC; a calendar date (an accounting date, a budget
month, a review's due day) is the moment's date in the council's time zone, Europe/London,
so 23:30 UTC on 31 March in British Summer Time is already 1 April, and the new financial year.

"Now" is injectable two ways. Functions take ``now`` from their caller, so a test passes the
moment it means. And the process's clock can be moved as a whole with :func:`travel_to`: the
clock then runs on from that moment at the normal pace (so timeouts and orderings still
behave), which is how the test suite replays itself on chosen dates (the first and last day
of a month, 1 April, the nights the clocks change, 29 February). Nothing here reads the
environment: the test suite or the app's start-up decides.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
"""The council's time zone: calendar dates, months and financial years are London's."""

_offset = timedelta(0)


def now_utc() -> datetime:
    """The clock's now, timezone-aware UTC (moved by :func:`travel_to`, if it was)."""
    return datetime.now(UTC) + _offset


def travel_to(moment: datetime | None) -> None:
    """Run the process's clock from ``moment`` on (``None``: back to the real time)."""
    global _offset  # noqa: PLW0603 - the one process-wide clock, moved only by tests and start-up
    if moment is None:
        _offset = timedelta(0)
        return
    if moment.tzinfo is None:
        raise ValueError("the clock's moment must carry a time zone")
    _offset = moment.astimezone(UTC) - datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime:
    """``moment`` (default: now) in UTC; a naive datetime is refused, not guessed at."""
    if moment is None:
        return now_utc()
    if moment.tzinfo is None:
        raise ValueError("times must carry a time zone")
    return moment.astimezone(UTC)


def local_date(moment: datetime) -> date:
    """The council's calendar date of a moment (its accounting date)."""
    return moment.astimezone(LONDON).date()


def today() -> date:
    """The council's calendar date now."""
    return local_date(now_utc())


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_month(day: date) -> date:
    """The first day of the month after ``day``'s."""
    return month_end(day) + timedelta(days=1)


def previous_month(day: date) -> date:
    """The first day of the month before ``day``'s."""
    return month_start(month_start(day) - timedelta(days=1))


def local_midnight(day: date) -> datetime:
    """The moment, in UTC, a London calendar day begins."""
    return datetime(day.year, day.month, day.day, tzinfo=LONDON).astimezone(UTC)

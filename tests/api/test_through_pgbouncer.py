"""Sessions and a purchase with its receipt again, the app's database reached through a real
PgBouncer in transaction mode (``tests/pgbouncer.py``); the tests' own set-up and checks go
direct. The tests are the ones of ``test_sessions`` and ``test_end_to_end``, collected here once more."""

from __future__ import annotations

import pytest

from tests.api.test_end_to_end import (
    test_a_key_worker_buys_for_a_need_with_a_receipt_and_the_manager_and_finance_see_it as test_a_purchase,
)
from tests.api.test_sessions import (
    clock,
    test_a_session_in_constant_use_still_ends_twelve_hours_after_sign_in,
    test_a_session_left_idle_for_thirty_minutes_has_ended,
    test_signing_out_everywhere_ends_every_session_of_mine_and_nobody_elses,
    test_the_session_cookie_never_outlives_the_sessions_absolute_end,
    timed_client,
)

pytestmark = [pytest.mark.postgresql, pytest.mark.pgbouncer, pytest.mark.usefixtures("apps_through_pgbouncer")]

__all__ = [
    "clock",
    "test_a_purchase",
    "test_a_session_in_constant_use_still_ends_twelve_hours_after_sign_in",
    "test_a_session_left_idle_for_thirty_minutes_has_ended",
    "test_signing_out_everywhere_ends_every_session_of_mine_and_nobody_elses",
    "test_the_session_cookie_never_outlives_the_sessions_absolute_end",
    "timed_client",
]


@pytest.fixture
def county_url(county_postgres: str) -> str:
    """The county on PostgreSQL only (the app's settings then go through PgBouncer)."""
    return county_postgres

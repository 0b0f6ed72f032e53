"""The card till (Stripe's real-time authorizations) and card purchases again, the app's
database reached through a real PgBouncer in transaction mode (``tests/pgbouncer.py``); the
tests' own set-up and checks go direct. The tests are those of ``test_authorization_endpoint``
and ``test_flows``, collected here once more."""

from __future__ import annotations

import pytest

from tests.cards.test_authorization_endpoint import (
    client,
    test_a_newly_published_policy_applies_to_the_next_authorization,
    test_an_unknown_card_is_declined_with_the_reason_and_the_pinned_version,
    test_what_cannot_be_decided_is_a_decline_never_a_500,
)
from tests.cards.test_flows import (
    test_a_payment_the_wallet_cannot_cover_is_declined_and_holds_nothing,
    test_a_replayed_request_gets_the_same_answer_and_one_hold,
    test_an_approved_payment_holds_then_captures_the_wallet,
    test_partial_capture_gives_the_rest_back_and_over_capture_is_flagged,
)

pytestmark = [pytest.mark.postgresql, pytest.mark.pgbouncer, pytest.mark.usefixtures("apps_through_pgbouncer")]

__all__ = [
    "client",
    "test_a_newly_published_policy_applies_to_the_next_authorization",
    "test_a_payment_the_wallet_cannot_cover_is_declined_and_holds_nothing",
    "test_a_replayed_request_gets_the_same_answer_and_one_hold",
    "test_an_approved_payment_holds_then_captures_the_wallet",
    "test_an_unknown_card_is_declined_with_the_reason_and_the_pinned_version",
    "test_partial_capture_gives_the_rest_back_and_over_capture_is_flagged",
    "test_what_cannot_be_decided_is_a_decline_never_a_500",
]


@pytest.fixture
def county_url(cards_county_postgres: str) -> str:
    """The county on PostgreSQL only (the app's settings then go through PgBouncer)."""
    return cards_county_postgres

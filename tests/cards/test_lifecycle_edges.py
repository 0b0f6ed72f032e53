"""The lifecycle's edges one at a time, each delivered in the order that once went wrong: a
capture before its authorization, a won dispute whose funds Stripe rescinds, refunds that
compete for the purchases at one merchant. Each example ends with the lifecycle machine's own
checks (``ledger.verify``, each wallet's spend against Stripe's, refunds where they came from)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.cards.test_lifecycle_property import CardLifecycle


@pytest.fixture
def machine(cards_county_sqlite: str) -> Iterator[CardLifecycle]:
    kind = type("CardLifecycleByHand", (CardLifecycle,), {"database_url": cards_county_sqlite})
    made = kind()
    made.two_workers_with_a_card_each(mode="by hand", seed=0)
    try:
        yield made
    finally:
        made.teardown()  # delivers what is left and checks the books


def _of(events: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    return [event for event in events if event["type"].startswith(prefix)]


def test_a_late_authorization_holds_what_stripe_still_authorizes_after_an_early_capture(
    machine: CardLifecycle,
) -> None:
    machine.authorize(card=0, amount=1_000, merchant="Clarks")
    machine.capture(which=0, share=0.3, close=False)
    events = machine._take_outbox()
    assert machine._deliver(_of(events, "issuing_transaction") + _of(events, "issuing_authorization")) == []
    machine.runner.run(machine._check_wallets(holds_too=True))


def test_an_authorization_updated_before_created_and_before_its_capture_still_holds_the_rest(
    machine: CardLifecycle,
) -> None:
    machine.authorize(card=0, amount=1_000, merchant="Clarks")
    machine.capture(which=0, share=0.3, close=False)
    events = machine._take_outbox()
    authorizations = _of(events, "issuing_authorization")
    assert machine._deliver(authorizations[::-1] + _of(events, "issuing_transaction")) == []
    machine.runner.run(machine._check_wallets(holds_too=True))


def _won_then_rescinded(machine: CardLifecycle) -> list[dict[str, Any]]:
    machine.authorize(card=0, amount=2_000, merchant="Shell")
    machine.capture(which=0, share=1.0, close=True)
    capture = machine._captures()[0]
    dispute = machine.fake.dispute(capture["id"])
    machine.fake.decide_dispute(dispute["id"], won=True)
    machine.fake.rescind_dispute(dispute["id"])
    return machine._take_outbox()


def test_a_won_disputes_funds_rescinded_by_stripe_are_taken_back_once(machine: CardLifecycle) -> None:
    events = _won_then_rescinded(machine)
    assert machine._deliver(events + events) == []  # each event twice: credited once, taken back once
    machine.runner.run(machine._check_wallets(holds_too=True))


def test_a_rescission_delivered_before_the_reinstatement_leaves_nothing_credited(machine: CardLifecycle) -> None:
    events = _won_then_rescinded(machine)
    disputes = _of(events, "issuing_dispute")
    assert machine._deliver(_of(events, "issuing_authorization") + _of(events, "issuing_transaction")) == []
    assert machine._deliver(disputes[::-1]) == []
    machine.runner.run(machine._check_wallets(holds_too=True))

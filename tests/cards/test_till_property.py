"""The till answers alike on both paths, whatever the policy, wallet, card and request.

Hypothesis draws a spend policy (rules of every kind, needing a manager or denied, at the
council's, a team's, a key worker's or a family's scope, some written for a few categories or
needs only, with limits near the amounts asked), whether each twin has stated a family it is
buying for (then its rules are asked on the Python path, and the purchase linked), twin key
workers (the same team and funds, wallets and cards in the same state, or a card Tide does not
know), whether partial approval is on, and one to three requests on the card: new, the last one
again (a replay), or more on the last one's authorization (an increment), each with any amount
(none, a little, past the wallet or a limit), currency, merchant and merchant name.

The fast twin's requests go to ``cards.fast_till`` (one PostgreSQL call; in some examples
queued behind other requests into one ``card_decide_many`` call); when it hands over (SQLSTATE
TD001, ``FullDecisionNeeded``) the Python path answers, as the route does. The slow twin's go to
``cards.till``. Then the two answers must be equal (approved, amount, reasons, replayed), the
rows each left equal (``till_rows.rows``: the decision, the authorization, the purchase, the
audit entry, the hold's ledger operation and transfer, the wallet's counters), and the fast path
must have handed over exactly when ``_hands_over`` says it should: an answer it can give itself
is never left to the Python path, so the equality is not won by handing everything over.

A thousand examples, the same thousand every run (``derandomize``): a failure replays as it is
reported. ``--hypothesis-show-statistics`` shows how they divided.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

import ledger
from cards import fast_till, till
from cards.answers import CardAnswer
from cards.merchant_categories import UNKNOWN_REASON, purpose_of, refusal
from ledger.database import create_engine
from tests import databases
from tests.cards.conftest import COUNTY
from tests.cards.support import request_event
from tests.cards.till_rows import rows
from tests.cards.till_twins import NO_CATEGORY, TillWorld, Twin, open_world
from tests.conftest import IN_CI
from tests.wallet.support import County
from wallet.clock import now_utc
from wallet.policy import Ask, PolicyDocument, Spend, evaluate, parse_policy

pytestmark = pytest.mark.postgresql

KINDS = (
    *("purchase_over",) * 3,
    *("unassigned_over",) * 2,
    *("category",) * 2,
    "case_over",
    "family_period_over",
    "receipt_over",
    "wallet_period_over",
)
CATEGORIES = ("CLOTH", "FOOD-VCH", "TRAVEL", "GAMBLING", "ALCOHOL", "CASH", "LEARN")
#: council, a team (the twins' or another), a key worker (each twin, or someone else)
SCOPES = ("council", "council", "team", "other_team", "worker", "other_worker", "family")
MERCHANTS = (
    ("childrens_and_infants_wear_stores", "5641"),  # clothing
    ("grocery_stores_supermarkets", "5411"),  # food
    ("bus_lines", "4131"),  # travel
    ("betting_casino_gambling", "7995"),  # gambling: not allowed
    ("package_stores_beer_wine_and_liquor", "5921"),  # alcohol
    ("automated_cash_disburse", "6011"),  # cash
    ("not_a_stripe_slug", "5661"),  # a slug not in Tide's table, with a clothing code: unknown
    ("", "8211"),  # no slug, a school's code: unknown
    NO_CATEGORY,  # no purchase category
    ("", ""),  # nothing said
)
#: Limits and funds, often at the default policy's edges.
PENCE = st.one_of(st.sampled_from([0, 1, 999, 1_000, 1_001, 10_000, 10_001, 25_000, 25_001]), st.integers(0, 40_000))
#: Amounts asked: the same, and now and then none or less than none.
AMOUNTS = st.one_of(
    st.sampled_from([-1, 0, 1, 999, 1_000, 1_001, 10_000, 10_001, 25_000, 25_001]), st.integers(1, 40_000)
)
_LETTERS = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
#: Merchant names: none, short ones, and long ones across the cuts (120 for the supplier, 200
#: for the authorization's merchant and the purchase's description).
NAMES = st.one_of(
    st.sampled_from(["Clarks", "", "Boots"]),
    st.text(_LETTERS, max_size=30),
    st.text(_LETTERS, min_size=110, max_size=230),
)


@st.composite
def scoped_rules(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A rule without its scope, and which scope it has."""
    kind = draw(st.sampled_from(KINDS))
    rule: dict[str, Any] = {"kind": kind}
    if kind == "category":
        rule["categories"] = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True))
    else:
        rule["limit"] = draw(PENCE)
    if kind.endswith("period_over"):
        rule["days"] = draw(st.integers(1, 366))
    if kind not in ("category", "receipt_over") and draw(st.booleans()):  # written for some categories only
        rule["categories"] = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True))
    if kind != "unassigned_over" and draw(st.integers(0, 3)) == 0:  # written for some needs only
        rule["needs"] = draw(st.lists(st.sampled_from(["HOU-COND", "DA"]), min_size=1, max_size=2, unique=True))
    if kind != "receipt_over":
        rule["effect"] = draw(st.sampled_from(("needs_approval", "deny")))
    return rule, draw(st.sampled_from(SCOPES))


@dataclass(frozen=True, slots=True)
class Step:
    """One request: new, ``replay`` (the last event again) or ``increment`` (more on the last
    authorization)."""

    then: str
    amount: int
    currency: str
    merchant: tuple[str, str]
    name: str
    controllable: bool


def steps(then: st.SearchStrategy[str]) -> st.SearchStrategy[Step]:
    currencies = st.sampled_from([*("gbp",) * 8, "GBP", "eur", "usd", "", "gbpx"])
    return st.builds(Step, then, AMOUNTS, currencies, st.sampled_from(MERCHANTS), NAMES, st.booleans())


@dataclass(frozen=True, slots=True)
class Scenario:
    rules: list[tuple[dict[str, Any], str]]
    stated: bool
    team: str
    funds: int
    card: str
    wallet: str
    allow_partial: bool
    batched: bool
    steps: list[Step]


SCENARIOS = st.builds(
    Scenario,
    rules=st.lists(scoped_rules(), max_size=6),
    stated=st.sampled_from([False, False, True]),
    team=st.sampled_from([*("exeter",) * 3, "torridge", "torridge", "unfunded"]),
    funds=PENCE,
    card=st.sampled_from([*("active",) * 6, "inactive", "canceled", "unknown"]),
    wallet=st.sampled_from([*("active",) * 6, "suspended"]),
    allow_partial=st.booleans(),
    batched=st.booleans(),
    steps=st.builds(
        lambda first, more: [first, *more],
        steps(st.just("new")),
        st.lists(steps(st.sampled_from(["new", "replay", "increment"])), max_size=2),
    ),
)


@pytest.fixture(scope="module")
def till_database() -> Iterator[str]:
    """A county of this test's own: it publishes a policy for every example."""
    yield from databases.seeded_postgres("tide_till_property", COUNTY, in_ci=IN_CI)


@pytest.fixture
async def world(till_database: str) -> AsyncIterator[TillWorld]:
    engine = create_engine(till_database, pool_size=8)
    try:
        yield await open_world(County(engine))
        async with engine.begin() as connection:
            assert await ledger.verify(connection) == []
    finally:
        await engine.dispose()


@settings(
    max_examples=1_000,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no "explain": it reruns hundreds
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario=SCENARIOS)
async def test_both_paths_answer_alike_and_leave_the_same_rows(world: TillWorld, scenario: Scenario) -> None:
    note(f"{scenario!r}")  # (the failing example, printed whole with the failure)
    fast, slow = await world.twins(
        team=scenario.team,
        funds=scenario.funds,
        card_status="active" if scenario.card == "unknown" else scenario.card,
        wallet_status=scenario.wallet,
    )
    families = [await world.state_family(t, team=scenario.team) for t in (fast, slow)] if scenario.stated else []
    policy = await _publish(world, scenario, fast, slow, families)
    # A pad's request first: the one call reads the new policy (refused, the version it had is
    # stale), so the requests below are decided on it, not handed over on the one before.
    warm = request_event(world.pads[0][0], 100, category=NO_CATEGORY[0], category_code=NO_CATEGORY[1])
    assert (await _fast(world.county, warm))[1] is None
    fast_card, slow_card = (
        f"ic_unknown{uuid.uuid4().hex[:16]}" if scenario.card == "unknown" else t.card for t in (fast, slow)
    )
    fast_sent: list[tuple[dict[str, Any], Step]] = []
    slow_sent: list[tuple[dict[str, Any], Step]] = []
    available = scenario.funds
    for step in scenario.steps:
        now = now_utc()
        fast_event, asked = _next(fast_sent, fast_card, step)
        slow_event, _ = _next(slow_sent, slow_card, step)
        expected = await _hands_over(
            scenario, policy, asked, fast, then=step.then, team_id=world.teams[scenario.team], available=available
        )
        answering = partial(_fast, world.county, now=now, allow_partial=scenario.allow_partial)
        if scenario.batched and scenario.card != "unknown":
            fast_answer, handed = await world.in_a_batch(answering, fast_event, fast.account_id)
        else:
            fast_answer, handed = await answering(fast_event)
        slow_answer = await _python(world.county, slow_event, now=now, allow_partial=scenario.allow_partial)
        event(f"{step.then}: {'one call' if handed is None else 'handed over'}{' (batched)' * scenario.batched}")
        assert fast_answer == slow_answer
        assert (handed is not None) is expected, f"expected {'a hand-over' if expected else 'one call'}, got {handed}"
        fast_rows = await rows(world.county, fast_event)
        assert fast_rows == await rows(world.county, slow_event)
        available = fast_rows["available"]


async def _publish(world: TillWorld, scenario: Scenario, fast: Twin, slow: Twin, families: list[int]) -> PolicyDocument:
    """The scenario's rules as the council's policy, scopes filled in with real ids (a family's:
    each twin's stated family, or, with none stated, a family nobody buys for)."""
    team_id = world.teams[scenario.team]
    other_team = next(t for t in world.teams.values() if t != team_id)
    rules: list[dict[str, Any]] = []
    for rule, scope in scenario.rules:
        if scope == "council":
            rules.append({**rule, "scope": "council"})
        elif scope in ("team", "other_team"):
            rules.append({**rule, "scope": "team", "scope_id": team_id if scope == "team" else other_team})
        elif scope == "worker":
            rules.extend({**rule, "scope": "worker", "scope_id": twin.person_id} for twin in (fast, slow))
        elif scope == "family" and rule["kind"] != "unassigned_over":
            rules.extend({**rule, "scope": "family", "scope_id": family} for family in families or [0])
        else:
            rules.append({**rule, "scope": "worker", "scope_id": world.finance.person_id})
    await world.publish(rules)
    return parse_policy({"rules": rules})


def _next(sent: list[tuple[dict[str, Any], Step]], card: str, step: Step) -> tuple[dict[str, Any], Step]:
    """The step's event on ``card`` (a replay is the last one again), and the step it asks."""
    if step.then == "replay":
        sent.append(sent[-1])
        return sent[-1]
    authorization = sent[-1][0]["data"]["object"]["id"] if step.then == "increment" else None
    merchant, code = step.merchant
    made = request_event(
        card,
        step.amount,
        authorization=authorization,
        category=merchant,
        category_code=code,
        merchant=step.name,
        controllable=step.controllable,
        currency=step.currency,
    )
    sent.append((made, step))
    return made, step


async def _fast(
    county: County, event: dict[str, Any], *, now: datetime | None = None, allow_partial: bool = False
) -> tuple[CardAnswer, str | None]:
    """The route's way: one call, and the Python path when it hands over; and why it did."""
    try:
        answer = await fast_till.answer_in_one_call(
            county.engine, event=event, now=now or now_utc(), allow_partial=allow_partial
        )
    except fast_till.FullDecisionNeeded as handover:
        why = str(handover) or "handed over"
        return await _python(county, event, now=now or now_utc(), allow_partial=allow_partial), why
    return answer, None


async def _python(county: County, event: dict[str, Any], *, now: datetime, allow_partial: bool) -> CardAnswer:
    async with county.session() as db:
        return await till.answer_authorization(db, event=event, now=now, allow_partial=allow_partial)


class _Summed(Exception):
    """The policy asked for a wallet's spend over a window."""


async def _nothing(_days: int = 0) -> int:
    return 0


async def _summed(_days: int) -> int:
    raise _Summed


async def _hands_over(
    scenario: Scenario, policy: PolicyDocument, step: Step, fast: Twin, *, then: str, team_id: int, available: int
) -> bool:
    """Whether the one call must leave this request to the Python path: the card is not known;
    the merchant category is not in Tide's table (declined there, saying so); the policy wants
    a manager or a wallet's spend summed; an increment (a replay is answered as first
    answered); a possible partial approval. Everything else it answers itself."""
    if scenario.card == "unknown" or refusal(step.merchant[0]) == UNKNOWN_REASON:
        return True
    category = purpose_of(step.merchant[0])
    decision = "deny" if category is None else await _decision(policy, step, category, fast.person_id, team_id)
    if decision in ("needs_approval", "summed"):
        return True
    if then != "new":
        return then == "increment"
    if scenario.stated:  # the family's rules are asked on the Python path
        return True
    refused = (
        scenario.card != "active"
        or scenario.wallet != "active"
        or step.currency.lower() != "gbp"
        or step.amount <= 0
        or category is None
        or scenario.team == "unfunded"
    )
    partial_possible = scenario.allow_partial and step.controllable and 0 < available < step.amount
    return not refused and decision == "allow" and partial_possible


async def _decision(policy: PolicyDocument, step: Step, category: str, worker_id: int, team_id: int) -> str:
    """The policy's decision as the one call asks it (no family yet), or ``summed`` when it
    wants a wallet's spend over a window."""
    try:
        answer = await evaluate(
            policy,
            Ask(amount=step.amount, category=category, worker_id=worker_id, team_id=team_id),
            Spend(family_in_days=_nothing, case=_nothing, wallet_in_days=_summed),
        )
    except _Summed:
        return "summed"
    return answer.decision

"""A rule's scope is kept: a cap written for one category, one need, one team or one family
applies there and nowhere else; a purchase with no family stated meets the worker's tighter limit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.wallet.test_policy import OTHER_TEAM, TEAM, FakeSpend, policy
from wallet.errors import InvalidPolicy
from wallet.policy import Answer, Ask, PolicyDocument, evaluate, parse_policy

FAMILY, OTHER_FAMILY = 40, 41


async def ask(
    document: PolicyDocument,
    amount: int,
    *,
    category: str = "CLOTH",
    needs: tuple[str, ...] = ("EDU-ATT",),
    team_id: int = TEAM,
    family_id: int | None = FAMILY,
    spent: FakeSpend | None = None,
) -> Answer:
    spent = spent or FakeSpend()
    return await evaluate(
        document,
        Ask(amount=amount, category=category, worker_id=7, team_id=team_id, family_id=family_id, needs=needs),
        spent.spend(),
    )


FOOD_CAP = {"kind": "purchase_over", "limit": 5_000, "categories": ["FOOD-VCH"], "effect": "deny"}


async def test_an_amount_cap_written_for_one_category_holds_in_that_category() -> None:
    answer = await ask(policy(FOOD_CAP), 5_001, category="FOOD-VCH")

    assert answer.decision == "deny"
    assert answer.codes == ["purchase_over_5000"]


async def test_an_amount_cap_written_for_one_category_leaves_every_other_category_alone() -> None:
    assert (await ask(policy(FOOD_CAP), 20_000, category="CLOTH")).decision == "allow"
    assert (await ask(policy(FOOD_CAP), 20_000, category="HH-ESS", family_id=None)).decision == "allow"


async def test_a_category_cap_and_the_general_cap_both_hold_each_in_its_own_scope() -> None:
    document = policy(FOOD_CAP, {"kind": "purchase_over", "limit": 10_000, "effect": "deny"})

    assert (await ask(document, 6_000, category="FOOD-VCH")).decision == "deny"
    assert (await ask(document, 6_000, category="CLOTH")).decision == "allow"
    assert (await ask(document, 10_001, category="CLOTH")).decision == "deny"


async def test_a_cap_written_for_one_need_holds_only_for_purchases_answering_it() -> None:
    document = policy({"kind": "purchase_over", "limit": 2_000, "needs": ["DA"], "effect": "needs_approval"})

    assert (await ask(document, 2_001, needs=("DA", "HLT-MH"))).decision == "needs_approval"
    assert (await ask(document, 2_001, needs=("HLT-MH",))).decision == "allow"


async def test_a_need_cap_cannot_apply_where_the_needs_are_not_known_yet() -> None:
    document = policy({"kind": "purchase_over", "limit": 2_000, "needs": ["DA"], "effect": "deny"})

    assert (await ask(document, 2_001, needs=(), family_id=None)).decision == "allow"


async def test_a_case_cap_written_for_one_category_counts_only_when_buying_in_it() -> None:
    document = policy({"kind": "case_over", "limit": 10_000, "categories": ["HOUSING"], "effect": "deny"})
    spent = FakeSpend(case_total=9_000)

    assert (await ask(document, 2_000, category="HOUSING", spent=spent)).decision == "deny"
    assert (await ask(document, 2_000, category="CLOTH", spent=spent)).decision == "allow"


async def test_a_teams_category_cap_holds_for_its_team_only() -> None:
    document = policy({**FOOD_CAP, "scope": "team", "scope_id": TEAM})

    assert (await ask(document, 6_000, category="FOOD-VCH", team_id=TEAM)).decision == "deny"
    assert (await ask(document, 6_000, category="FOOD-VCH", team_id=OTHER_TEAM)).decision == "allow"


async def test_a_familys_own_cap_holds_for_that_family_and_overrides_the_councils() -> None:
    document = policy(
        {"kind": "case_over", "limit": 30_000, "effect": "deny"},
        {"kind": "case_over", "limit": 50_000, "effect": "deny", "scope": "family", "scope_id": FAMILY},
    )
    spent = FakeSpend(case_total=29_000)

    assert (await ask(document, 5_000, family_id=FAMILY, spent=spent)).decision == "allow"
    assert (await ask(document, 5_000, family_id=OTHER_FAMILY, spent=spent)).codes == ["case_cap"]


async def test_a_familys_rule_does_not_apply_when_no_family_is_stated() -> None:
    document = policy({**FOOD_CAP, "scope": "family", "scope_id": FAMILY})

    assert (await ask(document, 6_000, category="FOOD-VCH", family_id=None)).decision == "allow"


UNASSIGNED = {"kind": "unassigned_over", "limit": 3_000, "effect": "deny"}


async def test_a_purchase_with_no_family_stated_stays_within_the_tighter_unassigned_limit() -> None:
    answer = await ask(policy(UNASSIGNED), 3_001, family_id=None, needs=())

    assert answer.decision == "deny"
    assert answer.codes == ["unassigned_over"]
    assert "no family stated" in answer.sentence
    assert (await ask(policy(UNASSIGNED), 3_000, family_id=None, needs=())).decision == "allow"


async def test_the_unassigned_limit_does_not_bind_a_purchase_for_a_stated_family() -> None:
    assert (await ask(policy(UNASSIGNED), 20_000, family_id=FAMILY)).decision == "allow"


@pytest.mark.parametrize(
    ("rule", "complaint"),
    [
        ({"kind": "purchase_over", "limit": 1, "categories": ["YACHTS"]}, "unknown purchase categories: YACHTS"),
        ({"kind": "purchase_over", "limit": 1, "needs": ["BOREDOM"]}, "unknown needs: BOREDOM"),
        ({"kind": "purchase_over", "limit": 1, "scope": "family"}, "a team, worker or family rule needs one"),
        ({"kind": "unassigned_over", "limit": 1, "needs": ["DA"]}, "names no need or family"),
        ({"kind": "unassigned_over"}, "unassigned_over rule needs a limit in pence"),
    ],
)
def test_a_scope_that_cannot_be_kept_is_refused(rule: dict[str, Any], complaint: str) -> None:
    with pytest.raises(InvalidPolicy) as refused:
        parse_policy({"rules": [rule]})

    assert complaint in str(refused.value)

"""The spend policy, asked with a fake ledger of past spending: every rule, and how they combine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from wallet.errors import InvalidPolicy
from wallet.policy import DEFAULT_POLICY, Answer, Ask, PolicyDocument, Rule, Spend, evaluate, parse_policy

WORKER, TEAM, OTHER_WORKER, OTHER_TEAM = 7, 1, 8, 2


@dataclass
class FakeSpend:
    """What has been spent already, and which figures the policy asked for."""

    family_by_days: dict[int, int] = field(default_factory=dict)
    case_total: int = 0
    wallet_by_days: dict[int, int] = field(default_factory=dict)
    asked: list[tuple[str, int | None]] = field(default_factory=list)

    def spend(self) -> Spend:
        async def family_in_days(days: int) -> int:
            self.asked.append(("family", days))
            return self.family_by_days.get(days, 0)

        async def case() -> int:
            self.asked.append(("case", None))
            return self.case_total

        async def wallet_in_days(days: int) -> int:
            self.asked.append(("wallet", days))
            return self.wallet_by_days.get(days, 0)

        return Spend(family_in_days=family_in_days, case=case, wallet_in_days=wallet_in_days)


def policy(*rules: dict[str, Any]) -> PolicyDocument:
    return PolicyDocument(rules=tuple(Rule.model_validate(rule) for rule in rules))


async def ask(
    document: PolicyDocument,
    amount: int,
    *,
    category: str = "CLOTH",
    worker_id: int = WORKER,
    team_id: int = TEAM,
    spent: FakeSpend | None = None,
) -> Answer:
    spent = spent or FakeSpend()
    return await evaluate(
        document, Ask(amount=amount, category=category, worker_id=worker_id, team_id=team_id), spent.spend()
    )


# Allowing, and the per-purchase limit ----------------------------------------------------


async def test_a_purchase_within_every_limit_is_allowed_with_no_reasons() -> None:
    answer = await ask(DEFAULT_POLICY, 4_250)

    assert answer.decision == "allow"
    assert answer.reasons == ()
    assert answer.codes == []
    assert answer.sentence == "Allowed: this purchase is within every limit."


async def test_a_purchase_exactly_at_the_limit_is_allowed_and_one_penny_more_needs_approval() -> None:
    document = policy({"kind": "purchase_over", "limit": 10_000, "effect": "needs_approval"})

    assert (await ask(document, 10_000)).decision == "allow"
    over = await ask(document, 10_001)
    assert over.decision == "needs_approval"
    assert over.codes == ["purchase_over_10000"]


async def test_a_purchase_over_an_approval_limit_needs_a_managers_approval() -> None:
    answer = await ask(DEFAULT_POLICY, 15_000)

    assert answer.decision == "needs_approval"
    assert answer.codes == ["purchase_over_10000"]
    assert answer.sentence == "A purchase above £100.00 needs a manager's approval."


async def test_a_purchase_over_the_ceiling_is_denied_and_the_denial_is_given_first() -> None:
    document = policy(
        {"kind": "purchase_over", "limit": 10_000, "effect": "needs_approval"},
        {"kind": "purchase_over", "limit": 25_000, "effect": "deny"},
    )

    answer = await ask(document, 26_000)

    assert answer.decision == "deny"
    assert answer.codes == ["purchase_over_25000", "purchase_over_10000"]
    assert [r.effect for r in answer.reasons] == ["deny", "needs_approval"]
    assert answer.sentence == (
        "A purchase above £250.00 is not allowed. A purchase above £100.00 needs a manager's approval."
    )


async def test_an_empty_policy_allows_anything() -> None:
    answer = await ask(PolicyDocument(rules=()), 99_999_999, category="CASH")

    assert answer.decision == "allow"
    assert answer.receipt_required is False


# Scopes: the narrowest rule of each kind wins --------------------------------------------

SCOPED = policy(
    {"kind": "purchase_over", "limit": 10_000},
    {"kind": "purchase_over", "limit": 20_000, "scope": "team", "scope_id": TEAM},
    {"kind": "purchase_over", "limit": 30_000, "scope": "worker", "scope_id": WORKER},
)


async def test_a_workers_own_limit_overrides_their_teams_and_the_councils() -> None:
    assert (await ask(SCOPED, 29_000, worker_id=WORKER, team_id=TEAM)).decision == "allow"
    above = await ask(SCOPED, 30_001, worker_id=WORKER, team_id=TEAM)
    assert above.codes == ["purchase_over_30000"]


async def test_a_teams_limit_overrides_the_councils_for_the_teams_other_workers() -> None:
    assert (await ask(SCOPED, 19_000, worker_id=OTHER_WORKER, team_id=TEAM)).decision == "allow"
    above = await ask(SCOPED, 25_000, worker_id=OTHER_WORKER, team_id=TEAM)
    assert above.decision == "needs_approval"
    assert above.codes == ["purchase_over_20000"]


async def test_the_councils_limit_holds_for_a_worker_of_a_team_without_its_own_rule() -> None:
    answer = await ask(SCOPED, 15_000, worker_id=OTHER_WORKER, team_id=OTHER_TEAM)

    assert answer.decision == "needs_approval"
    assert answer.codes == ["purchase_over_10000"]


async def test_a_narrower_rule_may_also_tighten_the_limit() -> None:
    document = policy(
        {"kind": "purchase_over", "limit": 10_000},
        {"kind": "purchase_over", "limit": 2_000, "scope": "worker", "scope_id": WORKER},
    )

    assert (await ask(document, 5_000, worker_id=WORKER)).codes == ["purchase_over_2000"]
    assert (await ask(document, 5_000, worker_id=OTHER_WORKER)).decision == "allow"


async def test_a_workers_approval_limit_does_not_lift_the_councils_ceiling() -> None:
    document = policy(
        {"kind": "purchase_over", "limit": 10_000, "effect": "needs_approval"},
        {"kind": "purchase_over", "limit": 25_000, "effect": "deny"},
        {"kind": "purchase_over", "limit": 50_000, "effect": "needs_approval", "scope": "worker", "scope_id": WORKER},
    )

    assert (await ask(document, 20_000)).decision == "allow"
    answer = await ask(document, 30_000)
    assert answer.decision == "deny"
    assert answer.codes == ["purchase_over_25000"]


async def test_a_receipt_threshold_of_a_team_overrides_the_councils() -> None:
    document = policy(
        {"kind": "receipt_over", "limit": 1_000},
        {"kind": "receipt_over", "limit": 5_000, "scope": "team", "scope_id": TEAM},
    )

    assert (await ask(document, 2_000, team_id=TEAM)).receipt_required is False
    assert (await ask(document, 2_000, team_id=OTHER_TEAM)).receipt_required is True


# Categories ------------------------------------------------------------------------------


async def test_gift_cards_and_vouchers_need_approval_whatever_the_amount() -> None:
    answer = await ask(DEFAULT_POLICY, 500, category="FOOD-VCH")

    assert answer.decision == "needs_approval"
    assert answer.codes == ["category_FOOD-VCH"]
    assert answer.sentence == "Buying family support - food and vouchers needs a manager's approval."


@pytest.mark.parametrize(
    ("category", "label"), [("CASH", "cash withdrawal"), ("GAMBLING", "gambling"), ("ALCOHOL", "alcohol")]
)
async def test_cash_gambling_and_alcohol_are_never_allowed(category: str, label: str) -> None:
    answer = await ask(DEFAULT_POLICY, 100, category=category)

    assert answer.decision == "deny"
    assert answer.codes == [f"category_{category}"]
    assert answer.sentence == f"Buying {label} is not allowed."


async def test_a_category_rule_leaves_other_categories_alone() -> None:
    document = policy({"kind": "category", "categories": ["CASH"], "effect": "deny"})

    assert (await ask(document, 100, category="CLOTH")).decision == "allow"


# Caps over a family's case, a family's period and a wallet's period -----------------------


async def test_the_case_cap_counts_what_every_worker_has_spent_on_the_family() -> None:
    spent = FakeSpend(case_total=25_000)

    within = await ask(DEFAULT_POLICY, 5_000, spent=spent)
    over = await ask(DEFAULT_POLICY, 5_001, spent=spent)

    assert within.decision == "allow"
    assert over.decision == "deny"
    assert over.codes == ["case_cap"]
    assert over.reasons[0].sentence == (
        "This would take the family's spend this case past £300.00, which is not allowed."
    )


async def test_a_purchase_that_lands_exactly_on_the_case_cap_is_allowed() -> None:
    document = policy({"kind": "case_over", "limit": 30_000, "effect": "deny"})

    assert (await ask(document, 5_000, spent=FakeSpend(case_total=25_000))).decision == "allow"
    assert (await ask(document, 5_001, spent=FakeSpend(case_total=25_000))).codes == ["case_cap"]


async def test_the_family_period_cap_counts_the_familys_spend_over_its_days() -> None:
    document = policy({"kind": "family_period_over", "limit": 20_000, "days": 30, "effect": "needs_approval"})
    spent = FakeSpend(family_by_days={30: 18_000})

    assert (await ask(document, 2_000, spent=spent)).decision == "allow"
    over = await ask(document, 2_001, spent=spent)
    assert over.decision == "needs_approval"
    assert over.codes == ["family_period_cap"]
    assert over.sentence == (
        "This would take the family's spend in 30 days past £200.00, which needs a manager's approval."
    )
    assert ("family", 30) in spent.asked


async def test_the_wallet_period_cap_counts_the_wallets_spend_over_its_days() -> None:
    document = policy({"kind": "wallet_period_over", "limit": 12_500, "days": 7, "effect": "deny"})
    spent = FakeSpend(wallet_by_days={7: 12_000})

    assert (await ask(document, 500, spent=spent)).decision == "allow"
    over = await ask(document, 501, spent=spent)
    assert over.decision == "deny"
    assert over.codes == ["wallet_period_cap"]
    assert over.sentence == "This would take your spend in 7 days past £125.00, which is not allowed."


async def test_two_period_rules_of_different_lengths_both_apply() -> None:
    document = policy(
        {"kind": "family_period_over", "limit": 5_000, "days": 7},
        {"kind": "family_period_over", "limit": 20_000, "days": 30, "effect": "deny"},
    )
    spent = FakeSpend(family_by_days={7: 0, 30: 19_000})

    answer = await ask(document, 2_000, spent=spent)

    assert answer.decision == "deny"
    assert [r.code for r in answer.reasons] == ["family_period_cap"]
    assert sorted(spent.asked) == [("family", 7), ("family", 30)]


# Receipts --------------------------------------------------------------------------------


async def test_a_receipt_is_required_only_above_the_threshold() -> None:
    assert (await ask(DEFAULT_POLICY, 1_000)).receipt_required is False
    assert (await ask(DEFAULT_POLICY, 1_001)).receipt_required is True


async def test_the_receipt_rule_never_changes_the_decision() -> None:
    answer = await ask(policy({"kind": "receipt_over", "limit": 0}), 50_000)

    assert answer.decision == "allow"
    assert answer.reasons == ()
    assert answer.receipt_required is True


# Combining -------------------------------------------------------------------------------


async def test_the_strictest_decision_wins_and_every_broken_rule_is_given() -> None:
    spent = FakeSpend(case_total=29_000, family_by_days={30: 19_000})

    answer = await ask(DEFAULT_POLICY, 12_000, category="FOOD-VCH", spent=spent)

    assert answer.decision == "deny"
    assert answer.codes[0] == "case_cap"
    assert sorted(answer.codes) == sorted(["purchase_over_10000", "case_cap", "family_period_cap", "category_FOOD-VCH"])
    assert [r.effect for r in answer.reasons] == ["deny", "needs_approval", "needs_approval", "needs_approval"]
    assert answer.sentence.startswith("This would take the family's spend this case past £300.00")
    assert answer.receipt_required is True


async def test_approval_beats_allow_when_nothing_denies() -> None:
    answer = await ask(DEFAULT_POLICY, 500, category="FOOD-VCH", spent=FakeSpend(case_total=100))

    assert answer.decision == "needs_approval"


# Only the figures a rule needs are looked up ---------------------------------------------


async def test_a_policy_of_per_purchase_limits_looks_up_no_spending_at_all() -> None:
    spent = FakeSpend()

    await ask(
        policy(
            {"kind": "purchase_over", "limit": 10_000},
            {"kind": "category", "categories": ["CASH"], "effect": "deny"},
            {"kind": "receipt_over", "limit": 1_000},
        ),
        50_000,
        spent=spent,
    )

    assert spent.asked == []


async def test_a_case_cap_looks_up_only_the_case_total() -> None:
    spent = FakeSpend()

    await ask(policy({"kind": "case_over", "limit": 30_000, "effect": "deny"}), 100, spent=spent)

    assert spent.asked == [("case", None)]


async def test_a_wallet_cap_looks_up_only_the_wallet_over_its_own_days() -> None:
    spent = FakeSpend()

    await ask(policy({"kind": "wallet_period_over", "limit": 30_000, "days": 14}), 100, spent=spent)

    assert spent.asked == [("wallet", 14)]


async def test_a_rule_for_another_worker_or_team_looks_nothing_up() -> None:
    spent = FakeSpend()

    await ask(
        policy(
            {"kind": "case_over", "limit": 1, "scope": "worker", "scope_id": OTHER_WORKER},
            {"kind": "family_period_over", "limit": 1, "days": 30, "scope": "team", "scope_id": OTHER_TEAM},
        ),
        100,
        spent=spent,
    )

    assert spent.asked == []


# Parsing a policy document ---------------------------------------------------------------


def test_the_default_policy_survives_a_round_trip_through_json() -> None:
    assert parse_policy(DEFAULT_POLICY.model_dump(mode="json")) == DEFAULT_POLICY


@pytest.mark.parametrize(
    ("rule", "complaint"),
    [
        ({"kind": "purchase_over", "limit": -1}, "greater than or equal to 0"),
        ({"kind": "category", "categories": ["CASH", "YACHTS"]}, "unknown purchase categories: YACHTS"),
        ({"kind": "category", "categories": []}, "a category rule names at least one category"),
        ({"kind": "purchase_over", "limit": 100, "scope_id": 3}, "a council rule has no scope_id"),
        ({"kind": "purchase_over", "limit": 100, "scope": "team"}, "a team, worker or family rule needs one"),
        ({"kind": "family_period_over", "limit": 100}, "a family_period_over rule needs a number of days"),
        ({"kind": "wallet_period_over", "limit": 100}, "a wallet_period_over rule needs a number of days"),
        ({"kind": "case_over"}, "a case_over rule needs a limit in pence"),
        ({"kind": "purchase_over", "limit": 100, "days": 0}, "greater than or equal to 1"),
        ({"kind": "purchase_over", "limit": 100, "effect": "allow"}, "needs_approval"),
        ({"kind": "purchase_over", "limit": 100, "colour": "red"}, "Extra inputs are not permitted"),
        ({"kind": "spend_it_all", "limit": 100}, "Input should be"),
    ],
)
def test_a_policy_that_does_not_make_sense_is_refused_with_the_reason(rule: dict[str, Any], complaint: str) -> None:
    with pytest.raises(InvalidPolicy) as refused:
        parse_policy({"rules": [{"kind": "purchase_over", "limit": 10_000}, rule]})

    assert complaint in str(refused.value)
    assert str(refused.value).startswith("rules.1")


@pytest.mark.parametrize("document", [None, [], {"rules": "all of them"}, {"rule": []}])
def test_a_document_of_the_wrong_shape_is_refused(document: object) -> None:
    with pytest.raises(InvalidPolicy):
        parse_policy(document)

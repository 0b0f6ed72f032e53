"""What a key worker may spend, in plain words: the spend policy's limits that apply to them,
and what is left of a family's limits before a manager must approve (or nothing more is allowed).

Which rules apply is the policy's own choice (:func:`wallet.policy.rules_for`), and what a
purchase takes from a limit is :func:`wallet.purchases.committed`: these sentences never state
a rule of their own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.money import pounds_display
from wallet.models import Purchase
from wallet.policy import PolicyDocument, Rule, rules_for
from wallet.spending import committed_sum
from wallet.taxonomy import CATEGORIES

#: Each kind of rule in words: ``{limit}``, ``{days}``, ``{names}`` (categories) and ``{ask}``.
_SENTENCES = {
    "purchase_over": "A purchase above {limit} {ask}.",
    "case_over": "Spending more than {limit} on one family's case {ask}.",
    "family_period_over": "Spending more than {limit} on one family in {days} days {ask}.",
    "wallet_period_over": "Spending more than {limit} from your wallet in {days} days {ask}.",
    "category": "Buying {names} {ask}.",
    "receipt_over": "Keep a receipt for anything above {limit}.",
}


def _sentence(rule: Rule) -> str | None:
    template = _SENTENCES.get(rule.kind)
    if template is None:
        return None
    return template.format(
        limit=pounds_display(rule.limit) if rule.limit is not None else "",
        days=rule.days,
        names=", ".join(CATEGORIES[c].label.removeprefix("Family support - ").lower() for c in rule.categories),
        ask="needs your manager's approval" if rule.effect == "needs_approval" else "is not allowed",
    )


def limits_in_words(policy: PolicyDocument, *, team_id: int | None, worker_id: int | None) -> list[str]:
    """The policy's limits that apply to a worker in a team (``None``: the council's own), in
    plain sentences."""
    sentences = (_sentence(rule) for rule in rules_for(policy.rules, team_id=team_id, worker_id=worker_id))
    return [s for s in sentences if s is not None]


async def family_limits_left(
    db: AsyncSession,
    *,
    policy: PolicyDocument,
    team_id: int | None,
    worker_id: int | None,
    family_id: int,
    now: datetime,
) -> list[str]:
    """What is left for a family under the policy's per-family limits, in plain sentences."""
    words: list[str] = []
    for rule in rules_for(policy.rules, team_id=team_id, worker_id=worker_id):
        where: list[ColumnElement[bool]] = [Purchase.family_id == family_id]
        if rule.kind == "case_over":
            what = "this case"
        elif rule.kind == "family_period_over" and rule.days:
            where.append(Purchase.created_at >= now - timedelta(days=rule.days))
            what = f"the last {rule.days} days"
        else:
            continue
        left = max((rule.limit or 0) - await committed_sum(db, *where), 0)
        after = "a manager must approve more" if rule.effect == "needs_approval" else "no more is allowed"
        words.append(f"{pounds_display(left)} left of {pounds_display(rule.limit or 0)} for {what}; then {after}.")
    return words

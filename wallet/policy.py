"""The spend policy: one set of rules, asked the same way by every channel.

A purchase made in the app and a card authorisation at a till both ask ``evaluate``, with
the same facts, and get the same answer: **allow**, **needs approval** or **deny**, with
machine-readable reason codes and one plain sentence. Rules have a scope — the council, a
team, one key worker or one family — and for each kind of rule the narrowest scope that has one
wins (a family's own cap overrides a worker's, which overrides the team's, then the council's).
A rule may also be written for some purchase categories or some needs only (``categories``,
``needs``): it then applies to those purchases and to no others. A card purchase with no family
stated is asked with ``family_id=None``: need-scoped and family-scoped rules cannot apply to it,
which is what an ``unassigned_over`` rule (the worker's tighter limit for such purchases) is for.
The answer is the strictest any rule gives. Policy versions are stored and never edited.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ledger.money import pounds_display
from wallet.errors import InvalidPolicy
from wallet.taxonomy import CATEGORIES, NEEDS

Decision = Literal["allow", "needs_approval", "deny"]
Effect = Literal["needs_approval", "deny"]
Scope = Literal["council", "team", "worker", "family"]
_STRICTNESS: dict[str, int] = {"allow": 0, "needs_approval": 1, "deny": 2}


class Rule(BaseModel):
    """One rule. ``kind`` says what it limits; ``effect`` what happens when it is broken."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal[
        "purchase_over",  # one purchase above ``limit``
        "family_period_over",  # a family's spend over the last ``days`` days would pass ``limit`` (all workers)
        "case_over",  # a family's spend on its current case would pass ``limit`` (all workers)
        "wallet_period_over",  # a wallet's spend over the last ``days`` days would pass ``limit``
        "category",  # a purchase in one of ``categories``
        "unassigned_over",  # a purchase above ``limit`` with no family stated (a card at the till)
        "receipt_over",  # not a decision: a receipt is required above ``limit``
    ]
    effect: Effect = "needs_approval"
    scope: Scope = "council"
    scope_id: int | None = None
    limit: int | None = Field(default=None, ge=0, le=10_000_000_00)
    days: int | None = Field(default=None, ge=1, le=366)
    #: For a ``category`` rule, the categories it is about; for any other kind, when not empty,
    #: the only categories the rule applies to.
    categories: tuple[str, ...] = ()
    #: When not empty, the rule applies only to purchases answering one of these needs.
    needs: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        if (self.scope == "council") != (self.scope_id is None):
            raise ValueError("a council rule has no scope_id; a team, worker or family rule needs one")
        unknown = [c for c in self.categories if c not in CATEGORIES]
        if unknown:
            raise ValueError(f"unknown purchase categories: {', '.join(unknown)}")
        unknown_needs = [n for n in self.needs if n not in NEEDS]
        if unknown_needs:
            raise ValueError(f"unknown needs: {', '.join(unknown_needs)}")
        if self.kind == "unassigned_over" and (self.needs or self.scope == "family"):
            raise ValueError("an unassigned_over rule is about purchases with no family: it names no need or family")
        if self.kind == "category":
            if not self.categories:
                raise ValueError("a category rule names at least one category")
        elif self.limit is None:
            raise ValueError(f"a {self.kind} rule needs a limit in pence")
        if self.kind in ("family_period_over", "wallet_period_over") and self.days is None:
            raise ValueError(f"a {self.kind} rule needs a number of days")
        return self


class ApprovalRules(BaseModel):
    """How approvals and after-the-fact reviews run: the council's settings, versioned with the rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    second_approver_above: int = Field(default=20_000, ge=0, description="pence; above this two people approve")
    escalate_after_minutes: int = Field(default=10, ge=1, le=7 * 24 * 60)
    allowance_hours: int = Field(default=24, ge=1, le=24 * 31)
    receipt_reminder_days: tuple[int, ...] = Field(default=(3, 7), max_length=10)
    receipt_deadline_days: int = Field(default=14, ge=1, le=365)

    @model_validator(mode="after")
    def _reminders_before_deadline(self) -> ApprovalRules:
        days = self.receipt_reminder_days
        if any(d < 1 for d in days) or list(days) != sorted(set(days)):
            raise ValueError("reminder days must be distinct, ascending and at least 1")
        if days and days[-1] >= self.receipt_deadline_days:
            raise ValueError("every reminder must come before the receipt deadline")
        return self


class PolicyDocument(BaseModel):
    """The whole policy: a list of rules, and how approvals run."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rules: tuple[Rule, ...] = Field(max_length=500)
    approvals: ApprovalRules = ApprovalRules()


#: The plausible policy from the shared notes: £100 without approval, £100 to £250 and all gift
#: cards need a manager, above £250 is a purchase order, £300 per family per case; cash,
#: gambling and alcohol never; a receipt for anything above £10.
DEFAULT_POLICY = PolicyDocument(
    rules=(
        Rule(kind="purchase_over", limit=10_000, effect="needs_approval"),
        Rule(kind="purchase_over", limit=25_000, effect="deny"),
        Rule(kind="case_over", limit=30_000, effect="deny"),
        Rule(kind="family_period_over", limit=20_000, days=30, effect="needs_approval"),
        Rule(kind="category", categories=("FOOD-VCH",), effect="needs_approval"),
        Rule(kind="category", categories=("CASH", "GAMBLING", "ALCOHOL"), effect="deny"),
        Rule(kind="receipt_over", limit=1_000),
    )
)


def parse_policy(document: object) -> PolicyDocument:
    """A policy document from JSON-like data, or ``InvalidPolicy`` saying what is wrong.

    Read strictly, as JSON: a limit or an id is a whole number, never ``"150"`` or ``true``."""
    try:
        text = json.dumps(document, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidPolicy(f"the policy is not plain JSON: {exc}") from exc
    try:
        return PolicyDocument.model_validate_json(text, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidPolicy(f"{where}: {first['msg']}") from exc


@dataclass(frozen=True, slots=True)
class Ask:
    """What is being bought, by whom, for whom (``family_id`` ``None``: no family stated yet,
    as at a till; ``needs``: the codes of the needs it answers)."""

    amount: int
    category: str
    worker_id: int
    team_id: int
    family_id: int | None = None
    needs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Spend:
    """How to look up what has been spent already (so only the figures a rule needs are read)."""

    family_in_days: Callable[[int], Awaitable[int]]
    case: Callable[[], Awaitable[int]]
    wallet_in_days: Callable[[int], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    effect: Decision
    sentence: str


@dataclass(frozen=True, slots=True)
class Answer:
    """The policy's answer: a decision, why, and whether a receipt will be required."""

    decision: Decision
    reasons: tuple[Reason, ...]
    receipt_required: bool

    @property
    def sentence(self) -> str:
        if not self.reasons:
            return "Allowed: this purchase is within every limit."
        return " ".join(r.sentence for r in self.reasons)

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]


def rules_for(
    rules: tuple[Rule, ...], *, team_id: int | None, worker_id: int | None, family_id: int | None = None
) -> list[Rule]:
    """The rules that apply to a worker in a team (buying for a family, if known): for each kind
    (and each set of categories and needs it is written for), those of the narrowest scope that
    has one. Whether a rule's categories and needs fit a purchase is :func:`applies_to`."""

    def matches(rule: Rule) -> bool:
        return (
            rule.scope == "council"
            or (rule.scope == "team" and rule.scope_id == team_id)
            or (rule.scope == "worker" and rule.scope_id == worker_id)
            or (rule.scope == "family" and family_id is not None and rule.scope_id == family_id)
        )

    rank = {"family": 0, "worker": 1, "team": 2, "council": 3}
    chosen: list[Rule] = []
    groups: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], list[Rule]] = {}
    for rule in filter(matches, rules):
        groups.setdefault((rule.kind, rule.effect, rule.categories, rule.needs), []).append(rule)
    for group in groups.values():
        narrowest = min(rank[r.scope] for r in group)
        chosen.extend(r for r in group if rank[r.scope] == narrowest)
    return chosen


def applies_to(rule: Rule, ask: Ask) -> bool:
    """Whether a rule is written for this purchase: its category (a ``category`` rule names the
    categories it is about, so it is asked below), its needs, and whether a family is stated."""
    if rule.kind != "category" and rule.categories and ask.category not in rule.categories:
        return False
    if rule.needs and not set(rule.needs) & set(ask.needs):
        return False
    return rule.kind != "unassigned_over" or ask.family_id is None


async def evaluate(policy: PolicyDocument, ask: Ask, spend: Spend) -> Answer:
    """Ask the policy about one purchase."""
    reasons: list[Reason] = []
    receipt = False
    chosen = rules_for(policy.rules, team_id=ask.team_id, worker_id=ask.worker_id, family_id=ask.family_id)
    for rule in (r for r in chosen if applies_to(r, ask)):
        limit = rule.limit or 0
        if rule.kind == "receipt_over":
            receipt = receipt or ask.amount > limit
            continue
        broken: Reason | None = None
        verb = "needs a manager's approval" if rule.effect == "needs_approval" else "is not allowed"
        if rule.kind in ("purchase_over", "unassigned_over") and ask.amount > limit:
            code = "unassigned_over" if rule.kind == "unassigned_over" else f"purchase_over_{limit}"
            what = "A purchase with no family stated" if rule.kind == "unassigned_over" else "A purchase"
            broken = Reason(code, rule.effect, f"{what} above {pounds_display(limit)} {verb}.")
        elif rule.kind == "category" and ask.category in rule.categories:
            label = CATEGORIES[ask.category].label
            broken = Reason(f"category_{ask.category}", rule.effect, f"Buying {label.lower()} {verb}.")
        elif rule.kind == "case_over" and await spend.case() + ask.amount > limit:
            broken = Reason(
                "case_cap",
                rule.effect,
                f"This would take the family's spend this case past {pounds_display(limit)}, which {verb}.",
            )
        elif rule.kind == "family_period_over" and await spend.family_in_days(rule.days or 0) + ask.amount > limit:
            broken = Reason(
                "family_period_cap",
                rule.effect,
                f"This would take the family's spend in {rule.days} days past {pounds_display(limit)}, which {verb}.",
            )
        elif rule.kind == "wallet_period_over" and await spend.wallet_in_days(rule.days or 0) + ask.amount > limit:
            broken = Reason(
                "wallet_period_cap",
                rule.effect,
                f"This would take your spend in {rule.days} days past {pounds_display(limit)}, which {verb}.",
            )
        if broken is not None:
            reasons.append(broken)
    decision: Decision = max((r.effect for r in reasons), key=_STRICTNESS.__getitem__, default="allow")
    reasons.sort(key=lambda r: -_STRICTNESS[r.effect])
    return Answer(decision=decision, reasons=tuple(reasons), receipt_required=receipt)

"""The key worker's home: what is left, what went this month, the limits, and what to do next."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery
from litestar.response import Redirect
from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import DbDep, NowDep
from api.routes.cards import card_issuer
from api.routes.common import PathId
from api.web.forms import AlreadySent, already_sent, once
from api.web.render import money, need_label, page
from api.web.session import UserDep, WebUser
from wallet import budgets, cards
from wallet.access import Principal
from wallet.approval_models import ApprovalMessage, ApprovalRequest
from wallet.cards import CardAction
from wallet.clock import local_date
from wallet.models import Family, FamilyWorker, Need, NeedReview, Purchase, Receipt, Wallet
from wallet.policies import current_policy
from wallet.policy import PolicyDocument, Rule
from wallet.purchases import committed
from wallet.taxonomy import CATEGORIES

REVIEW_EVERY = timedelta(weeks=6)
DONE = {
    "purchase": "Your purchase is recorded.",
    "receipt": "The receipt is attached.",
    "review": "The review is recorded.",
    "closed": "The case is closed.",
    "asked": "Your manager has been asked.",
    "completed": "The purchase is complete: the money is set aside.",
    "cancelled": "The purchase is cancelled.",
    "frozen": "Your card is frozen. Nothing can be paid with it until you unfreeze it.",
    "unfrozen": "Your card works again.",
}


@dataclass(frozen=True, slots=True)
class Task:
    text: str
    href: str


def _applies(rule: Rule, who: Principal, team_id: int | None) -> bool:
    return (
        rule.scope == "council"
        or (rule.scope == "team" and rule.scope_id == team_id)
        or (rule.scope == "worker" and rule.scope_id == who.person_id)
    )


def limits_in_words(policy: PolicyDocument, who: Principal, team_id: int | None) -> list[str]:
    """The policy's limits that apply to this worker, in plain sentences."""
    words: list[str] = []
    for rule in _chosen_rules(policy, who, team_id):
        limit = money(rule.limit) if rule.limit is not None else ""
        ask = "needs your manager's approval" if rule.effect == "needs_approval" else "is not allowed"
        if rule.kind == "purchase_over":
            words.append(f"A purchase above {limit} {ask}.")
        elif rule.kind == "case_over":
            words.append(f"Spending more than {limit} on one family's case {ask}.")
        elif rule.kind == "family_period_over":
            words.append(f"Spending more than {limit} on one family in {rule.days} days {ask}.")
        elif rule.kind == "wallet_period_over":
            words.append(f"Spending more than {limit} from your wallet in {rule.days} days {ask}.")
        elif rule.kind == "category":
            names = ", ".join(CATEGORIES[c].label.removeprefix("Family support - ").lower() for c in rule.categories)
            words.append(f"Buying {names} {ask}.")
        elif rule.kind == "receipt_over":
            words.append(f"Keep a receipt for anything above {limit}.")
    return words


def _chosen_rules(policy: PolicyDocument, who: Principal, team_id: int | None) -> list[Rule]:
    """For each kind of rule, those of the narrowest scope that has one (as the policy decides)."""
    rank = {"worker": 0, "team": 1, "council": 2}
    applying = [r for r in policy.rules if _applies(r, who, team_id)]
    chosen: list[Rule] = []
    groups: dict[tuple[str, str, tuple[str, ...]], list[Rule]] = {}
    for rule in applying:
        groups.setdefault((rule.kind, rule.effect, rule.categories), []).append(rule)
    for group in groups.values():
        narrowest = min(rank[r.scope] for r in group)
        chosen.extend(r for r in group if rank[r.scope] == narrowest)
    return chosen


async def family_limits_left(
    db: AsyncSession, *, policy: PolicyDocument, who: Principal, team_id: int | None, family_id: int, now: datetime
) -> list[str]:
    """What is left for a family under the policy's per-family limits, in plain sentences."""
    words: list[str] = []
    for rule in _chosen_rules(policy, who, team_id):
        if rule.kind == "case_over":
            where = [Purchase.family_id == family_id]
            what = "this case"
        elif rule.kind == "family_period_over" and rule.days:
            where = [Purchase.family_id == family_id, Purchase.created_at >= now - timedelta(days=rule.days)]
            what = f"the last {rule.days} days"
        else:
            continue
        spent = int((await db.execute(select(func.coalesce(func.sum(committed()), 0)).where(*where))).scalar_one())
        left = max((rule.limit or 0) - spent, 0)
        after = "a manager must approve more" if rule.effect == "needs_approval" else "no more is allowed"
        words.append(f"{money(left)} left of {money(rule.limit)} for {what}; then {after}.")
    return words


async def _question_waiting(db: AsyncSession, request_id: int | None) -> bool:
    """The manager's latest word on the request is a question."""
    if request_id is None:
        return False
    last = await db.execute(
        select(ApprovalMessage.kind)
        .where(ApprovalMessage.request_id == request_id)
        .order_by(ApprovalMessage.id.desc())
        .limit(1)
    )
    return last.scalar_one_or_none() == "question"


async def worker_tasks(db: AsyncSession, *, who: Principal, now: datetime) -> list[Task]:
    tasks: list[Task] = []
    no_receipt = ~exists().where(Receipt.purchase_id == Purchase.id)
    missing = await db.execute(
        select(Purchase)
        .where(
            Purchase.worker_id == who.person_id,
            Purchase.receipt_required.is_(True),
            Purchase.status.in_(("held", "captured")),
            no_receipt,
        )
        .order_by(Purchase.id.desc())
        .limit(20)
    )
    tasks += [
        Task(f"Add the receipt for {money(p.amount)} at {p.supplier}", f"/purchases/{p.id}") for p in missing.scalars()
    ]
    parked = await db.execute(
        select(Purchase, ApprovalRequest.id, ApprovalRequest.status)
        .outerjoin(ApprovalRequest, ApprovalRequest.purchase_id == Purchase.id)
        .where(Purchase.worker_id == who.person_id, Purchase.status == "needs_approval")
        .order_by(Purchase.id.desc())
        .limit(20)
    )
    for purchase, request_id, status in parked.all():
        asked: str | None = status
        if asked is None:
            text = f"Ask your manager about {money(purchase.amount)} at {purchase.supplier}"
        elif asked == "approved":
            text = f"Approved: complete {money(purchase.amount)} at {purchase.supplier}"
        elif await _question_waiting(db, request_id):
            text = f"Answer your manager's question about {money(purchase.amount)} at {purchase.supplier}"
        else:
            text = f"Waiting for your manager: {money(purchase.amount)} at {purchase.supplier}"
        tasks.append(Task(text, f"/purchases/{purchase.id}"))
    last_review = select(func.max(NeedReview.reviewed_on)).where(NeedReview.need_id == Need.id).scalar_subquery()
    due_by = local_date(now - REVIEW_EVERY)
    due = await db.execute(
        select(Need, Family.reference)
        .join(Family, Family.id == Need.family_id)
        .join(FamilyWorker, and_(FamilyWorker.family_id == Family.id, FamilyWorker.person_id == who.person_id))
        .where(Need.status == "open", Family.status == "open", func.coalesce(last_review, Need.identified_on) <= due_by)
        .order_by(Family.reference, Need.id)
        .limit(20)
    )
    tasks += [
        Task(
            f"Review {reference}: {need_label(need.code).lower()}", f"/families/{need.family_id}/needs/{need.id}/review"
        )
        for need, reference in due.all()
    ]
    return tasks


async def worker_home(db: AsyncSession, *, user: WebUser, now: datetime, done: str | None) -> Response[str]:
    who = user.who
    wallet = await db.get(Wallet, who.wallet_id) if who.wallet_id else None
    summary = await budgets.summarise_wallet(db, wallet=wallet, now=now) if wallet else None
    _, policy = await current_policy(db)
    own_cards = [
        c for c in await cards.list_cards(db, who=who) if c.wallet_id == who.wallet_id and c.status != "canceled"
    ]
    return page(
        "worker_home.html.j2",
        user=user,
        title="Your wallet",
        current="/",
        wallet=wallet,
        summary=summary,
        limits=limits_in_words(policy, who, wallet.team_id if wallet else None),
        tasks=await worker_tasks(db, who=who, now=now),
        cards=own_cards,
        done=DONE.get(done or ""),
    )


@get("/")
async def home(db: DbDep, now: NowDep, user: UserDep, done: FromQuery[str | None] = None) -> Response[Any]:
    """Each role's first page: the key worker's wallet, or the manager's, finance's or admin's."""
    who = user.who
    if who.has("key_worker"):
        return await worker_home(db, user=user, now=now, done=done)
    if who.managed_team_ids:
        return Redirect("/approvals", status_code=303)
    if who.has("finance", "auditor"):
        return Redirect("/finance", status_code=303)
    if who.has("admin"):
        return Redirect("/admin", status_code=303)
    return page("error.html.j2", user=user, title="Nothing to show", message="Your account has no role yet.")


async def _change_card(
    request: Request[Any, Any, Any], db: AsyncSession, now: datetime, user: WebUser, card_id: int, action: CardAction
) -> Response[Any]:
    issuer = card_issuer(request.app.state)
    form = await request.form()
    key = hashlib.sha256(f"{user.who.person_id}:{form.get('idempotency_key')}".encode()).hexdigest()[:32]

    async def act() -> str:
        await cards.change_card(db, issuer, who=user.who, card_id=card_id, action=action, key=f"web:{key}", now=now)
        return f"/?done={'frozen' if action == 'freeze' else 'unfrozen'}"

    # A refusal (someone else's card, a card that cannot take the step, Stripe unreachable) is
    # answered by the pages' error handler from the API's table: the card is not changed.
    result = await once(request, db, user=user, now=now, act=act)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


@post("/cards/{card_id:int}/freeze")
async def freeze_card(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, card_id: PathId
) -> Response[Any]:
    return await _change_card(request, db, now, user, card_id, "freeze")


@post("/cards/{card_id:int}/unfreeze")
async def unfreeze_card(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, card_id: PathId
) -> Response[Any]:
    return await _change_card(request, db, now, user, card_id, "unfreeze")


HANDLERS = [home, freeze_card, unfreeze_card]

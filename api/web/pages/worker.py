"""The key worker's home: what is left, what went this month, the limits, and what to do next."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import DbDep, NowDep
from api.hosts import council_state
from api.routes.cards import card_issuer
from api.routes.common import PathId
from api.web.forms import AlreadySent, already_sent, once
from api.web.render import long_date, money, need_label, page
from api.web.session import UserDep, WebUser
from approvals import todo
from cards import issuing, refunds_to_match
from cards.issuing import CardAction
from wallet import budgets
from wallet.limits import limits_in_words
from wallet.policies import current_policy

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
    "activated": "Your card is activated: it works now.",
}


#: A physical card's shipment (Stripe's ``shipping.status``) in the worker's words.
SHIPMENT_WORDS = {
    "pending": "waiting to be posted",
    "shipped": "on its way",
    "delivered": "delivered",
    "returned": "returned to the sender: ask your manager",
    "failure": "could not be delivered: ask your manager",
    "canceled": "the posting was cancelled",
}


@dataclass(frozen=True, slots=True)
class Task:
    text: str
    href: str


_WAITING = {
    "ask": "Ask your manager about {what}",
    "approved": "Approved: complete {what}",
    "question": "Answer your manager's question about {what}",
    "waiting": "Waiting for your manager: {what}",
}


def tasks_in_words(found: todo.ToDo) -> list[Task]:
    """The to-do list as the worker's home page says it, each with its link."""
    tasks = [
        Task(f"Add the receipt for {money(r.purchase.amount)} at {r.purchase.supplier}", f"/purchases/{r.purchase.id}")
        for r in found.receipts
    ]
    for item in found.approvals:
        what = f"{money(item.purchase.amount)} at {item.purchase.supplier}"
        tasks.append(Task(_WAITING[item.state].format(what=what), f"/purchases/{item.purchase.id}"))
    tasks += [
        Task(
            f"Review {r.family_reference}: {need_label(r.need.code).lower()}",
            f"/families/{r.need.family_id}/needs/{r.need.id}/review",
        )
        for r in found.reviews
    ]
    tasks += [
        Task(
            f"Six-month check for {c.family_reference}, due {long_date(c.check.due_on)}",
            f"/families/{c.check.family_id}/six-month-check",
        )
        for c in found.checks
    ]
    return tasks


async def _refunds_to_match(db: AsyncSession, user: WebUser) -> list[Task]:
    """The refunds on the worker's own wallet waiting for them to say which purchase they were for."""
    found = await refunds_to_match.refunds_to_match(db, who=user.who)
    return [
        Task(f"Say which purchase the {money(r.amount)} refund from {r.merchant_name} was for", f"/card-refunds/{r.id}")
        for r in found
        if r.wallet_id == user.who.wallet_id
    ]


async def worker_home(db: AsyncSession, *, user: WebUser, now: datetime, done: str | None) -> Response[str]:
    who = user.who
    wallet = await budgets.get_wallet(db, who=who, wallet_id=who.wallet_id) if who.wallet_id else None
    summary = await budgets.summarise_wallet(db, wallet=wallet, now=now) if wallet else None
    _, policy = await current_policy(db)
    own_cards = [
        c for c in await issuing.list_cards(db, who=who) if c.wallet_id == who.wallet_id and c.status != "canceled"
    ]
    return page(
        "worker_home.html.j2",
        user=user,
        title="Your wallet",
        current="/",
        wallet=wallet,
        summary=summary,
        limits=limits_in_words(policy, team_id=wallet.team_id if wallet else None, worker_id=who.person_id),
        tasks=tasks_in_words(await todo.to_do(db, who=who, now=now)) + await _refunds_to_match(db, user),
        cards=own_cards,
        shipment_words=SHIPMENT_WORDS,
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
    issuer = card_issuer(council_state(request))
    form = await request.form()
    key = hashlib.sha256(f"{user.who.person_id}:{form.get('idempotency_key')}".encode()).hexdigest()[:32]

    async def act() -> str:
        await issuing.change_card(db, issuer, who=user.who, card_id=card_id, action=action, key=f"web:{key}", now=now)
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

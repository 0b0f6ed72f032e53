"""The team manager's pages: the approvals inbox, team spend, budgets to workers, receipt reviews."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from litestar import Request, Response, get, post
from litestar.params import FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from api.deps import DbDep, NowDep
from api.routes.common import PathId
from api.web.forms import AlreadySent, Form, already_sent, once, parse_pounds, pounds_problem, read_form
from api.web.pages.worker import SHIPMENT_WORDS
from api.web.render import need_label, new_key, page
from api.web.session import UserDep, WebUser
from approvals import conversation, lists, reviews
from approvals import requests as approvals
from approvals.context import context_for
from approvals.errors import ApprovalError
from cards import issuing
from cards.models import Card
from wallet import budgets, families, team
from wallet.access import shows
from wallet.budgets import WalletSummary
from wallet.clock import local_date, month_start
from wallet.errors import NotAllowed, WalletError
from wallet.models import Wallet
from wallet.policies import current_policy

DONE = {
    "approved": "You approved the request. The key worker can go ahead.",
    "declined": "You declined the request. The key worker has been told why.",
    "asked": "Your question has been sent to the key worker.",
    "allocated": "The budget has been given to the key worker.",
    "cleared": "The review is cleared.",
}


def _require_manager(user: WebUser) -> None:
    if not user.who.managed_team_ids and not user.who.has("finance"):
        raise NotAllowed("this is for team managers")


async def _names(db: AsyncSession, ids: set[int]) -> dict[int, str]:
    return await team.names_of(db, ids)


# The approvals inbox ------------------------------------------------------------------------


@get("/approvals")
async def inbox(db: DbDep, now: NowDep, user: UserDep, done: FromQuery[str | None] = None) -> Response[str]:
    _require_manager(user)
    waiting = await lists.inbox_for_manager(db, who=user.who, now=now)
    names = await _names(db, {r.requester_id for r in waiting})
    contexts = {r.id: await context_for(db, who=user.who, request=r, now=now) for r in waiting}
    return page(
        "approvals.html.j2",
        user=user,
        title="Approvals waiting for you",
        current="/approvals",
        waiting=waiting,
        names=names,
        contexts=contexts,
        done=DONE.get(done or ""),
    )


async def _decision_page(
    db: AsyncSession, user: WebUser, now: datetime, request_id: int, form: Form | None = None, status: int = 200
) -> Response[str]:
    request = await approvals.get_request(db, who=user.who, request_id=request_id, now=now)
    names = await _names(db, {request.requester_id})
    needs = await families.needs_by_id(db, need_ids=request.need_ids) if shows(user.who, "pages").need_detail else []
    return page(
        "approval.html.j2",
        user=user,
        status_code=status,
        title=f"Request from {names.get(request.requester_id, 'a key worker')}",
        current="/approvals",
        back="/approvals",
        request=request,
        requester=names.get(request.requester_id, "A key worker"),
        needs=needs,
        context=await context_for(db, who=user.who, request=request, now=now),
        messages=await conversation.messages(db, request_id=request.id),
        values=form.values if form else {},
        errors=form.errors if form else {},
        key=form.get("idempotency_key") if form and form.get("idempotency_key") else new_key(),
    )


@get("/approvals/{request_id:int}")
async def decision_form(db: DbDep, now: NowDep, user: UserDep, request_id: PathId) -> Response[Any]:
    """A manager decides here; the worker who asked (following a notification) goes to the purchase."""
    request = await approvals.get_request(db, who=user.who, request_id=request_id, now=now)
    if request.requester_id == user.who.person_id:
        return Redirect(f"/purchases/{request.purchase_id}" if request.purchase_id else "/", status_code=303)
    return await _decision_page(db, user, now, request_id)


@post("/approvals/{request_id:int}")
async def decision_submit(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, request_id: PathId
) -> Response[Any]:
    form = await read_form(request)
    choice, note, limit = form.get("decision"), form.get("note")[:500], form.get("ceiling")
    if choice not in ("approve", "decline", "ask"):
        form.error("decision", "Select approve, decline or ask a question")
    elif choice == "decline" and not note:
        form.error("note", "Say why you are declining, so the key worker knows")
    elif choice == "ask" and not note:
        form.error("note", "Enter your question")
    ceiling = parse_pounds(limit) if limit else None
    if limit and ceiling is None:
        form.error("ceiling", f"{pounds_problem(limit, like='80.00')}, or leave it empty")
    if not form.ok:
        return await _decision_page(db, user, now, request_id, form, status=422)
    _, policy = await current_policy(db)

    async def act() -> str:
        if choice == "ask":
            await conversation.ask_question(db, who=user.who, request_id=request_id, body=note, now=now)
            return "/approvals?done=asked"
        verdict: approvals.Verdict = "approve" if choice == "approve" else "decline"
        await approvals.decide(
            db,
            who=user.who,
            request_id=request_id,
            verdict=verdict,
            ceiling=ceiling,
            reason=note or None,
            rules=policy.approvals,
            now=now,
        )
        return f"/approvals?done={'approved' if verdict == 'approve' else 'declined'}"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except (WalletError, ApprovalError) as exc:
        status = form.refused("decision", exc)
        return await _decision_page(db, user, now, request_id, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


# Team spend, and budgets to workers ---------------------------------------------------------


async def _team_wallets(db: AsyncSession, user: WebUser) -> list[tuple[Wallet, str]]:
    return await team.team_wallets(db, who=user.who)


#: How each team table can be sorted (the column's query value: its key, and whether the
#: largest comes first); ties fall back to the name, so the order never changes between loads.
WORKER_ORDERS: dict[str, tuple[Callable[[tuple[str, Wallet, WalletSummary]], Any], bool]] = {
    "name": (lambda row: row[0].casefold(), False),
    "left": (lambda row: row[2].available, True),
    "set_aside": (lambda row: row[2].held, True),
    "spent": (lambda row: row[2].spent_this_month, True),
}
NEED_ORDERS: dict[str, tuple[Callable[[tuple[str, int, int]], Any], bool]] = {
    "need": (lambda row: need_label(row[0]).casefold(), False),
    "purchases": (lambda row: row[1], True),
    "spent": (lambda row: row[2], True),
}


Row = TypeVar("Row")


def sorted_by(rows: list[Row], orders: dict[str, tuple[Callable[[Row], Any], bool]], column: str) -> list[Row]:
    """``rows`` in the order of ``column`` (stable: first by name, then by the column)."""
    by_name, _ = next(iter(orders.values()))
    key, largest_first = orders[column]
    return sorted(sorted(rows, key=by_name), key=key, reverse=largest_first)


#: A physical card's shipment in the manager's words: the worker's, without their advice to ask the manager.
TEAM_SHIPMENT_WORDS = {status: words.split(":")[0] for status, words in SHIPMENT_WORDS.items()}


async def _team_cards(db: AsyncSession, user: WebUser, wallets: list[tuple[Wallet, str]]) -> list[tuple[str, Card]]:
    """The team's key workers' cards not cancelled, by name: what the manager sees of each."""
    names = {wallet.id: name for wallet, name in wallets}
    cards = [c for c in await issuing.list_cards(db, who=user.who) if c.wallet_id in names and c.status != "canceled"]
    return sorted(((names[c.wallet_id], c) for c in cards), key=lambda row: (row[0].casefold(), row[1].id))


def _totals(workers: list[tuple[str, Wallet, WalletSummary]]) -> list[int]:
    """The key workers' table's total row: left, set aside, spent."""
    return [sum(s.available for *_, s in workers), sum(s.held for *_, s in workers),
            sum(s.spent_this_month for *_, s in workers)]  # fmt: skip


@get("/team")
async def team_spend(
    db: DbDep,
    now: NowDep,
    user: UserDep,
    done: FromQuery[str | None] = None,
    workers_by: FromQuery[str | None] = None,
    needs_by: FromQuery[str | None] = None,
) -> Response[str]:
    if not user.who.managed_team_ids:
        raise NotAllowed("this is for team managers")
    workers_by = workers_by if workers_by in WORKER_ORDERS else "name"
    needs_by = needs_by if needs_by in NEED_ORDERS else "spent"
    wallets = await _team_wallets(db, user)
    workers = [(name, wallet, await budgets.summarise_wallet(db, wallet=wallet, now=now)) for wallet, name in wallets]
    month = month_start(local_date(now))
    by_need = [(s.code, s.purchases, s.amount) for s in await team.spend_by_need(db, who=user.who, month=month)]
    budgets_left = await team.team_budgets_left(db, who=user.who)
    teams = [t for t, _ in budgets_left]
    left = {t.id: amount for t, amount in budgets_left if amount is not None}
    return page(
        "team.html.j2",
        user=user,
        title="Team spend",
        current="/team",
        workers=sorted_by(workers, WORKER_ORDERS, workers_by),
        by_need=sorted_by(by_need, NEED_ORDERS, needs_by),
        workers_by=workers_by,
        needs_by=needs_by,
        worker_totals=_totals(workers),
        team_spent=await team.team_spent(db, who=user.who, month=month),
        teams=teams,
        left=left,
        month=month,
        cards=await _team_cards(db, user, wallets),
        shipment_words=TEAM_SHIPMENT_WORDS,
        done=DONE.get(done or ""),
    )


async def _allocate_page(db: AsyncSession, user: WebUser, form: Form | None = None, status: int = 200) -> Response[str]:
    wallets = await _team_wallets(db, user)
    return page(
        "allocate.html.j2",
        user=user,
        status_code=status,
        title="Give budget to a key worker",
        current="/team",
        back="/team",
        options=[(str(w.id), name, None) for w, name in wallets],
        values=form.values if form else {},
        errors=form.errors if form else {},
        key=form.get("idempotency_key") if form and form.get("idempotency_key") else new_key(),
    )


@get("/team/allocate")
async def allocate_form(db: DbDep, user: UserDep) -> Response[str]:
    if not user.who.managed_team_ids:
        raise NotAllowed("this is for team managers")
    return await _allocate_page(db, user)


@post("/team/allocate")
async def allocate_submit(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    if not user.who.managed_team_ids:  # refused before the form is read, as the API refuses
        raise NotAllowed("this is for team managers")
    form = await read_form(request)
    wallets = {str(w.id): w for w, _ in await _team_wallets(db, user)}
    wallet = wallets.get(form.get("wallet"))
    amount = parse_pounds(form.get("amount"))
    reason = form.get("reason")[:200]
    if wallet is None:
        form.error("wallet", "Select the key worker")
    if amount is None:
        form.error("amount", pounds_problem(form.get("amount"), like="50.00"))
    if not reason:
        form.error("reason", "Say what the budget is for")
    if not form.ok or wallet is None or amount is None:
        return await _allocate_page(db, user, form, status=422)
    key = form.get("idempotency_key")
    transfer_id = "web-allocation:" + hashlib.sha256(f"{user.who.person_id}:{key}".encode()).hexdigest()[:32]
    wallet_id, pence = wallet.id, amount

    async def act() -> str:
        await team.give_to_worker(
            db, who=user.who, wallet_id=wallet_id, amount=pence, reason=reason, transfer_id=transfer_id, now=now
        )
        return "/team?done=allocated"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except (WalletError, ledger.LedgerError) as exc:
        status = form.refused("amount", exc)
        return await _allocate_page(db, user, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


# Receipt reviews and suspended wallets ------------------------------------------------------


@get("/reviews")
async def review_queue(db: DbDep, user: UserDep, done: FromQuery[str | None] = None) -> Response[str]:
    _require_manager(user)
    queue = await reviews.review_queue(db, who=user.who)
    bought = await reviews.purchases_under_review(db, reviews=queue)
    suspended = await team.team_wallets(db, who=user.who, suspended_only=True)
    names = await _names(db, {r.worker_id for r in queue})
    return page(
        "reviews.html.j2",
        user=user,
        title="Receipts to review",
        current="/reviews",
        queue=queue,
        bought=bought,
        names=names,
        suspended=suspended,
        done=DONE.get(done or ""),
    )


async def _review_page(
    db: AsyncSession, user: WebUser, review_id: int, form: Form | None = None, status: int = 200
) -> Response[str]:
    review = await reviews.get_review(db, who=user.who, review_id=review_id)
    purchase = (await reviews.purchases_under_review(db, reviews=[review])).get(review.purchase_id)
    names = await _names(db, {review.worker_id})
    return page(
        "receipt_review.html.j2",
        user=user,
        status_code=status,
        title="Receipt review",
        current="/reviews",
        back="/reviews",
        review=review,
        purchase=purchase,
        worker=names.get(review.worker_id, "A key worker"),
        values=form.values if form else {},
        errors=form.errors if form else {},
        key=form.get("idempotency_key") if form and form.get("idempotency_key") else new_key(),
    )


@get("/reviews/{review_id:int}")
async def review_detail(db: DbDep, user: UserDep, review_id: PathId) -> Response[str]:
    return await _review_page(db, user, review_id)


@post("/reviews/{review_id:int}")
async def review_clear(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, review_id: PathId
) -> Response[Any]:
    form = await read_form(request)
    note = form.get("note")[:500]
    if not note:
        form.error("note", "Say why you are clearing it, for example 'receipt seen on paper'")
        return await _review_page(db, user, review_id, form, status=422)

    async def act() -> str:
        await reviews.clear(db, who=user.who, review_id=review_id, note=note, now=now)
        return "/reviews?done=cleared"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except (WalletError, ApprovalError) as exc:
        status = form.refused("note", exc)
        return await _review_page(db, user, review_id, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


HANDLERS = [
    inbox,
    decision_form,
    decision_submit,
    team_spend,
    allocate_form,
    allocate_submit,
    review_queue,
    review_detail,
    review_clear,
]

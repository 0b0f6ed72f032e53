"""Answering the till in one database call (PostgreSQL).

Stripe waits at most two seconds for an answer, and at a busy till many requests arrive at
once. The Python path (``cards.till.answer_authorization``) takes a dozen statements; on
PostgreSQL the common answers take one: the spend policy is asked here, in Python, exactly as
every channel asks it (``policy.evaluate``), and the ``card_decide`` function (migrations 0008,
0010) claims the decision by event id, checks the policy version asked is still in force, refuses
what the card or wallet cannot do, places the ledger hold (which keeps the wallet's limit) and
records the purchase, the authorization, the audit entry and the answer, all in that one
statement on an autocommit connection: its own transaction, no BEGIN or COMMIT round trips.
Requests that arrive while a call for the same queue of wallets is in the database wait and
then go together in one ``card_decide_many`` call (migrations 0009, 0010): one commit for all.
What one call is given is a ``cards.till_call.DecideCall``, stated there once.

It answers only when the answer needs nothing else: the policy allows or denies, on facts
known at the till. When the policy wants an approval (an allowance may let it through, or a
request is raised), a wallet spend window must be summed, the request is an increment, a
partial approval is possible or the merchant category is not in Tide's table (the Python path
declines it, saying so), ``FullDecisionNeeded`` is raised — before anything is kept — and the
caller decides on the Python path. Both paths write the same rows (a test compares
them).

What is remembered between calls never changes or is checked: a card's wallet and its
worker and team (checked again by the function), the card clearing account, and the policy
version in force (the function refuses a stale one; it is then read again).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncEngine

from cards import merchant_categories
from cards.answers import CardAnswer, CardRequest, read_request
from cards.till_call import DECIDE, DECIDE_MANY, DecideCall, as_json, values
from cards.till_policy import unknown_family
from ledger.operations import accounting_date_of, request_hash
from wallet.budgets import CARD_CLEARING
from wallet.policy import DEFAULT_POLICY, Ask, PolicyDocument, Spend, evaluate, parse_policy
from wallet.purchases import CARD_HOLD_LIFETIME

#: The SQLSTATE ``card_decide`` raises for a request it leaves to the Python path.
FULL_DECISION = "TD001"


class FullDecisionNeeded(Exception):
    """This request needs the Python path; nothing has been kept."""


@dataclass(frozen=True, slots=True)
class _Wallet:
    """A card's wallet: none of it ever changes once the card is issued."""

    wallet_id: int
    account_id: int
    worker_id: int
    team_id: int
    ledger: str
    limited: bool


@dataclass(frozen=True, slots=True)
class _Clearing:
    account_id: int
    ledger: str
    limited: bool


_WALLETS: dict[tuple[str, str], _Wallet] = {}
_CLEARING: dict[str, _Clearing] = {}
_POLICY: dict[str, tuple[int | None, PolicyDocument]] = {}
_REMEMBERED_CARDS = 100_000

#: The most answers for one wallet decided in one transaction.
BATCH = 32
#: Wallets share this many queues per process (by account id): at most this many calls are in
#: the database at once, each deciding whatever queued meanwhile. Measured on 2 cores, 64 at once
#: over 200 cards: 4 queues 1,563 decisions/s (p99 73 ms), 8 about 1,300/s, 16 about 1,150/s.
SHARDS = 4


async def answer_in_one_call(
    engine: AsyncEngine, *, event: Mapping[str, Any], now: datetime, allow_partial: bool = False
) -> CardAnswer:
    """Answer one ``issuing_authorization.request`` (already signature-checked) in one call.

    ``engine`` is PostgreSQL's; a connection is taken from its pool only to read what is not
    remembered yet and by the request that leads its queue's call (outside any transaction:
    the call is its own), so requests waiting in a queue hold none. Raises
    ``FullDecisionNeeded`` when the Python path must answer instead.
    """
    event_id = str(event["id"])
    ask = read_request(event_id, event["data"]["object"])
    if ask.card_stripe_id is None:
        raise FullDecisionNeeded("no card")
    if merchant_categories.refusal(ask.slug) == merchant_categories.UNKNOWN_REASON:
        raise FullDecisionNeeded("a merchant category not in Tide's table")  # declined there, with that reason
    database = str(engine.url)
    for _attempt in range(3):
        wallet, clearing, (policy_id, policy) = await _facts(engine, database, ask.card_stripe_id)
        if wallet.ledger != clearing.ledger or not wallet.limited or clearing.limited:
            raise FullDecisionNeeded("the accounts are not a card wallet and clearing")
        policy_answer = await _policy_answer(database, policy, ask, wallet)
        call = _arguments(
            ask, wallet, clearing, policy_id=policy_id, answer=policy_answer, allow_partial=allow_partial, now=now
        )
        try:
            row = await _answer(engine, (database, wallet.account_id % SHARDS), call)
        except Exception as exc:
            if getattr(exc, "sqlstate", None) != FULL_DECISION:
                raise
            why = str(getattr(exc, "hint", "") or "")
            if why == "policy":  # a new version was published: read it and ask again
                _POLICY.pop(database, None)
                continue
            if why == "wallet":  # pragma: no cover - a card's wallet never changes
                _WALLETS.pop((database, ask.card_stripe_id), None)
                continue
            raise FullDecisionNeeded(why or str(exc)) from exc
        reasons_out = list(row["reasons"] or [])
        partial = "partial_approval" in reasons_out
        return CardAnswer(
            approved=bool(row["approved"]),
            reasons=reasons_out,
            amount=int(row["granted"]) if partial else None,
            replayed=bool(row["replayed"]),
        )
    raise FullDecisionNeeded("the policy kept changing")


async def _facts(
    engine: AsyncEngine, database: str, card: str
) -> tuple[_Wallet, _Clearing, tuple[int | None, PolicyDocument]]:
    """The card's wallet, the clearing account and the policy in force: as remembered, or read
    on a connection of their own when any is not."""
    wallet, clearing, policy = _WALLETS.get((database, card)), _CLEARING.get(database), _POLICY.get(database)
    if wallet is not None and clearing is not None and policy is not None:
        return wallet, clearing, policy
    async with engine.connect() as connection:
        driver: Any = (await connection.get_raw_connection()).driver_connection
        return (
            await _wallet(driver, database, card),
            await _clearing(driver, database),
            await _policy(driver, database),
        )


async def _policy_answer(
    database: str, policy: PolicyDocument, ask: CardRequest, wallet: _Wallet
) -> tuple[str, list[str], bool]:
    """The spend policy's decision, its reasons and whether a receipt is required, asked as
    every channel asks it; ``FullDecisionNeeded`` when it wants more than the till knows."""
    if ask.category is None:
        return "deny", [], False
    try:
        answer = await evaluate(
            policy,
            Ask(amount=ask.requested, category=ask.category, worker_id=wallet.worker_id, team_id=wallet.team_id),
            Spend(family_in_days=unknown_family, case=unknown_family, wallet_in_days=_window),
        )
    except FullDecisionNeeded:
        _POLICY.pop(database, None)  # (see below)
        raise
    if answer.decision == "needs_approval":
        # Handed over before the database could say whether this version is still in
        # force: the next request reads it again rather than trust it.
        _POLICY.pop(database, None)
        raise FullDecisionNeeded("the policy wants an approval")
    return answer.decision, answer.codes, answer.receipt_required


def _arguments(
    ask: CardRequest,
    wallet: _Wallet,
    clearing: _Clearing,
    *,
    policy_id: int | None,
    answer: tuple[str, list[str], bool],
    allow_partial: bool,
    now: datetime,
) -> DecideCall:
    """What ``card_decide`` is given for this request."""
    decision, reasons, receipt = answer
    memo = f"card authorization {ask.stripe_id}"
    hold = {"wallet": wallet.account_id, "clearing": clearing.account_id, "amount": ask.requested, "memo": memo}
    return DecideCall(
        event=ask.event_id,
        authorization_id=ask.stripe_id,
        card=ask.card_stripe_id or "",
        requested=ask.requested,
        currency=ask.currency,
        category=ask.category,
        merchant=ask.merchant_name,
        slug=ask.slug,
        description=f"Card payment at {ask.merchant_name}"[:200],
        now=now,
        policy=policy_id,
        worker=wallet.worker_id,
        team=wallet.team_id,
        decision=decision,
        reasons=reasons,
        receipt=receipt,
        allow_partial=allow_partial,
        controllable=ask.controllable,
        clearing=clearing.account_id,
        hold_hash=request_hash("hold", hold),
        accounting_date=accounting_date_of(now),
        expires=now + CARD_HOLD_LIFETIME,
        ledger=wallet.ledger,
        memo=memo,
    )


@dataclass(slots=True)
class _Queued:
    """One answer waiting for its wallet's turn, and what ``card_decide`` is given for it."""

    call: DecideCall
    done: asyncio.Future[Any]


@dataclass(slots=True)
class _WalletQueue:
    busy: bool = False
    waiting: list[_Queued] = field(default_factory=list)


#: Per event loop, database and shard of wallets: the answers waiting while one call for the
#: shard is in the database. Only a batcher: the database still decides every answer.
_QUEUES: dict[tuple[int, str, int], _WalletQueue] = {}
_LEAD = object()


async def _answer(engine: AsyncEngine, shard: tuple[str, int], call: DecideCall) -> Mapping[str, Any]:
    """``card_decide`` for one request. While another call for the same queue (its wallet's
    shard) is in the database, requests queue here; when it returns, the first of them takes
    everything queued (up to ``BATCH``) into one ``card_decide_many`` call: one transaction and
    one durable commit for all their answers, instead of each waiting for a commit of its own
    (on one busy wallet, for the previous one's). A queue's wallets are no other queue's, so two
    calls never lock the same wallets in different orders."""
    loop = asyncio.get_running_loop()
    key = (id(loop), *shard)
    queue = _QUEUES.setdefault(key, _WalletQueue())
    mine = _Queued(call, loop.create_future())
    queue.waiting.append(mine)
    if queue.busy or len(queue.waiting) > 1:  # a call is in the database, or its successor is named
        try:
            outcome = await mine.done
        except asyncio.CancelledError:
            _leave(queue, key, mine)
            raise
        if outcome is not _LEAD:
            return cast(Mapping[str, Any], outcome)
    queue.busy = True  # this request leads: it is waiting[0]
    batch, queue.waiting = queue.waiting[:BATCH], queue.waiting[BATCH:]
    for queued in batch:
        if queued.done.done():  # the leader's own "you lead", and any given up meanwhile
            queued.done = loop.create_future()
    try:
        async with engine.connect() as connection:  # the one request of the call that holds one
            driver: Any = (await connection.get_raw_connection()).driver_connection
            if len(batch) == 1:
                _settle(batch[0], await driver.fetchrow(DECIDE, *values(batch[0].call)))
            else:
                await _answer_many(driver, batch)
    except BaseException as exc:
        for queued in batch:
            if queued is not mine:
                _settle(
                    queued, exc if isinstance(exc, Exception) else RuntimeError("the leading request was cancelled")
                )
        raise
    finally:
        queue.busy = False
        _next(queue, key)
    return cast(Mapping[str, Any], mine.done.result())


def _settle(queued: _Queued, outcome: object) -> None:
    if queued.done.done():  # given up (its request timed out): nobody is waiting for it
        return
    if isinstance(outcome, BaseException):
        queued.done.set_exception(outcome)
    else:
        queued.done.set_result(outcome)


def _next(queue: _WalletQueue, key: tuple[int, str, int]) -> None:
    """Name the first waiting request to lead the next call (or forget the idle queue)."""
    if queue.waiting:
        _settle(queue.waiting[0], _LEAD)
    elif _QUEUES.get(key) is queue:
        del _QUEUES[key]


def _leave(queue: _WalletQueue, key: tuple[int, str, int], mine: _Queued) -> None:
    """A request gave up while waiting: out of the queue, and if it had been named to lead,
    the next one is named instead."""
    named = mine.done.done() and not mine.done.cancelled() and mine.done.result() is _LEAD
    if mine in queue.waiting:
        queue.waiting.remove(mine)
    if named and not queue.busy:
        _next(queue, key)


class _Handover(Exception):
    """One answer of a batch that the Python path must give (as ``card_decide`` raises it)."""

    sqlstate = FULL_DECISION

    def __init__(self, hint: str) -> None:
        super().__init__(hint)
        self.hint = hint


async def _answer_many(driver: Any, batch: list[_Queued]) -> None:
    rows = await driver.fetch(DECIDE_MANY, as_json(queued.call for queued in batch))
    for queued, row in zip(batch, sorted(rows, key=lambda r: int(r["n"])), strict=True):
        _settle(queued, row if row["handover"] is None else _Handover(str(row["handover"])))


async def _window(_days: int) -> int:
    raise FullDecisionNeeded("a wallet spend window is summed under the wallet's lock")


async def _wallet(driver: Any, database: str, card: str) -> _Wallet:
    known = _WALLETS.get((database, card))
    if known is not None:
        return known
    row = await driver.fetchrow(
        "SELECT w.id, w.account_id, w.person_id, w.team_id, a.ledger, a.debits_must_not_exceed_credits"
        " FROM cards c JOIN wallets w ON w.id = c.wallet_id JOIN ledger_accounts a ON a.id = w.account_id"
        " WHERE c.stripe_id = $1",
        card,
    )
    if row is None:
        raise FullDecisionNeeded("unknown card")
    if len(_WALLETS) >= _REMEMBERED_CARDS:
        _WALLETS.clear()
    found = _Wallet(
        wallet_id=int(row[0]),
        account_id=int(row[1]),
        worker_id=int(row[2]),
        team_id=int(row[3]),
        ledger=str(row[4]),
        limited=bool(row[5]),
    )
    _WALLETS[(database, card)] = found
    return found


async def _clearing(driver: Any, database: str) -> _Clearing:
    known = _CLEARING.get(database)
    if known is not None:
        return known
    row = await driver.fetchrow(
        "SELECT id, ledger, debits_must_not_exceed_credits FROM ledger_accounts WHERE code = $1", CARD_CLEARING
    )
    if row is None:
        raise FullDecisionNeeded("the card clearing account is not open yet")
    found = _CLEARING[database] = _Clearing(account_id=int(row[0]), ledger=str(row[1]), limited=bool(row[2]))
    return found


async def _policy(driver: Any, database: str) -> tuple[int | None, PolicyDocument]:
    known = _POLICY.get(database)
    if known is not None:
        return known
    row = await driver.fetchrow("SELECT id, rules FROM policy_versions ORDER BY id DESC LIMIT 1")
    if row is None:
        found: tuple[int | None, PolicyDocument] = (None, DEFAULT_POLICY)
    else:
        rules = row[1]
        found = (int(row[0]), parse_policy(json.loads(rules) if isinstance(rules, str) else rules))
    _POLICY[database] = found
    return found

"""Answering the till in one database call (PostgreSQL).

Stripe waits at most two seconds for an answer, and at a busy till many requests arrive at
once. The Python path (``card_authorizations.decide``) takes a dozen statements; on
PostgreSQL the common answers take one: the spend policy is asked here, in Python, exactly as
every channel asks it (``policy.evaluate``), and the ``card_decide`` function (migration 0008)
claims the decision by event id, checks the policy version asked is still in force, locks the
wallet, refuses what the card or wallet cannot do, places the ledger hold and records the
purchase, the authorization, the audit entry and the answer, all in that one statement on an
autocommit connection: its own transaction, no BEGIN or COMMIT round trips.

It answers only when the answer needs nothing else: the policy allows or denies, on facts
known at the till. When the policy wants an approval (an allowance may let it through, or a
request is raised), a wallet spend window must be summed, the request is an increment or a
partial approval is possible, ``FullDecisionNeeded`` is raised — before anything is kept —
and the caller decides on the Python path. Both paths write the same rows (a test compares
them).

What is remembered between calls never changes or is checked: a card's wallet and its
worker, team and ledger account (checked again under the wallet's lock), the card clearing
account, and the policy version in force (the function refuses a stale one; it is then read
again).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.gates import wallet_gate
from ledger.operations import accounting_date_of, request_hash
from wallet.budgets import CARD_CLEARING
from wallet.card_authorizations import CardAnswer, read_request
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
#: How many of this process's answers for one wallet may be in the database at once. Declines
#: take no lock and approvals queue only for the ledger's hold, so more than the ledger's own
#: two: fewer leave the database idle between answers at a busy till (measured: 4, 8, 16).
TILL_PLACES = 16

_DECIDE = (
    "SELECT approved, granted, reasons, replayed FROM card_decide("
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"
)


async def decide(
    connection: AsyncConnection, *, event: Mapping[str, Any], now: datetime, allow_partial: bool = False
) -> CardAnswer:
    """Answer one ``issuing_authorization.request`` (already signature-checked) in one call.

    ``connection`` is a PostgreSQL connection outside any transaction: the call is its own.
    Raises ``FullDecisionNeeded`` when the Python path must answer instead.
    """
    event_id = str(event["id"])
    ask = read_request(event_id, event["data"]["object"])
    if ask.card_stripe_id is None:
        raise FullDecisionNeeded("no card")
    driver: Any = (await connection.get_raw_connection()).driver_connection
    database = str(connection.engine.url)
    for _attempt in range(3):
        wallet = await _wallet(driver, database, ask.card_stripe_id)
        clearing = await _clearing(driver, database)
        if wallet.ledger != clearing.ledger or not wallet.limited or clearing.limited:
            raise FullDecisionNeeded("the accounts are not a card wallet and clearing")
        policy_id, policy = await _policy(driver, database)
        decision, reasons, receipt = "deny", [], False
        if ask.category is not None:
            answer = await evaluate(
                policy,
                Ask(amount=ask.requested, category=ask.category, worker_id=wallet.worker_id, team_id=wallet.team_id),
                Spend(family_in_days=_unknown_family, case=_unknown_family, wallet_in_days=_window),
            )
            if answer.decision == "needs_approval":
                raise FullDecisionNeeded("the policy wants an approval")
            decision, reasons, receipt = answer.decision, answer.codes, answer.receipt_required
        memo = f"card authorization {ask.stripe_id}"
        hold = {"wallet": wallet.account_id, "clearing": clearing.account_id, "amount": ask.requested, "memo": memo}
        try:
            async with wallet_gate(wallet.account_id, purpose="till", places=TILL_PLACES):
                row = await driver.fetchrow(
                    _DECIDE,
                    event_id,
                    ask.stripe_id,
                    ask.card_stripe_id,
                    ask.requested,
                    ask.currency,
                    ask.category,
                    ask.merchant_name,
                    ask.slug,
                    f"Card payment at {ask.merchant_name}"[:200],
                    now,
                    policy_id,
                    wallet.worker_id,
                    wallet.team_id,
                    decision,
                    reasons,
                    receipt,
                    allow_partial,
                    ask.controllable,
                    clearing.account_id,
                    request_hash("hold", hold),
                    accounting_date_of(now),
                    now + CARD_HOLD_LIFETIME,
                    wallet.ledger,
                    memo,
                )
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


async def _unknown_family(_days: int = 0) -> int:
    """At the till the family is not known yet: its caps wait until the purchase is linked."""
    return 0


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

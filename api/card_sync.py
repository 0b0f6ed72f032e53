"""Keeping Tide's cards in step with Stripe when webhooks are not enough.

* ``sync_stripe``: pull Stripe's Issuing events for a window (Stripe keeps 30 days) and apply
  any Tide missed, oldest first, each in a transaction of its own. Applying is idempotent
  (events are deduplicated by id), so running it twice, or alongside the webhook, is safe.
  ``wallet stripe sync`` and the hourly ``sync_stripe_events`` job run it.
* ``fetch_statement``: Stripe's own list of a month's Issuing transactions, fetched through the
  gateway (outside any transaction) and recorded as the month's statement
  (``cards.stripe_statement``), which reconciliation compares Tide's purchases with.
  ``wallet stripe statement MONTH`` and the daily ``fetch_stripe_statement`` job run it.
* ``expire_card_holds``: the sweeper: holds past their expiry go back to the wallet.
* ``cards_follow_wallets``: a suspended wallet's cards go inactive at Stripe, and come back
  when a manager clears the wallet. It reads only the wallets noted in ``cards_to_follow``.
* ``cardholders_follow_people``: a changed work mobile (or billing address in the settings)
  reaches the cardholder at Stripe (``cards.cardholders``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.stripe_gateway import StripeConfig, StripeGateway
from cards import cardholders, holds, issuing, stripe_statement
from cards.errors import CardIssuerUnavailable
from cards.events import apply_event
from cards.issuer import CardIssuer

log = logging.getLogger(__name__)

#: How far back the scheduled sync looks: twice its interval, and well inside Stripe's 30 days.
SYNC_WINDOW = timedelta(hours=2)
#: Stripe's clock and ours may disagree a little: look that far past our now too.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(slots=True)
class SyncReport:
    """What a sync found: events applied now, already applied, and any that failed."""

    applied: int = 0
    already: int = 0
    failed: list[str] = field(default_factory=list)


async def sync_stripe(
    sessions: async_sessionmaker[AsyncSession],
    issuer: CardIssuer,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
) -> SyncReport:
    """Apply every Issuing event Stripe has for ``[since, until)`` that Tide has not."""
    events = await issuer.list_events(created_from=int(since.timestamp()), created_to=int(until.timestamp()))
    report = SyncReport()
    for event in events:
        try:
            async with sessions() as db, db.begin():
                outcome = await apply_event(db, event=event, now=now)
        except Exception:
            log.exception("Stripe event %s could not be applied", event.get("id"))
            report.failed.append(str(event.get("id")))
            continue
        if outcome == "duplicate":
            report.already += 1
        else:
            report.applied += 1
    return report


async def fetch_statement(
    sessions: async_sessionmaker[AsyncSession], issuer: CardIssuer, *, month: date, now: datetime
) -> stripe_statement.StatementRecorded:
    """Fetch Stripe's Issuing transactions of ``month`` (UK time) and record them as its statement."""
    start, end = stripe_statement.month_window(month)
    listed = await issuer.list_transactions(created_from=int(start.timestamp()), created_to=int(end.timestamp()))
    async with sessions() as db, db.begin():
        return await stripe_statement.record_statement(db, month=month, transactions=listed, now=now)


def issuer_for(config: StripeConfig) -> CardIssuer | None:
    """The Stripe gateway when a key is configured, else ``None`` (the jobs then do nothing)."""
    return StripeGateway(config) if config.api_key else None


async def expire_card_holds(sessions: async_sessionmaker[AsyncSession], *, now: datetime) -> int:
    async with sessions() as db, db.begin():
        return len(await holds.expire_card_holds(db, now=now))


async def cards_follow_wallets(sessions: async_sessionmaker[AsyncSession], issuer: CardIssuer, *, now: datetime) -> int:
    """Bring the cards of the wallets noted since the last run into line with their wallets
    (each wallet in a transaction of its own, its notes taken with it); returns how many cards
    changed. Reads only the noted wallets' cards, never every card."""
    async with sessions() as db, db.begin():
        noted = await issuing.wallets_to_follow(db)
    changed = 0
    for wallet_id, up_to in noted.items():
        async with sessions() as db, db.begin():
            changed += len(await issuing.follow_wallet_status(db, issuer, wallet_id=wallet_id, now=now))
            await issuing.followed(db, wallet_id=wallet_id, up_to=up_to)
    return changed


async def cardholders_follow_people(
    sessions: async_sessionmaker[AsyncSession], issuer: CardIssuer, *, now: datetime
) -> int:
    """Give Stripe the new work mobile (and billing address) of every cardholder whose changed,
    each recorded in a transaction of its own; returns how many were brought up to date. One
    Stripe refuses is logged (by id) and tried again next run; the others go ahead."""
    async with sessions() as db, db.begin():
        found = await cardholders.due(db, billing=issuer.billing_address())
    updated = 0
    for due in found:
        try:
            answer = await issuer.update_cardholder(
                cardholder=due.stripe_id,
                phone_number=due.phone_number,
                billing=issuer.billing_address() if due.send_billing else None,
                idempotency_key=due.idempotency_key,
            )
        except CardIssuerUnavailable:
            log.warning("cardholder %s could not be updated at Stripe; tried again next run", due.cardholder_id)
            continue
        async with sessions() as db, db.begin():
            await cardholders.record_update(db, due=due, answer=answer, now=now)
        updated += 1
    return updated

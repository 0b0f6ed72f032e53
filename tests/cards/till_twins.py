"""The world the till's property test draws into: twin cards, a policy, queued requests.

Each example gets two key workers made alike (one wallet each, funded with the same amount
from their team's budget, one card each in the same state): the fast twin's requests are
answered in one PostgreSQL call (``cards.fast_till``), the slow twin's on the Python path
(``cards.till``). Everything is made inside one database of the test's own, since the spend
policy is the council's and the test publishes a new one for every example. Three teams:
Exeter and Torridge, and one with no default funding source (the till refuses its cards).

Requests can also be answered the way a busy till answers them, several in one
``card_decide_many`` call: ``Pads`` are cards kept for queueing requests beside the fast
twin's, with its wallet's queue held up meanwhile (see ``TillWorld.in_a_batch``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text

import ledger
from cards import fast_till
from cards.answers import CardAnswer
from cards.models import Card, Cardholder
from tests.cards.support import request_event
from tests.wallet.support import County, password_hash
from wallet import budgets, organisation
from wallet.access import Principal, load_principal
from wallet.buying_for import BuyingFor
from wallet.clock import now_utc
from wallet.demo import email
from wallet.models import Family, FundingSource, Need, Person, Team, Wallet
from wallet.policies import publish_policy

#: What each team's budget holds for the test's wallets (the examples' funds come from it).
TEAM_FLOAT = 200_000_000
#: A merchant with no purchase category: a pad's request is refused in the one call, always.
NO_CATEGORY = ("veterinary_services", "0742")
#: ``card_decide``'s claim on an event id (its first step): holding it holds a request in the
#: database, so that the requests after it queue for the same wallets.
CLAIM_LOCK = 7_041_947


#: Answering a request on the fast path: the answer, and why the Python path gave it, if it did.
Answering = Callable[[dict[str, Any]], Awaitable[tuple[CardAnswer, str | None]]]


@dataclass(frozen=True, slots=True)
class Twin:
    """One of an example's two key workers: their person, wallet account and card."""

    person_id: int
    account_id: int
    card: str


@dataclass(frozen=True, slots=True)
class TillWorld:
    """The test's database, its finance officer, teams, funding source and pads."""

    county: County
    finance: Principal
    source_id: int
    teams: dict[str, int]
    #: Each team's budget account, which funds the examples' wallets.
    budgets: dict[str, int]
    pads: dict[int, tuple[str, str]]

    async def twins(self, *, team: str, funds: int, card_status: str, wallet_status: str) -> tuple[Twin, Twin]:
        """Two key workers in ``team``, each with ``funds`` in a wallet of ``wallet_status``
        and a card of ``card_status``, made in one transaction. (Made lean, for a thousand
        examples: the rows and the ledger's allocation, without the services' audit trail.)"""
        now = now_utc()
        team_id = self.teams[team]
        async with self.county.session() as db:
            people = [
                Person(
                    email=f"twin.{tag}@test.tide.invalid",
                    display_name="Twin",
                    password_hash=password_hash(),
                    created_at=now,
                )
                for tag in (uuid.uuid4().hex for _ in range(2))
            ]
            db.add_all(people)
            await db.flush()
            accounts = [
                await ledger.open_account(
                    db, code=f"wallet:person:{person.id}", name="Twin", kind="worker_wallet", now=now
                )
                for person in people
            ]
            wallets = [
                Wallet(
                    person_id=person.id, team_id=team_id, account_id=account.id, status=wallet_status, created_at=now
                )
                for person, account in zip(people, accounts, strict=True)
            ]
            holders = [_holder(person.id, now) for person in people]
            db.add_all([*wallets, *holders])
            await db.flush()
            cards = [
                _card(holder.id, wallet.id, card_status, now) for holder, wallet in zip(holders, wallets, strict=True)
            ]
            db.add_all(cards)
            for account in accounts if funds else ():
                given = await ledger.allocate(
                    db, transfer_id=f"twin:{account.id}", from_account_id=self.budgets[team],
                    to_account_id=account.id, amount=funds, memo="twin", now=now,
                )  # fmt: skip
                assert given.accepted, given.declined
        fast, slow = (
            Twin(person.id, account.id, card.stripe_id)
            for person, account, card in zip(people, accounts, cards, strict=True)
        )
        return fast, slow

    async def state_family(self, twin: Twin, *, team: str) -> int:
        """A family (with one open need, ``HOU-COND``) the twin says they are buying for now,
        as ``wallet.buying_for`` records it (made lean, as the twins are)."""
        now = now_utc()
        async with self.county.session() as db:
            family = Family(
                reference=uuid.uuid4().hex[:16], team_id=self.teams[team], lead_worker_id=twin.person_id,
                locality="Exeter", age_bands=["5-10"], status="open", opened_on=now.date(), created_at=now,
            )  # fmt: skip
            db.add(family)
            await db.flush()
            need = Need(
                family_id=family.id, code="HOU-COND", whose="household", identified_on=now.date(),
                evidence_source="practitioner", baseline_score=3, status="open", created_by=twin.person_id,
                created_at=now,
            )  # fmt: skip
            db.add(need)
            await db.flush()
            stated = BuyingFor(
                worker_id=twin.person_id, family_id=family.id, need_ids=[need.id], stated_at=now,
                expires_at=now + timedelta(minutes=30),
            )  # fmt: skip
            db.add(stated)
        return int(family.id)

    async def publish(self, rules: list[dict[str, Any]]) -> None:
        async with self.county.session() as db:
            await publish_policy(db, who=None, document={"rules": rules}, note="drawn", now=now_utc())

    async def in_a_batch(
        self, fast: Answering, event: dict[str, Any], account_id: int
    ) -> tuple[CardAnswer, str | None]:
        """``fast(event)`` decided in one ``card_decide_many`` call with a pad's request: a
        first pad request is held in the database (its claim is taken here), the request and a
        second pad's queue behind it for the same queue of wallets, then the first is let go.
        (If ``fast`` hands the request to the Python path before it queues, so be it.)"""
        first_pad, second_pad = self.pads[account_id % fast_till.SHARDS]
        first, second = (
            request_event(pad, 100, category=NO_CATEGORY[0], category_code=NO_CATEGORY[1])
            for pad in (first_pad, second_pad)
        )
        lock = {"lock": CLAIM_LOCK, "event": first["id"]}
        async with self.county.engine.connect() as holder:
            await holder.execute(text("SELECT pg_advisory_lock(:lock, hashtext(:event))"), lock)
            await holder.commit()
            queue = _queue(self.county, account_id)
            held = asyncio.ensure_future(fast(first))
            await _until(lambda: queue().busy or held.done())
            mine = asyncio.ensure_future(fast(event))
            behind = asyncio.ensure_future(fast(second))
            await _until(lambda: mine.done() or len(queue().waiting) >= 2)
            await holder.execute(text("SELECT pg_advisory_unlock(:lock, hashtext(:event))"), lock)
            await holder.commit()
            pads = await asyncio.gather(held, behind)
        assert all(pad == (CardAnswer(False, ["merchant_category_not_allowed"]), None) for pad in pads), pads
        return await mine


def _queue(county: County, account_id: int) -> Callable[[], Any]:
    key = (id(asyncio.get_running_loop()), str(county.engine.url), account_id % fast_till.SHARDS)
    return lambda: fast_till._QUEUES.get(key) or fast_till._WalletQueue()


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not condition():  # noqa: ASYNC110 - the till's queue has no event to wait on
            await asyncio.sleep(0.0005)


def _holder(person_id: int, now: datetime) -> Cardholder:
    return Cardholder(
        stripe_id=f"ich_twin{uuid.uuid4().hex[:16]}",
        person_id=person_id,
        status="active",
        created_at=now,
        updated_at=now,
    )


def _card(holder_id: int, wallet_id: int, status: str, now: datetime) -> Card:
    return Card(
        stripe_id=f"ic_twin{uuid.uuid4().hex[:16]}",
        cardholder_id=holder_id,
        wallet_id=wallet_id,
        status=status,
        last4="4242",
        type="virtual",
        created_at=now,
        updated_at=now,
    )


async def open_world(county: County) -> TillWorld:
    """The teams' budgets floated, the team with no funding source made, the pads issued."""
    now = now_utc()
    async with county.session() as db:
        finance_id = (await db.execute(select(Person.id).where(Person.email == email("finance")))).scalar_one()
        finance = await load_principal(db, person_id=finance_id)
        source_id = (await db.execute(select(FundingSource.id).where(FundingSource.code == "prevention"))).scalar_one()
        teams = {
            name.split()[0].lower(): team_id for team_id, name in (await db.execute(select(Team.id, Team.name))).all()
        }
        unfunded = await organisation.create_team(
            db, actor=None, name="Unfunded Early Help", locality="Exeter", cost_centre="EH-UNFUNDED",
            department="Children's Services - Early Help", default_funding_source_id=None, now=now,
        )  # fmt: skip
        teams["unfunded"] = unfunded.id
        await budgets.house_accounts(db)  # card clearing, open once a till has answered
        await budgets.fund_pot(  # set-up, as the system: above the threshold a person would need a second
            db, actor=None, funding_source_id=source_id, transfer_id="twins:grant", amount=3 * TEAM_FLOAT,
            reason="twins", now=now,
        )  # fmt: skip
        for name, team_id in teams.items():
            given = await budgets.allocate(
                db, actor=finance, transfer_id=f"twins:{name}", funding_source_id=source_id, team_id=team_id,
                wallet_id=None, amount=TEAM_FLOAT, month=None, reason="twins", now=now,
            )  # fmt: skip
            assert given.declined is None, given.declined
        team_budgets = {
            name: (await budgets.team_budget(db, team_id=team_id, funding_source_id=source_id)).account_id
            for name, team_id in teams.items()
        }
    world = TillWorld(county, finance, source_id, teams, team_budgets, {})
    by_shard: dict[int, list[str]] = {}
    while any(len(by_shard.get(shard, [])) < 2 for shard in range(fast_till.SHARDS)):
        for pad in await world.twins(team="exeter", funds=0, card_status="active", wallet_status="active"):
            by_shard.setdefault(pad.account_id % fast_till.SHARDS, []).append(pad.card)
    world.pads.update({shard: (cards[0], cards[1]) for shard, cards in by_shard.items()})
    return world

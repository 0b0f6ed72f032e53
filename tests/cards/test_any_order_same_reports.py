"""After Stripe's events in any order, duplicated or dropped and then synced, the month's
reports are the same as in order: byte for byte, apart from when they were made.

One generated card lifecycle (several cards and merchants: authorizations, increments,
partial reversals, expiry, captures once and several times and above the hold, forced
captures, refunds linked, unlinked and larger than their capture, disputes won, lost and
rescinded) happens once at the fake Stripe. Its events go into two copies of one county: in
order into the first; shuffled, duplicated, some dropped (refused early ones retried as
Stripe does) and then ``wallet stripe sync``'s use case (``api.card_sync.sync_stripe``) into
the second. Both fetch Stripe's statement, and every month report file is written from each
(``reports.monthly.write_all``): the CSVs must be identical once the one line saying when the
file was made is set aside.

It fails today for seeds 1 and 3 (``KNOWN_DIFFERENCES``), and is marked to: strictly, so the day
the order stops mattering it passes, fails as an unexpected pass, and the mark is taken off.
"""

from __future__ import annotations

import difflib
import random
import re
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from api.card_sync import fetch_statement, sync_stripe
from cards.errors import EventBeforeItsObject
from cards.events import apply_event
from cards.issuer import CardIssuer
from cards.models import Card, Cardholder
from ledger.database import create_engine
from reports import monthly
from reports.period import Period
from tests import databases
from tests.cards.fake_stripe import FakeStripe
from tests.cards.test_lifecycle_property import SyncFromFake
from tests.cards.test_reconciling_with_stripe import QUIET_COUNTY, this_month
from tests.wallet.support import County
from wallet.clock import now_utc

MERCHANTS = ("Clarks", "Shell", "Travelodge", "Waterstones")
FUNDS = 2_000_000


def lifecycle(fake: FakeStripe, cards: Sequence[str], *, seed: int, steps: int = 60) -> None:
    """A generated lifecycle at Stripe on ``cards``: every step Stripe documents, at random."""
    rng = random.Random(seed)
    for _ in range(steps):
        pending = [a for a in fake.authorizations.values() if a["status"] == "pending" and a["approved"]]
        approved = [a for a in fake.authorizations.values() if a["approved"]]
        captures = [t for t in fake.transactions.values() if t["type"] == "capture"]
        step = rng.choice(
            ["authorize"] * 4 + ["increment", "reverse", "expire", "capture", "capture", "capture", "force"]
            + ["refund", "refund big", "unlinked", "unlinked elsewhere", "dispute"]
        )  # fmt: skip
        card, merchant, amount = rng.choice(cards), rng.choice(MERCHANTS), rng.randint(100, 9_000)
        if step == "authorize" or (step in ("increment", "reverse", "expire") and not pending):
            fake.authorize({"card": card, "amount": amount, "merchant_data": {"name": merchant}})
        elif step == "increment":
            fake.act_on_authorization(rng.choice(pending)["id"], "increment", {"increment_amount": amount // 4 + 1})
        elif step == "reverse":
            auth = rng.choice(pending)
            fake.act_on_authorization(auth["id"], "reverse", {"reverse_amount": max(1, auth["amount"] // 3)})
        elif step == "expire":
            fake.act_on_authorization(rng.choice(pending)["id"], "expire", {})
        elif step == "capture" and approved:
            auth = rng.choice(approved)
            base = auth["amount"] or auth["request_history"][-1]["amount"]
            share, close = rng.choice([0.3, 0.5, 1.0, 1.2]), rng.random() < 0.6
            fake.act_on_authorization(
                auth["id"],
                "capture",
                {"capture_amount": max(1, int(base * share)), "close_authorization": str(close).lower()},
            )
        elif step == "force":
            fake.transaction(
                {"card": card, "amount": amount, "merchant_data": {"name": merchant}},
                kind="capture",
                authorization=None,
            )
        elif step in ("refund", "refund big", "unlinked", "dispute") and captures:
            _after_a_capture(fake, rng, rng.choice(captures), step)
        elif step == "unlinked elsewhere":
            fake.transaction(
                {"card": card, "amount": amount, "merchant_data": {"name": "Elsewhere Ltd"}},
                kind="refund",
                authorization=None,
            )


def _after_a_capture(fake: FakeStripe, rng: random.Random, txn: dict[str, Any], step: str) -> None:
    """A refund of the capture (part, whole or more), a merchant's unlinked one, or a dispute."""
    captured = -txn["amount"]
    if step == "refund":
        fake.refund(txn["id"], {"refund_amount": max(1, captured // rng.choice([1, 2, 4]))})
    elif step == "refund big":  # more than the capture took
        fake.refund(txn["id"], {"refund_amount": captured + rng.randint(1, 500)})
    elif step == "unlinked":
        fake.transaction(
            {"card": txn["card"], "amount": max(1, captured // 2), "merchant_data": txn["merchant_data"]},
            kind="refund",
            authorization=None,
        )
    elif not txn["dispute"] and txn["authorization"]:
        dispute = fake.dispute(txn["id"])
        decision = rng.choice(["won", "lost", "rescinded"])
        fake.decide_dispute(dispute["id"], won=decision != "lost")
        if decision == "rescinded":
            fake.rescind_dispute(dispute["id"])


async def _issue_cards(url: str, fake: FakeStripe, how_many: int) -> list[str]:
    engine = create_engine(url, pool_size=1)
    county = County(engine)
    cards = []
    try:
        for _ in range(how_many):
            holder_made = fake.create_cardholder({"name": "Key Worker"})
            card_made = fake.create_card({"cardholder": holder_made["id"], "status": "active"})
            worker = await county.new_key_worker(team_id=1, wallet_pence=FUNDS)
            now = now_utc()
            async with county.session() as db:
                holder = Cardholder(
                    stripe_id=holder_made["id"], person_id=worker.person_id, status="active",
                    created_at=now, updated_at=now,
                )  # fmt: skip
                db.add(holder)
                await db.flush()
                db.add(
                    Card(
                        stripe_id=card_made["id"], cardholder_id=holder.id, wallet_id=worker.wallet_id,
                        status="active", last4="4242", type="virtual", created_at=now, updated_at=now,
                    )
                )  # fmt: skip
            cards.append(card_made["id"])
    finally:
        await engine.dispose()
    return cards


def _copy_sqlite(url: str, folder: Path) -> str:
    """A second database, the same as the first to the byte (SQLite's own backup)."""
    source = url.split("///", 1)[1]
    target = databases.sqlite_url(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as old, sqlite3.connect(target.split("///", 1)[1]) as new:
        old.backup(new)
    return target


class Delivery:
    """Applying events to one database as the webhook would, at one fixed moment."""

    def __init__(self, engine: AsyncEngine, now: datetime) -> None:
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.now = now

    async def send(self, events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        refused = []
        for event in events:
            try:
                async with self.sessions() as db, db.begin():
                    await apply_event(db, event=event, now=self.now)
            except EventBeforeItsObject:
                refused.append(event)
        return refused


async def _reports(engine: AsyncEngine, fake: FakeStripe, folder: Path, now: datetime) -> dict[str, bytes]:
    issuer = cast("CardIssuer", SyncFromFake(fake))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    await fetch_statement(sessions, issuer, month=this_month(), now=now)
    async with sessions() as db:
        period = Period(first=this_month(), as_at=now)
        written = await monthly.write_all(db, period, folder)
    return {path.name: path.read_bytes() for path in written}


WHEN_MADE = re.compile(rb"^.*(?:generated|produced|made|as at)[^\n]*\d{4}-\d{2}-\d{2}[^\n]*$", re.I | re.M)


def without_when_made(content: bytes) -> bytes:
    return WHEN_MADE.sub(b"<when made>", content)


@pytest.fixture
def quiet_county(tmp_path: Path) -> str:
    (tmp_path / "seed").mkdir()
    return databases.seeded_sqlite(tmp_path / "seed", QUIET_COUNTY)


#: What this test found, not fixed yet (issue 14): each is a class of defect, seen in seeds 1 and 3.
#: (Fixed: refunds that together exceed what their purchase captured are decided in Stripe's order,
#: those that arrived early moved, and published per Stripe object; a dispute's final status is
#: not undone by an earlier status delivered late. Seed 2 passes.)
KNOWN_DIFFERENCES = (
    "a won dispute's reinstatement competes with the refunds of its purchase by arrival order (it "
    "takes what is left when it comes), not Stripe's; a capture that arrives before its "
    "authorization makes the purchase with the capture's amount and other ledger holds, so a refund "
    "is handed back across other capture transfers and a won dispute reinstates what was left on "
    "its own capture rather than the capture"
)


async def _both_ways(tmp_path: Path, url: str, seed: int, *, second_in_order: bool) -> tuple[dict[str, bytes], ...]:
    """The month's report files from the lifecycle delivered in order, and from a copy of the
    county it was delivered to shuffled, duplicated and partly dropped then synced (or, for the
    harness's own check, in order again)."""
    fake = FakeStripe(authorization_url="", webhook_url="", auto_deliver=False, network_down=True)
    cards = await _issue_cards(url, fake, 3)
    fake.outbox.clear()
    twin = _copy_sqlite(url, tmp_path / "twin")
    lifecycle(fake, cards, seed=seed)
    events = list(fake.outbox)
    assert {e["type"] for e in events} >= {"issuing_transaction.created", "issuing_authorization.updated"}
    rng = random.Random(seed)
    now = now_utc()
    in_order, any_order = create_engine(url, pool_size=2), create_engine(twin, pool_size=2)
    try:
        assert await Delivery(in_order, now).send(events) == []
        late = Delivery(any_order, now)
        if second_in_order:
            assert await late.send(events) == []
        else:
            sends = [e for e in events if rng.random() > 0.25 for _ in range(rng.choice([1, 2]))]
            rng.shuffle(sends)
            for _ in range(3):  # Stripe retries what was refused
                sends = await late.send(sends)
            window = {"since": now - timedelta(days=1), "until": now + timedelta(days=1), "now": now}
            report = await sync_stripe(late.sessions, cast("CardIssuer", SyncFromFake(fake)), **window)
            assert report.failed == []
            assert report.applied > 0
        return (
            await _reports(in_order, fake, tmp_path / "in-order", now),
            await _reports(any_order, fake, tmp_path / "any-order", now),
        )
    finally:
        await in_order.dispose()
        await any_order.dispose()


def assert_same_files(first: dict[str, bytes], second: dict[str, bytes]) -> None:
    assert sorted(first) == sorted(second)
    differing = [
        name
        for name in sorted(first)
        if name.endswith(".csv") and without_when_made(first[name]) != without_when_made(second[name])
    ]
    assert differing == [], "\n".join(
        "\n".join(difflib.unified_diff(first[n].decode().splitlines(), second[n].decode().splitlines(), n, n))
        for n in differing
    )
    assert len(first[next(n for n in first if n.startswith("transparency"))].splitlines()) > 10


async def test_the_same_events_in_the_same_order_make_the_same_files_in_two_databases(
    tmp_path: Path, quiet_county: str
) -> None:
    """The comparison's own check: only the order of events can make the files differ."""
    assert_same_files(*await _both_ways(tmp_path, quiet_county, 1, second_in_order=True))


@pytest.mark.parametrize(
    "seed",
    [
        pytest.param(1, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DIFFERENCES)),
        2,
        pytest.param(3, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DIFFERENCES)),
    ],
)
async def test_the_month_reports_are_the_same_whatever_order_stripes_events_came_in(
    tmp_path: Path, quiet_county: str, seed: int
) -> None:
    assert_same_files(*await _both_ways(tmp_path, quiet_county, seed, second_in_order=False))

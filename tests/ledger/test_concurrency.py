"""Concurrency storms on real PostgreSQL: the ledger's rules hold with many clients at once.

Every client opens its own transaction (``async with pg_engine.begin() as db``), waits at a
barrier until all clients hold a connection, then makes one ledger call, so the calls really
race. Each test draws its amounts from ``random.Random(seed)`` and names the seed in every
assertion message: set ``TIDE_TEST_SEED`` to replay a failure with the same amounts (the
interleaving is up to PostgreSQL). Nothing here times anything; speed lives in benchmarks.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import ledger
from ledger.clock import now_utc as utcnow
from ledger.schema import RESOLVING_KINDS, operations, replays, transfers
from tests.ledger_support import Books, new_id, open_books

pytestmark = pytest.mark.postgresql

T = TypeVar("T")
Call = Callable[[AsyncConnection], Awaitable[T]]

#: No client may take longer than this: a hang (a deadlock PostgreSQL did not see) fails the test.
CLIENT_TIMEOUT = 30.0


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """The test's random seed: ``TIDE_TEST_SEED`` if set, else a fixed one per test."""
    chosen = os.environ.get("TIDE_TEST_SEED")
    return int(chosen) if chosen else sum(map(ord, request.node.name))


async def storm(engine: AsyncEngine, calls: Sequence[Call[T]]) -> list[T | BaseException]:
    """Run every call in its own transaction, all at once; return answers or exceptions."""
    barrier = asyncio.Barrier(len(calls))

    async def client(call: Call[T]) -> T:
        async with engine.begin() as db:
            await barrier.wait()
            return await call(db)

    return await asyncio.gather(
        *(asyncio.wait_for(client(call), CLIENT_TIMEOUT) for call in calls), return_exceptions=True
    )


def answers_only(results: Sequence[T | BaseException], seed: int) -> list[T]:
    """The answers, after checking that no client raised (no deadlock, no timeout, no leak)."""
    failures = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    assert not failures, f"seed={seed}: {len(failures)} clients failed: {failures[:5]}"
    return [r for r in results if not isinstance(r, BaseException)]


async def fetch(engine: AsyncEngine, statement: Any) -> list[Any]:
    async with engine.connect() as db:
        return list(await db.execute(statement))


async def balance_of(engine: AsyncEngine, account_id: int) -> ledger.Balance:
    async with engine.connect() as db:
        return await ledger.balance(db, account_id=account_id)


async def assert_verified(engine: AsyncEngine, seed: int) -> None:
    async with engine.connect() as db:
        findings = await ledger.verify(db)
    assert findings == [], f"seed={seed}: verify found {[str(f) for f in findings]}"


async def committed(engine: AsyncEngine, call: Call[T]) -> T:
    async with engine.begin() as db:
        return await call(db)


def hold_call(books: Books, transfer_id: str, amount: int, **extra: Any) -> Call[ledger.Outcome]:
    async def call(db: AsyncConnection) -> ledger.Outcome:
        return await ledger.place_hold(
            db, transfer_id=transfer_id, wallet_id=books.wallet, clearing_id=books.clearing, amount=amount, **extra
        )

    return call


def capture_call(hold_id: str, capture_id: str, amount: int) -> Call[ledger.Outcome]:
    return lambda db: ledger.capture(db, transfer_id=capture_id, hold_id=hold_id, amount=amount)


def release_call(hold_id: str, release_id: str) -> Call[ledger.Outcome]:
    return lambda db: ledger.release(db, transfer_id=release_id, hold_id=hold_id)


def sweep_call(now: datetime) -> Call[list[str]]:
    return lambda db: ledger.expire_due_holds(db, now=now)


async def test_many_clients_cannot_overspend_one_wallet(pg_engine: AsyncEngine, seed: int) -> None:
    rng = random.Random(seed)
    funded = 12_500
    books = await open_books(pg_engine, wallet_pence=funded)
    requests = {new_id("overspend"): rng.randint(500, 2_000) for _ in range(64)}

    outcomes = answers_only(
        await storm(pg_engine, [hold_call(books, tid, amount) for tid, amount in requests.items()]), seed
    )

    accepted = [o for o in outcomes if o.accepted]
    declined = [o for o in outcomes if not o.accepted]
    assert declined, f"seed={seed}: £{sum(requests.values()) / 100} of holds on £125 must meet declines"
    assert {o.declined for o in declined} == {"insufficient_funds"}, f"seed={seed}"
    assert not any(o.replayed for o in outcomes), f"seed={seed}"
    held = sum(requests[o.transfer_id] for o in accepted)

    wallet = await balance_of(pg_engine, books.wallet)
    assert wallet.debits_pending + wallet.debits_posted <= wallet.credits_posted, f"seed={seed}: {wallet}"
    assert wallet.credits_posted == funded, f"seed={seed}"
    assert wallet.debits_pending == held, f"seed={seed}: pending {wallet.debits_pending}, accepted {held}"
    # Availability only fell during the storm, so every decline must still be unaffordable now:
    # no hold was refused that the wallet could have covered.
    spurious = [o.transfer_id for o in declined if requests[o.transfer_id] <= wallet.available]
    assert not spurious, f"seed={seed}: declined although {wallet.available}p was left: {spurious}"

    t = transfers.c
    holds = await fetch(pg_engine, select(t.id, t.amount).where(t.debit_account_id == books.wallet, t.kind == "hold"))
    assert {row.id for row in holds} == {o.transfer_id for o in accepted}, f"seed={seed}"
    assert sum(row.amount for row in holds) == held, f"seed={seed}"
    recorded = dict(
        await fetch(pg_engine, select(operations.c.id, operations.c.outcome).where(operations.c.id.in_(requests)))
    )
    assert recorded == {o.transfer_id: o.declined or "applied" for o in outcomes}, f"seed={seed}"
    await assert_verified(pg_engine, seed)


async def test_capture_release_and_expiry_race_and_exactly_one_wins(pg_engine: AsyncEngine, seed: int) -> None:
    """Per round, several holds on one wallet come due together and two expiry sweepers run
    while most of them are also captured and released. Each hold is resolved exactly once.

    Some holds are left to the sweepers alone, so a sweeper often expires one hold (updating
    the wallet) before it reaches the next, which a capture may be resolving at that moment:
    the interleaving that deadlocked before resolutions locked the wallet first."""
    rng = random.Random(seed)
    rounds, holds_per_round = 25, 4
    contenders = [("capture", "release")] * 5 + [("capture",)] * 2 + [("release",)] * 2 + [()]
    books = await open_books(pg_engine, wallet_pence=50_000)
    placed_at = utcnow()
    after_expiry = placed_at + timedelta(hours=1)
    winners: dict[str, str] = {}
    captured_total = 0

    for round_no in range(rounds):
        holds = {new_id(f"race{round_no}"): rng.randint(100, 3_000) for _ in range(holds_per_round)}
        for hold_id, amount in holds.items():
            placed = await committed(
                pg_engine, hold_call(books, hold_id, amount, expires_at=placed_at + timedelta(minutes=1))
            )
            assert placed.accepted, f"seed={seed}: {placed}"
        captures = {hold_id: (new_id("cap"), rng.randint(1, amount)) for hold_id, amount in holds.items()}
        releases = {hold_id: new_id("rel") for hold_id in holds}
        racing = {hold_id: rng.choice(contenders) for hold_id in holds}
        calls: list[Call[Any]] = [sweep_call(after_expiry)] * 2
        calls += [capture_call(h, *captures[h]) for h in holds if "capture" in racing[h]]
        calls += [release_call(h, releases[h]) for h in holds if "release" in racing[h]]
        rng.shuffle(calls)
        results = answers_only(await storm(pg_engine, calls), seed)

        outcomes = {o.transfer_id: o for o in results if isinstance(o, ledger.Outcome)}
        swept = Counter(hold_id for r in results if isinstance(r, list) for hold_id in r if hold_id in holds)
        for hold_id in holds:
            capture_id, amount = captures[hold_id]
            mine = [outcomes[i] for i in (capture_id, releases[hold_id]) if i in outcomes]
            assert len(mine) == len(racing[hold_id]), f"seed={seed}"
            wins = [o.transfer.kind for o in mine if o.accepted] + ["expiry"] * swept[hold_id]
            assert len(wins) == 1, f"seed={seed}: hold {hold_id} won by {wins}"
            losers = {o.declined for o in mine if not o.accepted}
            assert losers <= {"hold_already_resolved"}, f"seed={seed}: {losers}"
            winners[hold_id] = wins[0]
            if wins[0] == "capture":
                captured_total += amount

    t = transfers.c
    resolutions = await fetch(
        pg_engine,
        select(t.pending_id, t.kind).where(t.pending_id.in_(winners), t.kind.in_(RESOLVING_KINDS)),
    )
    per_hold = Counter(row.pending_id for row in resolutions)
    assert all(per_hold[h] == 1 for h in winners), f"seed={seed}: {per_hold}"
    assert {row.pending_id: row.kind for row in resolutions} == winners, f"seed={seed}"
    wallet = await balance_of(pg_engine, books.wallet)
    assert wallet.debits_pending == 0, f"seed={seed}: every hold was resolved, {wallet}"
    assert wallet.debits_posted == captured_total, f"seed={seed}: {wallet}"
    assert wallet.credits_posted == 50_000, f"seed={seed}"
    await assert_verified(pg_engine, seed)


async def test_a_storm_of_one_hold_id_makes_one_hold(pg_engine: AsyncEngine, seed: int) -> None:
    books = await open_books(pg_engine, wallet_pence=12_500)
    transfer_id = new_id("dup")

    outcomes = answers_only(await storm(pg_engine, [hold_call(books, transfer_id, 4_321)] * 64), seed)

    assert [o.replayed for o in outcomes].count(False) == 1, f"seed={seed}"
    assert [o.replayed for o in outcomes].count(True) == 63, f"seed={seed}"
    assert {o.transfers for o in outcomes} == {outcomes[0].transfers}, f"seed={seed}: answers differ"
    assert all(o.accepted for o in outcomes), f"seed={seed}"
    t = transfers.c
    assert len(await fetch(pg_engine, select(t.id).where(t.operation_id == transfer_id))) == 1, f"seed={seed}"
    replayed = await fetch(pg_engine, select(func.count()).where(replays.c.operation_id == transfer_id))
    assert replayed[0][0] == 63, f"seed={seed}"
    wallet = await balance_of(pg_engine, books.wallet)
    assert wallet.debits_pending == 4_321, f"seed={seed}: the wallet is debited once, {wallet}"
    await assert_verified(pg_engine, seed)


async def test_a_storm_of_one_capture_id_captures_once(pg_engine: AsyncEngine, seed: int) -> None:
    """The same storm through the Python path (``claim``) that captures, releases and
    allocations share."""
    books = await open_books(pg_engine, wallet_pence=12_500)
    hold_id, capture_id = new_id("hold"), new_id("dupcap")
    await committed(pg_engine, hold_call(books, hold_id, 5_000))

    outcomes = answers_only(await storm(pg_engine, [capture_call(hold_id, capture_id, 4_000)] * 64), seed)

    assert [o.replayed for o in outcomes].count(False) == 1, f"seed={seed}"
    assert {o.transfers for o in outcomes} == {outcomes[0].transfers}, f"seed={seed}: answers differ"
    assert all(o.accepted for o in outcomes), f"seed={seed}"
    t = transfers.c
    assert len(await fetch(pg_engine, select(t.id).where(t.operation_id == capture_id))) == 1, f"seed={seed}"
    wallet = await balance_of(pg_engine, books.wallet)
    assert (wallet.debits_pending, wallet.debits_posted) == (0, 4_000), f"seed={seed}: {wallet}"
    await assert_verified(pg_engine, seed)


@pytest.mark.parametrize("kind", ["hold", "allocation"])
async def test_a_storm_of_one_id_with_different_requests_has_one_effect(
    pg_engine: AsyncEngine, seed: int, kind: str
) -> None:
    """Whichever request claims the id first wins; every request that differs from it is an
    ``IdempotencyConflict``; every one that matches it is a replay. Holds take the SQL
    function's path, allocations the Python one."""
    rng = random.Random(seed)
    books = await open_books(pg_engine, wallet_pence=12_500, team_pence=12_500)
    transfer_id = new_id("mixed")
    amounts = [1_000] * 48 + [rng.choice([999, 1_001, 2_000]) for _ in range(16)]
    rng.shuffle(amounts)

    def call(amount: int) -> Call[ledger.Outcome]:
        if kind == "hold":
            return hold_call(books, transfer_id, amount)
        return lambda db: ledger.allocate(
            db, transfer_id=transfer_id, from_account_id=books.team, to_account_id=books.wallet, amount=amount
        )

    results = await storm(pg_engine, [call(amount) for amount in amounts])

    unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, ledger.IdempotencyConflict)]
    assert not unexpected, f"seed={seed}: {unexpected[:3]}"
    first = [(a, r) for a, r in zip(amounts, results, strict=True) if isinstance(r, ledger.Outcome) and not r.replayed]
    assert len(first) == 1, f"seed={seed}: {len(first)} first answers"
    won_amount, won = first[0]
    for amount, result in zip(amounts, results, strict=True):
        if amount == won_amount:
            assert isinstance(result, ledger.Outcome), f"seed={seed}: {result!r}"
            assert result.transfers == won.transfers, f"seed={seed}"
        else:
            assert isinstance(result, ledger.IdempotencyConflict), f"seed={seed}: {amount}p got {result!r}"
    t = transfers.c
    made = await fetch(pg_engine, select(t.amount).where(t.operation_id == transfer_id))
    assert [row.amount for row in made] == [won_amount], f"seed={seed}"
    wallet = await balance_of(pg_engine, books.wallet)
    effect = wallet.debits_pending if kind == "hold" else wallet.credits_posted - 12_500
    assert effect == won_amount, f"seed={seed}: {wallet}"
    await assert_verified(pg_engine, seed)


async def test_transfers_in_opposite_directions_do_not_deadlock(pg_engine: AsyncEngine, seed: int) -> None:
    """Allocations team → wallet and wallet → team lock both rows; holds on the wallet queue
    on its advisory lock and then its row. All of it at once, and nothing deadlocks."""
    rng = random.Random(seed)
    funded = 20_000
    books = await open_books(pg_engine, wallet_pence=funded, team_pence=funded)
    directions = [(books.team, books.wallet), (books.wallet, books.team)]
    allocations = {new_id("alloc"): (rng.choice(directions), rng.randint(100, 3_000)) for _ in range(56)}
    holds = {new_id("hold"): rng.randint(100, 1_000) for _ in range(16)}

    def allocation_call(transfer_id: str) -> Call[ledger.Outcome]:
        (giver, receiver), amount = allocations[transfer_id]
        return lambda db: ledger.allocate(
            db, transfer_id=transfer_id, from_account_id=giver, to_account_id=receiver, amount=amount
        )

    calls = [allocation_call(tid) for tid in allocations] + [hold_call(books, tid, a) for tid, a in holds.items()]
    rng.shuffle(calls)
    results = await storm(pg_engine, calls)

    deadlocks = [r for r in results if "deadlock" in f"{type(r).__name__} {r}".lower()]
    assert not deadlocks, f"seed={seed}: {deadlocks[:3]}"
    outcomes = answers_only(results, seed)
    assert {o.declined for o in outcomes} <= {None, "insufficient_funds"}, f"seed={seed}"

    net = dict.fromkeys((books.team, books.wallet), funded)
    for outcome in outcomes:
        if outcome.accepted and outcome.transfer_id in allocations:
            (giver, receiver), amount = allocations[outcome.transfer_id]
            net[giver] -= amount
            net[receiver] += amount
    held = sum(holds[o.transfer_id] for o in outcomes if o.accepted and o.transfer_id in holds)
    team, wallet = await balance_of(pg_engine, books.team), await balance_of(pg_engine, books.wallet)
    assert team.posted + wallet.posted == 2 * funded, f"seed={seed}: money appeared or vanished: {team}, {wallet}"
    assert (team.posted, wallet.posted) == (net[books.team], net[books.wallet]), f"seed={seed}"
    assert wallet.debits_pending == held, f"seed={seed}"
    assert team.available >= 0, f"seed={seed}: {team}"
    assert wallet.available >= 0, f"seed={seed}: {wallet}"
    await assert_verified(pg_engine, seed)


async def test_concurrent_refunds_never_exceed_the_capture(pg_engine: AsyncEngine, seed: int) -> None:
    """Refunds and reversals of one capture, all at once, add up to at most the capture,
    and none is refused that would have fitted."""
    rng = random.Random(seed)
    books = await open_books(pg_engine, wallet_pence=12_500)
    hold_id, capture_id = new_id("hold"), new_id("cap")
    await committed(pg_engine, hold_call(books, hold_id, 6_000))
    captured = await committed(
        pg_engine, lambda db: ledger.capture(db, transfer_id=capture_id, hold_id=hold_id, amount=6_000)
    )
    assert captured.accepted, f"seed={seed}"
    requests = {new_id("refund"): ("refund", rng.randint(200, 1_500)) for _ in range(56)}
    requests |= {new_id("reversal"): ("reversal", rng.randint(200, 1_500)) for _ in range(8)}

    def hand_back(transfer_id: str) -> Call[ledger.Outcome]:
        kind, amount = requests[transfer_id]
        if kind == "refund":
            return lambda db: ledger.refund(db, transfer_id=transfer_id, capture_id=capture_id, amount=amount)
        return lambda db: ledger.reverse(db, transfer_id=transfer_id, original_id=capture_id, amount=amount)

    outcomes = answers_only(await storm(pg_engine, [hand_back(tid) for tid in requests]), seed)

    returned = sum(requests[o.transfer_id][1] for o in outcomes if o.accepted)
    assert returned <= 6_000, f"seed={seed}: {returned}p handed back of a 6000p capture"
    declined = [o for o in outcomes if not o.accepted]
    assert declined, f"seed={seed}: {sum(a for _, a in requests.values())}p of refunds must meet declines"
    assert {o.declined for o in declined} <= {"refund_exceeds_capture", "reversal_exceeds_original"}, f"seed={seed}"
    spurious = [o.transfer_id for o in declined if requests[o.transfer_id][1] <= 6_000 - returned]
    assert not spurious, f"seed={seed}: refused although {6_000 - returned}p was left: {spurious}"

    t = transfers.c
    rows = await fetch(
        pg_engine, select(t.amount).where((t.refund_of_id == capture_id) | (t.reverses_id == capture_id))
    )
    assert sum(row.amount for row in rows) == returned, f"seed={seed}"
    wallet = await balance_of(pg_engine, books.wallet)
    assert wallet.credits_posted == 12_500 + returned, f"seed={seed}: {wallet}"
    assert wallet.debits_posted == 6_000, f"seed={seed}: {wallet}"
    await assert_verified(pg_engine, seed)

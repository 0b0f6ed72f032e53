"""Fault injection on real PostgreSQL: requests cut off mid-flight converge when retried.

A client may be cancelled (its task cancelled, a timeout) or lose its connection (the
backend terminated) at any point: before the ledger call, inside it, between it and the
commit, or while the commit's answer is on its way back. Retrying every id with the same
request must then answer it, and the books must show exactly one effect per id: no lost
hold, no doubled capture, counters equal to the accepted outcomes, ``verify`` clean.

Amounts and fault timings come from ``random.Random(seed)``; the seed is in every assertion
message (``TIDE_TEST_SEED`` replays the same draws; the interleaving is up to PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

import asyncpg
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import QueuePool

import ledger
from ledger.schema import operations, transfers
from tests.ledger_support import Books, new_id, open_books

pytestmark = pytest.mark.postgresql

#: Rounds of retries before a request that never answers fails the test.
MAX_RETRY_ROUNDS = 30
#: No single attempt may take longer than this (a hang fails the test rather than the run).
ATTEMPT_TIMEOUT = 30.0

TERMINATE_TIDE_BACKENDS = """
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE application_name = 'tide' AND datname = current_database() AND pid <> pg_backend_pid()
"""


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """The test's random seed: ``TIDE_TEST_SEED`` if set, else a fixed one per test."""
    chosen = os.environ.get("TIDE_TEST_SEED")
    return int(chosen) if chosen else sum(map(ord, request.node.name))


@pytest.fixture
async def admin(postgres_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain asyncpg connection to the test database, outside the engine's pool (and not
    named 'tide', so it never terminates itself)."""
    dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn, timeout=10)
    yield connection
    await connection.close()


@dataclass(frozen=True)
class Request:
    """One client request, sent again unchanged on every retry."""

    id: str
    kind: Literal["hold", "capture", "release"]
    amount: int  # the hold's amount for a hold or release, the amount captured for a capture
    hold_id: str | None = None
    held: int = 0  # for captures: the amount of the hold they capture

    async def send(self, db: AsyncConnection, books: Books) -> ledger.Outcome:
        if self.kind == "hold":
            return await ledger.place_hold(
                db, transfer_id=self.id, wallet_id=books.wallet, clearing_id=books.clearing, amount=self.amount
            )
        assert self.hold_id is not None
        if self.kind == "capture":
            return await ledger.capture(db, transfer_id=self.id, hold_id=self.hold_id, amount=self.amount)
        return await ledger.release(db, transfer_id=self.id, hold_id=self.hold_id)


@dataclass
class Workload:
    books: Books
    funded: int
    setup_holds: dict[str, int]
    requests: list[Request]


async def workload(engine: AsyncEngine, rng: random.Random) -> Workload:
    """A funded wallet with 24 committed holds, and 64 requests against it: 40 new holds
    (more than the wallet can cover, so some are declined), 16 captures and 8 releases of
    the committed holds (one request per hold, so each must be accepted)."""
    funded = 40_000
    books = await open_books(engine, wallet_pence=funded)
    setup_holds = {new_id("setup"): rng.randint(300, 1_200) for _ in range(24)}
    async with engine.begin() as db:
        for hold_id, amount in setup_holds.items():
            placed = await Request(hold_id, "hold", amount).send(db, books)
            placed.raise_if_declined()
    held = list(setup_holds.items())
    rng.shuffle(held)
    requests = [Request(new_id("hold"), "hold", rng.randint(300, 2_000)) for _ in range(40)]
    requests += [
        Request(new_id("capture"), "capture", rng.randint(1, amount), hold_id=hold_id, held=amount)
        for hold_id, amount in held[:16]
    ]
    requests += [Request(new_id("release"), "release", amount, hold_id=hold_id) for hold_id, amount in held[16:]]
    rng.shuffle(requests)
    return Workload(books, funded, setup_holds, requests)


async def attempt(
    engine: AsyncEngine,
    books: Books,
    request: Request,
    *,
    linger: float = 0.0,
    cancel_after_call: float | None = None,
) -> ledger.Outcome:
    """One try of a request in its own transaction. ``linger`` keeps the transaction open on
    the server after the ledger call (other work of the request), so faults land inside it.
    ``cancel_after_call`` cancels the try that many seconds after the ledger call returns:
    during the commit, or after it while the connection goes back to the pool, when the
    request has taken effect but its client never hears the answer."""
    async with engine.begin() as db:
        outcome = await request.send(db, books)
        if linger:
            await db.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": linger})
        if cancel_after_call is not None:
            task = asyncio.current_task()
            assert task is not None
            asyncio.get_running_loop().call_later(cancel_after_call, task.cancel)
        return outcome


def record(
    requests: list[Request],
    results: list[ledger.Outcome | BaseException],
    answers: dict[str, ledger.Outcome],
    faults: Counter[str],
    seed: int,
) -> None:
    """Keep each request's first answer; count the faults; a ledger error is a bug."""
    for request, result in zip(requests, results, strict=True):
        if isinstance(result, ledger.LedgerError):
            pytest.fail(f"seed={seed}: {request} raised {result!r}")
        if isinstance(result, ledger.Outcome):
            first = answers.setdefault(request.id, result)
            same = (first.declined, first.transfers) == (result.declined, result.transfers)
            assert same, f"seed={seed}: {request.id} answered {first} then {result}"
        else:
            faults[type(result).__name__] += 1


async def converge(
    engine: AsyncEngine,
    work: Workload,
    answers: dict[str, ledger.Outcome],
    faults: Counter[str],
    seed: int,
) -> dict[str, ledger.Outcome]:
    """Send every request again (even those answered already), unchanged and all at once,
    then again those that failed, until each has answered; return the last answers
    (replays of the first where there was one)."""
    final: dict[str, ledger.Outcome] = {}
    for _ in range(MAX_RETRY_ROUNDS):
        waiting = [r for r in work.requests if r.id not in final]
        if not waiting:
            break
        results = await asyncio.gather(
            *(asyncio.wait_for(attempt(engine, work.books, r), ATTEMPT_TIMEOUT) for r in waiting),
            return_exceptions=True,
        )
        record(waiting, results, answers, faults, seed)
        final |= {r.id: o for r, o in zip(waiting, results, strict=True) if isinstance(o, ledger.Outcome)}
    unanswered = [r.id for r in work.requests if r.id not in final]
    assert not unanswered, f"seed={seed}: never answered after {MAX_RETRY_ROUNDS} rounds: {unanswered[:5]}"
    return final


async def assert_one_effect_each(
    engine: AsyncEngine, work: Workload, final: dict[str, ledger.Outcome], seed: int
) -> None:
    """Every id has one recorded outcome and exactly the transfers it answered; the wallet's
    and clearing's counters are the sum of the accepted outcomes; ``verify`` is clean."""
    ids = [r.id for r in work.requests]
    async with engine.connect() as db:
        recorded = dict(
            (await db.execute(select(operations.c.id, operations.c.outcome).where(operations.c.id.in_(ids)))).all()
        )
        made = Counter(
            row[0]
            for row in await db.execute(select(transfers.c.operation_id).where(transfers.c.operation_id.in_(ids)))
        )
        wallet = await ledger.balance(db, account_id=work.books.wallet)
        clearing = await ledger.balance(db, account_id=work.books.clearing)
        findings = await ledger.verify(db)

    assert recorded == {i: final[i].declined or "applied" for i in ids}, f"seed={seed}"
    wrong = {i: made[i] for i in ids if made[i] != (1 if final[i].accepted else 0)}
    assert not wrong, f"seed={seed}: transfers per id, expected one per accepted id: {wrong}"
    for request in work.requests:
        outcome = final[request.id]
        if request.kind == "hold":
            assert outcome.declined in {None, "insufficient_funds"}, f"seed={seed}: {outcome}"
        else:
            assert outcome.accepted, f"seed={seed}: each committed hold is resolved by one request: {outcome}"

    accepted = [r for r in work.requests if final[r.id].accepted]
    resolved = {r.hold_id for r in accepted if r.kind != "hold"}
    open_holds = sum(a for h, a in work.setup_holds.items() if h not in resolved)
    open_holds += sum(r.amount for r in accepted if r.kind == "hold")
    captured = sum(min(r.amount, r.held) for r in accepted if r.kind == "capture")
    counters = (wallet.debits_pending, wallet.debits_posted, wallet.credits_posted)
    assert counters == (open_holds, captured, work.funded), f"seed={seed}: {wallet}"
    assert (clearing.credits_pending, clearing.credits_posted) == (open_holds, captured), f"seed={seed}: {clearing}"
    assert wallet.available >= 0, f"seed={seed}: {wallet}"
    assert findings == [], f"seed={seed}: verify found {[str(f) for f in findings]}"


async def test_cancelled_requests_converge_when_retried(pg_engine: AsyncEngine, seed: int) -> None:
    """Two waves of the whole workload in which a third of the tasks are cancelled after a
    random tiny delay (before they reach the database, or inside the ledger call) and a
    third just after their ledger call (in the commit, or after it); then every id retried
    until it answers."""
    rng = random.Random(seed)
    work = await workload(pg_engine, rng)
    answers: dict[str, ledger.Outcome] = {}
    faults: Counter[str] = Counter()
    loop = asyncio.get_running_loop()

    for _wave in range(2):
        tasks = []
        for request in work.requests:
            fate = rng.choice(("in flight", "at commit", "spared"))
            at_commit = rng.uniform(0, 0.002) if fate == "at commit" else None
            tasks.append(asyncio.create_task(attempt(pg_engine, work.books, request, cancel_after_call=at_commit)))
            if fate == "in flight":
                loop.call_later(rng.uniform(0, 0.03), tasks[-1].cancel)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        record(work.requests, results, answers, faults, seed)
    assert faults["CancelledError"], f"seed={seed}: no request was cancelled, so nothing was tested"
    answered_before = set(answers)

    final = await converge(pg_engine, work, answers, faults, seed)

    unexpected = set(faults) - {"CancelledError"}
    assert not unexpected, f"seed={seed}: cancelling raised other errors in later requests: {faults}"
    pool = pg_engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.checkedout() == 0, f"seed={seed}: cancelled requests leaked connections: {pool.status()}"
    not_replayed = [i for i in answered_before if not final[i].replayed]
    assert not not_replayed, f"seed={seed}: answered before, so now replays: {not_replayed[:5]}"
    await assert_one_effect_each(pg_engine, work, final, seed)


async def test_requests_whose_backends_are_killed_converge_when_retried(
    pg_engine: AsyncEngine, admin: asyncpg.Connection, seed: int
) -> None:
    """Backends are terminated from outside, several times, while a wave of requests is in
    flight (each keeping its transaction open a little after the ledger call), and again
    during a second wave. Every id is retried until it answers; then every pooled connection
    is terminated while idle and every id is sent again, so the requests meet dead
    connections (the engine does not pre-ping): they fail at first and then replay their
    first answers. The pool is left to recover by itself throughout."""
    rng = random.Random(seed)
    work = await workload(pg_engine, rng)
    answers: dict[str, ledger.Outcome] = {}
    faults: Counter[str] = Counter()
    terminated = 0

    async def killer(times: int) -> None:
        nonlocal terminated
        for _ in range(times):
            await asyncio.sleep(rng.uniform(0.005, 0.04))
            terminated += sum(1 for row in await admin.fetch(TERMINATE_TIDE_BACKENDS) if row[0])

    for kills in (4, 2):
        waiting = [r for r in work.requests if r.id not in answers]
        lingers = [rng.uniform(0, 0.03) for _ in waiting]
        results, _ = await asyncio.gather(
            asyncio.gather(
                *(
                    asyncio.wait_for(attempt(pg_engine, work.books, r, linger=linger), ATTEMPT_TIMEOUT)
                    for r, linger in zip(waiting, lingers, strict=True)
                ),
                return_exceptions=True,
            ),
            killer(kills),
        )
        record(waiting, results, answers, faults, seed)
    assert terminated, f"seed={seed}: no backend was terminated, so nothing was tested"
    assert faults, f"seed={seed}: {terminated} backends terminated yet no request failed"

    converged = await converge(pg_engine, work, answers, faults, seed)
    await assert_one_effect_each(pg_engine, work, converged, seed)

    idle = sum(1 for row in await admin.fetch(TERMINATE_TIDE_BACKENDS) if row[0])
    assert idle, f"seed={seed}: the pool kept no idle connection to terminate"
    before = faults.total()
    final = await converge(pg_engine, work, answers, faults, seed)

    assert faults.total() > before, f"seed={seed}: {idle} dead pooled connections went unnoticed"
    assert all(o.replayed for o in final.values()), f"seed={seed}"
    await assert_one_effect_each(pg_engine, work, final, seed)

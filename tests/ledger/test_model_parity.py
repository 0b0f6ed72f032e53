"""The ledger, driven by Hypothesis through random histories, always agrees with the model.

A ``RuleBasedStateMachine`` allocates, holds, captures (partly, exactly, above the hold),
releases, lets time pass and expires, refunds, and replays ids old and new, on SQLite and on
PostgreSQL. After every step every balance equals the reference ledger's and
``ledger.verify`` finds nothing. Set ``TIDE_HYPOTHESIS_EXAMPLES`` for a longer run; a failure
prints the blob that replays it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.ext.asyncio import AsyncEngine

import ledger
from ledger.database import create_engine
from tests.ledger.model import ReferenceLedger
from tests.ledger_support import Books, open_books

EXAMPLES = int(os.environ.get("TIDE_HYPOTHESIS_EXAMPLES", "20"))
START = datetime(2031, 3, 2, 9, tzinfo=UTC)
pence = st.integers(min_value=1, max_value=9_000)


class LedgerMatchesModel(RuleBasedStateMachine):
    database_url: str = ""

    holds = Bundle("holds")
    captures = Bundle("captures")
    used_ids = Bundle("used_ids")

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.engine: AsyncEngine = self.runner.run(self._engine())
        self.model = ReferenceLedger()
        self.now = START
        self.books: Books | None = None
        self.requests: dict[str, tuple[str, dict[str, Any]]] = {}

    async def _engine(self) -> AsyncEngine:
        return create_engine(self.database_url, pool_size=2)

    def teardown(self) -> None:
        self.runner.run(self.engine.dispose())
        self.runner.close()

    def run(self, work: Any) -> Any:
        async def once() -> Any:
            async with self.engine.begin() as db:
                return await work(db)

        return self.runner.run(once())

    @property
    def ids(self) -> Books:
        assert self.books is not None
        return self.books

    def call(self, kind: str, transfer_id: str, **kwargs: Any) -> ledger.Outcome:
        self.requests[transfer_id] = (kind, kwargs)
        function = getattr(ledger, kind)
        return self.run(lambda db: function(db, transfer_id=transfer_id, now=self.now, **kwargs))  # type: ignore[no-any-return]

    @initialize(team=st.integers(20_000, 200_000), wallet=st.integers(5_000, 30_000))
    def open_the_books(self, team: int, wallet: int) -> None:
        self.books = self.runner.run(open_books(self.engine, wallet_pence=wallet, team_pence=team))
        self.model.team.credits_posted = team + wallet
        self.model.team.debits_posted = wallet
        self.model.wallet.credits_posted = wallet

    @rule(target=used_ids, amount=pence)
    def allocate_to_the_wallet(self, amount: int) -> str:
        transfer_id = f"alloc-{uuid.uuid4().hex}"
        outcome = self.call(
            "allocate", transfer_id, from_account_id=self.ids.team, to_account_id=self.ids.wallet, amount=amount
        )
        assert outcome.declined == self.model.allocate(transfer_id, amount)
        return transfer_id

    @rule(target=holds, amount=pence, minutes=st.integers(1, 600))
    def place_a_hold(self, amount: int, minutes: int) -> str:
        transfer_id = f"hold-{uuid.uuid4().hex}"
        expires_at = self.now + timedelta(minutes=minutes)
        outcome = self.call(
            "place_hold",
            transfer_id,
            wallet_id=self.ids.wallet,
            clearing_id=self.ids.clearing,
            amount=amount,
            expires_at=expires_at,
        )
        assert outcome.declined == self.model.hold(transfer_id, amount, expires_at)
        return transfer_id

    @rule(target=captures, hold=holds, how=st.sampled_from(["part", "all", "over"]), extra=pence)
    def capture_a_hold(self, hold: str, how: str, extra: int) -> str:
        if hold not in self.model.holds:  # the hold was declined: it does not exist
            return hold
        held = self.model.holds[hold].amount
        amount = {"part": max(1, held - extra), "all": held, "over": held + extra}[how]
        transfer_id = f"cap-{uuid.uuid4().hex}"
        outcome = self.call(
            "capture", transfer_id, hold_id=hold, amount=amount, overspend_account_id=self.ids.receivable
        )
        expected = self.model.capture(transfer_id, hold, amount)
        assert outcome.declined == expected
        if expected is None:
            made = {t.id: t.amount for t in outcome.transfers}
            assert made == {tid: a for tid, (a, _) in self.model.captured.items() if tid.startswith(transfer_id)}
        return transfer_id

    @rule(hold=holds)
    def release_a_hold(self, hold: str) -> None:
        if hold not in self.model.holds:
            return
        transfer_id = f"rel-{uuid.uuid4().hex}"
        outcome = self.call("release", transfer_id, hold_id=hold)
        assert outcome.declined == self.model.release(transfer_id, hold)

    @rule(minutes=st.integers(1, 900))
    def let_time_pass_and_expire_holds(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        expired = self.run(lambda db: ledger.expire_due_holds(db, now=self.now, limit=10_000))
        ours = sorted(h for h in expired if h in self.model.holds)
        assert ours == self.model.expire(self.now)

    @rule(capture=captures, extra=st.integers(0, 500), finish=st.booleans())
    def refund_part_then_too_much_then_the_rest(self, capture: str, extra: int, finish: bool) -> None:
        for part in (capture, f"{capture}:excess", f"{capture}:overspend"):
            if part not in self.model.captured:
                continue
            left = self.model.captured[part][0] - self.model.returned.get(part, 0)
            attempts = [max(1, left // 2), max(1, left - max(1, left // 2) + 1 + extra)]
            if finish:
                attempts.append(max(1, left - max(1, left // 2)))
            for amount in attempts:
                transfer_id = f"ref-{uuid.uuid4().hex}"
                outcome = self.call("refund", transfer_id, capture_id=part, amount=amount)
                assert outcome.declined == self.model.refund(transfer_id, part, amount)

    @rule(transfer_id=st.one_of(used_ids, holds, captures))
    def replay_an_id_with_the_same_request(self, transfer_id: str) -> None:
        if transfer_id not in self.requests:
            return
        kind, kwargs = self.requests[transfer_id]
        before = self.balances()
        function = getattr(ledger, kind)
        outcome: ledger.Outcome = self.run(lambda db: function(db, transfer_id=transfer_id, now=self.now, **kwargs))
        assert outcome.replayed
        assert outcome.declined == self.model.answers[transfer_id][1]
        assert self.balances() == before

    @rule(transfer_id=st.one_of(used_ids, holds), more=st.integers(1, 50))
    def reuse_an_id_for_a_different_request_is_refused(self, transfer_id: str, more: int) -> None:
        kind, kwargs = self.requests[transfer_id]
        changed = {**kwargs, "amount": kwargs["amount"] + more}
        function = getattr(ledger, kind)
        with pytest.raises(ledger.IdempotencyConflict):
            self.run(lambda db: function(db, transfer_id=transfer_id, now=self.now, **changed))

    def balances(self) -> tuple[tuple[int, int, int, int], ...]:
        async def read(db: Any) -> tuple[tuple[int, int, int, int], ...]:
            found = []
            for account_id in (self.ids.team, self.ids.wallet, self.ids.clearing, self.ids.receivable):
                b = await ledger.balance(db, account_id=account_id)
                found.append((b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted))
            return tuple(found)

        return self.run(read)  # type: ignore[no-any-return]

    @invariant()
    def balances_equal_the_model_and_the_ledger_verifies(self) -> None:
        if self.books is None:
            return
        model = self.model
        assert self.balances() == (
            model.team.as_tuple(),
            model.wallet.as_tuple(),
            model.clearing.as_tuple(),
            model.receivable.as_tuple(),
        )
        assert model.wallet.available >= 0
        assert self.run(ledger.verify) == []


def _run(database_url: str) -> None:
    machine = type("LedgerMatchesModelOn", (LedgerMatchesModel,), {"database_url": database_url})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=25,
            deadline=None,
            print_blob=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_the_ledger_on_sqlite_matches_the_model_through_random_histories(sqlite_url: str) -> None:
    _run(sqlite_url)


@pytest.mark.postgresql
def test_the_ledger_on_postgresql_matches_the_model_through_random_histories(postgres_url: str) -> None:
    _run(postgres_url)

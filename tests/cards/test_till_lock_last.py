"""The one-call answer (PostgreSQL, migration 0021) locks the wallet's row last: an approval has
written its rows before it waits for the wallet, and decisions racing for one wallet, each in a
call of its own, still never overspend it and record every decline as they did."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

import ledger
from cards import fast_till
from cards.answers import read_request
from cards.till_call import DECIDE, DecideCall, values
from ledger.database import create_engine
from tests.cards import till_rows
from tests.cards.support import card_for, request_event
from tests.wallet.support import County
from wallet.clock import now_utc

pytestmark = pytest.mark.postgresql

#: What an approval writes besides the wallet's counter.
ROWS = {"ledger_operations", "ledger_transfers", "purchases", "card_authorizations", "audit_log", "card_decisions"}


@pytest.fixture
async def county(cards_county_postgres: str) -> AsyncIterator[County]:
    engine = create_engine(cards_county_postgres, pool_size=12)
    try:
        yield County(engine)
    finally:
        await engine.dispose()


async def _call(county: County, event: dict[str, Any]) -> tuple[DecideCall, int]:
    """What the till gives ``card_decide`` for ``event`` (the policy allows it), and the wallet's account."""
    database = str(county.engine.url)
    ask = read_request(str(event["id"]), event["data"]["object"])
    assert ask.card_stripe_id is not None
    fast_till._POLICY.pop(database, None)  # the policy in force now, not one an earlier test left remembered
    wallet, clearing, (policy_id, _) = await fast_till._facts(county.engine, database, ask.card_stripe_id)
    now = now_utc()
    call = fast_till._arguments(
        ask, wallet, clearing, policy_id=policy_id, answer=("allow", [], False), allow_partial=False, now=now
    )
    return call, wallet.account_id


async def _decide(county: County, call: DecideCall) -> Any:
    async with county.engine.connect() as connection:
        driver: Any = (await connection.get_raw_connection()).driver_connection
        return await driver.fetchrow(DECIDE, *values(call))


async def test_an_approval_has_written_its_rows_before_it_waits_for_the_wallet(county: County) -> None:
    card = await card_for(county, await county.new_key_worker(wallet_pence=5_000))
    event = request_event(card, 700)
    call, account = await _call(county, event)
    async with county.engine.connect() as a, county.engine.connect() as b, county.engine.connect() as c:
        holder: Any = (await a.get_raw_connection()).driver_connection
        decider: Any = (await b.get_raw_connection()).driver_connection
        watcher: Any = (await c.get_raw_connection()).driver_connection
        held = holder.transaction()
        await held.start()
        await holder.execute("SELECT 1 FROM ledger_accounts WHERE id = $1 FOR NO KEY UPDATE", account)
        deciding = asyncio.create_task(decider.fetchrow(DECIDE, *values(call)))
        pid = decider.get_server_pid()
        waiting_for = None
        for _ in range(500):
            waiting_for = await watcher.fetchval("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid)
            if waiting_for == "Lock":
                break
            await asyncio.sleep(0.01)
        written = {
            str(r[0])
            for r in await watcher.fetch(
                "SELECT relation::regclass::text FROM pg_locks"
                " WHERE pid = $1 AND locktype = 'relation' AND mode = 'RowExclusiveLock' AND granted",
                pid,
            )
        }
        await held.rollback()
        row = await deciding
    assert waiting_for == "Lock"
    assert written >= ROWS, written  # all written, the wallet's counter not yet moved
    assert row["approved"]
    assert (await till_rows.rows(county, event))["available"] == 5_000 - 700


async def test_calls_racing_for_one_wallet_never_overspend_and_record_each_decline(county: County) -> None:
    card = await card_for(county, await county.new_key_worker(wallet_pence=10_000))
    events = [request_event(card, 700) for _ in range(30)]
    calls = [(await _call(county, event))[0] for event in events]
    answers = await asyncio.gather(*(_decide(county, call) for call in calls))
    assert sum(bool(a["approved"]) for a in answers) == 14  # 14 at £7 fit in £100; the 15th does not
    for event, answer in zip(events, answers, strict=True):
        held = bool(answer["approved"])
        rows = await till_rows.rows(county, event)
        assert list(answer["reasons"]) == ([] if held else ["insufficient_funds"])
        assert rows["decision"][2:5] == (held, 700 if held else 0, [] if held else ["insufficient_funds"])
        assert rows["authorization"][1] is held
        assert rows["purchase"][7:10] == ("held" if held else "declined", "allow", list(answer["reasons"]))
        assert rows["purchase"][11] is True
        assert rows["audit"][0][0] == f"card.authorization.{'approved' if held else 'declined'}"
        assert rows["available"] == 10_000 - 14 * 700
    async with county.engine.begin() as connection:
        assert await ledger.verify(connection) == []

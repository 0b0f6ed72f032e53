"""Passwords are hashed and checked off the event loop, a bounded number at a time.

The hasher is slowed on purpose here (half a second a check), so what the event loop does
meanwhile is plain: while four people sign in at once,
another coroutine still runs every few milliseconds. Checked on the event loop (as before),
each sign-in stopped it for the whole check.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from argon2 import PasswordHasher

from tests.wallet.support import PASSWORD, County
from wallet import password_hashing
from wallet.clock import now_utc
from wallet.identity import sign_in
from wallet.password_hashing import CONCURRENT_HASHES, hashed, matches

SLOW_CHECK_SECONDS = 0.5


@pytest.fixture
def slow_checks(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Every password check takes half a second longer; records how many ran at once, and where."""
    seen: dict[str, Any] = {"at_once": 0, "most_at_once": 0, "threads": set()}
    lock = threading.Lock()
    real = PasswordHasher.verify

    def slow(self: PasswordHasher, password_hash: str | bytes, password: str | bytes) -> bool:
        with lock:
            seen["at_once"] += 1
            seen["most_at_once"] = max(seen["most_at_once"], seen["at_once"])
            seen["threads"].add(threading.get_ident())
        try:
            time.sleep(SLOW_CHECK_SECONDS)  # as argon2, it lets other threads run meanwhile
            return real(self, password_hash, password)
        finally:
            with lock:
                seen["at_once"] -= 1

    monkeypatch.setattr(PasswordHasher, "verify", slow)
    return seen


async def _longest_pause_while(work: Any) -> float:
    """The longest the event loop went without running a ticking coroutine while ``work`` ran."""
    longest, last, done = 0.0, time.perf_counter(), False

    async def tick() -> None:
        nonlocal longest, last
        while not done:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            longest, last = max(longest, now - last), now

    ticker = asyncio.create_task(tick())
    try:
        await work
    finally:
        done = True
        await ticker
    return longest


async def test_four_sign_ins_at_once_never_stop_the_event_loop_for_a_password_check(
    county: County, slow_checks: dict[str, Any]
) -> None:
    worker = await county.new_key_worker(wallet_pence=0)

    async def one() -> None:
        async with county.session() as db:
            await sign_in(db, email=worker.email, password=PASSWORD, ip="192.0.2.9", now=now_utc())

    longest = await _longest_pause_while(asyncio.gather(*(one() for _ in range(4))))

    assert threading.get_ident() not in slow_checks["threads"], "a password was checked on the event loop's thread"
    assert longest < SLOW_CHECK_SECONDS, f"the event loop stopped for {longest:.3f}s"


async def test_no_more_than_the_bound_of_checks_run_at_once(slow_checks: dict[str, Any]) -> None:
    stored = password_hashing.hash_now(PASSWORD)

    results = await asyncio.gather(*(matches(stored, PASSWORD if n % 2 else "wrong") for n in range(6)))

    assert results == [False, True] * 3
    assert slow_checks["most_at_once"] == CONCURRENT_HASHES


async def test_a_password_hashed_off_the_loop_checks_as_any_argon2_hash() -> None:
    stored = await hashed("correct horse battery staple")

    assert PasswordHasher().verify(stored, "correct horse battery staple")
    assert await matches(stored, "correct horse battery staple")
    assert not await matches(stored, "Correct horse battery staple")
    assert not await matches("not a hash", "anything")

"""How often a sign-in may be tried: per account and per client, atomically, with a growing wait.

Each attempt first takes its turn with one statement per limit: an ``INSERT … ON CONFLICT DO
UPDATE … WHERE`` that counts the attempt as a failure and answers the new count, but only if the
limit's next allowed moment has come (no row answered: the attempt must wait). Parallel attempts
queue on the limit's row, so no burst gets more turns than the limit allows. A right password
gives its turn back (the account's count starts again; the client's loses this attempt).

Beyond its free failures a limit makes the next attempt wait, twice as long after each further
failure, up to a cap: a person whose account an attacker keeps guessing waits at most
``ACCOUNT.cap_seconds`` — delayed, never locked out. A client (an address) has more free
failures and a longer cap: guessing many accounts from one place slows down to a few an hour.
Failures older than the window (or newer than now: a clock set back) are forgotten. Keys are
hashes: no email or address is kept here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Integer, String, case, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from wallet.errors import TooManySignInAttempts
from wallet.models import Base

#: Failures further apart than this start the count again.
WINDOW = timedelta(minutes=15)
_WINDOW_MS = int(WINDOW.total_seconds() * 1000)


@dataclass(frozen=True, slots=True)
class Limit:
    """``free`` failures without waiting; then a wait from one second, doubling, up to ``cap_seconds``."""

    kind: str
    free: int
    cap_seconds: int


ACCOUNT = Limit(kind="account", free=5, cap_seconds=60)
CLIENT = Limit(kind="client", free=20, cap_seconds=15 * 60)


class SignInLimit(Base):
    """One limit's state: recent failures, the wait they earned and when the next try may come."""

    __tablename__ = "sign_in_limits"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    wait_seconds: Mapped[int] = mapped_column(Integer)
    last_failure_ms: Mapped[int] = mapped_column(BigInteger)
    next_try_ms: Mapped[int] = mapped_column(BigInteger)


def key_of(limit: Limit, value: str) -> str:
    return f"{limit.kind}:{hashlib.sha256(value.encode()).hexdigest()[:64]}"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _insert(db: AsyncSession) -> Any:
    dialect = db.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(SignInLimit)


async def take_turn(db: AsyncSession, *, limit: Limit, value: str, now: datetime) -> None:
    """Count an attempt against ``limit`` for ``value`` (an email, an address) if its turn has
    come; ``TooManySignInAttempts`` (with the seconds to wait) if not."""
    key, now_ms = key_of(limit, value), _ms(now)
    table = SignInLimit.__table__.c
    # Failures from before the window, or from after now (a clock set back), are forgotten.
    stale = (table.last_failure_ms <= now_ms - _WINDOW_MS) | (table.last_failure_ms > now_ms)
    failures = case((stale, 1), else_=table.failures + 1)
    wait = case(
        (failures < limit.free, 0),
        (stale | (table.wait_seconds == 0), 1),
        (table.wait_seconds * 2 > limit.cap_seconds, limit.cap_seconds),
        else_=table.wait_seconds * 2,
    )
    statement = _insert(db).values(key=key, failures=1, wait_seconds=0, last_failure_ms=now_ms, next_try_ms=now_ms)
    statement = statement.on_conflict_do_update(
        index_elements=[table.key],
        set_={
            "failures": failures,
            "wait_seconds": wait,
            "last_failure_ms": now_ms,
            "next_try_ms": literal(now_ms, BigInteger) + wait * 1000,
        },
        where=(table.next_try_ms <= now_ms) | (table.last_failure_ms > now_ms),
    ).returning(table.failures)
    if (await db.execute(statement)).first() is None:
        waiting = await db.get(SignInLimit, key, populate_existing=True)
        seconds = max(1, -(-((waiting.next_try_ms if waiting else now_ms) - now_ms) // 1000))
        raise TooManySignInAttempts(
            f"too many failed sign-ins; try again in {seconds} seconds", retry_after_seconds=seconds
        )


async def give_back(db: AsyncSession, *, limit: Limit, value: str, now: datetime, forget: bool) -> None:
    """A right password: the account's failures are forgotten (``forget``); a client's count
    loses this attempt, and its wait lifts if it is back among the free failures."""
    table = SignInLimit.__table__.c
    if forget:
        values: dict[str, Any] = {"failures": 0, "wait_seconds": 0, "next_try_ms": _ms(now)}
    else:
        back_to_free = table.failures - 1 < limit.free
        values = {
            "failures": case((table.failures > 0, table.failures - 1), else_=0),
            "wait_seconds": case((back_to_free, 0), else_=table.wait_seconds),
            "next_try_ms": case((back_to_free, _ms(now)), else_=table.next_try_ms),
        }
    await db.execute(update(SignInLimit).where(table.key == key_of(limit, value)).values(**values))

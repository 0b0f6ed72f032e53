"""Password hashing off the event loop, a bounded number at a time.

Argon2 is slow on purpose (tens of milliseconds of CPU and 64 MiB per hash): run on the event
loop, every sign-in stops every other request of the process for that long, the card till
included. So hashing and checking run on worker threads (argon2 releases the GIL), and at most
``CONCURRENT_HASHES`` at once per process: a burst of sign-ins queues for the hasher instead of
taking every core from the requests that answer in milliseconds.
"""

from __future__ import annotations

import asyncio
import weakref
from functools import partial

import anyio.to_thread
from anyio import CapacityLimiter
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

#: Hashes computed at once by one process: one leaves the other core to answer requests.
CONCURRENT_HASHES = 1

_hasher = PasswordHasher()
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = weakref.WeakKeyDictionary()


def _limiter() -> CapacityLimiter:
    """The running loop's limiter (a limiter belongs to one loop; tests run many)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(CONCURRENT_HASHES)
    return limiter


def hash_now(password: str) -> str:
    """The argon2 hash of ``password``, on the calling thread (for commands, not requests)."""
    return _hasher.hash(password)


def matches_now(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``, on the calling thread."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hashed(password: str) -> str:
    """The argon2 hash of ``password``, computed on a worker thread."""
    return await anyio.to_thread.run_sync(hash_now, password, limiter=_limiter())


async def matches(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``, checked on a worker thread."""
    return await anyio.to_thread.run_sync(partial(matches_now, password_hash, password), limiter=_limiter())

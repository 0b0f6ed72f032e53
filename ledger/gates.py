"""A per-wallet gate in each process: how many holds on one wallet may wait in the database at once.

The database serialises holds on one wallet (an advisory lock per wallet, then the limit
check); that is what keeps the limit, across every process. But when dozens of requests for
one hot wallet all wait inside PostgreSQL, the server spends its time waking and switching
between them and throughput collapses. So each process lets at most ``PER_WALLET`` of its
holds on a wallet into the database at a time; the rest queue here, in the event loop, which
costs nothing. This is only a throttle: correctness never depends on it (a second process has
its own gate, and the database still decides).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from weakref import WeakValueDictionary

PER_WALLET = 2

_gates: WeakValueDictionary[tuple[int, int], asyncio.Semaphore] = WeakValueDictionary()


@asynccontextmanager
async def wallet_gate(wallet_id: int) -> AsyncIterator[None]:
    """Wait for one of this process's places for ``wallet_id`` (per event loop)."""
    key = (id(asyncio.get_running_loop()), wallet_id)
    gate = _gates.get(key)
    if gate is None:
        gate = asyncio.Semaphore(PER_WALLET)
        _gates[key] = gate
    async with gate:
        yield

"""CPU seconds a case cost the server and the database, read from ``/proc`` (Linux, and a
PostgreSQL on this machine): a figure the other loads on a shared machine disturb far less
than decisions per second, which is what one answer costs, not how fast the machine was
free to give it.

The server is its process and its workers; the database is every backend connected to the
benchmark's database (the servers' pools, autovacuum), less the one asking. Where ``/proc``
cannot be read (another system, a remote database) the figures are ``None``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _family(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid, *(int(child) for child in children)]


class Meter:
    """Snapshots of the CPU seconds used so far by a server process and the database's backends."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver  # an asyncpg connection to the benchmark's database

    async def snapshot(self, server_pid: int) -> tuple[dict[int, float], dict[int, float]]:
        rows = await self.driver.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        server = {pid: _seconds(pid) for pid in _family(server_pid)}
        database = {int(row[0]): _seconds(int(row[0])) for row in rows}
        return (
            {pid: s for pid, s in server.items() if s is not None},
            {pid: s for pid, s in database.items() if s is not None},
        )


def spent(before: dict[int, float], after: dict[int, float]) -> float | None:
    """CPU seconds between two snapshots (a process that started meanwhile counts from zero);
    ``None`` when nothing could be read."""
    if not after:
        return None
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())

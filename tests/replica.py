"""A PostgreSQL primary and a streaming replica of it, made for a test module.

The primary is a fresh cluster (``initdb`` in a temporary folder, ``wal_level=replica``, a free
port on 127.0.0.1, trust authentication); the replica is ``pg_basebackup -R`` of it, started
as a hot standby. PostgreSQL refuses to run as root, so as root every server command runs as
the ``postgres`` system user. When the servers cannot be made the tests skip with the reason,
except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import IN_CI

PG_BIN = Path(os.environ.get("TIDE_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
REPLAY_WAIT_SECONDS = 60
SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c shared_buffers=16MB -c max_connections=40 "
    "-c max_wal_senders=4 -c wal_level=replica -c fsync=off -c synchronous_commit=off"
)


class ClusterUnavailable(RuntimeError):
    """The primary or the replica could not be made."""


@dataclass(frozen=True)
class Pair:
    """A primary and its replica: each a SQLAlchemy URL of the database ``tide``."""

    primary_url: str
    replica_url: str
    primary_port: int
    replica_port: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ClusterUnavailable("running as root and runuser is missing (PostgreSQL refuses to run as root)")
    return [runuser, "-u", "postgres", "--", *args]


def _run(args: list[str]) -> None:
    command = _as_server_user(args)
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603 - PostgreSQL's own tools
    if done.returncode != 0:
        raise ClusterUnavailable(f"{Path(args[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")


def _tool(name: str) -> str:
    path = PG_BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        raise ClusterUnavailable(f"{name} is not in {PG_BIN} nor on PATH")
    return found


def _start(data: Path, port: int, socket_dir: Path) -> None:
    options = f"{SERVER_OPTIONS} -c port={port} -c unix_socket_directories={socket_dir}"
    _run([_tool("pg_ctl"), "-D", str(data), "-o", options, "-l", str(data.parent / f"{data.name}.log"), "-w", "start"])


async def _sql(port: int, sql: str, database: str = "postgres") -> object:
    connection = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres", database=database, timeout=10)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


#: What a report reads, counted on both servers: the replica has replayed the writes when a
#: fresh snapshot there sees what the primary sees (the replayed LSN alone was seen to be
#: reached a moment before a new snapshot on the replica showed the last commit).
SEEN = "SELECT (SELECT count(*) FROM ledger_transfers) || '/' || (SELECT count(*) FROM purchases)"


def wait_for_replay(pair: Pair, database: str = "tide") -> None:
    """Until the replica has replayed everything the primary had written when called, and a new
    snapshot on the replica sees it."""
    target = asyncio.run(_sql(pair.primary_port, "SELECT pg_current_wal_lsn()::text"))
    seen = asyncio.run(_sql(pair.primary_port, SEEN, database))
    deadline = time.monotonic() + REPLAY_WAIT_SECONDS
    query = f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
    while not (
        asyncio.run(_sql(pair.replica_port, query)) and asyncio.run(_sql(pair.replica_port, SEEN, database)) == seen
    ):
        if time.monotonic() > deadline:
            raise ClusterUnavailable(f"the replica did not replay up to {target} in {REPLAY_WAIT_SECONDS} s")
        time.sleep(0.1)


def _url(port: int) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/tide"


def _make(folder: Path) -> Pair:
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres", group="postgres")
    primary, replica = folder / "primary", folder / "replica"
    _run([_tool("initdb"), "-D", str(primary), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
    primary_port, replica_port = _free_port(), _free_port()
    _start(primary, primary_port, folder)
    asyncio.run(_sql(primary_port, "CREATE DATABASE tide"))
    _run(
        [
            *(_tool("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres"),
            *("-D", str(replica), "-R", "-X", "stream", "-c", "fast"),
        ]
    )
    _start(replica, replica_port, folder)
    return Pair(_url(primary_port), _url(replica_port), primary_port, replica_port)


def _stop(folder: Path) -> None:
    for name in ("replica", "primary"):
        if (folder / name / "postmaster.pid").exists():
            subprocess.run(  # noqa: S603 - PostgreSQL's own pg_ctl
                _as_server_user([_tool("pg_ctl"), "-D", str(folder / name), "-m", "immediate", "-w", "stop"]),
                capture_output=True,
                timeout=60,
                check=False,
            )


@pytest.fixture(scope="module")
def primary_and_replica() -> Iterator[Pair]:
    """A fresh primary with an empty database ``tide`` and its streaming replica."""
    folder = Path(tempfile.mkdtemp(prefix="tide-replica-"))
    try:
        try:
            pair = _make(folder)
        except (ClusterUnavailable, OSError, subprocess.SubprocessError, asyncpg.PostgresError) as exc:
            if IN_CI:
                pytest.fail(f"CI requires a primary and replica: {exc}", pytrace=False)
            pytest.skip(f"no primary and replica: {exc}")
        yield pair
    finally:
        _stop(folder)
        shutil.rmtree(folder, ignore_errors=True)

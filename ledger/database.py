"""Engines for the two databases Tide runs on.

PostgreSQL (``postgresql+asyncpg://``) in production and CI, at READ COMMITTED: the
ledger's conditional updates and row locks make that enough. SQLite
(``sqlite+aiosqlite://``) as the embedded default: foreign keys on, WAL, and every
transaction opened with ``BEGIN IMMEDIATE`` so writers are serialised and a read-then-write
can never interleave with another writer. The URL is the caller's (Tide's settings hold it):
the ledger reads no environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

#: How long a new PostgreSQL connection may take before the request is answered 503.
CONNECT_TIMEOUT_SECONDS = 5


@dataclass(frozen=True, slots=True)
class DatabaseLimits:
    """How long Tide waits on its database, and whether it may write there.

    ``connect_timeout``: seconds a new connection may take (asyncpg's own is sixty).
    ``statement_timeout``: seconds one statement may run before the server cancels it (0: no limit).
    ``read_only``: every transaction is read-only (``default_transaction_read_only``): the
    engine of reports and exports, which may point at a streaming replica.
    """

    connect_timeout: float = CONNECT_TIMEOUT_SECONDS
    statement_timeout: float = 0
    read_only: bool = False


def postgresql_connect_args(limits: DatabaseLimits) -> dict[str, Any]:
    """asyncpg's ``connect_args`` for ``limits``: the one place Tide's connection options are made."""
    server_settings = {"application_name": "tide"}
    if limits.statement_timeout > 0:
        server_settings["statement_timeout"] = str(int(limits.statement_timeout * 1000))
    if limits.read_only:
        server_settings["default_transaction_read_only"] = "on"
    return {"server_settings": server_settings, "timeout": limits.connect_timeout}


def create_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, limits: DatabaseLimits | None = None
) -> AsyncEngine:
    """An async engine for ``url``, configured for the ledger's rules on either database."""
    limits = limits or DatabaseLimits()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, pool_size=pool_size, max_overflow=0)
        _serialise_sqlite_writers(engine)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=0,
        # No pre-ping: it costs a round trip per transaction. A connection found dead is
        # invalidated by SQLAlchemy on first use, and callers retry (every write is idempotent).
        pool_recycle=1800,
        # A server that does not answer is given up on after the connect timeout, not asyncpg's sixty.
        connect_args=postgresql_connect_args(limits),
    )


def _serialise_sqlite_writers(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgresql(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database."""
    return make_url(url).get_backend_name() == "postgresql"

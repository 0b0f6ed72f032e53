"""Engines for the two databases Tide runs on.

PostgreSQL (``postgresql+asyncpg://``) in production and CI, at READ COMMITTED: the
ledger's conditional updates and row locks make that enough. SQLite
(``sqlite+aiosqlite://``) as the embedded default: foreign keys on, WAL, and every
transaction opened with ``BEGIN IMMEDIATE`` so writers are serialised and a read-then-write
can never interleave with another writer. The URL is the caller's (Tide's settings hold it):
the ledger reads no environment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

#: How long a new PostgreSQL connection may take before the request is answered 503.
CONNECT_TIMEOUT_MS = 5_000


@dataclass(frozen=True, slots=True)
class Pooling:
    """How a process shares its PostgreSQL connections (Tide's settings fill it in).

    ``transaction_pooler``: the URL goes through a pooler in transaction mode (PgBouncer), so
    consecutive transactions may run on different server connections: nothing may outlive a
    transaction on the server, prepared statements included.
    """

    max_overflow: int = 0
    timeout_seconds: int = 30
    recycle_seconds: int = 1800
    application_name: str = "tide"
    transaction_pooler: bool = False


@dataclass(frozen=True, slots=True)
class DatabaseLimits:
    """How long Tide waits on its database, and whether it may write there.

    ``connect_timeout_ms``: milliseconds a new connection may take (asyncpg's own is sixty seconds).
    ``statement_timeout_ms``: milliseconds one statement may run before the server cancels it (0: no limit).
    ``read_only``: every transaction is read-only (``default_transaction_read_only``): the
    engine of reports and exports, which may point at a streaming replica.

    Through a transaction pooler these two are not sent at connection start (PgBouncer refuses
    startup parameters it does not track, and a session setting would stay on a server
    connection other clients share): each transaction sets them for itself instead, in its
    first statement (``set_config(…, true)``, the function form of ``SET LOCAL``).
    """

    connect_timeout_ms: int = CONNECT_TIMEOUT_MS
    statement_timeout_ms: int = 0
    read_only: bool = False


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    pooling: Pooling | None = None,
    limits: DatabaseLimits | None = None,
) -> AsyncEngine:
    """An async engine for ``url``, configured for the ledger's rules on either database."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, pool_size=pool_size, max_overflow=0)
        _serialise_sqlite_writers(engine)
        return engine
    pooling, limits = pooling or Pooling(), limits or DatabaseLimits()
    engine = create_async_engine(url, echo=echo, **postgres_engine_options(pool_size, pooling, limits))
    if pooling.transaction_pooler:
        _limit_each_transaction(engine, limits)
    return engine


def transaction_limits_statement(limits: DatabaseLimits) -> str | None:
    """The one statement that gives a transaction ``limits`` for itself (through a transaction
    pooler), or ``None`` when there is nothing to set."""
    settings = []
    if limits.statement_timeout_ms > 0:
        settings.append(f"set_config('statement_timeout', '{int(limits.statement_timeout_ms)}', true)")
    if limits.read_only:
        settings.append("set_config('transaction_read_only', 'on', true)")
    return f"SELECT {', '.join(settings)}" if settings else None


def _limit_each_transaction(engine: AsyncEngine, limits: DatabaseLimits) -> None:
    statement = transaction_limits_statement(limits)
    if statement is None:
        return

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(statement)


def postgres_engine_options(pool_size: int, pooling: Pooling, limits: DatabaseLimits | None = None) -> dict[str, Any]:
    """SQLAlchemy's and asyncpg's options for a PostgreSQL engine: the one place they are chosen."""
    limits = limits or DatabaseLimits()
    server_settings = {"application_name": pooling.application_name}
    if not pooling.transaction_pooler:
        if limits.statement_timeout_ms > 0:
            server_settings["statement_timeout"] = str(limits.statement_timeout_ms)
        if limits.read_only:
            server_settings["default_transaction_read_only"] = "on"
    connect_args: dict[str, Any] = {
        "server_settings": server_settings,
        # A server that does not answer is given up on after the connect timeout, not asyncpg's sixty.
        "timeout": limits.connect_timeout_ms / 1000,
    }
    if pooling.transaction_pooler:
        # A server connection is shared between clients: no statement cache, and any statement
        # asyncpg still prepares gets a name no other client can have used.
        connect_args["statement_cache_size"] = 0
        connect_args["prepared_statement_cache_size"] = 0
        connect_args["prepared_statement_name_func"] = _unique_statement_name
    return {
        "pool_size": pool_size,
        "max_overflow": pooling.max_overflow,
        "pool_timeout": pooling.timeout_seconds,
        # No pre-ping: it costs a round trip per transaction. A connection found dead is
        # invalidated by SQLAlchemy on first use, and callers retry (every write is idempotent).
        "pool_recycle": pooling.recycle_seconds,
        "connect_args": connect_args,
    }


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


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

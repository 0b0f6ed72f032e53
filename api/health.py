"""Health: ``GET /health/live`` (the process answers) and ``GET /health/ready`` (it can serve).

Ready means: the database answers within the connect timeout (``TIDE_DB_CONNECT_TIMEOUT_SECONDS``;
the whole check is bounded by it, so a database that does not answer is a 503, never a hang),
its schema is at the latest migration, and it is a writable primary (a web process writes:
a streaming replica, or a role or database whose transactions are read-only, is a 503).
``GET /health`` is the same check as ``/health/ready``, kept for existing probes.
A load balancer routes to ready processes; an orchestrator restarts a process that is not live.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.hosts import council_state
from api.migrations import alembic_config

#: Time the check may take beyond the connect timeout (the two queries on a connection made).
QUERY_ALLOWANCE_SECONDS = 2.0

_NOT_READY = {
    503: ResponseSpec(
        data_container=dict[str, Any],
        description="The database does not answer in time, is not at the latest migration, or is read-only",
        generate_examples=False,
    )
}


@cache
def latest_revision() -> str | None:
    """The newest migration this code knows (read once)."""
    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def _writable(connection: AsyncConnection) -> bool:
    """Whether this connection may write: not a replica in recovery, not a read-only transaction."""
    if connection.dialect.name != "postgresql":
        return True
    row = (await connection.execute(text("SELECT pg_is_in_recovery(), current_setting('transaction_read_only')"))).one()
    return not row[0] and row[1] == "off"


async def _probe(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as connection:
        writable = await _writable(connection)
        current = await connection.run_sync(_current_revision)
    head = latest_revision()
    return {
        "database": "ok",
        "dialect": engine.dialect.name,
        "schema": "current" if current == head else "behind",
        "revision": current,
        "head": head,
        "writable": writable,
    }


#: Probes that outlived their answer, kept until they end on their own.
_LINGERING: set[asyncio.Task[dict[str, Any]]] = set()


def _settle(task: asyncio.Task[dict[str, Any]]) -> None:
    _LINGERING.discard(task)
    if not task.cancelled():
        task.exception()  # read, so a failed late probe is not reported as never retrieved


async def readiness(engine: AsyncEngine, *, within_seconds: float) -> tuple[int, dict[str, Any]]:
    """The status and body of the readiness check, taking at most ``within_seconds`` seconds and
    a little. A probe that takes longer is answered 503 but not cancelled: cancelled half-way
    through making a connection, the driver's connection would be abandoned unclosed. It ends on
    its own within the connect timeout (asyncpg's own), closing what it opened."""
    probe = asyncio.ensure_future(_probe(engine))
    done, _ = await asyncio.wait({probe}, timeout=within_seconds + QUERY_ALLOWANCE_SECONDS)
    if not done:
        _LINGERING.add(probe)
        probe.add_done_callback(_settle)
        return 503, {"status": "unavailable", "database": "unreachable", "detail": "timed out"}
    try:
        body = probe.result()
    except TimeoutError:
        return 503, {"status": "unavailable", "database": "unreachable", "detail": "timed out"}
    except (SQLAlchemyError, OSError) as exc:
        return 503, {"status": "unavailable", "database": "unreachable", "detail": type(exc).__name__}
    ready = body["schema"] == "current" and body["writable"]
    return (200 if ready else 503), {"status": "ok" if ready else "degraded", **body}


async def _ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    state = council_state(request)  # the council of the request's host
    status, body = await readiness(state.engine, within_seconds=state.settings.db_connect_timeout_seconds)
    return Response(body, status_code=status, headers={"cache-control": "no-store"})


@get("/health/live", summary="Does the process answer?", tags=["service"])
async def live() -> dict[str, str]:
    """200 while the process answers; touches nothing else."""
    return {"status": "ok"}


@get(
    "/health/ready",
    summary="Can the process serve: its database reachable, current and writable?",
    tags=["service"],
    responses=_NOT_READY,
)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """200 when the database answers within the connect timeout, is at the latest migration and
    is a writable primary; 503 otherwise (with what failed), within the timeout."""
    return await _ready(request)


@get(
    "/health",
    summary="Is the service and its database healthy? (the same as /health/ready)",
    tags=["service"],
    responses=_NOT_READY,
)
async def health(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """The readiness check under its older name: 200 when ready, 503 when not."""
    return await _ready(request)


HEALTH_ROUTES = [live, ready]

"""``GET /health``: whether the app can reach its database and its schema is current."""

from __future__ import annotations

from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.hosts import council_state
from api.migrations import alembic_config


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@get(
    "/health",
    summary="Is the service and its database healthy?",
    tags=["service"],
    responses={
        503: ResponseSpec(
            data_container=dict[str, Any],
            description="The database is unreachable, or its schema is not at the latest migration",
            generate_examples=False,
        )
    },
)
async def health(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """200 with the database status when healthy; 503 when the database is unreachable or
    its schema is not at the latest migration."""
    engine: AsyncEngine = council_state(request).engine
    head = ScriptDirectory.from_config(alembic_config(None)).get_current_head()
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            current = await connection.run_sync(_current_revision)
    except (SQLAlchemyError, OSError) as exc:
        down = {"status": "unavailable", "database": "unreachable", "detail": type(exc).__name__}
        return Response(down, status_code=503)
    schema = "current" if current == head else "behind"
    body: dict[str, Any] = {
        "status": "ok" if schema == "current" else "degraded",
        "database": "ok",
        "dialect": engine.dialect.name,
        "schema": schema,
        "revision": current,
        "head": head,
    }
    return Response(body, status_code=200 if schema == "current" else 503)

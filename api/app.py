"""The Litestar application: its routes, its database engine and its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.openapi import OpenAPIConfig

from api.health import health
from api.settings import Settings
from ledger.database import create_engine


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the app for ``settings`` (default: from the environment)."""
    settings = settings or Settings.from_env()
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.engine = engine
        try:
            yield
        finally:
            await engine.dispose()

    return Litestar(
        route_handlers=[health],
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(title="Tide", version="0.1.0", path="/schema"),
        debug=False,
    )

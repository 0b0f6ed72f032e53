"""Which council a request is for: its host name, looked up in one place.

Every council served by this process has a **council state**: its engine and sessions, its
clock, its Stripe config and card issuer, its report options, its settings. With one council
(no registry) that state is the app's own ``app.state``, as it always was; with a registry
each council has its own. ``route_by_host`` (a middleware, before any handler or dependency)
finds the council of the request's ``Host`` header and keeps its state in the request's
scope; ``council_state`` is how everything after it asks. A host no council has is answered
404 (``UnknownCouncil``), never served from another council's database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncEngine

from api import receipt_storage
from api.council import report_options
from api.councils import Council, UnknownCouncil
from api.engines import read_engine
from api.settings import Settings
from api.stripe_gateway import StripeConfig

#: Where the request's council state is kept in its scope's ``state``.
SCOPE_KEY = "tide_council"

#: A handler's parameter for the council's state, injected by name.
CouncilDep: TypeAlias = NamedDependency[State]


def serve_council(state: State, settings: Settings, engine: AsyncEngine, clock: Callable[[], datetime]) -> None:
    """Fill ``state`` with what a request for this council needs."""
    state.engine = engine
    state.sessionmaker = receipt_storage.sessions_for(engine, settings)
    # Reports and exports read the council's replica when it has one, else this same engine.
    state.read_engine = read_engine(settings, primary=engine)
    state.read_sessionmaker = receipt_storage.sessions_for(state.read_engine, settings)
    state.clock = clock
    state.stripe_config = StripeConfig.from_settings(settings)
    state.report_options = report_options(settings)
    state.secure_cookies = not settings.is_development and settings.environment != "test"
    state.settings = settings


@dataclass(frozen=True, slots=True)
class Hosts:
    """Host name → council state; with one council and no host names, every host is its."""

    by_host: dict[str, State]
    any_host: State | None = None

    def state_for(self, host: str) -> State | None:
        return self.any_host if self.any_host is not None else self.by_host.get(host)

    def read_engines(self) -> list[AsyncEngine]:
        """The replicas' engines the councils read through (not their primaries), to dispose of."""
        states = [self.any_host] if self.any_host is not None else list(self.by_host.values())
        engines = {id(s.read_engine): s.read_engine for s in states if s.read_engine is not s.engine}
        return list(engines.values())


def serve_councils(
    app_state: State,
    deployment: Settings,
    councils: Iterable[Council],
    engines: dict[str, AsyncEngine],
    clock: Callable[[], datetime],
) -> Hosts:
    """Each council's state and the host table. The one council of a deployment without a
    registry is served from ``app_state`` itself; with a registry ``app_state`` holds only
    what is the deployment's (its settings, clock, cookies), no council's database."""
    councils = list(councils)
    if len(councils) == 1 and not councils[0].hosts:
        only = councils[0]
        serve_council(app_state, only.settings, engines[only.key], clock)
        return Hosts(by_host={}, any_host=app_state)
    app_state.clock = clock
    app_state.settings = deployment
    app_state.secure_cookies = not deployment.is_development and deployment.environment != "test"
    by_host: dict[str, State] = {}
    for council in councils:
        state = State({"council_key": council.key})
        serve_council(state, council.settings, engines[council.key], clock)
        by_host.update(dict.fromkeys(council.hosts, state))
    return Hosts(by_host=by_host)


def host_name(scope: Scope) -> str:
    """The request's host name, lower-case, without its port."""
    for name, value in scope.get("headers", ()):
        if name == b"host":
            host = value.decode("latin-1").strip().lower()
            return host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return ""


def route_by_host(app: ASGIApp) -> ASGIApp:
    """Middleware: the request's council, by host name, or 404 before anything else runs."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in {"http", "websocket"}:
            hosts: Hosts = scope["litestar_app"].state.hosts
            state = hosts.state_for(host_name(scope))
            if state is None:
                raise UnknownCouncil("no council is served at this address")
            scope.setdefault("state", {})[SCOPE_KEY] = state
        await app(scope, receive, send)

    return middleware


def council_state(connection: ASGIConnection[Any, Any, Any, Any]) -> State:
    """The request's council's state (``route_by_host`` found it)."""
    state = connection.scope.get("state", {}).get(SCOPE_KEY)
    if not isinstance(state, State):
        raise UnknownCouncil("no council is served at this address")
    return state


def provide_council(request: Request[Any, Any, Any]) -> State:
    return council_state(request)

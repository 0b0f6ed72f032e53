"""Seeing each request: its id, one access line, its latency by route.

Every request gets an id: the caller's ``X-Request-Id`` when it is a sane one (1 to 64 letters,
digits, ``.``, ``_``, ``-`` or ``:``), else a fresh one; it is answered in ``X-Request-Id``,
carried by any 500's problem, and written on the access line with the route's template, the
method, the status, the duration and the signed-in person's id (set by whoever identified
them, ``note_person``). The line never holds the path's ids, the query, a name or a body.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import REQUEST_SECONDS

ACCESS = logging.getLogger("tide.access")
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_REQUEST_ID = "tide_request_id"
_PERSON_ID = "tide_person_id"


def _id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            sent = value.decode("latin-1")
            if SANE_REQUEST_ID.fullmatch(sent):
                return sent
    return uuid.uuid4().hex


def request_id_of(scope: Scope | dict[str, Any]) -> str:
    """The request's id (given to it on arrival; made now for a request that missed that)."""
    found = scope.get(_REQUEST_ID)
    if not isinstance(found, str):
        found = _id_from(scope)  # type: ignore[arg-type]
        scope[_REQUEST_ID] = found  # type: ignore[literal-required]
    return found


def note_person(scope: Scope | dict[str, Any], person_id: int) -> None:
    """Who the request turned out to be from, for its access line."""
    scope[_PERSON_ID] = person_id  # type: ignore[literal-required]


def observed(app: ASGIApp) -> ASGIApp:
    """The middleware: an id for the request, its latency measured, one access line written."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_of(scope)
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableScopeHeaders.from_message(message)["x-request-id"] = request_id
            await send(message)

        try:
            await app(scope, receive, sending)
        finally:
            _written(scope, status, time.perf_counter() - started)

    return middleware


def _written(scope: Scope, status: int, seconds: float) -> None:
    route = str(scope.get("path_template") or "unrouted")
    method = str(scope.get("method", ""))
    REQUEST_SECONDS.labels(method, route, str(status)).observe(seconds)
    ACCESS.info(
        "%s %s %s",
        method,
        route,
        status,
        extra={
            "event": "request",
            "request_id": request_id_of(scope),
            "route": route,
            "method": method,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "person_id": scope.get(_PERSON_ID),
        },
    )

"""One way to fail: anything unexpected is logged once, with its traceback, and answered with
the request's id; a database that cannot be reached is a 503 with ``Retry-After``.

``failure_of`` is the one place this is decided and logged; the API answers it as problem+json
(``unexpected_problem``) and the pages as the error page (``api.web.plugin``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response

from api.errors import problem
from api.observability import request_id_of
from api.outages import RETRY_AFTER_SECONDS, UNAVAILABLE, database_unreachable

LOG = logging.getLogger("tide.failures")
INTERNAL = (500, "internal-error", "Something went wrong on our side")


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong, as the person asking is told it: status, slug, title, the request id."""

    status: int
    slug: str
    title: str
    request_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)} if self.status == 503 else {}


def failure_of(request: Request[Any, Any, Any], exc: BaseException) -> Failure:
    """Classify ``exc`` and log it once: a warning for an unreachable database, else an error
    with the traceback."""
    request_id = request_id_of(request.scope)
    route = str(request.scope.get("path_template") or "unrouted")
    extra = {"request_id": request_id, "route": route, "method": request.method}
    if database_unreachable(exc):
        status, slug, title = UNAVAILABLE
        LOG.warning("the database cannot be reached: %s", type(exc).__name__, extra={**extra, "problem": slug})
    else:
        status, slug, title = INTERNAL
        LOG.error("unexpected %s", type(exc).__name__, exc_info=exc, extra={**extra, "problem": slug})
    return Failure(status=status, slug=slug, title=title, request_id=request_id)


def unexpected_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """The API's answer to anything unmapped: 500 (or 503) problem+json with the request id."""
    failure = failure_of(request, exc)
    detail = (
        "try again in a few seconds"
        if failure.status == 503
        else f"nothing was changed; quote request id {failure.request_id} if you report it"
    )
    response = problem(failure.status, failure.slug, failure.title, detail, request_id=failure.request_id)
    response.headers.update(failure.headers)
    return response

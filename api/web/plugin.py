"""Registering the web app on the Litestar app: its pages, assets, headers and compression."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, Router
from litestar.config.app import AppConfig
from litestar.config.compression import CompressionConfig
from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.plugins import InitPluginProtocol
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from api.deps import CsrfFailed
from api.errors import PROBLEMS, Problem, problem_of
from api.failures import failure_of
from api.web.pages import (
    admin,
    auth,
    buy,
    card_details,
    card_refunds,
    contact,
    cover,
    evidence,
    families,
    finance,
    finance_settings,
    grants,
    manager,
    messages,
    offline,
    payment_runs,
    people_access,
    proposals,
    purchases,
    redaction,
    sso,
    suppliers,
    worker,
    worker_bank_accounts,
)
from api.web.render import STATIC, page
from api.web.security import security_headers
from api.web.session import provide_user
from wallet import errors as wallet_errors

ONE_YEAR = 365 * 24 * 3600
LOG = logging.getLogger(__name__)


def _error_page(status: int, title: str, message: str, *, advice: str | None = None) -> Response[str]:
    return page("error.html.j2", user=None, status_code=status, title=title, message=message, advice=advice)


def _sentence(detail: str | None) -> str:
    """A problem's detail written as a sentence for a page (the API gives it as it is)."""
    if not detail:
        return "Go back and try again."
    text = detail[:1].upper() + detail[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _problem_page(problem: Problem, *, advice: str | None = None) -> Response[str]:
    """The API's problem for a domain error as the HTML error page: same status, title, detail."""
    return _error_page(problem.status, problem.title, _sentence(problem.detail), advice=advice)


def _domain(request: Request[Any, Any, Any], exc: Exception) -> Response[str]:
    found = problem_of(exc)
    return _server_error(request, exc) if found is None else _problem_page(found)


def _not_signed_in(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A page asked for while signed out goes to sign-in and comes back; a form sent says why it failed."""
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"/sign-in?next={quote(target, safe='')}", status_code=303)
    found = problem_of(exc)
    if found is None:  # NotSignedIn is in PROBLEMS; kept total for the type checker
        return _server_error(request, exc)
    return _problem_page(found, advice="Your session has ended. Sign in again, then send the form again.")


def _csrf(_: Request[Any, Any, Any], __: Exception) -> Response[str]:
    return _error_page(
        403, "The form had expired", "Go back, reload the page and try again. Nothing was saved from that form."
    )


def _not_found(_: Request[Any, Any, Any], __: Exception) -> Response[str]:
    return _error_page(404, "Page not found", "If you typed the web address, check it is correct.")


def _bad_request(_: Request[Any, Any, Any], __: Exception) -> Response[str]:
    return _error_page(400, "Something in the address is not right", "Go back and try again.")


def _server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[str]:
    """Anything unexpected, logged once (``api.failures``): the page, with the request's id."""
    failure = failure_of(request, exc)
    if failure.status == 503:
        response = _error_page(
            503, "Tide cannot reach its database just now", "Nothing was saved. Try again in a minute."
        )
    else:
        response = _error_page(
            500,
            "Sorry, something went wrong",
            "Nothing was saved. Try again in a moment.",
            advice=f"If it happens again, tell the service desk this reference: {failure.request_id}.",
        )
    response.headers.update(failure.headers)
    return response


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[str]:
    if exc.status_code == 404:
        return _not_found(_, exc)
    return _error_page(exc.status_code, "Something went wrong", str(exc.detail or "Go back and try again."))


def _not_found_for_people(api_handler: Any) -> Any:
    """An unknown address asked for by a browser gets the page; the API keeps its problem+json."""

    def handle(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
        path = request.url.path
        wants_page = "text/html" in request.headers.get("accept", "")
        if api_handler is None or (wants_page and not path.startswith(("/api/", "/schema"))):
            return _not_found(request, exc)
        response: Response[Any] = api_handler(request, exc)
        return response

    return handle


#: The pages' handlers: every domain error through the API's table (``api.errors.PROBLEMS``),
#: then what only pages do: sign-in redirects, the expired-form page, the unknown-address
#: page, and a logged 500 page for anything unexpected.
WEB_EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    **dict.fromkeys(PROBLEMS, _domain),
    wallet_errors.NotSignedIn: _not_signed_in,
    CsrfFailed: _csrf,
    NotFoundException: _not_found,
    ValidationException: _bad_request,
    HTTPException: _http,
    Exception: _server_error,
}


def web_router() -> Router:
    """Every page, signed in through the session cookie (the ``user`` dependency)."""
    return Router(
        path="/",
        route_handlers=[
            *auth.HANDLERS,
            *sso.HANDLERS,
            *people_access.HANDLERS,
            *worker.HANDLERS,
            *card_details.HANDLERS,
            *families.HANDLERS,
            *buy.HANDLERS,
            *purchases.HANDLERS,
            *card_refunds.HANDLERS,
            *manager.HANDLERS,
            *evidence.HANDLERS,
            *finance.HANDLERS,
            *finance_settings.HANDLERS,
            *grants.HANDLERS,
            *payment_runs.HANDLERS,
            *suppliers.HANDLERS,
            *worker_bank_accounts.HANDLERS,
            *admin.HANDLERS,
            *contact.HANDLERS,
            *redaction.HANDLERS,
            *proposals.HANDLERS,
            *messages.HANDLERS,
            *cover.HANDLERS,
            *offline.HANDLERS,
        ],
        dependencies={"user": Provide(provide_user)},
        exception_handlers=WEB_EXCEPTION_HANDLERS,
        include_in_schema=False,
    )


class WebPlugin(InitPluginProtocol):
    """Adds the pages at ``/``, assets at ``/static``, security headers and gzip for pages."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.extend(
            [
                web_router(),
                create_static_files_router(
                    path="/static",
                    directories=[STATIC],
                    cache_control=CacheControlHeader(public=True, max_age=ONE_YEAR),
                    include_in_schema=False,
                ),
            ]
        )
        api_not_found = app_config.exception_handlers.get(NotFoundException)
        app_config.exception_handlers[NotFoundException] = _not_found_for_people(api_not_found)
        app_config.before_send.append(security_headers)
        app_config.compression_config = CompressionConfig(
            backend="gzip", gzip_compress_level=9, minimum_size=256, exclude=["^/api/", "^/schema", "^/stripe/"]
        )
        return app_config

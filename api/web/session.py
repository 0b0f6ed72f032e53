"""Who is using the pages: the API's session cookie, with the CSRF token carried in each form.

The same server-side session as the JSON API (``tide_session``, HttpOnly, SameSite=Lax). A
browser form cannot send the ``X-CSRF-Token`` header, so every form carries the session's
token in a hidden ``csrf_token`` field instead; a change without it is refused. The sign-in
form, which has no session yet, uses a double-submit cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from litestar import Request
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, CsrfFailed, DbDep, NowDep, same_token
from api.observability import note_person
from api.request_ids import request_id_of
from wallet.access import Principal, load_principal
from wallet.errors import NotSignedIn
from wallet.identity import session_person

CSRF_FIELD = "csrf_token"
SIGN_IN_COOKIE = "tide_sign_in_csrf"


@dataclass(frozen=True, slots=True)
class WebUser:
    """The signed-in person and their session's CSRF token (for the forms on the page)."""

    who: Principal
    csrf_token: str


UserDep: TypeAlias = NamedDependency[WebUser]


async def form_token(request: Request[Any, Any, Any]) -> str:
    """The CSRF token a change carries: the form's hidden field, or the API's header."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    form = await request.form()
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else ""


async def user_of(request: Request[Any, Any, Any], db: AsyncSession, now: datetime) -> WebUser:
    """The signed-in person (``NotSignedIn`` otherwise); a change must carry the CSRF token."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise NotSignedIn("sign in to use Tide")
    person_id, csrf = await session_person(db, token=cookie, now=now)
    if request.method not in SAFE_METHODS and not same_token(await form_token(request), csrf):
        raise CsrfFailed("the form's security token is missing or out of date")
    request_id = request_id_of(request)
    who = await load_principal(db, person_id=person_id, request_id=request_id)
    note_person(request.scope, who.person_id)
    return WebUser(who=who, csrf_token=csrf)


async def provide_user(request: Request[Any, Any, Any], db: DbDep, now: NowDep) -> WebUser:
    try:
        return await user_of(request, db, now)
    except BaseException:
        await db.close()  # as the API's principal does: give the pooled connection back now
        raise


def sign_in_cookie(token: str, *, secure: bool) -> Cookie:
    """The sign-in form's double-submit CSRF cookie."""
    return Cookie(key=SIGN_IN_COOKIE, value=token, httponly=True, secure=secure, samesite="strict", path="/sign-in")

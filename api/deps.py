"""Per-request dependencies: the one database transaction, the clock, and who is asking.

The transaction is the request's: committed when the handler returns (whatever status it
chose, so a recorded decline is kept), rolled back when it raises.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncGenerator, Callable
from datetime import datetime
from typing import Any, TypeAlias

from litestar import Request
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.hosts import council_state
from api.observability import note_person
from api.request_ids import request_id_of
from wallet.access import Principal, load_principal
from wallet.errors import NotSignedIn
from wallet.identity import session_person, token_person

SESSION_COOKIE = "tide_session"

#: Handler parameters injected by name: the request's transaction, the clock's now, the caller.
DbDep: TypeAlias = NamedDependency[AsyncSession]
#: A read-only transaction on the read database (TIDE_READ_DATABASE_URL: a replica; else the primary).
ReadDbDep: TypeAlias = NamedDependency[AsyncSession]
NowDep: TypeAlias = NamedDependency[datetime]
WhoDep: TypeAlias = NamedDependency[Principal]
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_cookie(token: str, *, expires_at: datetime, now: datetime, secure: bool) -> Cookie:
    """The session cookie, for the API's sign-in and the pages' alike: HttpOnly, SameSite=Lax,
    gone from the browser when the session's absolute end comes (the server enforces that end
    and the idle timeout itself; the cookie never outlives them)."""
    seconds = max(0, int((expires_at - now).total_seconds()))
    return Cookie(
        key=SESSION_COOKIE, value=token, httponly=True, secure=secure, samesite="lax", path="/", max_age=seconds
    )


def same_token(sent: str, expected: str) -> bool:
    """A constant-time comparison that any text sent can go through (``compare_digest`` raises
    on non-ASCII ``str``: a header or a form field of other characters must be refused, not a 500)."""
    return secrets.compare_digest(sent.encode(), expected.encode())


class CsrfFailed(Exception):
    """A cookie-authenticated change without the session's CSRF token."""


async def provide_db(request: Request[Any, Any, Any]) -> AsyncGenerator[AsyncSession, None]:
    sessions: async_sessionmaker[AsyncSession] = council_state(request).sessionmaker
    async with sessions() as db:
        try:
            yield db
        except BaseException:
            await db.rollback()
            raise
        else:
            await db.commit()


async def provide_read_db(request: Request[Any, Any, Any], db: DbDep) -> AsyncGenerator[AsyncSession, None]:
    """Where reports and exports read: the replica's read-only transaction (never committed: it
    writes nothing), or the request's own transaction when there is no replica (one connection)."""
    state = council_state(request)
    if state.read_engine is state.engine:
        yield db
        return
    sessions: async_sessionmaker[AsyncSession] = state.read_sessionmaker
    async with sessions() as read_db:
        try:
            yield read_db
        finally:
            await read_db.rollback()


def provide_now(state: State) -> datetime:
    clock: Callable[[], datetime] = state.clock
    return clock()


async def principal_of(request: Request[Any, Any, Any], db: AsyncSession, now: datetime) -> Principal:
    """Who is asking: a bearer API token, or the session cookie (with its CSRF token on changes)."""
    request_id = request_id_of(request)
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        changes = request.method not in SAFE_METHODS
        person_id = await token_person(db, secret=authorization[7:].strip(), now=now, changes=changes)
        return await load_principal(db, person_id=person_id, request_id=request_id)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise NotSignedIn("sign in, or send an API token")
    person_id, csrf = await session_person(db, token=cookie, now=now)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or ""
        if not same_token(sent, csrf):
            raise CsrfFailed("send the session's CSRF token in the X-CSRF-Token header")
    return await load_principal(db, person_id=person_id, request_id=request_id)


async def provide_principal(request: Request[Any, Any, Any], db: DbDep, now: NowDep) -> Principal:
    try:
        who = await principal_of(request, db, now)
    except BaseException:
        # Litestar does not finalise ``db`` when a later dependency fails, so a refused caller
        # would keep a pooled connection until garbage collection: give it back now.
        await db.close()
        raise
    note_person(request.scope, who.person_id)
    return who

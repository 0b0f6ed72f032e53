"""Signing in and out of the pages (the same sessions as the API)."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.params import FromQuery
from litestar.response import Redirect

from api.deps import SESSION_COOKIE, DbDep, NowDep, same_token, session_cookie
from api.web.forms import read_form
from api.web.render import page
from api.web.session import CSRF_FIELD, SIGN_IN_COOKIE, UserDep, sign_in_cookie
from wallet.errors import SignInFailed, TooManySignInAttempts
from wallet.identity import sign_in, sign_out, sign_out_everywhere


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never ``//elsewhere``) is followed after signing in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _form(
    state: State,
    *,
    status: int = 200,
    email: str = "",
    errors: dict[str, str] | None = None,
    target: str = "/",
    done: str | None = None,
) -> Response[str]:
    token = secrets.token_urlsafe(24)
    return page(
        "sign_in.html.j2",
        user=None,
        status_code=status,
        title="Sign in",
        token=token,
        email=email,
        errors=errors or {},
        target=target,
        done=done,
        passwords=state.settings.password_sign_in,
        sso=bool(state.settings.oidc_issuer and state.settings.oidc_client_id),
        cookies=[sign_in_cookie(token, secure=state.secure_cookies)],
    )


SIGNED_OUT = {"1": "You have signed out.", "everywhere": "You have signed out on every device and browser."}


@get("/sign-in")
async def sign_in_page(
    state: State, next: FromQuery[str | None] = None, signed_out: FromQuery[str | None] = None
) -> Response[str]:
    return _form(state, target=_safe_next(next), done=SIGNED_OUT.get(signed_out or ""))


@post("/sign-in")
async def sign_in_submit(request: Request[Any, Any, Any], state: State, db: DbDep, now: NowDep) -> Response[Any]:
    form = await read_form(request)
    target = _safe_next(form.get("next"))
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not expected or not same_token(form.get(CSRF_FIELD), expected):
        return _form(
            state,
            status=403,
            email=form.get("email"),
            target=target,
            errors={"email": "The sign-in page had expired. Enter your email and password again."},
        )
    email, secret = form.get("email"), form.values.get("password", "")
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = "Enter your email address"
    if not secret:
        errors["password"] = "Enter your password"  # noqa: S105 - an error message, not a password
    if errors:
        return _form(state, status=422, email=email, errors=errors, target=target)
    ip = request.client.host if request.client else "unknown"
    try:
        signed_in = await sign_in(
            db, email=email, password=secret, ip=ip, now=now, passwords_allowed=state.settings.password_sign_in
        )
    except TooManySignInAttempts:
        return _form(
            state,
            status=429,
            email=email,
            target=target,
            errors={"email": "Too many attempts to sign in. Wait 15 minutes, then try again."},
        )
    except SignInFailed:
        return _form(
            state,
            status=401,
            email=email,
            target=target,
            errors={"email": "The email address or password is not right"},
        )
    cookie = session_cookie(
        signed_in.session_token, expires_at=signed_in.expires_at, now=now, secure=state.secure_cookies
    )
    clear = Cookie(key=SIGN_IN_COOKIE, value="", max_age=0, path="/sign-in")
    return Redirect(target, status_code=303, cookies=[cookie, clear])


@post("/sign-out")
async def sign_out_submit(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await sign_out(db, token=token, now=now)
    gone = Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")
    return Redirect("/sign-in?signed_out=1", status_code=303, cookies=[gone])


@post("/sign-out-everywhere")
async def sign_out_everywhere_submit(db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    """Ends every session of the person: this browser's and any other left signed in."""
    await sign_out_everywhere(db, person_id=user.who.person_id, now=now)
    gone = Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")
    return Redirect("/sign-in?signed_out=everywhere", status_code=303, cookies=[gone])


HANDLERS = [sign_in_page, sign_in_submit, sign_out_submit, sign_out_everywhere_submit]

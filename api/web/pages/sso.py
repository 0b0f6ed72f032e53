"""Signing in through the council's identity provider (OpenID Connect; ``api.oidc``).

``GET /sign-in/sso`` records a new attempt and sends the browser to the provider, with the
attempt's secrets (state, nonce, PKCE verifier) in a short-lived HttpOnly cookie that only
these two paths receive; ``GET /sign-in/sso/callback`` is where the provider sends it back: the
state must be this browser's and unused, the code is swapped for the ID token, the token
checked, and a session opened for the person it names.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.datastructures import Cookie, State
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect

from api.deps import DbDep, NowDep, same_token, session_cookie
from api.oidc import Attempt, OidcConfig, authorization_url, discover, exchange_code, validated_identity
from api.web.pages.auth import _safe_next
from wallet.errors import SingleSignOnFailed
from wallet.single_sign_on import FLOW_LIFETIME, check_flow, finish_flow, sign_in_with_provider, start_flow

SSO_COOKIE = "tide_sso"
SSO_PATH = "/sign-in/sso"


def _config(state: State) -> OidcConfig:
    config = OidcConfig.from_settings(state.settings)
    if config is None:
        raise SingleSignOnFailed("single sign-on is not set up for this council")
    return config


@get(SSO_PATH)
async def start_single_sign_on(
    state: State, db: DbDep, now: NowDep, next: FromQuery[str | None] = None
) -> Response[Any]:
    """Off to the identity provider, with a new attempt."""
    config = _config(state)
    metadata = await discover(config)
    attempt = Attempt.new()
    await start_flow(db, state=attempt.state, nonce=attempt.nonce, now=now)
    secrets = json.dumps([attempt.state, attempt.nonce, attempt.verifier, _safe_next(next)])
    cookie = Cookie(
        key=SSO_COOKIE, value=secrets, httponly=True, secure=state.secure_cookies, samesite="lax", path=SSO_PATH,
        max_age=int(FLOW_LIFETIME.total_seconds()),
    )  # fmt: skip
    return Redirect(authorization_url(metadata, config, attempt), status_code=303, cookies=[cookie])


def _attempt_from(request: Request[Any, Any, Any], sent_state: str) -> tuple[Attempt, str]:
    try:
        state, nonce, verifier, target = json.loads(request.cookies.get(SSO_COOKIE, ""))
    except (ValueError, TypeError):
        raise SingleSignOnFailed("this browser did not start the sign-in: start again") from None
    if not all(isinstance(x, str) for x in (state, nonce, verifier, target)) or not same_token(sent_state, state):
        raise SingleSignOnFailed("the sign-in came back for another attempt: start again")
    return Attempt(state=state, nonce=nonce, verifier=verifier), _safe_next(target)


@get(SSO_PATH + "/callback")
async def finish_single_sign_on(
    request: Request[Any, Any, Any],
    state: State,
    db: DbDep,
    now: NowDep,
    code: Annotated[str | None, QueryParameter(max_length=2000)] = None,
    sent_state: Annotated[str | None, QueryParameter(name="state", max_length=200)] = None,
    error: FromQuery[str | None] = None,
) -> Response[Any]:
    """Back from the identity provider: check it all, then a session."""
    config = _config(state)
    if error or not code or not sent_state:
        raise SingleSignOnFailed("the identity provider did not sign you in")
    attempt, target = _attempt_from(request, sent_state)
    await check_flow(db, state=attempt.state, now=now)  # a replay stops here, before the provider is asked
    metadata = await discover(config)
    id_token = await exchange_code(metadata, config, code=code, verifier=attempt.verifier)
    identity = await validated_identity(metadata, config, id_token=id_token, nonce=attempt.nonce, now=now)
    await finish_flow(db, state=attempt.state, nonce=attempt.nonce, now=now)
    signed_in = await sign_in_with_provider(db, identity=identity, mappings=state.settings.group_mappings, now=now)
    cookie = session_cookie(
        signed_in.session_token, expires_at=signed_in.expires_at, now=now, secure=state.secure_cookies
    )
    gone = Cookie(key=SSO_COOKIE, value="", max_age=0, path=SSO_PATH)
    return Redirect(target, status_code=303, cookies=[cookie, gone])


HANDLERS = [start_single_sign_on, finish_single_sign_on]

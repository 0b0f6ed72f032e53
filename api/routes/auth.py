"""Signing in and out, who am I, and personal API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, cast

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie, State
from litestar.openapi.datastructures import ResponseSpec

from api.deps import SESSION_COOKIE, DbDep, NowDep, WhoDep, session_cookie
from api.errors import problem_for
from api.idempotency import idempotent
from api.routes.common import PathId, body, problems
from api.schemas import MeRead, SignedInRead, SignInCreate, TokenCreate, TokenCreatedRead, TokenRead
from wallet.access import Principal, load_principal
from wallet.errors import NotFound, SignInFailed, TooManySignInAttempts
from wallet.identity import create_token, revoke_token, sign_in, sign_out, sign_out_everywhere, tokens_of


def me(who: Principal) -> dict[str, Any]:
    return {
        "id": who.person_id,
        "display_name": who.display_name,
        "roles": sorted(who.roles),
        "worker_team_ids": sorted(who.worker_team_ids),
        "managed_team_ids": sorted(who.managed_team_ids),
        "wallet_id": who.wallet_id,
    }


class SignInController(Controller):
    path = "/api/v1/auth"
    tags = ["signing in"]

    @post("/sign-in", summary="Sign in with email and password", responses=problems(429), status_code=200)
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db: DbDep,
        now: NowDep,
        data: Annotated[SignInCreate, body(SignInCreate)],
    ) -> Response[SignedInRead]:
        """Opens a server-side session and sets its HttpOnly cookie. Every attempt is recorded;
        repeated failures for an account or an address are refused for 15 minutes."""
        ip = request.client.host if request.client else "unknown"
        try:
            signed_in = await sign_in(
                db, email=data.email, password=data.password, ip=ip, now=now,
                passwords_allowed=state.settings.password_sign_in,
            )  # fmt: skip
        except (SignInFailed, TooManySignInAttempts) as exc:
            # Returned, not raised: the failed attempt must be committed to count.
            return cast("Response[SignedInRead]", problem_for(exc))
        who = await load_principal(db, person_id=signed_in.person_id)
        cookie = session_cookie(
            signed_in.session_token, expires_at=signed_in.expires_at, now=now, secure=state.secure_cookies
        )
        body = SignedInRead(
            person=MeRead.model_validate(me(who)), csrf_token=signed_in.csrf_token, expires_at=signed_in.expires_at
        )
        return Response(body, cookies=[cookie])

    @post(
        "/sign-out",
        summary="Sign out (revokes the session)",
        status_code=204,
        responses=problems(),
        response_cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")],
    )
    async def sign_out(self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep) -> None:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await sign_out(db, token=token, now=now)

    @post(
        "/sign-out-everywhere",
        summary="Sign out everywhere (revokes every session of mine)",
        status_code=204,
        responses=problems(),
        response_cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")],
    )
    async def sign_out_everywhere(self, db: DbDep, now: NowDep, who: WhoDep) -> None:
        """Ends every browser session of the caller, this one included. API tokens are revoked
        one by one (``DELETE /api/v1/me/tokens/{id}``)."""
        await sign_out_everywhere(db, person_id=who.person_id, now=now)


#: A replay of a token's creation (the same Idempotency-Key) shows the token made the first
#: time, without its secret: that is shown once and kept nowhere.
TOKEN_REPLAYED = ResponseSpec(
    data_container=TokenRead,
    description="A retry with the same Idempotency-Key: the token made the first time, without its secret",
    generate_examples=False,
)


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["signing in"]

    @get("/", summary="Who am I, and what can I reach", responses=problems())
    async def read_me(self, who: WhoDep) -> MeRead:
        return MeRead.model_validate(me(who))

    @get("/tokens", summary="My API tokens", responses=problems())
    async def list_tokens(self, db: DbDep, who: WhoDep) -> list[TokenRead]:
        return [TokenRead.model_validate(t) for t in await tokens_of(db, person_id=who.person_id)]

    @post(
        "/tokens",
        summary="Create an API token (the secret is shown once)",
        responses={**problems(409), 200: TOKEN_REPLAYED},
    )
    @idempotent(status_code=201)
    async def create_token(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        data: Annotated[TokenCreate, body(TokenCreate)],
    ) -> TokenCreatedRead:
        token, secret = await create_token(
            db,
            person_id=who.person_id,
            name=data.name,
            now=now,
            lifetime=timedelta(days=data.expires_in_days),
            read_only=data.scope == "read",
        )
        return TokenCreatedRead.model_validate({**TokenRead.model_validate(token).model_dump(), "token": secret})

    @delete("/tokens/{token_id:int}", summary="Revoke one of my API tokens", responses=problems(404))
    async def revoke_token(self, db: DbDep, now: NowDep, who: WhoDep, token_id: PathId) -> None:
        if not await revoke_token(db, person_id=who.person_id, token_id=token_id, now=now):
            raise NotFound(f"no live token {token_id}")

"""What only a card's own key worker does with it, under ``/api/v1``: get the key Stripe's
iframes need to show them the card (Issuing Elements), and activate a physical card when it
arrives. The details key needs a recent sign-in in this browser (an API token never has one),
so the route reads when the session signed in; everything else is ``cards.holding``'s."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, post
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import SESSION_COOKIE, DbDep, NowDep, WhoDep
from api.hosts import council_state
from api.idempotency import idempotent
from api.routes.cards import CardRead, card_issuer
from api.routes.common import PathId, body, problems
from api.schemas import In
from cards import holding
from wallet.identity import session_signed_in_at

#: The shape of a nonce Stripe.js makes (``stripe.createEphemeralKeyNonce``).
Nonce = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^ephkn_[A-Za-z0-9_]{1,200}$")]


class CardDetailsKeyCreate(In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"nonce": "ephkn_pub_0123456789"}]})

    nonce: Nonce = Field(description="the nonce Stripe.js made for this card in this browser")


class CardDetailsKeyRead(BaseModel):
    card: str = Field(description="Stripe's id of the card (ic_…), for the Issuing Elements")
    nonce: str
    ephemeral_key_secret: str = Field(description="short-lived, for this card only; never stored")
    shows_pin: bool = Field(description="a physical card's PIN is shown too")


async def signed_in_at(request: Request[Any, Any, Any], db: AsyncSession) -> datetime | None:
    """When this browser's session signed in; ``None`` for an API token (never recent)."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return None
    cookie = request.cookies.get(SESSION_COOKIE)
    return await session_signed_in_at(db, token=cookie) if cookie else None


def reveal_window(request: Request[Any, Any, Any]) -> timedelta:
    """How recent a sign-in must be to see a card's details (``TIDE_CARD_REVEAL_SIGN_IN_MINUTES``)."""
    return timedelta(minutes=council_state(request).settings.card_reveal_sign_in_minutes)


class CardHoldingController(Controller):
    path = "/api/v1/cards/{card_id:int}"
    tags = ["cards"]

    @post(
        "/details-key",
        summary="A key for Stripe's iframes to show me my own card (a recent sign-in is needed)",
        responses=problems(401, 403, 404, 409, 503),
        status_code=200,
    )
    async def details_key(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        card_id: PathId,
        data: Annotated[CardDetailsKeyCreate, body(CardDetailsKeyCreate)],
    ) -> CardDetailsKeyRead:
        key = await holding.details_key(
            db,
            card_issuer(council_state(request)),
            who=who,
            card_id=card_id,
            nonce=data.nonce,
            signed_in_at=await signed_in_at(request, db),
            within=reveal_window(request),
            now=now,
        )
        return CardDetailsKeyRead(
            card=key.card_stripe_id, nonce=key.nonce, ephemeral_key_secret=key.secret, shows_pin=key.shows_pin
        )

    @post(
        "/activation",
        summary="My physical card has arrived: activate it",
        responses=problems(403, 404, 409, 503),
        status_code=200,
    )
    @idempotent(status_code=200)
    async def activate(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, card_id: PathId
    ) -> CardRead:
        issuer = card_issuer(council_state(request))
        card = await holding.activate_card(
            db, issuer, who=who, card_id=card_id, key=f"tide-card:{uuid.uuid4().hex}", now=now
        )
        return CardRead.model_validate(card)

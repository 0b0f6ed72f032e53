"""A key worker's own card: its details shown by Stripe (the one page that loads Stripe.js,
under a CSP that allows Stripe's hosts there only), activating a physical card when it
arrives, and how to add the card to a phone's wallet by hand.

The details page is for the card's holder only, after a recent sign-in (else it asks them to
sign in again); the key the page's script asks for is made by the API
(``api.routes.card_holding``), which checks the same again and audits it."""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State

from api.deps import SESSION_COOKIE, DbDep, NowDep
from api.hosts import council_state
from api.routes.card_holding import reveal_window
from api.routes.cards import card_issuer
from api.routes.common import PathId
from api.web.forms import AlreadySent, already_sent, once
from api.web.render import page
from api.web.security import policy_allowing_stripe
from api.web.session import UserDep
from cards import holding, issuing
from cards.errors import CardNotInState
from wallet.errors import NotAllowed
from wallet.identity import session_signed_in_at


@get("/cards/{card_id:int}/details")
async def card_details(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, card_id: PathId
) -> Response[str]:
    card, wallet = await issuing.get_card(db, who=user.who, card_id=card_id)
    if wallet.person_id != user.who.person_id:
        raise NotAllowed("only the card's own key worker sees its details")
    if card.status == "canceled":
        raise CardNotInState("the card is cancelled")
    state: State = council_state(request)
    window = reveal_window(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    signed_in = await session_signed_in_at(db, token=cookie) if cookie else None
    if signed_in is None or now - signed_in > window:
        minutes = int(window.total_seconds() // 60)
        return page("card_sign_in_again.html.j2", user=user, title="Sign in again", card_id=card.id, minutes=minutes)
    shown = page(
        "card_details.html.j2",
        user=user,
        title="Your card's details",
        back="/",
        card=card,
        stripe_js_url=state.settings.stripe_js_url,
        publishable_key=state.settings.stripe_publishable_key,
    )
    shown.headers["content-security-policy"] = policy_allowing_stripe(state.settings.stripe_js_url)
    return shown


@get("/cards/adding-to-a-phone")
async def card_on_phone(user: UserDep) -> Response[str]:
    return page("card_on_phone.html.j2", user=user, title="Adding your card to your phone", back="/")


@post("/cards/{card_id:int}/activation")
async def activate_card(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, card_id: PathId
) -> Response[Any]:
    issuer = card_issuer(council_state(request))
    form = await request.form()
    key = hashlib.sha256(f"{user.who.person_id}:{form.get('idempotency_key')}".encode()).hexdigest()[:32]

    async def act() -> str:
        await holding.activate_card(db, issuer, who=user.who, card_id=card_id, key=f"web:{key}", now=now)
        return "/?done=activated"

    result = await once(request, db, user=user, now=now, act=act)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


HANDLERS = [card_details, card_on_phone, activate_card]

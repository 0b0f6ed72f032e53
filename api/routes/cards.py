"""Cards: Stripe's two endpoints (real-time authorization, webhooks) and card management.

``POST /stripe/issuing/authorization`` answers Stripe's ``issuing_authorization.request``
within its two seconds: the signature is checked on the raw body, the decision is made and
committed in one transaction of its own, and the answer is always a 200 with
``Stripe-Version`` and ``{"approved": …}`` — whatever goes wrong becomes a decline with the
reason in ``metadata``, never a 500 (a bad signature is a 400: it is not Stripe asking).
``POST /stripe/webhook`` applies every other Issuing event; a failure answers 503 so Stripe
delivers it again (events are deduplicated by id). Neither is in the OpenAPI: they are
Stripe's, signed, not the app's API.

Under ``/api/v1``: the cards one may see, issuing a card on a wallet, freezing, unfreezing,
cancelling and replacing it, linking a card purchase to its family and needs, and matching
a card refund to the purchase it came from.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.types import ControllerRouterHandler
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.case_schemas import PurchaseRead
from api.deps import DbDep, NowDep, WhoDep
from api.errors import problem
from api.hosts import council_state
from api.idempotency import idempotent, transfer_id_for
from api.metrics import till_answered, webhook_applied
from api.outages import database_unreachable
from api.routes.common import PathId, body, problems
from api.routes.purchases import purchase_read
from api.schemas import Id, In
from api.stripe_gateway import API_VERSION, SignatureInvalid, StripeConfig, StripeGateway, verify
from approvals.requests import raise_for_card_decline
from cards import events, fast_till, issuing, linking, refunds_to_match, till
from cards.answers import CardAnswer, decline
from cards.issuer import CardIssuer
from cards.models import Card
from wallet.access import Principal
from wallet.policies import current_policy

log = logging.getLogger(__name__)

#: The longest Tide spends deciding; Stripe gives two seconds, the network takes some of it.
DECISION_BUDGET_SECONDS = 1.5


def stripe_config(state: State) -> StripeConfig:
    """Stripe's part of the settings, made once at start-up (``create_app``)."""
    config: StripeConfig = state.stripe_config
    return config


def card_issuer(state: State) -> CardIssuer:
    """The card issuer, made on first use (card management only; authorizations never call it)."""
    issuer = getattr(state, "card_issuer", None)
    if issuer is None:
        issuer = StripeGateway(stripe_config(state))
        state.card_issuer = issuer
    return issuer


# Stripe's endpoints ------------------------------------------------------------------------


def _answer(answer: CardAnswer) -> Response[dict[str, Any]]:
    return Response(answer.body(), status_code=200, headers={"Stripe-Version": API_VERSION})


async def _answer_authorization(state: State, event: dict[str, Any], now: datetime, partial: bool) -> CardAnswer:
    """On PostgreSQL the common answers take one call (``cards.fast_till``); the rest, and SQLite,
    take the Python path in a transaction of its own."""
    engine: AsyncEngine = state.engine
    if engine.dialect.name == "postgresql":
        try:
            return await fast_till.answer_in_one_call(engine, event=event, now=now, allow_partial=partial)
        except fast_till.FullDecisionNeeded:
            pass
    sessions: async_sessionmaker[AsyncSession] = state.sessionmaker
    async with sessions() as db:
        try:
            answer = await till.answer_authorization(db, event=event, now=now, allow_partial=partial)
            if not answer.approved and not answer.replayed:
                _, policy = await current_policy(db)
                await raise_for_card_decline(
                    db, authorization_stripe_id=str(event["data"]["object"]["id"]), rules=policy.approvals, now=now
                )
            await db.commit()
        except BaseException:
            await db.rollback()
            raise
        return answer


@post("/stripe/issuing/authorization", include_in_schema=False, status_code=200)
async def stripe_authorization(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Stripe's synchronous authorization request: approve or decline, within two seconds."""
    state = council_state(request)
    config = stripe_config(state)
    raw = await request.body()
    try:
        event = verify(raw, request.headers.get("stripe-signature"), config.authorization_secret)
    except SignatureInvalid as exc:
        return problem(400, "signature-invalid", "The Stripe signature does not check out", str(exc))
    if event.get("type") != "issuing_authorization.request":
        return _answer(decline("not_an_authorization_request"))
    started = time.perf_counter()
    try:
        async with asyncio.timeout(DECISION_BUDGET_SECONDS):  # in this task: no task of its own to start
            answer = await _answer_authorization(state, event, state.clock(), config.allow_partial)
    except TimeoutError:
        log.warning("card authorization %s: no decision within %ss", event.get("id"), DECISION_BUDGET_SECONDS)
        answer = decline("tide_timeout")
    except Exception as exc:
        if database_unreachable(exc):
            log.warning("card authorization %s declined: the database cannot be reached", event.get("id"))
            answer = decline("database_unavailable")
        else:
            log.exception("card authorization %s could not be decided", event.get("id"))
            answer = decline("tide_error")
    till_answered(approved=answer.approved, reasons=answer.reasons, seconds=time.perf_counter() - started)
    return _answer(answer)


@post("/stripe/webhook", include_in_schema=False, status_code=200)
async def stripe_webhook(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Every other Issuing event; a 503 makes Stripe deliver it again."""
    state = council_state(request)
    raw = await request.body()
    try:
        event = verify(raw, request.headers.get("stripe-signature"), stripe_config(state).webhook_secret)
    except SignatureInvalid as exc:
        return problem(400, "signature-invalid", "The Stripe signature does not check out", str(exc))
    sessions: async_sessionmaker[AsyncSession] = state.sessionmaker
    try:
        async with sessions() as db:
            try:
                outcome = await events.apply_event(db, event=event, now=state.clock())
                await db.commit()
            except BaseException:
                await db.rollback()
                raise
    except Exception:
        log.exception("Stripe event %s could not be applied; Stripe will deliver it again", event.get("id"))
        webhook_applied(outcome="failed", created=event.get("created"), now=state.clock().timestamp())
        return problem(503, "try-again", "The event could not be applied now; deliver it again")
    webhook_applied(outcome=str(outcome), created=event.get("created"), now=state.clock().timestamp())
    return Response({"received": True, "outcome": outcome}, status_code=200)


# Card management ----------------------------------------------------------------------------


class CardRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    stripe_id: str = Field(description="Stripe's id of the card (ic_…)")
    wallet_id: int
    status: str = Field(description="active, inactive (frozen) or canceled")
    frozen_reason: str | None
    last4: str
    type: str = Field(description="virtual or physical")
    replacement_for_id: int | None
    created_at: datetime
    shipping_status: str | None = Field(
        description="a physical card's shipment: pending, shipped, delivered, returned, failure or canceled"
    )
    shipping_carrier: str | None
    shipping_tracking_number: str | None


class CardCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"type": "virtual"}]})
    type: Literal["virtual", "physical"] = "virtual"


class CardReplace(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"reason": "lost"}]})
    reason: Literal["lost", "stolen", "damaged", "expired"]


class RefundCandidateRead(BaseModel):
    """A card purchase on the refund's card that could take all of it (same merchant first)."""

    model_config = ConfigDict(from_attributes=True)
    purchase_id: int
    supplier: str
    captured: int = Field(description="pence its captures took")
    left: int = Field(description="pence left to hand back (captured less refunds already on it)")
    same_merchant: bool


class RefundToMatchRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int = Field(description="Tide's id of the card refund")
    wallet_id: int
    amount: int = Field(description="pence back in the wallet")
    merchant_name: str
    created_at: datetime
    candidates: list[RefundCandidateRead] = Field(description="as the page /card-refunds/{id} offers them")


class RefundAssign(In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"purchase_id": 1}]})

    purchase_id: Id


class RefundAssigned(BaseModel):
    id: int
    purchase_id: int
    amount: int


class PurchaseLink(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"family_id": 1, "need_ids": [1]}]})

    family_id: Id
    need_ids: list[Id] = Field(min_length=1, max_length=20)


def _key(who: Principal, request: Request[Any, Any, Any]) -> str:
    """The card issuer's idempotency key: from the caller's Idempotency-Key, so a retried
    request (whose first attempt rolled back here) gets the same card from Stripe; without
    one, a fresh key."""
    if request.headers.get("idempotency-key"):
        return "tide-" + transfer_id_for(who, request, "card")
    return f"tide-card:{uuid.uuid4().hex}"


def _read(card: Card) -> CardRead:
    return CardRead.model_validate(card)


class CardController(Controller):
    path = "/api/v1"
    tags = ["cards"]

    @get("/cards", summary="The cards I may see", responses=problems())
    async def list_cards(self, db: DbDep, who: WhoDep) -> list[CardRead]:
        return [_read(card) for card in await issuing.list_cards(db, who=who)]

    @get("/cards/{card_id:int}", summary="One card", responses=problems(404))
    async def read_card(self, db: DbDep, who: WhoDep, card_id: PathId) -> CardRead:
        card, _ = await issuing.get_card(db, who=who, card_id=card_id)
        return _read(card)

    @post(
        "/wallets/{wallet_id:int}/cards",
        summary="Issue a card on a wallet (virtual, or physical on request)",
        responses=problems(403, 404, 503),
        status_code=201,
    )
    @idempotent(status_code=201)
    async def issue(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        wallet_id: PathId,
        data: Annotated[CardCreate, body(CardCreate)],
    ) -> CardRead:
        issuer = card_issuer(council_state(request))
        card = await issuing.issue_card(
            db, issuer, who=who, wallet_id=wallet_id, card_type=data.type, key=_key(who, request), now=now
        )
        return _read(card)

    async def _change(
        self,
        request: Request[Any, Any, Any],
        db: AsyncSession,
        who: Any,
        card_id: int,
        action: issuing.CardAction,
        now: datetime,
    ) -> CardRead:
        issuer = card_issuer(council_state(request))
        return _read(
            await issuing.change_card(
                db, issuer, who=who, card_id=card_id, action=action, key=_key(who, request), now=now
            )
        )

    @post(
        "/cards/{card_id:int}/freeze", summary="Freeze a card", responses=problems(403, 404, 409, 503), status_code=200
    )
    @idempotent(status_code=200)
    async def freeze(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, card_id: PathId
    ) -> CardRead:
        return await self._change(request, db, who, card_id, "freeze", now)

    @post(
        "/cards/{card_id:int}/unfreeze",
        summary="Unfreeze a card",
        responses=problems(403, 404, 409, 503),
        status_code=200,
    )
    @idempotent(status_code=200)
    async def unfreeze(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, card_id: PathId
    ) -> CardRead:
        return await self._change(request, db, who, card_id, "unfreeze", now)

    @post(
        "/cards/{card_id:int}/cancellation",
        summary="Cancel a card for good",
        responses=problems(403, 404, 409, 503),
        status_code=200,
    )
    @idempotent(status_code=200)
    async def cancel(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, card_id: PathId
    ) -> CardRead:
        return await self._change(request, db, who, card_id, "cancel", now)

    @post(
        "/cards/{card_id:int}/replacement",
        summary="Cancel a lost, stolen or damaged card and issue its replacement",
        responses=problems(403, 404, 409, 503),
        status_code=201,
    )
    @idempotent(status_code=201)
    async def replace(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        card_id: PathId,
        data: Annotated[CardReplace, body(CardReplace)],
    ) -> CardRead:
        issuer = card_issuer(council_state(request))
        return _read(
            await issuing.replace_card(
                db, issuer, who=who, card_id=card_id, reason=data.reason, key=_key(who, request), now=now
            )
        )

    @post(
        "/purchases/{purchase_id:int}/family",
        summary="Say which family and needs a card purchase was for",
        responses=problems(403, 404, 409),
        status_code=200,
    )
    @idempotent(status_code=200)
    async def link(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        purchase_id: PathId,
        data: Annotated[PurchaseLink, body(PurchaseLink)],
    ) -> PurchaseRead:
        row = await linking.link_card_purchase(
            db, who=who, purchase_id=purchase_id, family_id=data.family_id, need_ids=data.need_ids, now=now
        )
        return PurchaseRead.model_validate(await purchase_read(db, who, row))

    @get("/card-refunds/to-match", summary="Card refunds waiting to be matched to their purchase", responses=problems())
    async def refunds_to_match(self, db: DbDep, who: WhoDep) -> list[RefundToMatchRead]:
        found = await refunds_to_match.refunds_to_match(db, who=who, with_candidates=True)
        return [RefundToMatchRead.model_validate(row) for row in found]

    @post(
        "/card-refunds/{refund_id:int}/purchase",
        summary="Say which card purchase a refund to match came from",
        responses=problems(404, 409),
        status_code=200,
    )
    @idempotent(status_code=200)
    async def assign_refund(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        refund_id: PathId,
        data: Annotated[RefundAssign, body(RefundAssign)],
    ) -> RefundAssigned:
        row = await refunds_to_match.assign_refund(
            db, who=who, refund_id=refund_id, purchase_id=data.purchase_id, now=now
        )
        return RefundAssigned(id=row.id, purchase_id=data.purchase_id, amount=row.amount)


ROUTES: list[ControllerRouterHandler] = [stripe_authorization, stripe_webhook, CardController]

"""The bare till: the least a correct answer to Stripe's authorization request must do.

The card benchmark (``benchmarks.card_auth_bench``) measures Tide against this server, on the
same stack and driven by the same client, so that its figures read as a ratio that the
machine's speed and load cancel out of. It

- checks the signature on the raw body and parses the event (``api.stripe_gateway.verify``,
  the very function Tide calls: stripe-python's check, msgspec's decoder);
- in one statement, its own transaction, takes the amount from the card's balance with a
  conditional ``UPDATE`` and records the event id with the answer; the event id is the
  table's key, so an event seen before fails the statement (the balance is left as it was)
  and is answered as it was the first time;
- answers 200 with ``Stripe-Version`` and ``{"approved": …}``.

It is served as Tide is: Litestar under uvicorn (the benchmark starts both with the same
flags: workers, loop, HTTP parser), one SQLAlchemy engine made by ``ledger.database`` with
the same pool, and asyncpg's connection taken from it as Tide's one-call till takes it.
Nothing else: no spend policy, ledger, purchase, audit, middleware or timeout. Its two tables
live in the schema ``bare`` of the benchmark's database, made by ``prepare``.

    uvicorn benchmarks.bare_till:create_app --factory    # BARE_DATABASE_URL, BARE_POOL_SIZE, BARE_SECRET
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, Response, get, post
from sqlalchemy.ext.asyncio import AsyncEngine

from api.stripe_gateway import API_VERSION, SignatureInvalid, verify
from ledger.database import create_engine

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS bare;
CREATE TABLE IF NOT EXISTS bare.balances (card text PRIMARY KEY, available bigint NOT NULL CHECK (available >= 0));
CREATE TABLE IF NOT EXISTS bare.events (
    id text PRIMARY KEY, card text NOT NULL, amount bigint NOT NULL, approved boolean NOT NULL
);
"""

#: Take the amount if the balance has it, and record the event with the answer: one statement.
DECIDE = """
WITH taken AS (
    UPDATE bare.balances SET available = available - $3 WHERE card = $2 AND available >= $3 RETURNING 1
)
INSERT INTO bare.events (id, card, amount, approved) VALUES ($1, $2, $3, EXISTS (SELECT 1 FROM taken))
RETURNING approved
"""
#: The answer given the first time, for an event seen before.
REPLAY = "SELECT approved FROM bare.events WHERE id = $1"
UNIQUE_VIOLATION = "23505"


async def prepare(driver: Any, balances: Iterable[tuple[str, int]]) -> None:
    """Make the bare till's tables on an asyncpg connection and fund its cards."""
    await driver.execute(SCHEMA)
    await driver.executemany(
        "INSERT INTO bare.balances (card, available) VALUES ($1, $2)"
        " ON CONFLICT (card) DO UPDATE SET available = EXCLUDED.available",
        list(balances),
    )


async def _decide(engine: AsyncEngine, event_id: str, card: str, amount: int) -> bool:
    async with engine.connect() as connection:
        driver: Any = (await connection.get_raw_connection()).driver_connection
        try:
            return bool(await driver.fetchval(DECIDE, event_id, card, amount))
        except Exception as exc:
            if getattr(exc, "sqlstate", None) != UNIQUE_VIOLATION:
                raise
            return bool(await driver.fetchval(REPLAY, event_id))


@post("/stripe/issuing/authorization", status_code=200)
async def authorization(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    state = request.app.state
    try:
        event = verify(await request.body(), request.headers.get("stripe-signature"), state.secret)
    except SignatureInvalid as exc:
        return Response({"detail": str(exc)}, status_code=400)
    approved = False
    if event.get("type") == "issuing_authorization.request":
        auth = event["data"]["object"]
        card = auth.get("card")
        card_id = str(card.get("id") if isinstance(card, dict) else card)
        amount = int((auth.get("pending_request") or {}).get("amount") or 0)
        approved = await _decide(state.engine, str(event["id"]), card_id, amount)
    return Response({"approved": approved}, status_code=200, headers={"Stripe-Version": API_VERSION})


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    engine = create_engine(os.environ["BARE_DATABASE_URL"], pool_size=int(os.environ["BARE_POOL_SIZE"]))

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.engine = engine
        app.state.secret = os.environ["BARE_SECRET"]
        try:
            yield
        finally:
            await engine.dispose()

    return Litestar(route_handlers=[authorization, health], lifespan=[lifespan], debug=False)

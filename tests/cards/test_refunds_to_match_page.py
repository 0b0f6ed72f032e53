"""The refunds-to-match pages over real HTTP, on the app the fake Stripe talks to: the key
worker sees a refund Tide could not place on their wallet's card, with the purchases that
could take it, and puts it on one (through the use case the API calls); a form without a
choice, or a purchase that cannot take it, is shown again with the problem and loses nothing;
a refund larger than every purchase is shown with no choice to make."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from cards import refunds
from tests.cards.conftest import Rig
from tests.wallet.support import PASSWORD
from wallet.demo import email


def csrf_of(text: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert found is not None, text[:500]
    return found.group(1)


@asynccontextmanager
async def signed_in(rig: Rig, address: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser-like client signed in to the app as ``address``, and its CSRF token."""
    base = rig.fake.webhook_url.removesuffix("/stripe/webhook")
    async with httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=20) as client:
        form = await client.get("/sign-in")
        answer = await client.post(
            "/sign-in", data={"csrf_token": csrf_of(form.text), "email": address, "password": PASSWORD, "next": "/"}
        )
        assert answer.status_code == 303, answer.text
        home = await client.get("/", follow_redirects=True)
        yield client, csrf_of(home.text)


async def _state(rig: Rig, stripe_id: str) -> str:
    row = await rig.transaction_row(stripe_id)
    async with rig.county.session() as db:
        return await refunds.state_of(db, row)


def _choices(text: str) -> list[str]:
    return re.findall(r'name="purchase" type="radio" value="(\d+)"', text)


async def test_a_key_worker_puts_a_refund_to_match_on_one_of_the_purchases_that_could_take_it(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=20_000)
    first, second, small = rig.pay(card, 2_000), rig.pay(card, 1_500), rig.pay(card, 400)
    for auth in (first, second, small):
        rig.capture(auth["id"])
    refund = rig.unlinked_refund(card, 1_000, name="Clarks")  # two purchases could take it
    assert await _state(rig, refund["id"]) == refunds.TO_MATCH
    row = await rig.transaction_row(refund["id"])
    wanted, other, too_small = [await rig.purchase_of(a["id"]) for a in (second, first, small)]

    async with signed_in(rig, worker.email) as (client, csrf):
        home = (await client.get("/")).text
        assert f'href="/card-refunds/{row.id}"' in home
        assert "Say which purchase the £10.00 refund from Clarks was for" in home
        listed = await client.get("/card-refunds")
        assert listed.status_code == 200
        assert f'href="/card-refunds/{row.id}"' in listed.text
        detail = await client.get(f"/card-refunds/{row.id}")
        assert detail.status_code == 200
        assert sorted(_choices(detail.text)) == sorted([str(wanted.id), str(other.id)])  # not the £4 one
        api = await client.get("/api/v1/card-refunds/to-match")  # the same use case's answer, as JSON
        assert api.status_code == 200, api.text
        (listed_refund,) = [r for r in api.json() if r["id"] == row.id]
        assert sorted(str(c["purchase_id"]) for c in listed_refund["candidates"]) == sorted(_choices(detail.text))

        blank = await client.post(
            f"/card-refunds/{row.id}/purchase", data={"csrf_token": csrf, "idempotency_key": uuid.uuid4().hex}
        )
        assert blank.status_code == 422
        assert "Choose the purchase it came from" in blank.text
        assert 'role="alert"' in blank.text
        refused = await client.post(
            f"/card-refunds/{row.id}/purchase",
            data={"csrf_token": csrf, "idempotency_key": uuid.uuid4().hex, "purchase": str(too_small.id)},
        )
        assert refused.status_code == 409
        assert "cannot take all of the refund" in html.unescape(refused.text)
        assert await _state(rig, refund["id"]) == refunds.TO_MATCH  # nothing lost, nothing moved

        chosen = await client.post(
            f"/card-refunds/{row.id}/purchase",
            data={"csrf_token": csrf, "idempotency_key": uuid.uuid4().hex, "purchase": str(wanted.id)},
        )
        assert (chosen.status_code, chosen.headers["location"]) == (303, "/card-refunds?done=matched")
        after = await client.get(chosen.headers["location"])
        assert "The refund is on its purchase now." in after.text
        assert f'href="/card-refunds/{row.id}"' not in after.text
        assert (await client.get(f"/card-refunds/{row.id}")).status_code == 404

    assert await _state(rig, refund["id"]) == refunds.LANDED
    assert (
        (await rig.transaction_row(refund["id"])).purchase_id,
        (await rig.purchase_of(second["id"])).refunded_amount,
    ) == (
        wanted.id,
        1_000,
    )
    assert (await rig.purchase_of(first["id"])).refunded_amount == 0
    assert await rig.available(worker) == 20_000 - 3_900 + 1_000
    await rig.check_books()


async def test_another_key_worker_cannot_see_or_match_the_refund_but_finance_can(rig: Rig) -> None:
    owner, card = await rig.new_card(wallet_pence=20_000)
    stranger = await rig.county.new_key_worker(wallet_pence=0)
    paid = rig.pay(card, 2_000)
    rig.capture(paid["id"])
    refund = rig.unlinked_refund(card, 500, name="Somewhere Tide never paid")
    row = await rig.transaction_row(refund["id"])
    purchase = await rig.purchase_of(paid["id"])

    async with signed_in(rig, stranger.email) as (client, csrf):
        assert f"/card-refunds/{row.id}" not in (await client.get("/card-refunds")).text
        assert (await client.get(f"/card-refunds/{row.id}")).status_code == 404
        sent = await client.post(
            f"/card-refunds/{row.id}/purchase",
            data={"csrf_token": csrf, "idempotency_key": uuid.uuid4().hex, "purchase": str(purchase.id)},
        )
        assert sent.status_code == 404
    assert await _state(rig, refund["id"]) == refunds.TO_MATCH

    async with signed_in(rig, email("finance")) as (client, csrf):
        assert 'href="/card-refunds"' in (await client.get("/finance", follow_redirects=True)).text
        detail = await client.get(f"/card-refunds/{row.id}")
        assert _choices(detail.text) == [str(purchase.id)]
        chosen = await client.post(
            f"/card-refunds/{row.id}/purchase",
            data={"csrf_token": csrf, "idempotency_key": uuid.uuid4().hex, "purchase": str(purchase.id)},
        )
        assert chosen.status_code == 303
    assert (await rig.purchase_of(paid["id"])).refunded_amount == 500
    assert await rig.available(owner) == 20_000 - 2_000 + 500
    await rig.check_books()


async def test_a_refund_larger_than_every_purchase_is_shown_with_nothing_to_choose_and_stays_in_the_wallet(
    rig: Rig,
) -> None:
    worker, card = await rig.new_card(wallet_pence=10_000)
    auth = rig.pay(card, 800)
    txn = rig.capture(auth["id"])["transactions"][-1]
    bigger = rig.refund(txn["id"], 1_000)  # names its authorization, more than it captured
    row = await rig.transaction_row(bigger["id"])
    purchase = await rig.purchase_of(auth["id"])

    async with signed_in(rig, worker.email) as (client, csrf):
        detail = await client.get(f"/card-refunds/{row.id}")
        assert detail.status_code == 200
        assert _choices(detail.text) == []
        assert "No purchase on this card can take all of it" in detail.text
        forced = await client.post(
            f"/card-refunds/{row.id}/purchase",
            data={"csrf_token": csrf, "idempotency_key": uuid.uuid4().hex, "purchase": str(purchase.id)},
        )
        assert forced.status_code == 409
        assert "cannot take all of the refund" in html.unescape(forced.text)
    assert await _state(rig, bigger["id"]) == refunds.TO_MATCH
    assert (await rig.purchase_of(auth["id"])).refunded_amount == 0
    assert await rig.available(worker) == 10_000 - 800 + 1_000
    await rig.check_books()

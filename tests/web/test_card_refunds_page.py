"""The card refunds to match, in a real browser with JavaScript off and through axe: the key
worker follows the task on their home page, is told what is wrong when they send no choice,
and puts the refund on a purchase. A county and server of this module's own, so the card
money it makes shows on no other test's pages."""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from cards.events import apply_event
from ledger.database import create_engine
from tests import databases
from tests.api.conftest import _seed
from tests.cards.fake_stripe import templates
from tests.web.conftest import County, Server, _fresh_family_and_team_budget, open_phone
from wallet.clock import now_utc

CARD = "ic_web_tests"  # kw.exeter.01's card in the web tests' county


def transaction_event(kind: str, amount: int, created: int) -> dict[str, Any]:
    """``issuing_transaction.created`` as Stripe sends it for a forced capture or a merchant's
    unlinked refund (``authorization: null``), at Clarks."""
    txn = copy.deepcopy(templates()["issuing.transaction"])
    txn.update(
        id=f"ipi_web{uuid.uuid4().hex[:16]}", created=created, type=kind, authorization=None, card=CARD,
        amount=-amount if kind == "capture" else amount, merchant_amount=-amount if kind == "capture" else amount,
        currency="gbp", merchant_currency="gbp", dispute=None,
    )  # fmt: skip
    txn["merchant_data"].update(name="Clarks", network_id="clarks-exeter", country="GB")
    event = {"id": f"evt_web{uuid.uuid4().hex[:16]}", "object": "event", "type": "issuing_transaction.created"}
    return {**event, "created": created, "data": {"object": txn}}


async def _two_purchases_and_a_refund_either_could_take(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    created = int(now_utc().timestamp()) - 600
    try:
        for number, (kind, amount) in enumerate((("capture", 1_500), ("capture", 2_000), ("refund", 1_000))):
            async with AsyncSession(engine, expire_on_commit=False) as db, db.begin():
                await apply_event(db, event=transaction_event(kind, amount, created + number), now=now_utc())
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def web_county(tmp_path_factory: pytest.TempPathFactory) -> County:
    url = databases.sqlite_url(Path(tmp_path_factory.mktemp("web-refunds")))
    databases.migrate(url)
    _seed(url)
    family_id, reference = asyncio.run(_fresh_family_and_team_budget(url))
    asyncio.run(_two_purchases_and_a_refund_either_could_take(url))
    return County(url=url, family_id=family_id, family_reference=reference)


@pytest.fixture(scope="module")
def server(web_county: County) -> Iterator[Server]:
    running = Server(web_county.url)
    running.start()
    yield running
    running.stop()


def test_a_key_worker_matches_a_card_refund_to_its_purchase_with_javascript_off(browser: Any, server: Server) -> None:
    visit = open_phone(browser, server, javascript=False)
    try:
        page = visit.page
        visit.sign_in("kw.exeter.01")
        page.get_by_role("link", name="Say which purchase the £10.00 refund from Clarks was for").click()
        expect(page.get_by_role("group", name="Which purchase was the £10.00 refund from Clarks for?")).to_be_visible()
        visit.check("card-refund-to-match")
        page.get_by_role("button", name="Put the refund on this purchase").click()
        expect(page.get_by_role("alert")).to_contain_text("Choose the purchase it came from")
        visit.check("card-refund-to-match-errors")
        page.get_by_label("£20.00 at Clarks").check()
        page.get_by_role("button", name="Put the refund on this purchase").click()
        expect(page.get_by_role("status")).to_contain_text("The refund is on its purchase now.")
        expect(page.get_by_text("No card refunds are waiting to be matched.")).to_be_visible()
        visit.check("card-refunds-none-left")
    finally:
        visit.context.close()

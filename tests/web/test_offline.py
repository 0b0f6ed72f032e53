"""The offline outbox: a purchase confirmed with no signal is kept on the phone by the service
worker and sent when the signal returns, with its idempotency key, landing exactly once."""

from __future__ import annotations

import sqlite3
import uuid

from playwright.sync_api import expect

from tests.web.conftest import County, Visit
from tests.web.test_journeys import buy


def purchases_described(county: County, description: str) -> int:
    path = county.url.split("///", 1)[1]
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM purchases WHERE description = ?", (description,)).fetchone()[0])


def test_a_purchase_confirmed_offline_is_kept_and_lands_once_when_the_signal_returns(
    phone: Visit, web_county: County
) -> None:
    page = phone.page
    phone.sign_in("kw.exeter.01")
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=10_000)
    what = f"Bus pass {uuid.uuid4().hex[:6]}"

    phone.context.set_offline(True)
    buy(phone, web_county, category="Travel", what=what, amount="4.50", shop="Stagecoach", offline_confirm=True)
    expect(page.get_by_role("heading", name="Saved on this phone")).to_be_visible()
    phone.check("offline-saved")
    assert purchases_described(web_county, what) == 0

    phone.context.set_offline(False)
    phone.go("/")  # the page tells the service worker the signal is back
    page.wait_for_function(
        "() => new Promise(done => { const ask = indexedDB.open('tide-outbox'); ask.onsuccess = () => {"
        " const count = ask.result.transaction('outbox').objectStore('outbox').count();"
        " count.onsuccess = () => done(count.result === 0); }; })",
        timeout=15_000,
    )
    assert purchases_described(web_county, what) == 1
    phone.go("/")  # flushing again (nothing waits now) sends nothing twice
    page.wait_for_timeout(500)
    assert purchases_described(web_county, what) == 1

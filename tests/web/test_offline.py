"""The offline outbox: a purchase confirmed with no signal is kept on the phone by the service
worker and sent when the signal returns, with its idempotency key, landing exactly once."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import uuid

from playwright.sync_api import expect

from tests import receipt_files
from tests.web.conftest import County, Visit
from tests.web.test_journeys import buy


def count(county: County, sql: str, *args: object) -> int:
    with sqlite3.connect(county.url.split("///", 1)[1]) as db:
        return int(db.execute(sql, args).fetchone()[0])


def purchases_described(county: County, description: str) -> int:
    return count(county, "SELECT count(*) FROM purchases WHERE description = ?", description)


def outbox_emptied(phone: Visit) -> None:
    phone.page.wait_for_function(
        "() => new Promise(done => { const ask = indexedDB.open('tide-outbox'); ask.onsuccess = () => {"
        " const count = ask.result.transaction('outbox').objectStore('outbox').count();"
        " count.onsuccess = () => done(count.result === 0); }; })",
        timeout=15_000,
    )


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
    outbox_emptied(phone)
    assert purchases_described(web_county, what) == 1
    phone.go("/")  # flushing again (nothing waits now) sends nothing twice
    page.wait_for_timeout(500)
    assert purchases_described(web_county, what) == 1


def test_a_need_review_and_a_receipt_made_offline_land_once_when_the_signal_returns(
    phone: Visit, web_county: County
) -> None:
    page = phone.page
    phone.sign_in("kw.exeter.01")
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=10_000)
    reviews_before = count(web_county, "SELECT count(*) FROM need_reviews WHERE score = 9")
    phone.go(f"/families/{web_county.family_id}")
    page.get_by_role("link", name=re.compile("Review this need")).first.click()
    page.get_by_label("Improved").check()
    page.get_by_label("Score now, from 1 to 10").fill("9")
    phone.context.set_offline(True)
    page.get_by_role("button", name="Save the review").click()
    expect(page.get_by_role("heading", name="Saved on this phone")).to_be_visible()

    phone.context.set_offline(False)
    buy(phone, web_county, category="Travel", what="Train fare", amount="7.20", shop="GWR")
    expect(page.get_by_role("heading", name="You can go ahead")).to_be_visible()
    purchase_id = int(page.url.split("/purchases/")[1].split("?")[0])
    photo = receipt_files.jpeg(uuid.uuid4().hex)
    page.get_by_label("Take a photo of the receipt").set_input_files(
        {"name": "receipt.jpg", "mimeType": "image/jpeg", "buffer": photo}
    )
    phone.context.set_offline(True)
    page.get_by_role("button", name="Add the receipt").click()
    expect(page.get_by_role("heading", name="Saved on this phone")).to_be_visible()
    assert count(web_county, "SELECT count(*) FROM receipts WHERE purchase_id = ?", purchase_id) == 0

    phone.context.set_offline(False)
    phone.go("/")
    outbox_emptied(phone)
    assert count(web_county, "SELECT count(*) FROM need_reviews WHERE score = 9") == reviews_before + 1
    assert count(web_county, "SELECT count(*) FROM receipts WHERE purchase_id = ?", purchase_id) == 1
    fingerprint = hashlib.sha256(photo).hexdigest()  # of the upload: what is kept is re-encoded
    assert count(web_county, "SELECT count(*) FROM receipts WHERE purchase_id = ? AND sha256 = ?", purchase_id,
                 fingerprint) == 1  # fmt: skip

"""The card details page in real Chromium: the one page that loads Stripe.js, under a CSP that
allows Stripe's host there and nowhere else. Stripe.js is a stand-in served from another
loopback origin (``TIDE_STRIPE_JS_URL`` points at it): it makes a nonce, and mounts an iframe
from its own origin for each Issuing Element, recording the key Tide's server gave it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import County, Server, Visit, open_phone

STAND_IN_JS = b"""
(function () {
  "use strict";
  var origin = new URL(document.currentScript.src).origin;
  window.Stripe = function (publishableKey) {
    var seen = window.stripeStandIn = { publishableKey: publishableKey, mounted: [] };
    return {
      createEphemeralKeyNonce: function (options) {
        seen.card = options.issuingCard;
        return Promise.resolve({ nonce: "ephkn_pub_standin" });
      },
      elements: function () {
        return { create: function (type, options) {
          return { mount: function (selector) {
            var frame = document.createElement("iframe");
            frame.src = origin + "/element?type=" + type;
            frame.title = type;
            document.querySelector(selector).appendChild(frame);
            seen.mounted.push({ type: type, card: options.issuingCard, nonce: options.nonce,
                                secret: options.ephemeralKeySecret });
          } };
        } };
      }
    };
  };
})();
"""
ELEMENT = b"<!DOCTYPE html><html lang='en'><title>card</title><p>shown by Stripe</p></html>"


#: Every path the stand-in served: what a browser really fetched from "Stripe".
SERVED: list[str] = []


class StandIn(BaseHTTPRequestHandler):
    def log_message(self, *_args: Any) -> None:
        return

    def do_GET(self) -> None:
        SERVED.append(self.path)
        script = self.path.startswith("/v3/")
        body = STAND_IN_JS if script else ELEMENT
        self.send_response(200)
        self.send_header("content-type", "text/javascript" if script else "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def stripe_js() -> Iterator[str]:
    served = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=served.serve_forever, daemon=True).start()
    host, port = served.server_address[:2]
    yield f"http://{host!s}:{port}"
    served.shutdown()
    served.server_close()


@pytest.fixture(scope="module")
def card_server(web_county: County, stripe_js: str) -> Iterator[Server]:
    running = Server(web_county.url, stripe_js_url=f"{stripe_js}/v3/", stripe_publishable_key="pk_test_standin")
    running.start()
    yield running
    running.stop()


@pytest.fixture
def visit(browser: Any, card_server: Server) -> Iterator[Visit]:
    opened = open_phone(browser, card_server)
    yield opened
    opened.context.close()


def test_the_holder_sees_the_card_in_stripes_frames_under_a_csp_that_allows_stripe(
    visit: Visit, stripe_js: str
) -> None:
    visit.sign_in("kw.exeter.01")
    with visit.page.expect_response(lambda r: r.url.endswith("/details")) as shown:
        visit.page.get_by_role("link", name="Show the card's details").click()
    policy = shown.value.headers["content-security-policy"]
    assert f"script-src 'self' {stripe_js}" in policy
    assert f"frame-src {stripe_js}" in policy
    expect(visit.page.locator("#card-number iframe")).to_have_count(1)
    expect(visit.page.locator("#card-cvc iframe")).to_have_count(1)
    expect(visit.page.locator("[data-card-details]")).to_have_attribute("data-shown", "1")

    seen = visit.page.evaluate("() => window.stripeStandIn")
    assert seen["publishableKey"] == "pk_test_standin"
    assert [m["type"] for m in seen["mounted"]] == [
        "issuingCardNumberDisplay",
        "issuingCardExpiryDisplay",
        "issuingCardCvcDisplay",
    ]
    # The key Tide's server made for the nonce Stripe.js gave it, for this card only.
    assert {m["secret"] for m in seen["mounted"]} == {"ek_test_ephkn_pub_standin_ic_web_tests"}
    assert visit.hosts == {f"127.0.0.1:{visit.base.rsplit(':', 1)[1]}", stripe_js.removeprefix("http://")}
    assert not [e for e in visit.console_errors if "Content Security Policy" in e], visit.console_errors
    visit.check("card-details")


def test_every_other_page_refuses_stripe_js(visit: Visit, stripe_js: str) -> None:
    visit.sign_in("kw.exeter.01")
    with visit.page.expect_response(lambda r: r.url.endswith("/cards/adding-to-a-phone")) as help_page:
        visit.page.get_by_role("link", name="Add it to your phone").first.click()
    assert stripe_js not in help_page.value.headers["content-security-policy"]
    visit.check("card-on-phone")
    served_before = list(SERVED)

    loaded = visit.page.evaluate(
        """src => new Promise(done => {
            const script = document.createElement("script");
            script.src = src;
            script.onload = () => done("loaded");
            script.onerror = () => done("blocked");
            document.head.appendChild(script);
        })""",
        f"{stripe_js}/v3/",
    )
    assert loaded == "blocked"
    assert visit.page.evaluate("() => typeof window.Stripe") == "undefined"
    assert served_before == SERVED  # the browser never fetched it
    assert any("Content Security Policy" in e for e in visit.console_errors)
    visit.console_errors.clear()  # the refusal itself is the CSP error this test provoked


def test_the_cards_manager_is_not_shown_it_and_stripe_js_is_never_loaded(visit: Visit, stripe_js: str) -> None:
    visit.sign_in("kw.exeter.01")
    href = visit.page.get_by_role("link", name="Show the card's details").get_attribute("href")
    visit.context.clear_cookies()
    visit.sign_in("manager.exeter")
    served_before = list(SERVED)

    answer = visit.page.goto(visit.base + str(href))

    assert answer is not None
    assert answer.status == 403
    assert stripe_js not in answer.headers["content-security-policy"]
    assert served_before == SERVED

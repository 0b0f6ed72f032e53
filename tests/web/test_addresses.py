"""No free text in an address: what people type travels in request bodies, never in a URL.

Addresses reach access logs, browser history and ``Referer`` headers, so a purchase's
description or shop in a query string is personal data leaking. The journey below buys for a
family through every step, typing a unique marker into every free-text field; every address
it meets (each request it makes, each redirect's ``Location``, each link, form action and
source on each page it is shown, and the pages one link away) must be free of the markers, and
no form that sends its answers in the address (``method="get"``) may ask for free text.
"""

from __future__ import annotations

import html
import re
import uuid
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit

from httpx import Response
from litestar.testing import AsyncTestClient

from tests.web import test_pages as pages
from tests.web.test_pages import csrf_of, fresh_family, sign_in

# The pages' county and client, as the pages' tests have them (a county of this module's own).
pages_sqlite = pages.pages_sqlite
pages_postgres = pages.pages_postgres
pages_url = pages.pages_url
app_client = pages.app_client

ADDRESS = re.compile(r'(?:href|action|src|formaction)="([^"]*)"')
GET_FORM = re.compile(r"<form\b(?=[^>]*method=\"get\")[^>]*>(.*?)</form>", re.DOTALL | re.IGNORECASE)
FREE_TEXT_INPUT = re.compile(r"<textarea\b|<input\b(?![^>]*type=\"(?:hidden|radio|checkbox|submit|file)\")", re.I)


class Journey:
    """A client that notes every address it meets."""

    def __init__(self, client: AsyncTestClient[Any]) -> None:
        self.client = client
        self.addresses: list[str] = []
        self.get_forms_with_text: list[str] = []

    def _note(self, url: str, answer: Response) -> Response:
        self.addresses.append(url)
        if "location" in answer.headers:
            self.addresses.append(answer.headers["location"])
        if answer.headers.get("content-type", "").startswith("text/html"):
            self.addresses += [html.unescape(a) for a in ADDRESS.findall(answer.text)]
            self.get_forms_with_text += [
                f"{url}: {form[:120]}" for form in GET_FORM.findall(answer.text) if FREE_TEXT_INPUT.search(form)
            ]
        return answer

    async def get(self, url: str) -> Response:
        return self._note(url, await self.client.get(url))

    async def post(self, url: str, data: dict[str, Any]) -> Response:
        return self._note(url, await self.client.post(url, data=data))

    async def follow(self, answer: Response) -> Response:
        while answer.status_code in (301, 302, 303, 307, 308):
            answer = await self.get(answer.headers["location"])
        return answer

    def leaks(self, markers: list[str]) -> list[str]:
        return [a for a in self.addresses if any(m.lower() in unquote_plus(a).lower() for m in markers)]


async def test_a_purchase_bought_through_the_pages_never_puts_what_was_typed_in_an_address(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    csrf = await sign_in(app_client, "kw.exeter.01")
    family_id, need_id = await fresh_family(pages_url, "kw.exeter.01")
    marker = uuid.uuid4().hex[:10]
    what, shop = f"School shoes {marker}-what", f"Clarks {marker}-shop"
    journey = Journey(app_client)
    key = {"csrf_token": csrf}
    start = await journey.get(f"/buy?family={family_id}")
    draft = {**key, "idempotency_key": re.search(r'name="idempotency_key" value="([^"]+)"', start.text).group(1)}  # type: ignore[union-attr]
    draft["family"] = str(family_id)
    needs = await journey.follow(await journey.post("/buy", draft))
    draft["need"] = str(need_id)
    details = await journey.follow(await journey.post("/buy/need", draft))
    assert details.status_code == 200, details.text[:300]
    answers = {**draft, "category": "CLOTH", "description": what, "amount": "12.50", "supplier": shop}
    check = await journey.follow(await journey.post("/buy/details", {**answers, "method": "invoice"}))
    assert check.status_code == 200
    assert what in html.unescape(check.text)  # the words came back from the server
    assert shop in html.unescape(check.text)
    for change in re.findall(r'href="(/buy/details\?[^"]*)"', check.text)[:1]:
        changing = await journey.get(html.unescape(change))
        assert what in html.unescape(changing.text), "a Change link must bring the words back"
    bought = await journey.follow(await journey.post("/buy/check", {**answers, "method": "invoice"}))
    assert bought.status_code == 200, bought.text[:300]
    assert needs.status_code == 200

    here = [a for a in journey.addresses if a.startswith("/") and not a.startswith("//")]
    for address in sorted(set(here))[:60]:  # and every page one link away
        if urlsplit(address).path not in ("/sign-out", "/sign-out-everywhere") and not address.endswith(".js"):
            await journey.get(urljoin("/", address))

    assert journey.leaks([f"{marker}-what", f"{marker}-shop", marker]) == []
    assert journey.get_forms_with_text == []


async def test_a_crafted_address_carrying_free_text_is_not_taken_as_the_purchases_words(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    await sign_in(app_client, "kw.exeter.01")
    family_id, need_id = await fresh_family(pages_url, "kw.exeter.01")
    crafted = (
        f"/buy/details?idempotency_key=k-{uuid.uuid4().hex}&family={family_id}&need={need_id}"
        "&description=Injected+words&supplier=Injected+shop"
    )
    page = await app_client.get(crafted)
    assert page.status_code == 200
    assert "Injected" not in page.text
    assert csrf_of(page.text)

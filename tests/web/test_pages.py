"""The pages over HTTP, on SQLite and on PostgreSQL: who may see what, CSRF, security headers,
and forms that land once however often they are sent."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from httpx import Response
from litestar.testing import AsyncTestClient
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from api.errors import PROBLEMS
from cards.errors import CardIssuerUnavailable
from ledger.database import create_engine
from tests import databases, receipt_files
from tests.api.conftest import _seed, settings_for
from tests.conftest import IN_CI
from wallet import families
from wallet.access import load_principal
from wallet.buying_for import stated_family
from wallet.clock import local_date, now_utc
from wallet.demo import DEMO_PASSWORD, email
from wallet.errors import NotAllowed, NotFound
from wallet.models import Person, Purchase

JPEG = receipt_files.jpeg("a receipt photographed in a shop")


@pytest.fixture(scope="module")
def pages_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = databases.sqlite_url(Path(tmp_path_factory.mktemp("pages")))
    databases.migrate(url)
    _seed(url)
    return url


@pytest.fixture(scope="module")
def pages_postgres() -> Iterator[str]:
    reason = databases.postgres_unreachable_reason()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI requires PostgreSQL: {reason}", pytrace=False)
        pytest.skip(reason)
    url = databases.create_postgres_database("tide_web")
    try:
        databases.migrate(url)
        _seed(url)
        yield url
    finally:
        databases.drop_postgres_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def pages_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pages_sqlite" if request.param == "sqlite" else "pages_postgres"))


@pytest.fixture
async def app_client(pages_url: str) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings_for(pages_url))) as client:
        client.follow_redirects = False
        yield client


async def fresh_family(url: str, worker: str) -> tuple[int, int]:
    """A new family of ``worker`` with one open need, so each test buys with room under the caps."""
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            now = now_utc()
            person_id = (await db.execute(select(Person.id).where(Person.email == email(worker)))).scalar_one()
            who = await load_principal(db, person_id=person_id)
            family = await families.open_family(
                db, who=who, team_id=min(who.worker_team_ids), lead_worker_id=person_id, locality="Exeter",
                age_bands=["5-10"], opened_on=local_date(now), now=now,
            )  # fmt: skip
            need = await families.add_need(
                db, who=who, family_id=family.id, code="EDU-ATT", whose="child", identified_on=local_date(now),
                evidence_source="school", baseline_score=4, now=now,
            )  # fmt: skip
            await db.commit()
            return family.id, need.id
    finally:
        await engine.dispose()


async def count_purchases(url: str, description: str) -> int:
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            found = await db.execute(select(func.count()).where(Purchase.description == description))
            return int(found.scalar_one())
    finally:
        await engine.dispose()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, html[:500]
    return found.group(1)


async def sign_in(client: AsyncTestClient[Any], name: str) -> str:
    """Sign in through the page; the session's CSRF token (from a page's forms)."""
    form = await client.get("/sign-in")
    response = await client.post(
        "/sign-in",
        data={"csrf_token": csrf_of(form.text), "email": email(name), "password": DEMO_PASSWORD, "next": "/"},
    )
    assert response.status_code == 303, response.text
    return csrf_of((await client.get("/", follow_redirects=True)).text)


def purchase_form(family_id: int, need_id: int, *, key: str, csrf: str, what: str, amount: str) -> dict[str, Any]:
    return {
        "csrf_token": csrf,
        "idempotency_key": key,
        "family": str(family_id),
        "need": str(need_id),
        "category": "CLOTH",
        "description": what,
        "amount": amount,
        "supplier": "Clarks",
        "method": "card",
    }


async def test_pages_carry_a_strict_content_security_policy_and_the_security_headers(
    app_client: AsyncTestClient[Any],
) -> None:
    response = await app_client.get("/sign-in")
    csp = response.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"
    assert "<script>" not in response.text
    missing = await app_client.get("/no-such-page", headers={"accept": "text/html"})
    assert missing.status_code == 404
    assert "Page not found" in missing.text
    assert missing.headers["content-security-policy"] == csp
    assert missing.headers["x-frame-options"] == "DENY"
    api_missing = await app_client.get("/api/v1/no-such-thing", headers={"accept": "text/html"})
    assert api_missing.headers["content-type"] == "application/problem+json"
    assert " style=" not in response.text


async def test_signed_out_people_are_sent_to_sign_in_and_come_back_where_they_were(
    app_client: AsyncTestClient[Any],
) -> None:
    response = await app_client.get("/families", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Ffamilies"
    refused = await app_client.post("/buy/check", data={"family": "1"})
    assert refused.status_code == 401


async def test_sign_in_refuses_a_form_without_its_token_and_never_redirects_off_site(
    app_client: AsyncTestClient[Any],
) -> None:
    forged = await app_client.post(
        "/sign-in", data={"csrf_token": "forged", "email": email("kw.exeter.01"), "password": DEMO_PASSWORD}
    )
    assert forged.status_code == 403
    form = await app_client.get("/sign-in")
    wrong = await app_client.post(
        "/sign-in", data={"csrf_token": csrf_of(form.text), "email": email("kw.exeter.01"), "password": "wrong"}
    )
    assert wrong.status_code == 401
    assert "The email address or password is not right" in wrong.text
    form = await app_client.get("/sign-in?next=//elsewhere.example/")
    assert 'name="next" value="/"' in form.text
    response = await app_client.post(
        "/sign-in",
        data={"csrf_token": csrf_of(form.text), "email": email("kw.exeter.01"), "password": DEMO_PASSWORD,
              "next": "//elsewhere.example/"},
    )  # fmt: skip
    assert response.status_code == 303, response.text[:300]
    assert response.headers["location"] == "/"


async def test_a_change_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    await sign_in(app_client, "kw.exeter.01")
    family_id, need_id = await fresh_family(pages_url, "kw.exeter.01")
    form = purchase_form(family_id, need_id, key="k-no-csrf", csrf="not-the-token", what="Forged shoes", amount="9")
    response = await app_client.post("/buy/check", data=form)
    assert response.status_code == 403
    assert await count_purchases(pages_url, "Forged shoes") == 0


async def test_a_purchase_sent_twice_with_one_key_is_made_once_and_the_key_cannot_buy_something_else(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    csrf = await sign_in(app_client, "kw.exeter.01")
    family_id, need_id = await fresh_family(pages_url, "kw.exeter.01")
    form = purchase_form(family_id, need_id, key="k-twice", csrf=csrf, what="Twice-tapped shoes", amount="19.99")
    first, second = await asyncio.gather(
        app_client.post("/buy/check", data=form), app_client.post("/buy/check", data=form)
    )
    assert {first.status_code, second.status_code} == {303}
    assert first.headers["location"] == second.headers["location"]
    assert [first.headers.get("idempotent-replayed"), second.headers.get("idempotent-replayed")].count("true") == 1
    assert await count_purchases(pages_url, "Twice-tapped shoes") == 1
    other = await app_client.post("/buy/check", data={**form, "amount": "29.99"})
    assert other.status_code == 409
    assert "This form was already sent" in other.text
    assert first.headers["location"].split("?")[0] in other.text


@dataclass(frozen=True)
class Refusal:
    """A page a person asks for that a domain rule refuses, and the rule's error."""

    who: str
    method: str
    path: str
    error: type[Exception]
    stripe_key: str = ""


REFUSALS = [
    Refusal("admin", "GET", "/buy", NotAllowed),  # an admin is not a key worker
    Refusal("kw.exeter.01", "GET", "/purchases/999999", NotFound),
    Refusal("kw.exeter.01", "POST", "/cards/999999/freeze", CardIssuerUnavailable),  # no Stripe key: was 409
    Refusal("kw.exeter.01", "POST", "/cards/999999/freeze", NotFound, stripe_key="sk_test_unused"),  # was 409
]


@pytest.mark.parametrize("refusal", REFUSALS, ids=lambda r: f"{r.path}-{r.error.__name__}")
async def test_a_page_refused_by_a_domain_rule_answers_with_the_apis_status_and_title(
    pages_url: str, refusal: Refusal
) -> None:
    stripe = {"stripe_api_key": SecretStr(refusal.stripe_key), "stripe_api_base": "http://127.0.0.1:9"}  # not called
    async with AsyncTestClient(app=create_app(settings_for(pages_url).model_copy(update=stripe))) as client:
        client.follow_redirects = False
        csrf = await sign_in(client, refusal.who)
        form = {"csrf_token": csrf, "idempotency_key": "k-refused"}
        path = refusal.path
        response = await (client.get(path) if refusal.method == "GET" else client.post(path, data=form))

    status, _slug, title = PROBLEMS[refusal.error]
    assert response.status_code == status, response.text[:500]
    assert f'<h1 class="heading-l">{html.escape(title)}</h1>' in response.text


async def _buy_with_receipt(client: AsyncTestClient[Any], url: str) -> tuple[str, str]:
    """kw.exeter.01 buys and attaches a receipt; the purchase's path and the receipt's."""
    csrf = await sign_in(client, "kw.exeter.01")
    family_id, need_id = await fresh_family(url, "kw.exeter.01")
    bought = await client.post(
        "/buy/check", data=purchase_form(family_id, need_id, key=f"k-{family_id}", csrf=csrf, what="Shoes", amount="12")
    )
    purchase_path = bought.headers["location"].split("?")[0]
    attached = await client.post(
        f"{purchase_path}/receipts",
        data={"csrf_token": csrf, "idempotency_key": f"r-{family_id}"},
        files={"receipt": ("receipt.jpg", JPEG, "image/jpeg")},
    )
    assert attached.status_code == 303, attached.text
    page = await client.get(purchase_path)
    found = re.search(r'href="(/receipts/\d+)"', page.text)
    assert found is not None
    return purchase_path, found.group(1)


async def test_receipts_are_served_only_to_those_who_may_see_the_purchase(pages_url: str) -> None:
    async with AsyncTestClient(app=create_app(settings_for(pages_url))) as worker:
        worker.follow_redirects = False
        _purchase_path, receipt_path = await _buy_with_receipt(worker, pages_url)
        mine = await worker.get(receipt_path)
        assert mine.status_code == 200
        assert mine.content.startswith(b"\xff\xd8\xff")  # re-encoded
        assert mine.headers["content-disposition"].startswith("attachment")
        assert mine.headers["cache-control"] == "private, no-store"
    seen: dict[str, int] = {}
    for name in ("kw.exeter.02", "kw.torridge.01", "manager.torridge", "manager.exeter", "finance"):
        async with AsyncTestClient(app=create_app(settings_for(pages_url))) as other:
            other.follow_redirects = False
            await sign_in(other, name)
            seen[name] = (await other.get(receipt_path)).status_code
    assert seen == {
        "kw.exeter.02": 404,  # a colleague who does not work with the family
        "kw.torridge.01": 404,
        "manager.torridge": 404,
        "manager.exeter": 200,  # the worker's manager reviews receipts
        "finance": 200,
    }


async def test_the_buying_steps_keep_ids_codes_and_amounts_in_the_address_and_show_errors_against_fields(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    csrf = await sign_in(app_client, "kw.exeter.01")
    family_id, need_id = await fresh_family(pages_url, "kw.exeter.01")
    draft = {"csrf_token": csrf, "idempotency_key": "k-steps", "family": str(family_id), "need": str(need_id)}
    empty = await app_client.post("/buy/details", data=draft)
    assert empty.status_code == 422
    for field in ("category", "description", "amount", "supplier", "method"):
        assert f'href="#{field}"' in empty.text
        assert f'id="{field}-error"' in empty.text
    bad = await app_client.post("/buy/details", data={**draft, "amount": "12.345"})
    assert "has three figures after the point" in bad.text
    unclear = await app_client.post("/buy/details", data={**draft, "amount": "2,5"})
    assert unclear.status_code == 422
    assert "could be £2.50 or £25.00" in unclear.text  # queried, not guessed
    comma = {**draft, "category": "CLOTH", "amount": "2,50", "supplier": "Next", "description": "Socks",
             "method": "invoice"}  # fmt: skip
    decimal_comma: Response = await app_client.post("/buy/details", data=comma)
    assert decimal_comma.status_code == 303
    assert "amount=2.50&" in decimal_comma.headers["location"]  # £2.50, never £250.00
    full = {**draft, "category": "CLOTH", "amount": "£1,040.5", "supplier": "Next", "description": "Coat",
            "method": "invoice"}  # fmt: skip
    moved: Response = await app_client.post("/buy/details", data=full)
    assert moved.status_code == 303
    kept = [(k, v) for k, v in full.items() if k not in ("csrf_token", "supplier", "description")]
    query = urlencode(kept).replace("%C2%A31%2C040.5", "1040.50")
    assert moved.headers["location"] == f"/buy/check?{query}"  # the words stay on the server
    check = await app_client.get(moved.headers["location"])
    assert "Coat" in check.text
    assert "Next" in check.text


async def test_a_form_without_its_idempotency_key_is_refused_and_buys_nothing(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    csrf = await sign_in(app_client, "kw.exeter.01")
    family_id, need_id = await fresh_family(pages_url, "kw.exeter.01")
    form = purchase_form(family_id, need_id, key="", csrf=csrf, what="Keyless shoes", amount="5")
    response = await app_client.post("/buy/check", data={k: v for k, v in form.items() if k != "idempotency_key"})
    assert response.status_code == 400
    assert "The form is incomplete" in response.text
    assert await count_purchases(pages_url, "Keyless shoes") == 0


async def test_tide_installs_as_a_web_app_with_a_service_worker_for_the_whole_site(
    app_client: AsyncTestClient[Any],
) -> None:
    manifest = await app_client.get("/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert body["display"] == "standalone"
    assert body["start_url"] == "/"
    assert {"192x192", "512x512"} <= {icon["sizes"] for icon in body["icons"]}
    for icon in body["icons"]:
        fetched = await app_client.get(icon["src"])
        assert fetched.status_code == 200
        assert fetched.headers["content-type"].startswith(icon["type"])
    worker = await app_client.get("/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    assert "idempotency-key" in worker.text


async def test_a_description_naming_a_person_or_an_address_is_sent_back_with_the_warning(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    csrf = await sign_in(app_client, "kw.exeter.01")
    family_id, need_id = await fresh_family(pages_url, "kw.exeter.01")
    draft = {
        "csrf_token": csrf, "idempotency_key": "k-personal", "family": str(family_id), "need": str(need_id),
        "category": "CLOTH", "amount": "12.50", "supplier": "Next", "method": "invoice",
    }  # fmt: skip

    for text in ("Coat for Sarah Jones", "Bed delivered to 14 Acacia Avenue", "Deposit for the refuge"):
        warned = await app_client.post("/buy/details", data={**draft, "description": text})
        assert warned.status_code == 422, text
        assert "Describe what was bought, not who it was for." in warned.text
        assert 'id="description-error"' in warned.text
        assert "data-personal-check" in warned.text

    taken = await app_client.post("/buy/details", data={**draft, "description": "Winter coat, age 8"})
    assert taken.status_code == 303


async def test_an_admin_keeps_the_councils_redaction_lists_on_a_page(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    csrf = await sign_in(app_client, "admin")
    shown = await app_client.get("/admin/redaction")
    assert shown.status_code == 200
    word = f"haven{uuid.uuid4().hex[:6]}"
    added = await app_client.post(
        "/admin/redaction",
        data={"csrf_token": csrf, "idempotency_key": f"k-{word}", "list_name": "vulnerability_words", "term": word},
    )
    assert added.status_code == 303
    listed = await app_client.get(added.headers["location"])
    assert word in listed.text
    assert "Every published file uses them" in listed.text
    blank = await app_client.post(
        "/admin/redaction", data={"csrf_token": csrf, "idempotency_key": "k-blank", "list_name": "surnames"}
    )
    assert blank.status_code == 422
    worker_csrf = await sign_in(app_client, "kw.exeter.01")
    refused = await app_client.post(
        "/admin/redaction",
        data={"csrf_token": worker_csrf, "idempotency_key": "k-w", "list_name": "surnames", "term": "Quill"},
    )
    assert refused.status_code == 403


async def test_leaders_see_the_evidence_report_and_key_workers_do_not(app_client: AsyncTestClient[Any]) -> None:
    await sign_in(app_client, "finance")
    shown = await app_client.get("/evidence?year=2025")
    assert shown.status_code == 200, shown.text
    assert "Evidence report 2025-26" in shown.text
    assert "What these figures cannot show" in shown.text
    assert '<th scope="row">' in shown.text
    assert "F-" not in shown.text  # no family reference
    await sign_in(app_client, "kw.exeter.01")
    assert (await app_client.get("/evidence")).status_code == 403


async def test_a_key_worker_says_on_the_family_page_that_their_card_pays_for_this_family_for_a_while(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    csrf = await sign_in(app_client, "kw.exeter.01")
    family_id, need_id = await fresh_family(pages_url, "kw.exeter.01")
    before = await app_client.get(f"/families/{family_id}")
    assert "for the next 30 minutes the till applies this family" in html.unescape(before.text)
    said = await app_client.post(
        f"/families/{family_id}/buying-for", data={"csrf_token": csrf, "idempotency_key": f"k-{uuid.uuid4().hex}"}
    )
    assert said.status_code == 303
    assert said.headers["location"] == f"/families/{family_id}?done=buying_for"
    after = html.unescape((await app_client.get(said.headers["location"])).text)
    assert "Your card is paying for this family now" in after
    assert re.search(r"Your card is paying for \S+ until \d\d:\d\d", after)
    engine = create_engine(pages_url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            person_id = (await db.execute(select(Person.id).where(Person.email == email("kw.exeter.01")))).scalar_one()
            stated = await stated_family(db, worker_id=person_id, now=now_utc())
            assert stated is not None
            assert (stated[0].family_id, stated[0].need_ids) == (family_id, [need_id])
    finally:
        await engine.dispose()
    others = await fresh_family(pages_url, "kw.exeter.02")
    refused = await app_client.post(
        f"/families/{others[0]}/buying-for", data={"csrf_token": csrf, "idempotency_key": f"k-{uuid.uuid4().hex}"}
    )
    assert refused.status_code in (403, 404)  # not their family: nothing stated
    no_token = await app_client.post(f"/families/{family_id}/buying-for", data={"idempotency_key": "k-x"})
    assert no_token.status_code == 403

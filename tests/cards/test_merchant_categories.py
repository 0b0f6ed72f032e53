"""Every merchant category Stripe can send, in Tide's one reviewed table: exactly the slugs the
installed stripe-python lists, each with its MCC, a plain-English name and a purpose; the till
declines an unknown one with its reason on both paths (never an error); the published file
prints names, never slugs."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
import stripe
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from api.app import create_app
from cards import fast_till, merchant_categories, till
from cards.issuer import BLOCKED_CATEGORIES
from cards.merchant_categories import NOT_ALLOWED, TABLE, name_of, parse, purpose_of, refusal
from cards.models import CardAuthorization, CardDecision
from ledger.database import create_engine
from reports import transparency
from reports.period import Period
from tests.cards.conftest import Rig, settings_for
from tests.cards.devon import CATEGORIES as DEVON_CATEGORIES
from tests.cards.devon import OTHER as DEVON_OTHER
from tests.cards.fake_stripe import stripe_categories
from tests.cards.support import card_for, request_event, signed
from tests.wallet.support import County
from wallet.clock import local_date, month_start, now_utc
from wallet.taxonomy import CATEGORIES

SECRET = "whsec_categories_test"  # noqa: S105 - a test secret
NEW_SLUG = ("holographic_pet_boutiques", "5999")  # a category Stripe might add tomorrow
STATIONERS, STATIONERY = "Stationery, office and school supply shops", "Stationery, office supplies and paper"


def test_the_table_has_exactly_the_categories_the_installed_stripe_python_lists() -> None:
    listed = stripe_categories()
    assert len(listed) > 250  # the annotations were read, not an empty set
    assert sorted(listed - set(TABLE)) == [], "new Stripe categories: review and add them to merchant_categories.csv"
    assert sorted(set(TABLE) - listed) == [], "categories Stripe no longer lists"


def test_each_category_has_an_mcc_a_plain_english_name_and_a_purpose() -> None:
    codes = [row.mcc for row in TABLE.values() if row.mcc]
    assert [slug for slug, row in TABLE.items() if not row.mcc] == ["miscellaneous"]  # Stripe's own catch-all
    assert len(codes) == len(set(codes))  # one slug per MCC
    assert all("_" not in row.name and row.name[0].isupper() for row in TABLE.values())
    assert {row.purpose for row in TABLE.values()} <= {*CATEGORIES, None}


@pytest.mark.parametrize(
    ("slug", "mcc", "purpose", "name"),
    [
        ("artists_supply_and_craft_shops", "5970", "LEARN", "Art and craft supply shops"),
        ("stationery_stores_office_and_school_supply_stores", "5943", "LEARN", STATIONERS),
        ("stationary_office_supplies_printing_and_writing_paper", "5111", "LEARN", STATIONERY),
        ("sporting_goods_stores", "5941", "ACTIVITY", "Sporting goods shops"),
        ("grocery_stores_supermarkets", "5411", "FOOD-VCH", "Supermarkets and grocers"),
        ("automated_cash_disburse", "6011", "CASH", "Cash machines"),
        ("betting_casino_gambling", "7995", None, "Betting and casinos"),
        ("security_brokers_dealers", "6211", None, "Stockbrokers and securities dealers"),
        ("dating_escort_services", "7273", None, "Dating and escort services"),
    ],
)
def test_art_and_craft_and_stationery_land_in_learning_and_gambling_is_not_allowed(
    slug: str, mcc: str, purpose: str | None, name: str
) -> None:
    assert (TABLE[slug].mcc, purpose_of(slug), name_of(slug)) == (mcc, purpose, name)


def test_an_unknown_category_is_refused_as_unknown_and_a_forbidden_one_as_not_allowed() -> None:
    assert refusal(NEW_SLUG[0]) == refusal("") == refusal(None) == "merchant_category_unknown"
    assert refusal("betting_casino_gambling") == "merchant_category_not_allowed"
    assert refusal("artists_supply_and_craft_shops") is None
    assert purpose_of(NEW_SLUG[0]) is None
    assert name_of(NEW_SLUG[0]) is None


def test_what_stripe_blocks_on_every_card_is_never_a_purchase_the_policy_could_allow() -> None:
    assert all(slug in TABLE for slug in BLOCKED_CATEGORIES)
    assert {purpose_of(slug) for slug in BLOCKED_CATEGORIES} <= {None, "CASH", "ALCOHOL"}


def test_the_devon_replay_sends_real_slugs_with_their_codes() -> None:
    for slug, code in [*DEVON_CATEGORIES.values(), DEVON_OTHER]:
        assert TABLE[slug].mcc == code, slug


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("slug,name\n", "the header"),
        ("slug,mcc,name,purpose\nbakeries,5462,Bakeries\n", "four columns"),
        ("slug,mcc,name,purpose\nbakeries,5462,Bakeries,FOOD-VCH\nbakeries,5462,Bakeries,FOOD-VCH\n", "repeated"),
        ("slug,mcc,name,purpose\nbakeries,54620,Bakeries,FOOD-VCH\n", "four-digit MCC"),
        ("slug,mcc,name,purpose\nbakeries,5462,bakeries,FOOD-VCH\n", "plain-English name"),
        ("slug,mcc,name,purpose\nbakeries,5462,Bakeries,CAKES\n", "neither a purchase category"),
    ],
)
def test_a_table_with_a_mistake_is_refused_when_it_is_read(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse(text)


def test_the_data_file_reads_back_as_the_table() -> None:
    rows = [f'{r.slug},{r.mcc},"{r.name}",{r.purpose or NOT_ALLOWED}' for r in TABLE.values()]
    assert parse("slug,mcc,name,purpose\n" + "\n".join(rows) + "\n") == dict(TABLE)
    assert merchant_categories.DATA_FILE == "merchant_categories.csv"


# At the till -------------------------------------------------------------------------------


@pytest.fixture
async def client(county_url: str) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings_for(county_url, stripe_authorization_secret=SECRET))
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def _ask(client: AsyncTestClient[Any], event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    body, headers = signed(event, SECRET)
    response = await client.post("/stripe/issuing/authorization", content=body, headers=headers)
    return response.status_code, response.json()


async def test_an_unknown_category_is_declined_at_the_till_with_its_reason_recorded(
    client: AsyncTestClient[Any], county: County
) -> None:
    worker = await county.new_key_worker(wallet_pence=10_000)
    card = await card_for(county, worker)
    unknown = request_event(card, 100, category=NEW_SLUG[0], category_code=NEW_SLUG[1])
    crafts = request_event(card, 100, category="artists_supply_and_craft_shops", category_code="5970")
    status, answer = await _ask(client, unknown)
    assert (status, answer) == (200, {"approved": False, "metadata": {"tide_reasons": "merchant_category_unknown"}})
    assert await _ask(client, crafts) == (200, {"approved": True})
    async with county.session() as db:
        decision = (await db.execute(select(CardDecision).where(CardDecision.event_id == unknown["id"]))).scalar_one()
        authorization = (
            await db.execute(
                select(CardAuthorization).where(CardAuthorization.stripe_id == unknown["data"]["object"]["id"])
            )
        ).scalar_one()
    assert (decision.approved, decision.reasons) == (False, ["merchant_category_unknown"])
    assert (authorization.merchant_category, authorization.category) == (NEW_SLUG[0], "")
    assert await county.available(worker.wallet_id) == 9_900


@pytest.mark.postgresql
async def test_on_postgresql_the_one_call_leaves_an_unknown_category_to_the_python_path_which_declines_it(
    cards_county_postgres: str,
) -> None:
    engine = create_engine(cards_county_postgres, pool_size=2)
    try:
        county = County(engine)
        worker = await county.new_key_worker(wallet_pence=10_000)
        card = await card_for(county, worker)
        event = request_event(card, 100, category=NEW_SLUG[0], category_code=NEW_SLUG[1])
        with pytest.raises(fast_till.FullDecisionNeeded, match="not in Tide's table"):
            await fast_till.answer_in_one_call(engine, event=event, now=now_utc())
        async with county.session() as db:
            kept = await db.execute(select(CardDecision).where(CardDecision.event_id == event["id"]))
            assert kept.first() is None  # the one call kept nothing
            answer = await till.answer_authorization(db, event=event, now=now_utc())
            await db.commit()
        assert (answer.approved, answer.reasons) == (False, ["merchant_category_unknown"])
        forbidden = request_event(card, 100, category="betting_casino_gambling", category_code="7995")
        answered = await fast_till.answer_in_one_call(engine, event=forbidden, now=now_utc())
        assert (answered.approved, answered.reasons) == (False, ["merchant_category_not_allowed"])
    finally:
        await engine.dispose()


async def test_the_fake_network_refuses_a_category_stripe_does_not_list_as_stripe_does(rig: Rig) -> None:
    _, card = await rig.new_card(wallet_pence=10_000)
    with pytest.raises(stripe.InvalidRequestError, match="merchant_data"):
        rig.pay(card, 100, category=NEW_SLUG[0], category_code=NEW_SLUG[1])


# In the published file ---------------------------------------------------------------------


async def test_the_transparency_file_prints_the_merchant_categorys_name_never_its_slug(rig: Rig) -> None:
    _, card = await rig.new_card(wallet_pence=10_000)
    paid = rig.pay(card, 1_250, category="artists_supply_and_craft_shops", category_code="5970", name="Hobbycraft")
    assert paid["approved"]
    rig.capture(paid["id"])
    now = now_utc()
    out = io.StringIO(newline="")
    async with rig.county.session() as db:
        await transparency.write_csv(db, Period(first=month_start(local_date(now)), as_at=now), out)
    mine = [line for line in out.getvalue().splitlines() if ",Hobbycraft," in line]
    assert mine, out.getvalue()
    assert all(line.endswith(",Family support - learning,Art and craft supply shops") for line in mine), mine
    assert "artists_supply_and_craft_shops" not in out.getvalue()
    assert not any("_" in row.split(",")[-1] for row in out.getvalue().splitlines())

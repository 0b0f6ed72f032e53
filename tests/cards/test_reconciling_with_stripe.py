"""The month reconciled against Stripe's own list of its Issuing transactions, not against
Tide's record of them: card payments made through the fake Stripe (the card network and the
webhook included), Stripe's statement fetched through the gateway with the real
stripe-python client, then the reconciliation, the Transparency Code file and the finance
pack's cover read back.

Each test has a county of its own whose demo spending lies months back, so the month being
reconciled holds only the test's own card payments and Stripe's whole month is the fake's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pypdf
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from api import card_sync, jobs
from api.cli import main
from api.stripe_gateway import StripeGateway
from cards.stripe_statement import StatementRecorded, StripeStatementLine, month_window
from ledger.database import create_engine
from reports import monthly, reconciliation, transparency
from reports.period import Period
from reports.reconciliation import Reconciliation
from tests import databases
from tests.cards.conftest import Rig, make_rig
from tests.cards.fake_stripe import FakeStripe
from tests.conftest import IN_CI
from tests.wallet.support import County
from wallet.clock import local_date, month_start, now_utc

#: A small county whose demo spending ended four months ago: this month is the tests' alone.
QUIET_COUNTY: dict[str, Any] = {
    "localities": ("Exeter", "Torridge"),
    "workers_per_team": 1,
    "families_per_worker": 1,
    "months": 1,
    "now": now_utc() - timedelta(days=120),
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def quiet_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield databases.seeded_sqlite(tmp_path, QUIET_COUNTY)
    else:
        yield from databases.seeded_postgres("tide_recon_test", QUIET_COUNTY, in_ci=IN_CI)


@pytest.fixture
async def rig(quiet_url: str) -> AsyncIterator[Rig]:
    engine = create_engine(quiet_url, pool_size=5)
    try:
        async with make_rig(County(engine), quiet_url) as made:
            yield made
    finally:
        await engine.dispose()


def this_month() -> date:
    return month_start(local_date(now_utc()))


def stripes_own_totals(fake: FakeStripe) -> tuple[int, int]:
    """Captured and refunded this month, added up from the fake's own transactions."""
    start = int(month_window(this_month())[0].timestamp())
    mine = [t for t in fake.transactions.values() if t["created"] >= start]
    return (
        sum(-t["amount"] for t in mine if t["type"] == "capture"),
        sum(t["amount"] for t in mine if t["type"] == "refund"),
    )


async def fetch_statement(rig: Rig) -> StatementRecorded:
    """``wallet stripe statement``'s work: Stripe's list through the gateway, recorded."""
    sessions = async_sessionmaker(rig.engine, expire_on_commit=False)
    return await card_sync.fetch_statement(sessions, StripeGateway(rig.config), month=this_month(), now=now_utc())


async def reconciled(rig: Rig) -> tuple[Reconciliation, str, transparency.Totals]:
    """The month's reconciliation, the finance pack's text and the Transparency file's totals."""
    async with rig.county.session() as db:
        period = Period(first=this_month(), as_at=now_utc())
        found = await monthly.reconcile(db, period)
        pack = io.BytesIO()
        await monthly.write_report(db, period, "finance-pack.pdf", pack)
        published = await transparency.write_csv(db, period, io.StringIO(newline=""))
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pack.getvalue())).pages)
    return found, " ".join(text.split()), published


def captured_transaction(authorization: dict[str, Any]) -> str:
    return str(authorization["transactions"][-1]["id"])


def stripe_exceptions(found: Reconciliation) -> list[tuple[str, str, int]]:
    return sorted((f.check, f.subject, f.amount) for f in found.exceptions if f.check.startswith("stripe"))


async def test_a_month_in_which_tide_and_stripe_agree_has_no_exception_and_the_cover_says_so(rig: Rig) -> None:
    _, card = await rig.new_card(wallet_pence=20_000)
    shoes = rig.capture(rig.pay(card, 3_000)["id"])
    rig.capture(rig.pay(card, 2_000, name="Tesco Stores", category="grocery_stores_supermarkets")["id"], 1_500)
    rig.refund(captured_transaction(shoes), 1_000)

    recorded = await fetch_statement(rig)
    found, cover, published = await reconciled(rig)

    assert (recorded.lines, recorded.new, recorded.captured, recorded.refunded) == (3, 3, 4_500, 1_000)
    assert found.exceptions == []
    assert found.stripe is not None
    assert found.stripe.agrees
    assert (found.stripe.captured, found.stripe.refunded) == stripes_own_totals(rig.fake) == (4_500, 1_000)
    assert found.stripe.tide == published.amount == 3_500
    assert "Card spend £35.00 agrees with Stripe Issuing's captured - refunded £35.00 for the month" in cover
    assert "The Transparency Code file publishes this card spend, £35.00." in cover
    out = io.StringIO(newline="")
    reconciliation.write_csv(found, out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[1][:4] == ["stripe", "", "Card spend against Stripe", "0.00"]


async def test_fetching_stripes_statement_again_or_by_the_daily_job_records_each_transaction_once(rig: Rig) -> None:
    _, card = await rig.new_card(wallet_pence=20_000)
    rig.capture(rig.pay(card, 1_200)["id"])
    first = await fetch_statement(rig)
    rig.capture(rig.pay(card, 800)["id"])

    again = await fetch_statement(rig)

    assert (first.lines, first.new, again.lines, again.new) == (1, 1, 2, 1)
    assert again.captured == stripes_own_totals(rig.fake)[0] == 2_000
    daily = jobs.JobContext(
        sessionmaker=async_sessionmaker(rig.engine, expire_on_commit=False),
        clock=now_utc,
        mailer=None,
        issuer=StripeGateway(rig.config),
    )
    assert await jobs.fetch_stripe_statement(daily) == 2  # last month's none, this month's two
    async with rig.county.session() as db:
        assert (await db.execute(select(func.count()).select_from(StripeStatementLine))).scalar_one() == 2


async def test_a_stripe_transaction_tide_never_booked_is_an_exception_naming_it(rig: Rig) -> None:
    _, card = await rig.new_card(wallet_pence=20_000)
    booked = rig.capture(rig.pay(card, 1_000)["id"])
    missed = rig.pay(card, 2_500)
    rig.fake.auto_deliver = False  # the capture's event never reaches Tide
    rig.capture(missed["id"])
    transaction = captured_transaction(rig.fake.authorizations[missed["id"]])

    await fetch_statement(rig)
    found, cover, published = await reconciled(rig)

    assert stripe_exceptions(found) == [("stripe", f"stripe {transaction}", 2_500)]
    finding = next(f for f in found.exceptions if f.subject == f"stripe {transaction}")
    assert f"authorization {missed['id']}" in finding.detail
    assert f"card {card}" in finding.detail
    assert "not booked in Tide" in finding.detail
    assert found.stripe is not None
    assert (found.stripe.captured, found.stripe.refunded) == stripes_own_totals(rig.fake) == (3_500, 0)
    assert found.stripe.tide == published.amount == 1_000
    assert found.stripe.difference == 2_500
    assert "differs from Stripe Issuing's captured - refunded £35.00 by £25.00" in cover
    assert booked["id"] not in {f.subject for f in found.findings}


async def test_a_refund_stripe_made_that_tide_attached_to_no_purchase_is_an_exception(rig: Rig) -> None:
    _, card = await rig.new_card(wallet_pence=20_000)
    refund = rig.unlinked_refund(card, 800)  # authorization: null, on a card with no purchase

    await fetch_statement(rig)
    found, _, published = await reconciled(rig)

    assert stripe_exceptions(found) == [("stripe", f"stripe {refund['id']}", -800)]
    finding = next(f for f in found.exceptions if f.subject == f"stripe {refund['id']}")
    assert "refund" in finding.detail
    assert "no authorization" in finding.detail
    assert "is attached to no purchase in Tide" in finding.detail
    assert found.stripe is not None
    assert (found.stripe.captured, found.stripe.refunded) == stripes_own_totals(rig.fake) == (0, 800)
    assert found.stripe.tide == published.amount == 0
    assert any(f.check == "stripe-card" and f.subject == f"card {card}" and f.amount == -800 for f in found.findings)


async def test_an_amount_stripe_and_tide_disagree_on_is_an_exception_with_the_difference(rig: Rig) -> None:
    _, card = await rig.new_card(wallet_pence=20_000)
    paid = rig.capture(rig.pay(card, 2_000)["id"])
    transaction = captured_transaction(paid)
    # Stripe's list says £21.00 where the event Tide applied said £20.00.
    rig.fake.transactions[transaction]["amount"] = -2_100

    await fetch_statement(rig)
    found, cover, published = await reconciled(rig)

    assert stripe_exceptions(found) == [("stripe", f"stripe {transaction}", 100)]
    finding = next(f for f in found.exceptions if f.subject == f"stripe {transaction}")
    assert f"authorization {paid['id']}" in finding.detail
    assert "21.00" in finding.detail
    assert "Tide's purchase" in finding.detail
    assert "20.00" in finding.detail
    assert found.stripe is not None
    assert (found.stripe.captured, found.stripe.refunded) == stripes_own_totals(rig.fake) == (2_100, 0)
    assert found.stripe.tide == published.amount == 2_000
    assert "by £1.00" in cover


async def test_without_stripes_statement_the_months_card_spend_is_an_exception_to_explain(rig: Rig) -> None:
    _, card = await rig.new_card(wallet_pence=20_000)
    rig.capture(rig.pay(card, 1_000)["id"])

    found, cover, _ = await reconciled(rig)

    label = f"{this_month():%Y-%m}"
    assert stripe_exceptions(found) == [("stripe", f"statement {label}", 1_000)]
    assert not found.card_side_reconciled
    assert "not yet reconciled with Stripe Issuing" in cover


def test_wallet_stripe_statement_records_stripes_month_and_says_what_it_adds_up_to(
    cards_county_sqlite: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeStripe(authorization_url="", webhook_url="", auto_deliver=False).start()
    try:
        holder = fake.create_cardholder({"name": "Sam Worker"})
        card = fake.create_card({"cardholder": holder["id"], "status": "active"})["id"]
        for kind, amount in (("capture", 1_234), ("capture", 766), ("refund", 500)):
            fake.transaction({"card": card, "amount": amount}, kind=kind, authorization=None)
        for name, value in {
            "DATABASE_URL": cards_county_sqlite,
            "TIDE_STRIPE_API_KEY": "sk_test_fake",
            "TIDE_STRIPE_API_BASE": fake.base_url,
        }.items():
            monkeypatch.setenv(name, value)
        month = f"{this_month():%Y-%m}"

        first = CliRunner().invoke(main, ["stripe", "statement", month])
        again = CliRunner().invoke(main, ["stripe", "statement", month])
        not_a_month = CliRunner().invoke(main, ["stripe", "statement", "last month"])
    finally:
        fake.stop()

    assert first.exit_code == 0, first.output
    assert f"Stripe's statement for {month}: 3 transaction(s), 3 new" in first.output
    assert "captured £20.00 - refunded £5.00 = £15.00." in first.output
    assert "3 transaction(s), 0 new" in again.output
    assert not_a_month.exit_code == 2

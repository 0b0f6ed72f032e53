"""One seeded county, copied for each case so the two edges start from the same database, and
the offline fake of Stripe that card management talks to (``tests/cards/fake_stripe.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import databases
from tests.cards.fake_stripe import FakeStripe

COUNTY = {"localities": ("Exeter",), "workers_per_team": 2, "families_per_worker": 1, "months": 1}


@pytest.fixture(scope="session")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("both-edges")
    databases.seeded_sqlite(folder, COUNTY)
    return folder / "tide.db"


@pytest.fixture(scope="session", autouse=True)
def card_issuer() -> Iterator[FakeStripe]:
    """Every app these tests start, and the scenes' gateway, call the fake instead of Stripe."""
    fake = FakeStripe(authorization_url="", webhook_url="", auto_deliver=False).start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("TIDE_STRIPE_API_KEY", "sk_test_fake")
            patch.setenv("TIDE_STRIPE_API_BASE", fake.base_url)
            patch.setenv("TIDE_STRIPE_AUTHORIZATION_SECRET", fake.authorization_secret)
            patch.setenv("TIDE_STRIPE_WEBHOOK_SECRET", fake.webhook_secret)
            yield fake
    finally:
        fake.stop()

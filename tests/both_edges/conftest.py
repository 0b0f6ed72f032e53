"""One seeded county, copied for each case so the two edges start from the same database, and
the offline fake of Stripe that card management talks to (``tests/cards/fake_stripe.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import databases
from tests.cards.fake_stripe import FakeStripe, offline_fake_stripe

COUNTY = {"localities": ("Exeter",), "workers_per_team": 2, "families_per_worker": 1, "months": 1}


@pytest.fixture(scope="session")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("both-edges")
    databases.seeded_sqlite(folder, COUNTY)
    return folder / "tide.db"


@pytest.fixture(scope="session", autouse=True)
def card_issuer() -> Iterator[FakeStripe]:
    """Every app these tests start, and the scenes' gateway, call the fake instead of Stripe."""
    yield from offline_fake_stripe()

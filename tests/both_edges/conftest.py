"""One seeded county, copied for each case so the two edges start from the same database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import databases

COUNTY = {"localities": ("Exeter",), "workers_per_team": 2, "families_per_worker": 1, "months": 1}


@pytest.fixture(scope="session")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("both-edges")
    databases.seeded_sqlite(folder, COUNTY)
    return folder / "tide.db"

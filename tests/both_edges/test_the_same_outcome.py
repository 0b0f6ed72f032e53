"""One use case, two edges: the JSON API and the pages reach the same outcome through the same
use-case function, so the same action sent through either leaves the same database behind.

Each case starts from two copies of one seeded county (SQLite files) with the same scene set on
each through the use-case functions, does its action through the API on one and through the
page's form on the other, and compares what the action wrote: the rows of the tables it
touches (``edges.SNAPSHOT``: ids, amounts, states; not the moments) and what was audited.
Every use case in ``docs/architecture.md`` with both a JSON route and a page is here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.both_edges.cases_families import FAMILY_CASES
from tests.both_edges.cases_money import MONEY_CASES
from tests.both_edges.cases_suppliers import SUPPLIER_CASES
from tests.both_edges.edges import ALWAYS, Case, copy_of, set_the_scene, snapshot, visit

CASES: dict[str, Case] = {**FAMILY_CASES, **MONEY_CASES, **SUPPLIER_CASES}


async def _through(edge: str, case: Case, seeded: Path, folder: Path) -> dict[str, list[tuple[Any, ...]]]:
    url = copy_of(seeded, folder)
    ids = await set_the_scene(url, case.scene)
    tables = (*case.tables, *ALWAYS)
    before = await snapshot(url, tables)
    response = await visit(url, ids, case.by_api if edge == "api" else case.by_page)
    if edge == "api":
        assert response.status_code < 300, response.text[:1000]
    else:
        assert response.status_code == 303, response.text[:1000]
    after = await snapshot(url, tables)
    assert after != before, f"the {edge} edge changed nothing"
    return after


@pytest.mark.parametrize("name", list(CASES))
async def test_the_api_and_the_pages_leave_the_same_database(name: str, county: Path, tmp_path: Path) -> None:
    case = CASES[name]
    by_api = await _through("api", case, county, tmp_path / "api")
    by_page = await _through("page", case, county, tmp_path / "page")
    for table in (*case.tables, *ALWAYS):
        assert by_api[table] == by_page[table], f"{name}: {table} differs between the API and the pages"

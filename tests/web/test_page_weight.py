"""A key worker's phone downloads under 100 KB on a first visit to home and to each page of
buying: the benchmark's measurement (``benchmarks.page_weight``), held as a test."""

from __future__ import annotations

import sqlite3
from typing import Any

from benchmarks.page_weight import LIMIT_BYTES, weigh
from tests.web.conftest import County, Server


def test_home_and_buying_pages_weigh_under_100_kb_on_a_first_visit(
    browser: Any, server: Server, web_county: County
) -> None:
    with sqlite3.connect(web_county.url.split("///", 1)[1]) as db:
        need_id = db.execute("SELECT min(id) FROM needs WHERE family_id = ?", (web_county.family_id,)).fetchone()[0]
        purchase_id = db.execute(
            "SELECT min(p.id) FROM purchases p JOIN people w ON w.id = p.worker_id WHERE w.email LIKE 'kw.exeter.01@%'"
        ).fetchone()[0]
    weights = weigh(
        browser, server.base, worker="kw.exeter.01", family_id=web_county.family_id, need_id=need_id,
        purchase_id=purchase_id,
    )  # fmt: skip
    assert len(weights) == 6
    for weight in weights:
        assert weight.requests >= 3, weight  # the page, its styles and its script at least
        assert weight.transferred < LIMIT_BYTES, weight

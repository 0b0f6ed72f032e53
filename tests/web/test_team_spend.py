"""The team page's two tables count spend the same way, add up to the same total, and sort by
the column a manager chooses, on the server (no JavaScript needed)."""

from __future__ import annotations

import html
import re
from typing import Any

from litestar.testing import AsyncTestClient

from api.app import create_app
from ledger.money import pence_as_typed
from tests.api.conftest import settings_for
from tests.web.test_pages import (
    app_client,
    fresh_family,
    pages_postgres,
    pages_sqlite,
    pages_url,
    purchase_form,
    sign_in,
)

__all__ = ["app_client", "pages_postgres", "pages_sqlite", "pages_url"]  # the fixtures, shared


def _table(page: str, caption_id: str) -> tuple[list[list[str]], list[str]]:
    """The body rows and the total row of the table captioned ``caption_id``, as cell texts."""
    start = page.index(f'id="{caption_id}"')
    table = page[start : page.index("</table>", start)]

    def cells(row: str) -> list[str]:
        return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row)]

    body = table[table.index("<tbody>") : table.index("</tbody>")]
    foot = table[table.index("<tfoot>") :] if "<tfoot>" in table else ""
    return [cells(r) for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)], cells(foot)


async def _buy_and_settle(client: AsyncTestClient[Any], url: str, amounts: list[str], *, unpaid: int = 0) -> None:
    """kw.exeter.01 buys each amount for a fresh family; finance records each as paid but the
    last ``unpaid`` (their money stays set aside)."""
    csrf = await sign_in(client, "kw.exeter.01")
    family_id, need_id = await fresh_family(url, "kw.exeter.01")
    ids = []
    for n, amount in enumerate(amounts):
        form = purchase_form(family_id, need_id, key=f"t-{family_id}-{n}", csrf=csrf, what="Shoes", amount=amount)
        bought = await client.post("/buy/check", data=form)
        assert bought.status_code == 303, bought.text
        ids.append(int(bought.headers["location"].split("?")[0].rsplit("/", 1)[1]))
    async with AsyncTestClient(app=create_app(settings_for(url))) as finance:
        finance.follow_redirects = False
        token = await sign_in(finance, "finance")
        for purchase_id, amount in list(zip(ids, amounts, strict=True))[: len(ids) - unpaid]:
            paid = await finance.post(
                f"/api/v1/purchases/{purchase_id}/capture",
                json={"amount_pence": pence_as_typed(amount)},
                headers={"X-CSRF-Token": token, "Idempotency-Key": f"capture-{purchase_id}"},
            )
            assert paid.status_code == 200, paid.text


async def test_the_key_worker_and_need_tables_add_up_to_the_same_spend(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    await _buy_and_settle(app_client, pages_url, ["12.50", "7.25", "40.00"], unpaid=1)
    async with AsyncTestClient(app=create_app(settings_for(pages_url))) as manager:
        manager.follow_redirects = False
        await sign_in(manager, "manager.exeter")
        page = (await manager.get("/team")).text
    workers, worker_total = _table(page, "table-1")
    needs, need_total = _table(page, "table-2")
    spent_by_workers = sum(pence_as_typed(row[3]) for row in workers)
    assert pence_as_typed(worker_total[3]) == spent_by_workers >= 1975
    assert need_total[0] == "All purchases, each counted once"
    assert pence_as_typed(need_total[2]) == spent_by_workers  # the two tables agree
    assert sum(pence_as_typed(row[2]) for row in needs) >= spent_by_workers  # two needs: under each


async def test_each_table_sorts_by_the_column_chosen_and_says_so(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    await _buy_and_settle(app_client, pages_url, ["3.00"])
    async with AsyncTestClient(app=create_app(settings_for(pages_url))) as manager:
        manager.follow_redirects = False
        await sign_in(manager, "manager.exeter")
        for column, index in (("left", 1), ("set_aside", 2), ("spent", 3)):
            page = (await manager.get(f"/team?workers_by={column}&needs_by=need")).text
            workers, _ = _table(page, "table-1")
            figures = [pence_as_typed(row[index]) for row in workers]
            assert figures == sorted(figures, reverse=True), column
            assert page.count('aria-sort="') == 2  # one sorted column in each table
            needs, _ = _table(page, "table-2")
            labels = [row[0].casefold() for row in needs]
            assert labels == sorted(labels)
        by_name = (await manager.get("/team?workers_by=nonsense&needs_by=purchases")).text
        workers, _ = _table(by_name, "table-1")
        names = [row[0].casefold() for row in workers]
        assert names == sorted(names)  # an unknown column falls back to names
        assert 'href="/team?workers_by=spent&amp;needs_by=purchases#table-1"' in by_name  # links keep the other

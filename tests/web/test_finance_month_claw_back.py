"""Finance's month page in a month with a claw-back: each team's row shows what it was given
and what the claw-back took back, so given less taken back is what the ledger holds in the
team's budgets; the cards above show the same totals."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient

from ledger.database import create_engine
from tests.wallet.support import County
from tests.wallet.test_claw_back_months import _month_with_a_claw_back
from tests.web.test_pages import app_client, pages_postgres, pages_sqlite, pages_url, sign_in
from wallet.models import Team

__all__ = ["app_client", "pages_postgres", "pages_sqlite", "pages_url"]  # the fixtures this module uses


async def test_the_finance_month_page_shows_what_a_claw_back_took_back_from_a_team(
    app_client: AsyncTestClient[Any], pages_url: str
) -> None:
    engine = create_engine(pages_url, pool_size=1)
    try:
        county = County(engine)
        team_id, _, in_budgets = await _month_with_a_claw_back(county)
        async with county.session() as db:
            team = await db.get(Team, team_id)
            assert team is not None
            name = team.name
    finally:
        await engine.dispose()
    assert in_budgets == 1_500
    await sign_in(app_client, "finance")
    shown = await app_client.get("/finance")
    assert shown.status_code == 200
    assert '<th scope="col" class="num">Taken back</th>' in shown.text
    assert "Taken back from teams" in shown.text
    row = re.search(rf"<tr><td>{re.escape(name)} .*?</tr>", shown.text)
    assert row is not None
    figures = re.findall(r'<td class="num">([^<]*)</td>', row.group(0))
    assert figures[:2] == ["£65.00", "£50.00"]  # given £65.00, taken back £50.00: £15.00 in the ledger

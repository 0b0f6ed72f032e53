"""A month with a claw-back, in the month's reports: what a grant's claw-back took back from a
team counts against what the team was given, so each report's team figure agrees with the
ledger's balances of the team's budgets (a team of its own, so nothing else moves them)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

import ledger
from reports import monthly
from reports.findings import Reconciliation
from reports.month_by_team import month_by_team
from reports.pots import pot_figures
from tests.wallet.support import County
from wallet import budgets, organisation
from wallet.access import load_principal
from wallet.claw_back import claw_back
from wallet.clock import local_date, month_start, now_utc
from wallet.models import FundingSource, Team, TeamBudget


async def _month_with_a_claw_back(county: County) -> tuple[int, int, int]:
    """A new team given 5,000 from a grant that has ended with claw-back and 1,500 from one still
    running; finance claws the ended grant back. Returns the team's id, the ended grant's id and
    the pence the ledger holds in the team's budgets after it."""
    now, tag = now_utc(), uuid.uuid4().hex[:8]
    finance_id = await county.person_id("finance")
    async with county.session() as db:
        finance = await load_principal(db, person_id=finance_id)
        team = await organisation.create_team(
            db, actor=None, name=f"Claw-back team {tag}", locality="Exeter", cost_centre=f"CB{tag}",
            department="Early Help", now=now,
        )  # fmt: skip
        grants = []
        for ends_in_days, claw_back_unspent, given in ((-1, True, 5_000), (30, False, 1_500)):
            source = await budgets.create_funding_source(
                db, actor=None, code=f"cbm-{tag}-{given}", name=f"Grant {tag} {given}", now=now
            )
            await db.execute(
                update(FundingSource)
                .where(FundingSource.id == source.id)
                .values(ends_on=local_date(now) + timedelta(days=ends_in_days), claw_back_unspent=claw_back_unspent)
            )
            funded = await budgets.fund_pot(
                db, actor=None, funding_source_id=source.id, transfer_id=f"cbm:{tag}:{given}", amount=9_000,
                reason="t", now=now,
            )  # fmt: skip
            assert funded.accepted
            allocated = await budgets.allocate(
                db, actor=finance, transfer_id=f"cbm:{tag}:{given}:team", funding_source_id=source.id,
                team_id=team.id, wallet_id=None, amount=given, month=None, reason="t", now=now,
            )  # fmt: skip
            assert allocated.declined is None
            grants.append(source.id)
        await db.commit()
    async with county.session() as db:
        finance = await load_principal(db, person_id=finance_id)
        assert await claw_back(db, actor=finance, funding_source_id=grants[0], transfer_id=f"cbm:{tag}", now=now_utc())
        await db.commit()
    async with county.session() as db:
        accounts = await db.execute(select(TeamBudget.account_id).where(TeamBudget.team_id == team.id))
        in_budgets = sum([(await ledger.balance(db, account_id=a)).available for a in accounts.scalars()])
    return team.id, grants[0], in_budgets


async def test_finance_months_page_figures_count_what_a_claw_back_took_back(county: County) -> None:
    team_id, _, in_budgets = await _month_with_a_claw_back(county)
    assert in_budgets == 1_500  # the ledger: 5,000 + 1,500 given, 5,000 taken back
    async with county.session() as db:
        rows = {row.team.id: row for row in await month_by_team(db, month=month_start(local_date(now_utc())))}
    row = rows[team_id]
    assert (row.allocated, row.taken_back) == (6_500, 5_000)
    assert row.allocated - row.taken_back == in_budgets


async def test_finance_packs_team_budget_is_net_of_a_claw_back(county: County) -> None:
    team_id, _, in_budgets = await _month_with_a_claw_back(county)
    async with county.session() as db:
        period = await monthly.period_for(
            db, month=month_start(local_date(now_utc())), now=now_utc() + timedelta(seconds=1)
        )
        pack = await monthly.pack_for(db, period)
        team = await db.get(Team, team_id)
    assert team is not None
    budgets_by_team = {t.team: t.budget for t in pack.teams}
    assert budgets_by_team[team.name] == in_budgets


async def test_allocation_checks_and_pot_figures_agree_with_the_ledger_after_a_claw_back(county: County) -> None:
    team_id, ended, in_budgets = await _month_with_a_claw_back(county)
    later = now_utc() + timedelta(seconds=1)
    async with county.session() as db:
        period = await monthly.period_for(db, month=month_start(local_date(later)), now=later)
        found: Reconciliation = await monthly.reconcile(db, period)
        source = await db.get(FundingSource, ended)
        assert source is not None
        figures = await pot_figures(db, source=source, as_at=later)
    assert found.totals["Clawed back from teams"] >= 5_000  # other tests' claw-backs this month too
    assert not [f for f in found.findings if f.subject == f"team {team_id}"]
    assert (figures.allocated, figures.funded) == (0, 0)
    assert in_budgets == 1_500

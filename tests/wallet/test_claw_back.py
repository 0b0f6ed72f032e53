"""Claw-back of an ended grant's unspent money: finance gives what is unspent (in the pot and
its team budgets) back to the funder, or the daily job does the day after the grant ends; once a day is once, the ledger
still verifies, and the pot's figures still equal the ledger's."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

import ledger
from api.jobs import JobContext, claw_back_ended_grants
from api.receipt_storage import sessions_for
from reports.pots import grant_lines, pot_figures, pot_findings
from tests.wallet.conftest import settings_for
from tests.wallet.support import County
from wallet import budgets
from wallet.access import load_principal
from wallet.claw_back import claw_back
from wallet.clock import local_date, now_utc
from wallet.errors import NotAllowed, NothingToChange
from wallet.models import AuditEntry, FundingSource


async def _grant(county: County, *, funded: int, to_team: int, ends_in_days: int, claw_back_unspent: bool) -> int:
    """A grant of ``funded`` pence, ``to_team`` of it given to team 1, ending in so many days."""
    now, tag = now_utc(), uuid.uuid4().hex[:8]
    finance_id = await county.person_id("finance")
    async with county.session() as db:
        finance = await load_principal(db, person_id=finance_id)
        source = await budgets.create_funding_source(db, actor=None, code=f"cb-{tag}", name=f"Grant {tag}", now=now)
        await db.execute(
            update(FundingSource)
            .where(FundingSource.id == source.id)
            .values(ends_on=local_date(now) + timedelta(days=ends_in_days), claw_back_unspent=claw_back_unspent)
        )
        assert (
            await budgets.fund_pot(
                db, actor=None, funding_source_id=source.id, transfer_id=f"cb:{tag}", amount=funded, reason="t", now=now
            )
        ).accepted
        if to_team:
            given = await budgets.allocate(
                db, actor=finance, transfer_id=f"cb:{tag}:team", funding_source_id=source.id, team_id=1,
                wallet_id=None, amount=to_team, month=None, reason="t", now=now,
            )  # fmt: skip
            assert given.declined is None
        return source.id


async def _job(county: County, url: str) -> int:
    ctx = JobContext(sessionmaker=sessions_for(county.engine, settings_for(url)), clock=now_utc, mailer=None)
    return await claw_back_ended_grants(ctx)


async def test_the_daily_job_gives_back_what_is_left_in_each_ended_grants_pot_once(
    county: County, county_url: str
) -> None:
    ended = await _grant(county, funded=9_000, to_team=5_000, ends_in_days=-1, claw_back_unspent=True)
    kept = await _grant(county, funded=3_000, to_team=0, ends_in_days=-1, claw_back_unspent=False)
    running = await _grant(county, funded=2_000, to_team=0, ends_in_days=0, claw_back_unspent=True)

    assert await _job(county, county_url) >= 9_000  # other tests' ended grants may give back too
    assert await _job(county, county_url) == 0  # the second run that day moves nothing

    later = now_utc() + timedelta(seconds=1)
    async with county.session() as db:
        sources = {s.id: s for s in (await db.execute(select(FundingSource))).scalars()}
        figures = {i: await pot_figures(db, source=sources[i], as_at=later) for i in (ended, kept, running)}
        # All 9,000 went back: 4,000 from the pot, and the 5,000 the team budget had not spent.
        assert (figures[ended].funded, figures[ended].allocated) == (0, 0)
        assert figures[kept].funded == 3_000  # no claw-back in its conditions
        assert figures[running].funded == 2_000  # still running today
        assert (await ledger.balance(db, account_id=sources[ended].pot_account_id)).available == 0
        assert await pot_findings(db, now=later, source_ids=[ended, kept, running], wallet_ids=[]) == []
        assert await ledger.verify(db) == []
        audited = await db.execute(
            select(AuditEntry.details).where(
                AuditEntry.action == "funding_source.clawed_back", AuditEntry.subject_id == str(ended)
            )
        )
        assert [(d["amount"], d["from_teams"]) for d in audited.scalars()] == [(9_000, 5_000)]
        lines = {line.source.id: line for line in await grant_lines(db, now=later, today=local_date(later))}
        assert (lines[ended].in_pot, lines[ended].can_claw_back) == (0, False)
        assert lines[running].can_claw_back is False


async def test_finance_claws_back_an_ended_grant_and_no_one_else_may(county: County) -> None:
    source_id = await _grant(county, funded=6_000, to_team=1_000, ends_in_days=-3, claw_back_unspent=True)
    worker_id, finance_id = await county.person_id("kw.exeter.01"), await county.person_id("finance")
    async with county.session() as db:
        line = next(
            g for g in await grant_lines(db, now=now_utc(), today=local_date(now_utc())) if g.source.id == source_id
        )
        assert (line.in_pot, line.can_claw_back) == (5_000, True)
        worker = await load_principal(db, person_id=worker_id)
        with pytest.raises(NotAllowed):
            await claw_back(db, actor=worker, funding_source_id=source_id, transfer_id="cb:worker", now=now_utc())
    async with county.session() as db:
        finance = await load_principal(db, person_id=finance_id)
        assert (
            await claw_back(db, actor=finance, funding_source_id=source_id, transfer_id="cb:f1", now=now_utc()) == 6_000
        )
    async with county.session() as db:
        with pytest.raises(NothingToChange):
            await claw_back(db, actor=finance, funding_source_id=source_id, transfer_id="cb:f2", now=now_utc())

"""The month's five reports, by name: made for a period, written to a file or a stream.

``period_for`` decides what moment the reports are as at: the close time of a closed month
(so they come out the same bytes every time), now for an open one. ``write_report`` writes
one report; ``write_all`` the five into a folder, telling ``progress`` after each.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import and_, case, exists, func, select

from ledger.operations import Db
from ledger.schema import periods
from reports import finance_settings, journal, needs_outcomes, pdf, reconciliation, transparency
from reports.errors import UnknownReport
from reports.movements import movements_query, net_spend_by_purchase, stream_movements
from reports.needs_outcomes import NeedsOutcomes
from reports.period import Period, as_utc
from reports.reconciliation import Reconciliation
from reports.redaction import Redaction
from reports.redaction_lists import council_redaction
from wallet.clock import LONDON
from wallet.models import Allocation, Purchase, Receipt, Team
from wallet.report_models import ReconciliationExplanation

#: Report name → file name stem (the file is ``{stem}-YYYY-MM.{extension}``).
REPORTS: dict[str, tuple[str, str]] = {
    "finance-pack.pdf": ("finance-pack", "pdf"),
    "gl-journal.csv": ("gl-journal", "csv"),
    "transparency.csv": ("transparency", "csv"),
    "needs-outcomes.csv": ("needs-outcomes", "csv"),
    "reconciliation.csv": ("reconciliation", "csv"),
}
CONTENT_TYPES = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}


@dataclass
class Computed:
    """What more than one report of a run needs, made once: the PDF pack reuses the
    reconciliation and the needs report that their CSVs were written from."""

    reconciliation: Reconciliation | None = None
    needs: NeedsOutcomes | None = None

    async def reconciled(self, db: Db, period: Period) -> Reconciliation:
        if self.reconciliation is None:
            self.reconciliation = await reconcile(db, period)
        return self.reconciliation

    async def needs_report(self, db: Db, period: Period) -> NeedsOutcomes:
        if self.needs is None:
            self.needs = await needs_outcomes.needs_outcomes(db, period)
        return self.needs


@dataclass(frozen=True)
class ReportOptions:
    """A council's choices: its name (on the pack's cover), its redaction lists, its finance
    system's journal layout and its account codes."""

    council_name: str = ""
    redaction: Redaction = field(default_factory=Redaction)
    journal_style: journal.JournalFormat = journal.GENERIC
    chart: journal.ChartOfAccounts = field(default_factory=journal.ChartOfAccounts)


async def _with_council_lists(db: Db, options: ReportOptions, period: Period) -> ReportOptions:
    """The options with the admins' redaction lists (:mod:`reports.redaction_lists`) added, and
    finance's GL settings in force at the period's ``as_at`` (:mod:`reports.finance_settings`)."""
    style, chart = await finance_settings.journal_choices(
        db, as_at=period.as_at, style=options.journal_style, chart=options.chart
    )
    return replace(options, redaction=await council_redaction(db, options.redaction), journal_style=style, chart=chart)


def file_name(name: str, period: Period) -> str:
    stem, extension = _known(name)
    return f"{stem}-{period.label}.{extension}"


def content_type(name: str) -> str:
    return CONTENT_TYPES[_known(name)[1]]


def _known(name: str) -> tuple[str, str]:
    if name not in REPORTS:
        raise UnknownReport(f"no report {name!r}; Tide makes {', '.join(REPORTS)}")
    return REPORTS[name]


async def period_for(db: Db, *, month: date, now: datetime) -> Period:
    """The period of ``month``: as at its close time if closed, else as at ``now``."""
    first = month.replace(day=1)
    row = (await db.execute(select(periods.c.status, periods.c.closed_at).where(periods.c.month == first))).first()
    if row is not None and row.status == "closed" and row.closed_at is not None:
        closed_at: datetime = row.closed_at
        # SQLite keeps no offset: the ledger stores UTC.
        aware = closed_at if closed_at.tzinfo is not None else closed_at.replace(tzinfo=UTC)
        return Period(first=first, as_at=as_utc(aware), closed=True)
    return Period(first=first, as_at=as_utc(now))


async def explanations_for(db: Db, *, month: date) -> dict[str, str]:
    rows = await db.execute(
        select(ReconciliationExplanation.finding_key, ReconciliationExplanation.explanation).where(
            ReconciliationExplanation.month == month.replace(day=1)
        )
    )
    return {str(key): str(text) for key, text in rows}


async def reconcile(db: Db, period: Period) -> reconciliation.Reconciliation:
    """The month's reconciliation with finance's explanations recorded by its as-at moment."""
    explained = await db.execute(
        select(ReconciliationExplanation.finding_key, ReconciliationExplanation.explanation).where(
            ReconciliationExplanation.month == period.first, ReconciliationExplanation.explained_at <= period.as_at
        )
    )
    return await reconciliation.reconcile(db, period, explanations={str(k): str(v) for k, v in explained})


def _as_date(day: date | str) -> date:
    return day if isinstance(day, date) else date.fromisoformat(day)


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LONDON)


async def _teams(db: Db, period: Period) -> list[pdf.TeamMonth]:
    # Net of claw-backs: what a grant's claw-back took back from a team that month is budget it no longer has.
    given = case((Allocation.level == "clawback", -Allocation.amount), else_=Allocation.amount)
    budget = await db.execute(
        select(Allocation.team_id, func.sum(given))
        .where(
            Allocation.level.in_(("team", "clawback")),
            Allocation.month == period.first,
            Allocation.created_at <= period.as_at,
        )
        .group_by(Allocation.team_id)
    )
    budgets = {int(team): int(total) for team, total in budget}
    spend = net_spend_by_purchase(period, month_only=True)
    spent = await db.execute(
        select(Purchase.team_id, func.sum(spend.c.net))
        .join(spend, spend.c.purchase_id == Purchase.id)
        .group_by(Purchase.team_id)
    )
    spends = {int(team): int(total) for team, total in spent}
    made_in_month = and_(
        Purchase.created_at >= _start(period.first),
        Purchase.created_at < _start(period.end),
        Purchase.created_at <= period.as_at,
    )
    asked = await db.execute(
        select(
            Purchase.team_id,
            func.sum(case((Purchase.policy_decision == "needs_approval", 1), else_=0)),
            func.sum(case((Purchase.policy_decision == "needs_approval", Purchase.amount), else_=0)),
            func.sum(case((Purchase.policy_decision == "deny", 1), else_=0)),
        )
        .where(made_in_month)
        .group_by(Purchase.team_id)
    )
    approvals = {int(row[0]): (int(row[1] or 0), int(row[2] or 0), int(row[3] or 0)) for row in asked}
    receipt = exists().where(Receipt.purchase_id == Purchase.id, Receipt.uploaded_at <= period.as_at)
    missing = await db.execute(
        select(Purchase.team_id, func.count())
        .join(spend, spend.c.purchase_id == Purchase.id)
        .where(Purchase.receipt_required, spend.c.net > 0, ~receipt)
        .group_by(Purchase.team_id)
    )
    receipts_missing = {int(team): int(n) for team, n in missing}
    teams = (await db.execute(select(Team.id, Team.name).order_by(Team.name))).all()
    out = []
    for team_id, name in teams:
        a = approvals.get(team_id, (0, 0, 0))
        row = pdf.TeamMonth(
            team=name,
            budget=budgets.get(team_id, 0),
            spend=spends.get(team_id, 0),
            approvals_asked=a[0],
            approvals_amount=a[1],
            declined=a[2],
            receipts_missing=receipts_missing.get(team_id, 0),
        )
        if row != pdf.TeamMonth(team=name, budget=0, spend=0):
            out.append(row)
    return out


async def _daily(db: Db, period: Period) -> list[tuple[date, int]]:
    moved = movements_query(period, with_processor=False).order_by(None).subquery("moved")
    rows = await db.execute(select(moved.c.accounting_date, func.sum(moved.c.amount)).group_by(moved.c.accounting_date))
    days = {_as_date(day): int(total) for day, total in rows}
    day, out = period.first, []
    while day < period.end:
        out.append((day, days.get(day, 0)))
        day = date.fromordinal(day.toordinal() + 1)
    return out


async def pack_for(db: Db, period: Period, computed: Computed | None = None, *, council_name: str = "") -> pdf.Pack:
    """Everything the PDF pack shows, summed from the ledger and the domain."""
    computed = computed or Computed()
    return pdf.Pack(
        council_name=council_name,
        period_label=period.label,
        period_title=period.title,
        generated_at=period.as_at,
        closed=period.closed,
        teams=await _teams(db, period),
        daily_spend=await _daily(db, period),
        reconciliation=await computed.reconciled(db, period),
        needs=await computed.needs_report(db, period),
    )


async def write_report(
    db: Db,
    period: Period,
    name: str,
    out: BinaryIO,
    *,
    options: ReportOptions | None = None,
    computed: Computed | None = None,
) -> None:
    """Write report ``name`` of ``period`` to the binary stream ``out``."""
    _known(name)
    options = await _with_council_lists(db, options or ReportOptions(), period)
    computed = computed or Computed()
    if name == "finance-pack.pdf":
        pdf.write_pdf(await pack_for(db, period, computed, council_name=options.council_name), out)
        return
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        if name == "gl-journal.csv":
            await journal.write_journal(db, period, text, style=options.journal_style, chart=options.chart)
        elif name == "transparency.csv":
            await transparency.write_csv(
                db, period, text, redaction=options.redaction, category_vat=options.chart.category_vat
            )
        elif name == "needs-outcomes.csv":
            # A byte order mark first, so Excel reads the file as UTF-8 (its "£" headings and
            # need names), not as the local code page; finance's GL files stay without one.
            text.write("\ufeff")
            needs_outcomes.write_csv(await computed.needs_report(db, period), text)
        else:
            reconciliation.write_csv(await computed.reconciled(db, period), text)
        text.flush()
    finally:
        text.detach()


async def write_all(
    db: Db,
    period: Period,
    directory: Path,
    *,
    options: ReportOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Write the five reports of ``period`` into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before the reports stream
    options = await _with_council_lists(db, options or ReportOptions(), period)
    journal_path = directory / file_name("gl-journal.csv", period)
    transparency_path = directory / file_name("transparency.csv", period)
    # One pass over the month's movements writes the Transparency file and sums the journal.
    with transparency_path.open("w", encoding="utf-8", newline="") as published_out:
        published = transparency.TransparencyFile(published_out, options.redaction, options.chart.category_vat)
        booked = journal.Journal(options.chart)
        async for movement in stream_movements(db, period):
            published.add(movement)
            booked.add(movement)
    with journal_path.open("w", encoding="utf-8", newline="") as journal_out:
        journal.write_csv(booked.lines(), period, journal_out, style=options.journal_style)
    written = [journal_path, transparency_path]
    if progress is not None:
        progress("gl-journal.csv")
        progress("transparency.csv")
    computed = Computed()
    for name in ("needs-outcomes.csv", "reconciliation.csv", "finance-pack.pdf"):
        path = directory / file_name(name, period)
        with path.open("wb") as out:
            await write_report(db, period, name, out, options=options, computed=computed)
        written.append(path)
        if progress is not None:
            progress(name)
    return written

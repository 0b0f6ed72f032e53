"""The monthly finance pack as a PDF: the only module that uses reportlab.

Cover; budget against spend by team (a bar chart) and the month's spend day by day (a line
chart); the reconciliation's totals and exceptions; approvals and missing receipts; needs
and outcomes tables with a chart. Every page carries the period, the generation time and
"page n of m". Text is real text (Helvetica), so it can be searched and extracted; it is
written in words (need and outcome names, checks in plain English), money axes carry "£",
a suppressed amount says "suppressed" and a month with nothing to chart says so in a sentence.

The document declares its language (en-GB) and title. It is written with reportlab's
*invariant* mode (no random id), with its creation date set to the pack's generation time, so
the same data and generation time give the same bytes and the date is real. What reportlab
cannot do: write a tagged PDF (no structure tree, so headings, tables and reading order are
not tagged for screen readers, and chart images have no alternative text in the file). The
text is real and in reading order, so a screen reader can read it out; the same figures are
in the CSVs and on the finance pages, which are accessible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from typing import Any, BinaryIO

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from ledger.money import pounds_display
from reports.needs_outcomes import NOTE, NeedsOutcomes
from reports.pack_words import group_in_words, in_words, published
from reports.reconciliation import Reconciliation
from wallet.taxonomy import OUTCOMES

MAX_EXCEPTIONS_LISTED = 200
_BLUE = colors.HexColor("#1f4e79")
_ORANGE = colors.HexColor("#e07b00")


@dataclass(frozen=True, slots=True)
class TeamMonth:
    """One team's month: budget allocated to it (less what a grant's claw-back took back), net spend,
    purchases needing approval, receipts missing."""

    team: str
    budget: int
    spend: int
    approvals_asked: int = 0
    approvals_amount: int = 0
    declined: int = 0
    receipts_missing: int = 0


@dataclass
class Pack:
    """Everything the pack shows, already summed (nothing here touches the database)."""

    period_label: str
    period_title: str
    generated_at: datetime
    closed: bool
    council_name: str = ""
    teams: list[TeamMonth] = field(default_factory=list)
    daily_spend: list[tuple[date, int]] = field(default_factory=list)
    reconciliation: Reconciliation | None = None
    needs: NeedsOutcomes | None = None


def _styles() -> dict[str, ParagraphStyle]:
    sheet = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=sheet["Title"], textColor=_BLUE),
        "h1": ParagraphStyle("h1", parent=sheet["Heading1"], textColor=_BLUE),
        "h2": ParagraphStyle("h2", parent=sheet["Heading2"]),
        "body": sheet["BodyText"],
        "small": ParagraphStyle("small", parent=sheet["BodyText"], fontSize=8, leading=10),
    }


def _table(rows: Sequence[Sequence[str]], widths: Sequence[float] | None = None) -> Table:
    table = Table([list(r) for r in rows], colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
                ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde6f0")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _pounds_axis(value: float) -> str:
    """A money axis's label: pounds with "£" (the axis is drawn from floats; sums never are)."""
    return f"£{value:,.0f}"


def _nothing_to_chart(what: str, s: dict[str, ParagraphStyle]) -> Paragraph:
    return Paragraph(f"{what}: nothing to chart this month, so no chart is drawn.", s["body"])


def _bar_chart(title: str, labels: list[str], series: list[tuple[str, list[int]]]) -> Drawing:
    drawing = Drawing(170 * mm, 80 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 15 * mm, 18 * mm, 120 * mm, 52 * mm
    # Charts may turn pence into pounds as floats: for drawing only, never for sums.
    chart.data = [[pence / 100 for pence in values] or [0.0] for _, values in series]
    chart.categoryAxis.categoryNames = labels or [""]
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.angle = 30 if len(labels) > 4 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(labels) > 4 else "n"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = _pounds_axis
    for index, colour in enumerate((_BLUE, _ORANGE)[: len(series)]):
        chart.bars[index].fillColor = colour
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = 140 * mm, 60 * mm
    legend.fontSize = 7
    legend.colorNamePairs = [(c, name) for c, (name, _) in zip((_BLUE, _ORANGE), series, strict=False)]
    drawing.add(legend)
    drawing.add(String(15 * mm, 75 * mm, title, fontName="Helvetica-Bold", fontSize=9))
    return drawing


def _line_chart(title: str, points: list[tuple[date, int]]) -> Drawing:
    drawing = Drawing(170 * mm, 70 * mm)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 15 * mm, 12 * mm, 145 * mm, 48 * mm
    running, cumulative = 0, []
    for _, pence in points:
        running += pence
        cumulative.append(running / 100)
    chart.data = [cumulative or [0.0]]
    chart.categoryAxis.categoryNames = [f"{day:%d}" for day, _ in points] or [""]
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = _pounds_axis
    chart.lines[0].strokeColor = _BLUE
    chart.lines[0].strokeWidth = 1.5
    drawing.add(chart)
    drawing.add(String(15 * mm, 65 * mm, title, fontName="Helvetica-Bold", fontSize=9))
    return drawing


def _cover(pack: Pack, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    status = "closed" if pack.closed else "open (figures may still change)"
    budget = sum(t.budget for t in pack.teams)
    spend = sum(t.spend for t in pack.teams)
    council = [Paragraph(escape(pack.council_name, quote=False), s["h1"])] if pack.council_name else []
    return [
        Spacer(1, 40 * mm),
        *council,
        Paragraph("Tide monthly finance pack", s["title"]),
        Paragraph(pack.period_title, s["h1"]),
        Spacer(1, 10 * mm),
        Paragraph(f"Period {pack.period_label}: the month is {status}.", s["body"]),
        Paragraph(f"Generated {pack.generated_at:%Y-%m-%d %H:%M} UTC.", s["body"]),
        Paragraph(f"Budget allocated to teams {pounds_display(budget)}; net spend {pounds_display(spend)}.", s["body"]),
        *_against_stripe(pack, s),
        Spacer(1, 10 * mm),
        Paragraph(
            "Contents: budget and spend by team; reconciliation; approvals and missing receipts; "
            "needs and outcomes. Figures are from the ledger; money is shown in pounds.",
            s["body"],
        ),
        PageBreak(),
    ]


def _against_stripe(pack: Pack, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    """The cover's word on Stripe: card spend (what the Transparency Code file publishes) against
    Stripe Issuing's own captured - refunded for the month."""
    agreement = pack.reconciliation.stripe if pack.reconciliation is not None else None
    if agreement is None:
        return []
    published = f"The Transparency Code file publishes this card spend, {pounds_display(agreement.tide)}."
    return [Paragraph(escape(agreement.sentence(), quote=False), s["body"]), Paragraph(published, s["body"])]


def _budget(pack: Pack, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    rows = [("Team", "Budget", "Net spend", "Left")]
    rows += [
        (t.team, pounds_display(t.budget), pounds_display(t.spend), pounds_display(t.budget - t.spend))
        for t in pack.teams
    ]
    labels = [t.team for t in pack.teams]
    if any(t.budget or t.spend for t in pack.teams):
        bars: Flowable = _bar_chart(
            "Budget against net spend by team (£)",
            labels,
            [("Budget", [t.budget for t in pack.teams]), ("Net spend", [t.spend for t in pack.teams])],
        )
    else:
        bars = _nothing_to_chart("Budget against net spend by team: no team had a budget or spend", s)
    if any(pence for _, pence in pack.daily_spend):
        line: Flowable = _line_chart("Cumulative net spend through the month (£)", pack.daily_spend)
    else:
        line = _nothing_to_chart("Cumulative net spend through the month: nothing was spent", s)
    return [
        Paragraph("Budget and spend by team", s["h1"]),
        _table(rows, [70 * mm, 30 * mm, 30 * mm, 30 * mm]),
        Spacer(1, 6 * mm),
        bars,
        line,
        PageBreak(),
    ]


def _reconciliation(pack: Pack, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    found = pack.reconciliation
    if found is None:
        return []
    exceptions = found.exceptions
    state = "clean" if found.clean else f"{len(exceptions)} exception(s), {len(found.unexplained)} unexplained"
    out: list[Flowable] = [
        Paragraph("Reconciliation", s["h1"]),
        Paragraph(f"The month's reconciliation is {state}.", s["body"]),
        _table(
            [("Total", "Amount"), *((label, pounds_display(p)) for label, p in found.totals.items())],
            [90 * mm, 40 * mm],
        ),
        Spacer(1, 4 * mm),
    ]
    if not found.card_side_reconciled:
        out.append(
            Paragraph("No card processor statement was recorded: only the ledger side is reconciled.", s["body"])
        )
    if exceptions:
        rows = [("Check", "Subject", "Amount", "Detail", "Explanation")]
        for finding in exceptions[:MAX_EXCEPTIONS_LISTED]:
            rows.append(
                (
                    in_words(finding.check),
                    Paragraph(finding.subject, s["small"]),
                    pounds_display(finding.amount),
                    Paragraph(finding.detail, s["small"]),
                    Paragraph(found.explanations.get(finding.key, "not explained"), s["small"]),
                )
            )
        out += [Paragraph("Exceptions", s["h2"]), _table(rows, [22 * mm, 38 * mm, 20 * mm, 50 * mm, 40 * mm])]
        if len(exceptions) > MAX_EXCEPTIONS_LISTED:
            more = len(exceptions) - MAX_EXCEPTIONS_LISTED
            out.append(Paragraph(f"And {more} more: see the reconciliation CSV.", s["body"]))
    notes = [f for f in found.findings if f.severity == "note"]
    if notes:
        out += [
            Paragraph("Notes", s["h2"]),
            _table(
                [
                    ("Check", "Subject", "Amount", "Detail"),
                    *((in_words(n.check), n.subject, pounds_display(n.amount), n.detail) for n in notes[:50]),
                ]
            ),
        ]
    out.append(PageBreak())
    return out


def _approvals(pack: Pack, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    rows = [("Team", "Asked a manager", "Amount asked", "Declined by policy", "Receipts missing")]
    rows += [
        (t.team, str(t.approvals_asked), pounds_display(t.approvals_amount), str(t.declined), str(t.receipts_missing))
        for t in pack.teams
    ]
    return [
        Paragraph("Approvals and missing receipts", s["h1"]),
        Paragraph(
            "Purchases made this month that the spend policy sent to a manager or declined, and card payments "
            "settled this month whose required receipt had not been attached.",
            s["body"],
        ),
        _table(rows, [50 * mm, 28 * mm, 28 * mm, 30 * mm, 28 * mm]),
        PageBreak(),
    ]


def _needs(pack: Pack, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    report = pack.needs
    if report is None:
        return []
    out: list[Flowable] = [
        Paragraph("Needs and outcomes", s["h1"]),
        Paragraph(
            NOTE.replace("are suppressed.", "are suppressed: shown as “fewer than 5” or “suppressed”."), s["body"]
        ),
        Spacer(1, 3 * mm),
    ]
    for table in report.tables:
        headers = [h.replace(" £", " (£)") for h in table.headers]
        rows: list[Sequence[Any]] = [headers]
        rows += [
            (
                Paragraph(escape(group_in_words(r[0]), quote=False), s["small"]),
                *(published(h, c) for h, c in zip(table.headers[1:], r[1:], strict=True)),
            )
            for r in table.rows
        ]
        out += [Paragraph(table.title, s["h2"]), _table(rows)]
    shown = [
        (OUTCOMES.get(int(label), label) if label.isdigit() else label, pence) for label, pence in report.outcome_spend
    ]
    drawn = [(label, pence) for label, pence in shown if pence]
    if drawn:
        left_out = " Outcomes with fewer than 5 families are left out." if any(p is None for _, p in shown) else ""
        out.append(
            _bar_chart(
                "Spend by headline outcome (£)", [lbl for lbl, _ in drawn], [("Spend", [p or 0 for _, p in drawn])]
            )
        )
        if left_out:
            out.append(Paragraph(left_out.strip(), s["small"]))
    else:
        out.append(_nothing_to_chart("Spend by headline outcome: no outcome had spend that can be shown", s))
    return out


def _numbered_canvas(footer: str, created: datetime) -> type[Canvas]:
    stamp = f"D:{created:%Y%m%d%H%M%S}+00'00'"

    class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab has no stubs
        """Holds pages back until the end so each can say "page n of m"."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._saved: list[dict[str, Any]] = []
            # Invariant mode's date is 2000-01-01: the pack's own generation time instead.
            self.setDateFormatter(lambda *_: stamp)

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved)
            for number, state in enumerate(self._saved, start=1):
                self.__dict__.update(state)
                self.setFont("Helvetica", 7)
                self.setFillColor(colors.grey)
                self.drawString(15 * mm, 10 * mm, footer)
                self.drawRightString(A4[0] - 15 * mm, 10 * mm, f"Page {number} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


def write_pdf(pack: Pack, out: BinaryIO) -> None:
    """Render ``pack`` to ``out``."""
    s = _styles()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=f"Tide monthly finance pack {pack.period_label}",
        author=pack.council_name or "Tide",
        subject=f"Budget, spend, reconciliation, approvals and needs and outcomes for {pack.period_title}",
        creator="Tide",
        lang="en-GB",
        invariant=True,
    )
    story = [*_cover(pack, s), *_budget(pack, s), *_reconciliation(pack, s), *_approvals(pack, s), *_needs(pack, s)]
    footer = f"Tide finance pack - period {pack.period_label} - generated {pack.generated_at:%Y-%m-%d %H:%M} UTC"
    document.build(story, canvasmaker=_numbered_canvas(footer, pack.generated_at))


#: For the other PDF documents drawn with the same look (:mod:`reports.annual_pdf`).
styles = _styles
table_flowable = _table
bar_chart = _bar_chart
numbered_canvas = _numbered_canvas

"""The annual evidence report as a PDF (reportlab, with :mod:`reports.pdf`'s styles and charts).

The same published values as the HTML, CSV and JSON: suppressed cells read ``<5`` or
``suppressed``. Charts have axes in pounds and plain labels (headline outcome numbers and
names, never internal keys); a suppressed amount is drawn as nothing and said so.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
from reportlab.platypus.flowables import Flowable

from reports.annual import CANNOT_SHOW, AnnualReport
from reports.disclosure import MONEY_SUPPRESSED, Table, count_mark, published
from reports.pdf import bar_chart, numbered_canvas, styles, table_flowable


def _published(report: AnnualReport, table: Table) -> list[list[str]]:
    rows = [[table.group_heading or "Group", *(c.heading for c in table.columns)]]
    for row in table.rows:
        rows.append(
            [row.label, *(published(c, col, report.threshold) for c, col in zip(row.cells, table.columns, strict=True))]
        )
    return rows


def _spend_chart(report: AnnualReport) -> Flowable:
    table = report.table("headline_outcomes")
    money = next(i for i, c in enumerate(table.columns) if c.kind == "money")
    labels, values = [], []
    for row in table.rows:
        if row.is_total:
            continue
        labels.append(f"Outcome {row.label.split(' ', 1)[0]}")
        cell = row.cells[money]
        values.append(0 if cell.suppressed else int(cell.value or 0))
    drawing = bar_chart("Spend by headline outcome (suppressed amounts drawn as nothing)", labels, [("Spend", values)])
    for shape in drawing.contents:
        if hasattr(shape, "valueAxis"):
            shape.valueAxis.labelTextFormat = "£%d"  # the axis in pounds
    return drawing


def render(report: AnnualReport, *, council_name: str = "") -> bytes:
    s = styles()
    out = io.BytesIO()
    title = f"Annual evidence report {report.year.label}"
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=title,
        author=council_name or "Tide",
        creator="Tide",
        lang="en-GB",
        invariant=True,
    )
    story: list[Flowable] = [Paragraph(title, s["title"])]
    if council_name:
        story.append(Paragraph(council_name, s["body"]))
    story.append(Paragraph("What these figures cannot show", s["h1"]))
    story.extend(Paragraph(line, s["body"]) for line in CANNOT_SHOW)
    story.append(
        Paragraph(
            f"Counts from 1 to {report.threshold - 1} read {count_mark(report.threshold)}; amounts resting on so few "
            f"read {MONEY_SUPPRESSED}. Other cells are hidden too where a total would give a hidden one away.".replace(
                "<", "&lt;"
            ),
            s["small"],
        )
    )
    story.append(_spend_chart(report))
    for table in report.tables:
        story.append(Paragraph(table.title, s["h2"]))
        if table.note:
            story.append(Paragraph(table.note, s["small"]))
        story.append(table_flowable(_published(report, table)))
        story.append(Spacer(1, 4 * mm))
    # The file says when it was made (not reportlab's invariant 2000-01-01).
    made = datetime.now(UTC)
    document.build(story, canvasmaker=numbered_canvas(f"Tide annual evidence report {report.year.label}", made))
    return out.getvalue()

"""The annual evidence report as published: JSON, CSV (long form), accessible HTML, and the
PDF (drawn by :mod:`reports.annual_pdf`), all from the same published values.

Only published values leave this module: a suppressed count reads ``<5`` (for the council's
threshold), a suppressed amount ``suppressed``; no family reference, need code tied to a
family, or free text is ever in a table. The schema is in ``docs/reports.md``.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, TextIO

from reports import annual_pdf
from reports.annual import CANNOT_SHOW, AnnualReport
from reports.csv_safe import csv_writer
from reports.disclosure import MONEY_SUPPRESSED, Cell, Table, count_mark, published

SCHEMA_VERSION = 1
CSV_HEADER = ("table", "group", "measure", "kind", "value", "suppressed")


def _json_value(cell: Cell) -> int | None:
    return None if cell.suppressed else cell.value


def as_json(report: AnnualReport) -> dict[str, Any]:
    """The report as a JSON document (money in integer pence; suppressed values ``null``)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "financial_year": report.year.label,
        "first_day": report.year.first.isoformat(),
        "last_day": report.year.end.isoformat(),
        "suppression_threshold": report.threshold,
        "cannot_show": list(CANNOT_SHOW),
        "tables": [
            {
                "key": t.key,
                "title": t.title,
                "group_heading": t.group_heading,
                "note": t.note,
                "columns": [{"heading": c.heading, "kind": c.kind} for c in t.columns],
                "rows": [
                    {
                        "group": row.label,
                        "is_total": row.is_total,
                        "values": [_json_value(cell) for cell in row.cells],
                        "suppressed": [cell.suppressed for cell in row.cells],
                    }
                    for row in t.rows
                ],
            }
            for t in report.tables
        ],
    }


def write_csv(report: AnnualReport, out: TextIO) -> None:
    """Long form: one published value a row."""
    writer = csv_writer(out)
    writer.writerow(CSV_HEADER)
    for table in report.tables:
        for row in table.rows:
            for cell, column in zip(row.cells, table.columns, strict=True):
                value = published(cell, column, report.threshold)
                writer.writerow(
                    (table.key, row.label, column.heading, column.kind, value, "yes" if cell.suppressed else "no")
                )


def _html_table(table: Table, threshold: int) -> str:
    head = "".join(f'<th scope="col">{html.escape(c.heading)}</th>' for c in table.columns)
    group = html.escape(table.group_heading or "Group")
    body = []
    for row in table.rows:
        cells = "".join(
            f"<td>{html.escape(published(c, col, threshold))}</td>"
            for c, col in zip(row.cells, table.columns, strict=True)
        )
        label = f"<strong>{html.escape(row.label)}</strong>" if row.is_total else html.escape(row.label)
        body.append(f'<tr><th scope="row">{label}</th>{cells}</tr>')
    note = f"<p>{html.escape(table.note)}</p>" if table.note else ""
    return (
        f'<section aria-labelledby="{table.key}"><h2 id="{table.key}">{html.escape(table.title)}</h2>{note}'
        f'<table><thead><tr><th scope="col">{group}</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></section>"
    )


def tables_html(report: AnnualReport) -> str:
    """The report's body (its statement of what the data cannot show, then every table)."""
    limits = "".join(f"<li>{html.escape(s)}</li>" for s in CANNOT_SHOW)
    marks = (
        f"Counts from 1 to {report.threshold - 1} read {html.escape(count_mark(report.threshold))}; amounts resting on "
        f"so few read {MONEY_SUPPRESSED}. Other cells are hidden too where a total would give a hidden one away."
    )
    return (
        f'<section aria-labelledby="limits"><h2 id="limits">What these figures cannot show</h2><ul>{limits}</ul>'
        f"<p>{marks}</p></section>" + "".join(_html_table(t, report.threshold) for t in report.tables)
    )


def as_html(report: AnnualReport, council_name: str = "") -> str:
    title = f"Annual evidence report {report.year.label}"
    by = f"<p>{html.escape(council_name)}</p>" if council_name else ""
    return (
        f'<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f"<body><main><h1>{title}</h1>{by}{tables_html(report)}</main></body></html>"
    )


def write_all(report: AnnualReport, out_dir: Path, *, council_name: str = "") -> list[Path]:
    """Write the PDF, HTML, CSV and JSON into ``out_dir``; the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"annual-evidence-{report.year.label}"
    paths = [out_dir / f"{stem}.{ext}" for ext in ("pdf", "html", "csv", "json")]
    paths[0].write_bytes(annual_pdf.render(report, council_name=council_name))
    paths[1].write_text(as_html(report, council_name), encoding="utf-8")
    with paths[2].open("w", encoding="utf-8", newline="") as out:
        write_csv(report, out)
    paths[3].write_text(json.dumps(as_json(report), indent=1), encoding="utf-8")
    return paths

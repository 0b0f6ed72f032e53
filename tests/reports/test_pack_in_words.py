"""The finance pack for people: words instead of keys and codes, "£" on money axes, suppression
said as such, a sentence for an empty month, a real creation date, its language and title; and
a needs CSV that Excel reads as UTF-8."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime

import pypdf
from sqlalchemy.ext.asyncio import AsyncSession

from reports import monthly
from reports.needs_outcomes import SUPPRESSED, NeedsOutcomes, Table
from reports.pack_words import group_in_words, in_words, published
from reports.pdf import Pack, TeamMonth, write_pdf
from reports.period import Period
from wallet.taxonomy import NEEDS, OUTCOMES

PERIOD = Period(first=date(2026, 10, 1), as_at=datetime(2026, 11, 5, 9, 0, tzinfo=UTC))
GENERATED = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)


def _read(content: bytes) -> tuple[pypdf.PdfReader, str]:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


async def _pack(db: AsyncSession) -> bytes:
    out = io.BytesIO()
    await monthly.write_report(db, PERIOD, "finance-pack.pdf", out)
    return out.getvalue()


async def test_the_pack_declares_its_language_title_and_the_real_time_it_was_made(db: AsyncSession) -> None:
    reader, _ = _read(await _pack(db))
    assert str(reader.root_object["/Lang"]) == "en-GB"
    assert reader.metadata is not None
    assert reader.metadata.title == "Tide monthly finance pack 2026-10"
    made = str(reader.metadata["/CreationDate"])
    assert made.startswith("D:20261105090000"), made  # not reportlab's invariant 2000-01-01
    assert "D:2000" not in made


async def test_the_pack_is_in_words_with_pounds_on_money_axes_and_no_bare_suppression_marks(
    db: AsyncSession,
) -> None:
    _, text = _read(await _pack(db))
    for code in NEEDS:
        assert not re.search(rf"\b{re.escape(code)}\b", text), f"need code {code} printed"
    assert SUPPRESSED not in text  # "<5" never stands in a column: suppression is said in words
    assert "Spend (£)" in text
    # Axis labels: whole pounds with "£" (the tables' figures carry pence).
    axis = re.findall(r"£\d{1,3}(?:,\d{3})*(?![\d.,])", text)
    assert len(axis) >= 3, axis
    assert any(label in text for label in OUTCOMES.values())  # the outcome chart names outcomes


def test_an_empty_month_is_said_in_a_sentence_instead_of_drawn_as_an_empty_chart() -> None:
    empty = Pack(
        period_label="2026-12",
        period_title="December 2026",
        generated_at=GENERATED,
        closed=False,
        teams=[TeamMonth(team="Exeter Early Help", budget=0, spend=0)],
        daily_spend=[(date(2026, 12, d), 0) for d in range(1, 32)],
        needs=NeedsOutcomes(period=PERIOD, outcome_spend=[(str(n), 0) for n in OUTCOMES]),
    )
    out = io.BytesIO()
    write_pdf(empty, out)
    _, text = _read(out.getvalue())
    assert "no team had a budget or spend: nothing to chart this month" in text
    assert "nothing was spent: nothing to chart this month" in text
    assert "no outcome had spend that can be shown" in text
    assert "Budget against net spend by team (£)" not in text  # no chart title without a chart


def test_suppressed_money_says_suppressed_and_a_suppressed_count_says_fewer_than_five() -> None:
    table = Table("Spend by need", ("Group", "Families", "Purchases", "Spend £"), [("EDU-ATT x", "<5", "<5", "<5")])
    cells = [published(h, c) for h, c in zip(table.headers[1:], table.rows[0][1:], strict=True)]
    assert cells == ["fewer than 5", "fewer than 5", "suppressed"]
    assert published("Spend £", "12.00") == "12.00"
    assert group_in_words("EDU-ATT Poor or persistent school absence") == "Poor or persistent school absence"
    assert group_in_words("1 Getting a good education") == "Getting a good education"
    assert group_in_words("All teams") == "All teams"
    assert in_words("unmatched_capture") == "Unmatched capture"


async def test_the_needs_csv_starts_with_a_byte_order_mark_so_excel_reads_the_pound_sign(db: AsyncSession) -> None:
    out = io.BytesIO()
    await monthly.write_report(db, PERIOD, "needs-outcomes.csv", out)
    content = out.getvalue()
    assert content.startswith(b"\xef\xbb\xbf")
    decoded = content.decode("utf-8-sig")
    assert decoded.startswith("Table,Group,Measure,Value")
    assert "£" in decoded
    journal = io.BytesIO()
    await monthly.write_report(db, PERIOD, "gl-journal.csv", journal)
    assert not journal.getvalue().startswith(b"\xef\xbb\xbf")  # finance's import files stay as they were

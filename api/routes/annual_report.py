"""The annual evidence report over HTTP: the published JSON document, and its PDF, HTML and CSV.

For leaders: team managers, finance, the auditor and the admin (aggregates only, small numbers
suppressed, no family named). Each request calls the one use case,
:func:`reports.annual.annual_report`, in the request's read transaction.
"""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal, TypeAlias

from litestar import Controller, Response, get
from litestar.params import PathParameter

from api.deps import ReadDbDep, WhoDep
from api.hosts import CouncilDep
from api.routes.common import problems
from api.routes.reports import file_download
from reports import annual_files, annual_pdf
from reports.annual import AnnualReport, annual_report
from wallet.access import Principal

LEADERS = ("team_manager", "finance", "auditor", "admin")
YearPath: TypeAlias = Annotated[
    int, PathParameter(ge=2000, le=2999, description="The financial year, as the year it starts in (April to March)")
]
FormatPath: TypeAlias = Annotated[Literal["pdf", "html", "csv"], PathParameter(description="Which file")]
_TYPES = {"pdf": "application/pdf", "html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8"}


async def _report(db: Any, who: Principal, council: Any, year: int) -> AnnualReport:
    who.require(*LEADERS)
    return await annual_report(db, year=year, threshold=council.settings.report_smallest_count)


class AnnualReportController(Controller):
    path = "/api/v1/reports/annual"
    tags = ["reports"]

    @get(
        "/{year:int}",
        summary="The annual evidence report as published JSON (team managers, finance, auditor, admin)",
        responses=problems(403, 404, 422),
    )
    async def document(self, read_db: ReadDbDep, who: WhoDep, council: CouncilDep, year: YearPath) -> dict[str, Any]:
        """Money in integer pence; a suppressed value is ``null`` and flagged (docs/reports.md)."""
        return annual_files.as_json(await _report(read_db, who, council, year))

    @get(
        "/{year:int}/{file_format:str}",
        summary="The annual evidence report as a PDF, accessible HTML or CSV file",
        responses=problems(403, 404, 422),
        media_type="application/octet-stream",
        operation_class=file_download(
            "The annual evidence report: a PDF, accessible HTML or CSV file", "application/pdf", "text/html", "text/csv"
        ),
    )
    async def download(
        self, read_db: ReadDbDep, who: WhoDep, council: CouncilDep, year: YearPath, file_format: FormatPath
    ) -> Response[bytes]:
        report = await _report(read_db, who, council, year)
        name = council.settings.council_name
        if file_format == "pdf":
            content = annual_pdf.render(report, council_name=name)
        elif file_format == "html":
            content = annual_files.as_html(report, name).encode()
        else:
            out = io.StringIO()
            annual_files.write_csv(report, out)
            content = out.getvalue().encode()
        return Response(
            content,
            media_type=_TYPES[file_format],
            headers={
                "content-disposition": f'attachment; filename="annual-evidence-{report.year.label}.{file_format}"',
                "cache-control": "private, no-store",
            },
        )

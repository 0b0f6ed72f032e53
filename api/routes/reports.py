"""Finance's month: the five report downloads, the reconciliation, explanations and period close.

Downloads are for finance, the auditor and the admin; only finance explains exceptions and
closes a month. A report is written to a spooled temporary file (memory up to a few MB, disk
beyond) inside the request's transaction, then streamed out: memory stays flat however big
the month is.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Annotated, Any, Literal, TypeAlias, cast

from litestar import Controller, Request, get, post
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import PathParameter
from litestar.response import Stream
from pydantic import BaseModel, ConfigDict, StringConstraints

from api.deps import DbDep, NowDep, ReadDbDep, WhoDep
from api.hosts import CouncilDep
from api.idempotency import idempotent
from api.routes.common import body, problems
from reports import close, monthly
from reports.findings import StripeAgreement
from reports.period import parse_month
from wallet.access import Principal

MonthPath: TypeAlias = Annotated[str, PathParameter(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
ReportName: TypeAlias = Annotated[
    Literal["finance-pack.pdf", "gl-journal.csv", "transparency.csv", "needs-outcomes.csv", "reconciliation.csv"],
    PathParameter(description="Which report"),
]
_CHUNK = 64 * 1024
_SPOOL = 8 * 1024 * 1024
READERS = ("finance", "auditor", "admin")


class FindingRead(BaseModel):
    """A reconciliation finding; ``key`` is what an explanation names."""

    key: str
    severity: str
    check: str
    subject: str
    amount_pence: int
    detail: str
    explanation: str | None


class StripeAgreementRead(BaseModel):
    """The month's card spend against Stripe Issuing's own captured - refunded, less the funds it
    reinstated for disputes won (on its balance, not as Issuing transactions), in pence."""

    statement_fetched: bool
    card_spend_pence: int
    stripe_captured_pence: int
    stripe_refunded_pence: int
    stripe_reinstated_pence: int
    difference_pence: int
    agrees: bool
    statement: str


class PeriodRead(BaseModel):
    """A month: open or closed, its reconciliation totals and findings."""

    month: str
    status: Literal["open", "closed"]
    as_at: datetime
    clean: bool
    unexplained: int
    card_side_reconciled: bool
    stripe: StripeAgreementRead | None = None
    totals_pence: dict[str, int]
    findings: list[FindingRead]


class ExplanationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "finding_key": "stripe:ledger purchase:42:capture",
                    "explanation": "Captured in the app before the card went live; not a Stripe transaction.",
                }
            ]
        },
    )
    finding_key: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    explanation: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class ExplanationRead(BaseModel):
    month: str
    finding_key: str
    explanation: str
    explained_at: datetime


class ClosedRead(BaseModel):
    """A closed month: when, and the SHA-256 of each report as it was at the close."""

    month: str
    closed_at: datetime
    already_closed: bool
    reports_sha256: dict[str, str]


def file_download(description: str, *media_types: str) -> type[Operation]:
    """An operation whose 200 is a file of one of ``media_types`` (OpenAPI: binary strings)."""

    @dataclass
    class FileDownload(Operation):
        def __post_init__(self) -> None:
            binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
            if self.responses is not None:
                self.responses["200"] = OpenAPIResponse(
                    description=description,
                    content={media_type: OpenAPIMediaType(schema=binary) for media_type in media_types},
                )

    return FileDownload


#: The download's OpenAPI: a PDF or a CSV, by the report's name.
ReportDownload = file_download("The report: the PDF pack, or a CSV file", "application/pdf", "text/csv")


async def _chunks(spool: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := spool.read(_CHUNK):
            yield chunk
    finally:
        spool.close()


class Download(Stream):
    """A stream whose own media type wins over the handler's (Litestar prefers the handler's)."""

    def to_asgi_response(self, *args: Any, media_type: Any = None, **kwargs: Any) -> Any:
        return super().to_asgi_response(*args, media_type=self.media_type, **kwargs)


def _require_reader(who: Principal) -> None:
    who.require(*READERS)


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]

    @get(
        "/{month:str}/{name:str}",
        summary="Download one of a month's reports (finance, auditor, admin)",
        responses=problems(403, 404),
        media_type="application/octet-stream",
        operation_class=ReportDownload,
    )
    async def download(
        self,
        db: DbDep,
        read_db: ReadDbDep,
        now: NowDep,
        who: WhoDep,
        council: CouncilDep,
        month: MonthPath,
        name: ReportName,
    ) -> Download:
        """A closed month's reports are as at its close, the same bytes every time; an open
        month's are as at now. They are made as the council chose (``council.report_options``)."""
        _require_reader(who)
        period = await monthly.period_for(db, month=parse_month(month), now=now)
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 - closed by the stream
        try:
            # Whether the month is closed is the primary's to say; the report is read where reports read.
            await monthly.write_report(read_db, period, name, cast("Any", spool), options=council.report_options)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        return Download(
            _chunks(cast("IO[bytes]", spool)),
            media_type=monthly.content_type(name),
            headers={
                "content-disposition": f'attachment; filename="{monthly.file_name(name, period)}"',
                "cache-control": "private, no-store",
            },
        )


def _agreement(agreement: StripeAgreement | None) -> StripeAgreementRead | None:
    if agreement is None:
        return None
    return StripeAgreementRead(
        statement_fetched=agreement.fetched,
        card_spend_pence=agreement.tide,
        stripe_captured_pence=agreement.captured,
        stripe_refunded_pence=agreement.refunded,
        stripe_reinstated_pence=agreement.reinstated,
        difference_pence=agreement.difference,
        agrees=agreement.agrees,
        statement=agreement.sentence(),
    )


class PeriodController(Controller):
    path = "/api/v1/periods"
    tags = ["reports"]

    @get(
        "/{month:str}",
        summary="A month's status and reconciliation (finance, auditor, admin)",
        responses=problems(403),
    )
    async def read(self, db: DbDep, now: NowDep, who: WhoDep, month: MonthPath) -> PeriodRead:
        _require_reader(who)
        period = await monthly.period_for(db, month=parse_month(month), now=now)
        found = await monthly.reconcile(db, period)
        return PeriodRead(
            month=period.label,
            status="closed" if period.closed else "open",
            as_at=period.as_at,
            clean=found.clean,
            unexplained=len(found.unexplained),
            card_side_reconciled=found.card_side_reconciled,
            stripe=_agreement(found.stripe),
            totals_pence=dict(found.totals),
            findings=[
                FindingRead(
                    key=f.key,
                    severity=f.severity,
                    check=f.check,
                    subject=f.subject,
                    amount_pence=f.amount,
                    detail=f.detail,
                    explanation=found.explanations.get(f.key),
                )
                for f in found.findings
            ],
        )

    @post(
        "/{month:str}/explanations",
        summary="Explain one reconciliation exception of an open month (finance)",
        responses=problems(403, 404, 409),
        status_code=201,
    )
    @idempotent()
    async def explain(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        month: MonthPath,
        data: Annotated[ExplanationCreate, body(ExplanationCreate)],
    ) -> ExplanationRead:
        who.require("finance")
        row = await close.explain(
            db,
            month=parse_month(month),
            finding_key=data.finding_key,
            explanation=data.explanation,
            explained_by=who.person_id,
            now=now,
        )
        return ExplanationRead(
            month=f"{row.month:%Y-%m}", finding_key=row.finding_key, explanation=row.explanation, explained_at=now
        )

    @post(
        "/{month:str}/close",
        summary="Close a month whose reconciliation is clean or explained (finance)",
        responses=problems(403, 409),
        status_code=200,
    )
    @idempotent(status_code=200)
    async def close_month(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        month: MonthPath,
    ) -> ClosedRead:
        """Refused (409) while an exception is unexplained or the month has not ended. Closing a
        closed month again answers as the first close did."""
        who.require("finance")
        closed = await close.close_month(db, month=parse_month(month), closed_by=close.closer(who.person_id), now=now)
        return ClosedRead(
            month=f"{closed.month:%Y-%m}",
            closed_at=closed.closed_at,
            already_closed=closed.already,
            reports_sha256=closed.digests,
        )

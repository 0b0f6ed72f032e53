"""A subject access request's export (admins): everything held about one family reference, as a zip.

The reference travels in the body, never the URL (no personal data in URLs or access logs).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, post

from api.case_schemas import SubjectAccessAsk
from api.deps import DbDep, NowDep, WhoDep
from api.routes.common import body, problems
from wallet import subject_access


class SubjectAccessController(Controller):
    path = "/api/v1/subject-access-exports"
    tags = ["families and needs"]

    @post(
        "/",
        summary="Export everything held about one family reference (a zip: family.json and receipts/)",
        responses=problems(403, 404),
        media_type="application/zip",
        status_code=200,
    )
    async def export(
        self, db: DbDep, now: NowDep, who: WhoDep, data: Annotated[SubjectAccessAsk, body(SubjectAccessAsk)]
    ) -> Response[bytes]:
        export = await subject_access.export_family(db, who=who, reference=data.reference, now=now)
        return Response(
            export.as_zip(),
            media_type="application/zip",
            headers={
                "cache-control": "private, no-store",
                "content-disposition": 'attachment; filename="subject-access-export.zip"',
            },
        )

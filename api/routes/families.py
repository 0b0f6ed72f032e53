"""Families (by reference), their needs and reviews, case closure, and the restricted case link."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post, put
from litestar.params import FromQuery

from api.case_schemas import (
    CaseLinkRead,
    CaseLinkWrite,
    FamilyClose,
    FamilyCreate,
    FamilyRead,
    FamilyWorkerCreate,
    NeedCreate,
    NeedRead,
    ReviewCreate,
    ReviewRead,
    SixMonthCheckCreate,
    SixMonthCheckRead,
)
from api.deps import DbDep, NowDep, WhoDep
from api.idempotency import idempotent
from api.pagination import DEFAULT_LIMIT, Page, page_from
from api.routes.common import PathId, QueryId, body, problems
from reports.redaction_lists import check_free_text
from wallet import families, sustain_checks
from wallet.access import Principal
from wallet.clock import local_date
from wallet.models import Need
from wallet.sustain_checks import NoteChecker
from wallet.taxonomy import NEEDS


def note_checker(db: DbDep, who: Principal) -> NoteChecker:
    """What a note seems to hold, by the council's redaction lists (as free text is checked as typed)."""

    async def looks_personal(text: str) -> str:
        return ", ".join((await check_free_text(db, who=who, text=text)).kinds)

    return looks_personal


def need_read(need: Need) -> dict[str, Any]:
    code = NEEDS.get(need.code)
    return NeedRead(
        id=need.id,
        family_id=need.family_id,
        code=need.code,
        label=code.label if code else need.code,
        outcome=code.outcome if code else 0,
        whose=need.whose,
        identified_on=need.identified_on,
        evidence_source=need.evidence_source,
        baseline_score=need.baseline_score,
        status=need.status,
    ).model_dump(mode="json")


class FamilyController(Controller):
    path = "/api/v1/families"
    tags = ["families and needs"]

    @get("/", summary="Families I work with (or my teams')", responses=problems())
    async def list_families(
        self,
        db: DbDep,
        who: WhoDep,
        team_id: QueryId = None,
        status: FromQuery[str | None] = None,
        reference: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = DEFAULT_LIMIT,
    ) -> Page[FamilyRead]:
        listing = await families.list_families(
            db, who=who, team_id=team_id, status=status, reference=reference, cursor=cursor, limit=limit
        )
        return Page[FamilyRead].model_validate(
            page_from(listing, lambda f: FamilyRead.model_validate(f).model_dump(mode="json"))
        )

    @post("/", summary="Open a family's case", responses=problems(403, 404, 409))
    @idempotent(status_code=201)
    async def open_family(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        data: Annotated[FamilyCreate, body(FamilyCreate)],
    ) -> FamilyRead:
        family = await families.open_family(
            db,
            who=who,
            team_id=data.team_id,
            lead_worker_id=data.lead_worker_id or who.person_id,
            locality=data.locality,
            age_bands=list(data.age_bands),
            opened_on=data.opened_on or local_date(now),
            now=now,
        )
        return FamilyRead.model_validate(family)

    @get("/{family_id:int}", summary="One family", responses=problems(404))
    async def read_family(self, db: DbDep, who: WhoDep, family_id: PathId) -> FamilyRead:
        return FamilyRead.model_validate(await families.get_family(db, who=who, family_id=family_id))

    @post(
        "/{family_id:int}/closure",
        summary="Close the case with a reason",
        responses=problems(403, 404, 409),
        status_code=200,
    )
    @idempotent(status_code=200)
    async def close_family(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        family_id: PathId,
        data: Annotated[FamilyClose, body(FamilyClose)],
    ) -> FamilyRead:
        family = await families.close_family(
            db, who=who, family_id=family_id, reason=data.reason, closed_on=data.closed_on or local_date(now), now=now
        )
        return FamilyRead.model_validate(family)

    @get(
        "/{family_id:int}/six-month-check",
        summary="The six-month check of a closed case",
        responses=problems(404, 409),
    )
    async def read_six_month_check(self, db: DbDep, who: WhoDep, family_id: PathId) -> SixMonthCheckRead:
        return SixMonthCheckRead.model_validate(await sustain_checks.check_of(db, who=who, family_id=family_id))

    @post(
        "/{family_id:int}/six-month-check",
        summary="Record what the six-month check found",
        responses=problems(403, 404, 409),
        status_code=200,
    )
    @idempotent(status_code=200)
    async def record_six_month_check(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        family_id: PathId,
        data: Annotated[SixMonthCheckCreate, body(SixMonthCheckCreate)],
    ) -> SixMonthCheckRead:
        check = await sustain_checks.record_check(
            db,
            who=who,
            family_id=family_id,
            result=data.result,
            checked_on=data.checked_on or local_date(now),
            note=data.note,
            looks_personal=note_checker(db, who),
            now=now,
        )
        return SixMonthCheckRead.model_validate(check)

    @post(
        "/{family_id:int}/workers",
        summary="Add a key worker to the family (manager)",
        responses=problems(403, 404, 409),
        status_code=204,
    )
    @idempotent(status_code=204)
    async def add_worker(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        family_id: PathId,
        data: Annotated[FamilyWorkerCreate, body(FamilyWorkerCreate)],
    ) -> None:
        await families.add_worker(db, who=who, family_id=family_id, person_id=data.person_id, now=now)

    @get("/{family_id:int}/needs", summary="The family's needs", responses=problems(404))
    async def list_needs(self, db: DbDep, who: WhoDep, family_id: PathId) -> list[NeedRead]:
        needs = await families.needs_of(db, who=who, family_id=family_id)
        return [NeedRead.model_validate(need_read(n)) for n in needs]

    @post("/{family_id:int}/needs", summary="Record an identified need", responses=problems(403, 404, 409))
    @idempotent(status_code=201)
    async def add_need(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        family_id: PathId,
        data: Annotated[NeedCreate, body(NeedCreate)],
    ) -> NeedRead:
        need = await families.add_need(db, who=who, family_id=family_id, now=now, **data.model_dump())
        return NeedRead.model_validate(need_read(need))

    @get("/{family_id:int}/case-link", summary="Restricted: the case-system id (admin)", responses=problems(404))
    async def read_case_link(self, db: DbDep, who: WhoDep, family_id: PathId) -> CaseLinkRead:
        return CaseLinkRead.model_validate(await families.get_case_link(db, who=who, family_id=family_id))

    @put("/{family_id:int}/case-link", summary="Restricted: set the case-system id (admin)", responses=problems(404))
    async def write_case_link(
        self,
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        family_id: PathId,
        data: Annotated[CaseLinkWrite, body(CaseLinkWrite)],
    ) -> CaseLinkRead:
        link = await families.set_case_link(
            db, who=who, family_id=family_id, case_system=data.case_system, case_system_id=data.case_system_id, now=now
        )
        return CaseLinkRead.model_validate(link)


class NeedController(Controller):
    path = "/api/v1/needs"
    tags = ["families and needs"]

    @get("/{need_id:int}", summary="One need", responses=problems(404))
    async def read_need(self, db: DbDep, who: WhoDep, need_id: PathId) -> NeedRead:
        return NeedRead.model_validate(need_read(await families.get_need(db, who=who, need_id=need_id)))

    @get("/{need_id:int}/reviews", summary="The need's reviews", responses=problems(404))
    async def list_reviews(self, db: DbDep, who: WhoDep, need_id: PathId) -> list[ReviewRead]:
        reviews = await families.reviews_of(db, who=who, need_id=need_id)
        return [ReviewRead.model_validate(r) for r in reviews]

    @post(
        "/{need_id:int}/reviews",
        summary="Review a need: improved, no change or worse",
        responses=problems(403, 404, 409),
    )
    @idempotent(status_code=201)
    async def review_need(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        need_id: PathId,
        data: Annotated[ReviewCreate, body(ReviewCreate)],
    ) -> ReviewRead:
        review = await families.review_need(
            db,
            who=who,
            need_id=need_id,
            outcome=data.outcome,
            score=data.score,
            reviewed_on=data.reviewed_on or local_date(now),
            now=now,
            close_need=data.close_need,
        )
        return ReviewRead.model_validate(review)

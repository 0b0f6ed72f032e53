"""Two-person changes: proposals one person makes and a different person confirms or refuses."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromQuery

from api.deps import DbDep, NowDep, WhoDep
from api.hosts import council_state
from api.idempotency import idempotent
from api.pagination import DEFAULT_LIMIT, Page, page_from
from api.routes.common import PathId, problems
from api.schemas import ProposalRead
from wallet import proposals


def second_person_above(request: Request[Any, Any, Any]) -> int:
    """The funding threshold above which a second person confirms (the settings')."""
    return int(council_state(request).settings.funding_second_person_above_pence)


class ProposalController(Controller):
    path = "/api/v1/proposals"
    tags = ["separation of duties"]

    @get("/", summary="Proposals waiting for, or given, a second person's decision", responses=problems(403))
    async def list_proposals(
        self,
        db: DbDep,
        who: WhoDep,
        status: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = DEFAULT_LIMIT,
    ) -> Page[ProposalRead]:
        listing = await proposals.list_proposals(db, who=who, status=status, cursor=cursor, limit=limit)
        return Page[ProposalRead].model_validate(
            page_from(listing, lambda p: ProposalRead.model_validate(p).model_dump(mode="json"))
        )

    @get("/{proposal_id:int}", summary="One proposal", responses=problems(403, 404))
    async def read_proposal(self, db: DbDep, who: WhoDep, proposal_id: PathId) -> ProposalRead:
        return ProposalRead.model_validate(await proposals.get_proposal(db, who=who, proposal_id=proposal_id))

    @post(
        "/{proposal_id:int}/confirmation",
        summary="Confirm another person's proposal: the change takes effect",
        responses=problems(403, 404, 409),
        status_code=200,
    )
    @idempotent(status_code=200)
    async def confirm(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, proposal_id: PathId
    ) -> ProposalRead:
        confirmed = await proposals.confirm(
            db, who=who, proposal_id=proposal_id, now=now, second_person_above=second_person_above(request)
        )
        return ProposalRead.model_validate(confirmed)

    @post(
        "/{proposal_id:int}/refusal",
        summary="Refuse another person's proposal: nothing changes",
        responses=problems(403, 404, 409),
        status_code=200,
    )
    @idempotent(status_code=200)
    async def refuse(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, proposal_id: PathId
    ) -> ProposalRead:
        return ProposalRead.model_validate(await proposals.refuse(db, who=who, proposal_id=proposal_id, now=now))

"""The spend policy (read by all, written by admins), the audit log, and the code lists."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, put
from litestar.params import FromQuery

from api.deps import DbDep, NowDep, WhoDep
from api.pagination import DEFAULT_LIMIT, Page, page_from
from api.routes.common import body, problems
from api.schemas import AuditRead, CodeRead, PolicyRead, PolicyWrite, ProposalRead
from wallet import audit, proposals
from wallet.policies import current_policy, policy_versions
from wallet.policy import parse_policy
from wallet.taxonomy import CATEGORIES, NEEDS


class PolicyController(Controller):
    path = "/api/v1/policy"
    tags = ["spend policy"]

    @get("/", summary="The spend policy in force", responses=problems())
    async def read_policy(self, db: DbDep, who: WhoDep) -> PolicyRead:
        version, document = await current_policy(db)
        return _read(version, document.model_dump(mode="json"))

    @put(
        "/",
        summary="Propose a new version of the spend policy (admin); another admin confirms it",
        responses=problems(403, 422),
        status_code=202,
    )
    async def publish(
        self, db: DbDep, now: NowDep, who: WhoDep, data: Annotated[PolicyWrite, body(PolicyWrite)]
    ) -> ProposalRead:
        document: dict[str, Any] = {"rules": data.rules}
        if data.approvals is not None:
            document["approvals"] = data.approvals
        proposal = await proposals.propose_policy(db, who=who, document=document, note=data.note, now=now)
        return ProposalRead.model_validate(proposal)

    @get("/versions", summary="Every published version, newest first", responses=problems())
    async def versions(self, db: DbDep, who: WhoDep) -> list[PolicyRead]:
        return [_read(v.id, v.rules) for v in await policy_versions(db)]


def _read(version: int | None, stored: dict[str, Any]) -> PolicyRead:
    document = parse_policy(stored)  # older versions were stored before approvals had settings
    dumped = document.model_dump(mode="json")
    return PolicyRead(version=version, rules=dumped["rules"], approvals=dumped["approvals"])


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]

    @get("/", summary="The audit log (admin, auditor)", responses=problems(403))
    async def list_audit(
        self,
        db: DbDep,
        who: WhoDep,
        subject_type: FromQuery[str | None] = None,
        subject_id: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = DEFAULT_LIMIT,
    ) -> Page[AuditRead]:
        listing = await audit.list_entries(
            db, who=who, subject_type=subject_type, subject_id=subject_id, cursor=cursor, limit=limit
        )
        return Page[AuditRead].model_validate(
            page_from(listing, lambda r: AuditRead.model_validate(r).model_dump(mode="json"))
        )


class CodesController(Controller):
    path = "/api/v1/codes"
    tags = ["codes"]

    @get("/needs", summary="The needs taxonomy and its headline outcomes", responses=problems())
    async def needs(self, who: WhoDep) -> list[CodeRead]:
        return [CodeRead(code=n.code, label=n.label, outcome=n.outcome) for n in NEEDS.values()]

    @get("/purchase-categories", summary="Purchase categories", responses=problems())
    async def categories(self, who: WhoDep) -> list[CodeRead]:
        return [CodeRead(code=c.code, label=c.label, expense_group=c.expense_group) for c in CATEGORIES.values()]

"""Roles that can be taken back: admins revoke roles and team memberships, deactivate and
reactivate people. Deactivation is ``approvals.leavers``' one use case, the same SCIM's is."""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from litestar import Controller, delete, post
from litestar.params import PathParameter

from api.deps import DbDep, NowDep, WhoDep
from api.routes.common import PathId, QueryId, problems
from api.schemas import Out, PersonRead
from approvals.leavers import deactivate_person, reactivate_person
from wallet.organisation import revoke_role

RolePath: TypeAlias = Annotated[
    Literal["key_worker", "team_manager", "finance", "admin", "auditor"], PathParameter(description="The role")
]


class DeactivationRead(Out):
    """What deactivating a person did."""

    person_id: int
    sessions_ended: int
    tokens_revoked: int
    wallet_suspended: bool
    returned: int
    requests_cancelled: int
    requests_handed_over: int
    deputyships_handed_over: int


class PeopleAccessController(Controller):
    path = "/api/v1/people"
    tags = ["organisation"]

    @post(
        "/{person_id:int}/deactivation",
        summary="Deactivate a leaver (admin): signed out, tokens revoked, wallet suspended and returned to the team",
        responses=problems(403, 404, 409),
        status_code=200,
    )
    async def deactivate(self, db: DbDep, now: NowDep, who: WhoDep, person_id: PathId) -> DeactivationRead:
        done = await deactivate_person(db, actor=who, person_id=person_id, now=now)
        return DeactivationRead.model_validate(done, from_attributes=True)

    @post(
        "/{person_id:int}/reactivation",
        summary="Reactivate a person (admin); their wallet's leaver suspension is lifted",
        responses=problems(403, 404, 409),
        status_code=200,
    )
    async def reactivate(self, db: DbDep, now: NowDep, who: WhoDep, person_id: PathId) -> PersonRead:
        return PersonRead.model_validate(await reactivate_person(db, actor=who, person_id=person_id, now=now))

    @delete(
        "/{person_id:int}/roles/{role:str}",
        summary="Revoke a role or team membership (admin; nobody revokes their own admin role)",
        responses=problems(403, 404),
    )
    async def revoke(
        self, db: DbDep, now: NowDep, who: WhoDep, person_id: PathId, role: RolePath, team_id: QueryId = None
    ) -> None:
        await revoke_role(db, actor=who, person_id=person_id, role=role, team_id=team_id, now=now)

"""Contact details kept up to date (admins): a person's work mobile, a team's office address."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, put

from api.contact_schemas import OfficeAddressWrite, WorkMobileRead, WorkMobileWrite
from api.deps import DbDep, NowDep, WhoDep
from api.routes.common import PathId, body, problems
from api.schemas import TeamRead
from wallet import organisation


class ContactController(Controller):
    path = "/api/v1"
    tags = ["organisation"]

    @put(
        "/people/{person_id:int}/work-mobile",
        summary="Record a person's work mobile (admin); their Stripe cardholder follows",
        responses=problems(403, 404),
    )
    async def set_work_mobile(
        self,
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        person_id: PathId,
        data: Annotated[WorkMobileWrite, body(WorkMobileWrite)],
    ) -> WorkMobileRead:
        """A UK mobile, as +447… or 07…; anything else is 422 not-a-uk-mobile."""
        person = await organisation.set_work_mobile(
            db, actor=who, person_id=person_id, work_mobile=data.work_mobile, now=now
        )
        return WorkMobileRead.model_validate(person)

    @put(
        "/teams/{team_id:int}/office-address",
        summary="Record a team's office address, where physical cards are posted (admin)",
        responses=problems(403, 404),
    )
    async def set_office_address(
        self,
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        team_id: PathId,
        data: Annotated[OfficeAddressWrite, body(OfficeAddressWrite)],
    ) -> TeamRead:
        team = await organisation.set_office_address(db, actor=who, team_id=team_id, now=now, **data.model_dump())
        return TeamRead.model_validate(team)


ROUTES = [ContactController]

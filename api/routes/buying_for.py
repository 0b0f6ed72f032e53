"""A key worker says which family their next card purchases are for (on their phone, before paying)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, delete, post
from pydantic import ConfigDict, Field

from api.deps import DbDep, NowDep, WhoDep
from api.routes.common import body, problems
from api.schemas import Id, In, Out
from wallet.buying_for import state_buying_for, stop_buying_for


class BuyingForCreate(In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"family_id": 3, "need_ids": [7]}]})

    family_id: Id
    need_ids: list[Id] = Field(min_length=1, max_length=20)


class BuyingForRead(Out):
    family_id: int
    need_ids: list[int]
    expires_at: datetime


class BuyingForController(Controller):
    path = "/api/v1/me/buying-for"
    tags = ["cards"]

    @post(
        "/",
        summary="I'm buying for this family: the till applies its caps, needs and category rules for a while",
        responses=problems(403, 404, 409, 422),
        status_code=201,
    )
    async def state(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        data: Annotated[BuyingForCreate, body(BuyingForCreate)],
    ) -> BuyingForRead:
        minutes = int(request.app.state.settings.buying_for_minutes)
        stated = await state_buying_for(
            db, who=who, family_id=data.family_id, need_ids=data.need_ids, minutes=minutes, now=now
        )
        return BuyingForRead.model_validate(stated)

    @delete("/", summary="I'm no longer buying for a family", responses=problems())
    async def stop(self, db: DbDep, now: NowDep, who: WhoDep) -> None:
        await stop_buying_for(db, who=who, now=now)

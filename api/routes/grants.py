"""A grant's conditions, and the claw-back of an ended grant's unspent pot (finance; the daily
job ``claw_back_ended_grants`` does it too, the day after a grant with claw-back ends)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, post, put
from pydantic import ConfigDict, Field

from api.deps import DbDep, NowDep, WhoDep
from api.idempotency import idempotent, transfer_id_for
from api.routes.common import PathId, body, problems
from api.schemas import Day, Flag, Id, In, Out
from wallet.claw_back import claw_back
from wallet.funding import set_grant_conditions


class GrantConditionsWrite(In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"ends_on": "2027-03-31", "categories": ["CLOTH"], "claw_back_unspent": True}]},
    )

    starts_on: Day | None = None
    ends_on: Day | None = None
    categories: list[str] = Field(default_factory=list, max_length=50)
    needs: list[str] = Field(default_factory=list, max_length=50)
    team_ids: list[Id] = Field(default_factory=list, max_length=500)
    claw_back_unspent: Flag = False


class GrantConditionsRead(Out):
    id: int
    code: str
    starts_on: date | None
    ends_on: date | None
    eligible_categories: list[str]
    eligible_needs: list[str]
    eligible_team_ids: list[int]
    claw_back_unspent: bool


class ClawBackRead(Out):
    funding_source_id: int
    amount_pence: int


class GrantController(Controller):
    path = "/api/v1/funding-sources/{source_id:int}"
    tags = ["budgets"]

    @put("/conditions", summary="Set a grant's conditions (finance)", responses=problems(403, 404, 422))
    async def set_conditions(
        self, db: DbDep, now: NowDep, who: WhoDep, source_id: PathId,
        data: Annotated[GrantConditionsWrite, body(GrantConditionsWrite)],
    ) -> GrantConditionsRead:  # fmt: skip
        source = await set_grant_conditions(
            db, actor=who, funding_source_id=source_id, starts_on=data.starts_on, ends_on=data.ends_on,
            categories=data.categories, needs=data.needs, team_ids=data.team_ids,
            claw_back_unspent=data.claw_back_unspent, now=now,
        )  # fmt: skip
        return GrantConditionsRead.model_validate(source)

    @post(
        "/claw-back",
        summary="Give an ended grant's unspent money back to its funder (finance)",
        responses=problems(403, 404, 409),
        status_code=201,
    )
    @idempotent(required=True, status_code=201)
    async def claw_back(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, source_id: PathId
    ) -> Response[ClawBackRead]:
        """Only a grant whose conditions say claw-back, after its end date; its unspent money goes
        back: wallets' shares to team budgets, team budgets to the pot, the pot to the funder (each
        a ledger transfer; money held for open purchases stays until they settle)."""
        pence = await claw_back(
            db, actor=who, funding_source_id=source_id, transfer_id=transfer_id_for(who, request, "claw-back"), now=now
        )
        return Response(ClawBackRead(funding_source_id=source_id, amount_pence=pence), status_code=201)

"""Teams, people and roles; funding sources, wallets and the allocations between them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, cast

from litestar import Controller, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import DbDep, NowDep, WhoDep
from api.errors import problem
from api.idempotency import idempotent, transfer_id_for
from api.pagination import DEFAULT_LIMIT, Page, page_from
from api.routes.common import PathId, QueryId, body, problems
from api.routes.proposals import second_person_above
from api.schemas import (
    AllocationCreate,
    AllocationRead,
    FundingCreate,
    FundingSourceCreate,
    FundingSourceRead,
    PersonCreate,
    PersonRead,
    ProposalRead,
    RoleGrantCreate,
    TeamCreate,
    TeamRead,
    WalletCreate,
    WalletRead,
)
from wallet import budgets, organisation, proposals
from wallet.models import Allocation, Wallet
from wallet.proposal_models import Proposal


def allocation_read(row: Allocation) -> dict[str, Any]:
    return AllocationRead(
        id=row.id,
        level=row.level,
        team_id=row.team_id,
        wallet_id=row.wallet_id,
        funding_source_id=row.funding_source_id,
        month=row.month,
        amount_pence=row.amount,
        carried_over=row.carried_over,
        reason=row.reason,
        allocated_by=row.allocated_by,
        created_at=row.created_at,
    ).model_dump(mode="json")


async def wallet_read(db: AsyncSession, wallet: Wallet, now: datetime) -> WalletRead:
    summary = await budgets.summarise_wallet(db, wallet=wallet, now=now)
    return WalletRead(
        id=wallet.id,
        person_id=wallet.person_id,
        team_id=wallet.team_id,
        status=wallet.status,
        available_pence=summary.available,
        held_pence=summary.held,
        spent_this_month_pence=summary.spent_this_month,
        allocated_this_month_pence=summary.allocated_this_month,
    )


class TeamController(Controller):
    path = "/api/v1/teams"
    tags = ["organisation"]

    @get("/", summary="Every team (cost centre)", responses=problems())
    async def list_teams(self, db: DbDep, who: WhoDep) -> list[TeamRead]:
        return [TeamRead.model_validate(t) for t in await organisation.list_teams(db)]

    @get("/{team_id:int}", summary="One team", responses=problems(404))
    async def read_team(self, db: DbDep, who: WhoDep, team_id: PathId) -> TeamRead:
        return TeamRead.model_validate(await organisation.get_team(db, team_id=team_id))

    @post("/", summary="Create a team (admin)", responses=problems(403, 409))
    @idempotent(status_code=201)
    async def create_team(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        data: Annotated[TeamCreate, body(TeamCreate)],
    ) -> TeamRead:
        team = await organisation.create_team(db, actor=who, now=now, **data.model_dump())
        return TeamRead.model_validate(team)


class PeopleController(Controller):
    path = "/api/v1/people"
    tags = ["organisation"]

    @get("/", summary="Every member of staff (admin, auditor)", responses=problems(403))
    async def list_people(self, db: DbDep, who: WhoDep) -> list[PersonRead]:
        return [PersonRead.model_validate(p) for p in await organisation.list_people(db, who=who)]

    @post("/", summary="Create a member of staff (admin)", responses=problems(403, 409))
    @idempotent(status_code=201)
    async def create_person(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        data: Annotated[PersonCreate, body(PersonCreate)],
    ) -> PersonRead:
        person = await organisation.create_person(db, actor=who, now=now, **data.model_dump())
        return PersonRead.model_validate(person)

    @post(
        "/{person_id:int}/roles",
        summary="Propose granting a role (admin); another admin confirms it at /proposals/{id}/confirmation",
        responses=problems(403, 404, 409),
        status_code=202,
    )
    @idempotent(status_code=202)
    async def grant_role(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        person_id: PathId,
        data: Annotated[RoleGrantCreate, body(RoleGrantCreate)],
    ) -> ProposalRead:
        proposal = await proposals.propose_role(
            db,
            who=who,
            person_id=person_id,
            role=data.role,
            team_id=data.team_id,
            open_wallet=data.open_wallet,
            now=now,
        )
        return ProposalRead.model_validate(proposal)


class FundingController(Controller):
    path = "/api/v1/funding-sources"
    tags = ["budgets"]

    @get("/", summary="Funding sources (separate pots of money)", responses=problems())
    async def list_sources(self, db: DbDep, who: WhoDep) -> list[FundingSourceRead]:
        return [FundingSourceRead.model_validate(f) for f in await budgets.list_funding_sources(db)]

    @post("/", summary="Create a funding source (finance, admin)", responses=problems(403, 409))
    @idempotent(status_code=201)
    async def create_source(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        data: Annotated[FundingSourceCreate, body(FundingSourceCreate)],
    ) -> FundingSourceRead:
        source = await budgets.create_funding_source(db, actor=who, code=data.code, name=data.name, now=now)
        return FundingSourceRead.model_validate(source)

    @post(
        "/{source_id:int}/funding",
        summary="Record money arriving in the pot (finance); above the threshold, propose it for a second person",
        responses={
            **problems(400, 403, 404, 409),
            202: ResponseSpec(
                data_container=ProposalRead,
                description="Above the threshold: proposed, and in the pot once another person confirms it",
                generate_examples=False,
            ),
        },
        status_code=201,
    )
    @idempotent(required=True, status_code=201)
    async def fund(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        source_id: PathId,
        data: Annotated[FundingCreate, body(FundingCreate)],
    ) -> Response[dict[str, Any]]:
        transfer_id = transfer_id_for(who, request, "funding")
        outcome = await proposals.fund_or_propose(
            db,
            who=who,
            funding_source_id=source_id,
            transfer_id=transfer_id,
            amount=data.amount_pence,
            reason=data.reason,
            second_person_above=second_person_above(request),
            now=now,
        )
        if isinstance(outcome, Proposal):
            return Response(ProposalRead.model_validate(outcome).model_dump(mode="json"), status_code=202)
        return Response({"transfer_id": outcome.transfer_id, "amount_pence": data.amount_pence}, status_code=201)


class WalletController(Controller):
    path = "/api/v1/wallets"
    tags = ["budgets"]

    @get("/", summary="Wallets I may see, with balances", responses=problems())
    async def list_wallets(
        self,
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        team_id: QueryId = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = DEFAULT_LIMIT,
    ) -> Page[WalletRead]:
        listing = await budgets.list_wallets(db, who=who, team_id=team_id, cursor=cursor, limit=limit)
        reads = [await wallet_read(db, w, now) for w in listing.rows]
        return Page[WalletRead](items=reads, next_cursor=listing.next_cursor)

    @get("/{wallet_id:int}", summary="One wallet: available, held, spent this month", responses=problems(404))
    async def read_wallet(self, db: DbDep, now: NowDep, who: WhoDep, wallet_id: PathId) -> WalletRead:
        return await wallet_read(db, await budgets.get_wallet(db, who=who, wallet_id=wallet_id), now)

    @post("/", summary="Open a key worker's wallet (admin)", responses=problems(403, 404, 409))
    @idempotent(status_code=201)
    async def open_wallet(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        data: Annotated[WalletCreate, body(WalletCreate)],
    ) -> WalletRead:
        wallet = await budgets.open_wallet(db, actor=who, person_id=data.person_id, team_id=data.team_id, now=now)
        return await wallet_read(db, wallet, now)


class AllocationController(Controller):
    path = "/api/v1/allocations"
    tags = ["budgets"]

    @get("/", summary="Allocations I may see", responses=problems())
    async def list_allocations(
        self,
        db: DbDep,
        who: WhoDep,
        team_id: QueryId = None,
        wallet_id: QueryId = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = DEFAULT_LIMIT,
    ) -> Page[AllocationRead]:
        listing = await budgets.list_allocations(
            db, who=who, team_id=team_id, wallet_id=wallet_id, cursor=cursor, limit=limit
        )
        return Page[AllocationRead].model_validate(page_from(listing, allocation_read))

    @post(
        "/",
        summary="Allocate budget: pot → team (finance) or team → wallet (manager)",
        responses=problems(400, 402, 403, 404, 409),
        status_code=201,
    )
    @idempotent(required=True, status_code=201)
    async def allocate(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        data: Annotated[AllocationCreate, body(AllocationCreate)],
    ) -> Response[AllocationRead]:
        month = date.fromisoformat(f"{data.month}-01") if data.month else None
        result = await budgets.allocate(
            db,
            actor=who,
            transfer_id=transfer_id_for(who, request, "allocation"),
            funding_source_id=data.funding_source_id,
            team_id=data.team_id,
            wallet_id=data.wallet_id,
            amount=data.amount_pence,
            month=month,
            reason=data.reason,
            carried_over=data.carried_over,
            now=now,
        )
        if result.allocation is None:
            declined = problem(
                402,
                "insufficient-funds",
                "Not enough left in the budget",
                "the budget being allocated from cannot cover that amount",
            )
            return cast("Response[AllocationRead]", declined)
        return Response(AllocationRead.model_validate(allocation_read(result.allocation)), status_code=201)

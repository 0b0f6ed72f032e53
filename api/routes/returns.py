"""Month end without carry-over: returning a wallet's unspent budget to its team."""

from __future__ import annotations

from typing import Annotated, Any, cast

from litestar import Controller, Request, Response, post

from api.deps import DbDep, NowDep, WhoDep
from api.errors import problem
from api.idempotency import idempotent, transfer_id_for
from api.routes.common import PathId, body, problems
from api.routes.organisation import allocation_read
from api.schemas import AllocationRead, ReturnCreate
from wallet.returns import return_unspent


class WalletReturnController(Controller):
    path = "/api/v1/wallets/{wallet_id:int}/returns"
    tags = ["budgets"]

    @post(
        "/",
        summary="Return a wallet's unspent budget to its team (manager, finance)",
        responses=problems(400, 402, 403, 404, 409),
        status_code=201,
    )
    @idempotent(required=True, status_code=201)
    async def return_unspent(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        wallet_id: PathId,
        data: Annotated[ReturnCreate, body(ReturnCreate)],
    ) -> Response[AllocationRead]:
        """By default budgets carry over; a council that does not carry over returns what is
        unspent at month end. Without ``amount_pence`` everything available goes back."""
        result = await return_unspent(
            db,
            actor=who,
            transfer_id=transfer_id_for(who, request, "return"),
            wallet_id=wallet_id,
            funding_source_id=data.funding_source_id,
            amount=data.amount_pence,
            reason=data.reason,
            now=now,
        )
        if result.allocation is None:
            declined = problem(
                402, "insufficient-funds", "Not enough left in the budget", "the wallet does not have that much unspent"
            )
            return cast("Response[AllocationRead]", declined)
        return Response(AllocationRead.model_validate(allocation_read(result.allocation)), status_code=201)

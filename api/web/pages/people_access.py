"""The admin pages' side of leavers: deactivate and reactivate a person (the same use case as
the API's and SCIM's, ``approvals.leavers``). A refusal (oneself, someone already so) is the
pages' error page, with the API's status."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post

from api.deps import DbDep, NowDep
from api.routes.common import PathId
from api.web.forms import AlreadySent, already_sent, once
from api.web.session import UserDep
from approvals.leavers import deactivate_person, reactivate_person


@post("/admin/people/{person_id:int}/deactivate")
async def deactivate(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, person_id: PathId
) -> Response[Any]:
    async def act() -> str:
        await deactivate_person(db, actor=user.who, person_id=person_id, now=now)
        return "/admin?done=deactivated"

    result = await once(request, db, user=user, now=now, act=act)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


@post("/admin/people/{person_id:int}/reactivate")
async def reactivate(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, person_id: PathId
) -> Response[Any]:
    async def act() -> str:
        await reactivate_person(db, actor=user.who, person_id=person_id, now=now)
        return "/admin?done=reactivated"

    result = await once(request, db, user=user, now=now, act=act)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


HANDLERS = [deactivate, reactivate]

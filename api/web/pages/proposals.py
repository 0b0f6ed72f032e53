"""Changes waiting for a second person: admins and finance confirm or refuse each other's proposals."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery

from api.deps import DbDep, NowDep
from api.routes.common import PathId
from api.routes.proposals import second_person_above
from api.web.forms import AlreadySent, already_sent, once, read_form, refusal_status, sentence
from api.web.render import page
from api.web.session import UserDep, WebUser
from wallet import proposals, team
from wallet.errors import WalletError

DONE = {
    "confirmed": "You confirmed the change. It is in effect from now.",
    "refused": "You refused the change. Nothing has changed.",
}


async def _page(
    db: DbDep, user: WebUser, *, done: str | None = None, error: str | None = None, status: int = 200
) -> Response[str]:
    waiting = (await proposals.list_proposals(db, who=user.who, status="pending", limit=100)).rows
    names = await team.names_of(db, {p.proposed_by for p in waiting})
    return page(
        "proposals.html.j2",
        user=user,
        status_code=status,
        title="Changes waiting for a second person",
        current="/proposals",
        waiting=waiting,
        names=names,
        done=DONE.get(done or ""),
        errors={"proposal": error} if error else {},
    )


@get("/proposals")
async def proposal_list(db: DbDep, user: UserDep, done: FromQuery[str | None] = None) -> Response[str]:
    return await _page(db, user, done=done)


@post("/proposals/{proposal_id:int}")
async def decide(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, proposal_id: PathId
) -> Response[Any]:
    """Confirm or refuse one proposal (never one's own: the use case refuses it)."""
    form = await read_form(request)
    confirming = form.get("decision") == "confirm"

    async def act() -> str:
        if confirming:
            await proposals.confirm(
                db, who=user.who, proposal_id=proposal_id, now=now, second_person_above=second_person_above(request)
            )
            return "/proposals?done=confirmed"
        await proposals.refuse(db, who=user.who, proposal_id=proposal_id, now=now)
        return "/proposals?done=refused"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except WalletError as exc:  # the API's status for the rule; not found, not allowed: the error page
        return await _page(db, user, error=sentence(exc), status=refusal_status(exc))
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


HANDLERS = [proposal_list, decide]

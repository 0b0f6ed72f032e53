"""Messages: the notifications outbox as a signed-in person's inbox (the same messages are emailed)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from api.deps import DbDep, NowDep
from api.routes.common import PathId
from api.web.forms import AlreadySent, already_sent, once
from api.web.render import page
from api.web.session import UserDep
from approvals import notifications


@get("/messages")
async def message_list(db: DbDep, user: UserDep) -> Response[str]:
    person_id = user.who.person_id
    return page(
        "messages.html.j2",
        user=user,
        title="Messages",
        current="/messages",
        messages=await notifications.inbox(db, person_id=person_id),
        unread=await notifications.unread_count(db, person_id=person_id),
    )


@post("/messages/{notification_id:int}")
async def open_message(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, notification_id: PathId
) -> Response[Any]:
    """Mark the message read and go where it points."""

    async def act() -> str:
        row = await notifications.mark_read(db, person_id=user.who.person_id, notification_id=notification_id, now=now)
        link = row.link or "/messages"
        return link if link.startswith("/") and not link.startswith("//") else "/messages"

    result = await once(request, db, user=user, now=now, act=act)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


HANDLERS = [message_list, open_message]

"""Finance's grants: each grant's conditions and figures, and the claw-back of an ended grant's
unspent money (``wallet.claw_back.claw_back``, which the daily job also runs)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from api.deps import DbDep, NowDep
from api.web.forms import AlreadySent, Form, already_sent, once, read_form
from api.web.render import new_key, page
from api.web.session import UserDep, WebUser
from ledger.money import pounds_display
from reports.pots import grant_lines
from wallet.claw_back import claw_back
from wallet.clock import local_date
from wallet.errors import NotAllowed, WalletError


async def _grants_page(
    db: AsyncSession, user: WebUser, now: datetime, form: Form | None = None, status: int = 200, done: str | None = None
) -> Response[str]:
    if not user.who.has("finance", "auditor", "admin"):
        raise NotAllowed("this is for finance")
    lines = await grant_lines(db, now=now, today=local_date(now))
    return page(
        "finance_grants.html.j2",
        user=user,
        status_code=status,
        title="Grants",
        current="/finance",
        lines=lines,
        options=[
            (str(g.source.id), f"{g.source.name}: {pounds_display(g.figures.left)}", None)
            for g in lines
            if g.can_claw_back
        ],
        errors=form.errors if form else {},
        key=new_key(),
        done=done,
    )


@get("/finance/grants")
async def grants_page(db: DbDep, now: NowDep, user: UserDep, done: FromQuery[str | None] = None) -> Response[str]:
    words = {"clawed_back": "The grant's unspent money is given back to its funder."}
    return await _grants_page(db, user, now, done=words.get(done or ""))


@post("/finance/grants/claw-back")
async def claw_back_submit(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    if not user.who.has("finance"):  # refused before the form is read, as the API refuses
        raise NotAllowed("only finance claws back a grant's money")
    form = await read_form(request)
    source = form.get("funding_source")
    if not source.isdigit():
        form.error("funding_source", "Choose the grant to claw back")
        return await _grants_page(db, user, now, form, status=422)
    digest = hashlib.sha256(f"{user.who.person_id}:{form.get('idempotency_key')}".encode()).hexdigest()[:32]

    async def act() -> str:
        await claw_back(
            db, actor=user.who, funding_source_id=int(source), transfer_id=f"web-claw-back:{digest}", now=now
        )
        return "/finance/grants?done=clawed_back"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except (WalletError, ledger.LedgerError) as exc:
        status = form.refused("funding_source", exc)
        return await _grants_page(db, user, now, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


HANDLERS = [grants_page, claw_back_submit]

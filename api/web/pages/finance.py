"""Finance's month: at a glance by team, reconciliation exceptions, the reports, period close."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from api.deps import DbDep, NowDep
from api.web.forms import AlreadySent, Form, already_sent, once, read_form
from api.web.render import new_key, page
from api.web.session import UserDep, WebUser
from reports import close, monthly
from reports.errors import NoSuchException, ReportsError
from reports.month_by_team import month_by_team
from reports.period import parse_month
from wallet.clock import local_date, month_start, next_month, previous_month
from wallet.errors import NotAllowed


def _month(text: str | None, now: datetime) -> date:
    try:
        return date.fromisoformat(f"{text}-01") if text else month_start(local_date(now))
    except ValueError:
        return month_start(local_date(now))


def _recent_months(now: datetime, count: int = 12) -> list[date]:
    months, month = [], month_start(local_date(now))
    for _ in range(count):
        months.append(month)
        month = previous_month(month)
    return months


async def _finance_page(
    db: AsyncSession, user: WebUser, now: datetime, month: date, form: Form | None = None, status: int = 200,
    done: str | None = None,
) -> Response[str]:  # fmt: skip
    if not user.who.has("finance", "auditor", "admin"):
        raise NotAllowed("this is for finance")
    period = await monthly.period_for(db, month=month, now=now)
    found = await monthly.reconcile(db, period)
    rows = await month_by_team(db, month=month)
    totals = {
        k: sum(getattr(r, k) for r in rows)
        for k in ("allocated", "taken_back", "spent", "count", "declined", "missing")
    }
    return page(
        "finance.html.j2",
        user=user,
        status_code=status,
        title=f"The month: {month:%B %Y}",
        current="/finance",
        month=month,
        label=f"{month:%Y-%m}",
        months=[(f"{m:%Y-%m}", f"{m:%B %Y}") for m in _recent_months(now)],
        rows=rows,
        totals=totals,
        reconciliation=found,
        closed=await ledger.is_closed(db, month=month),
        ended=next_month(month) <= local_date(now),
        reports=list(monthly.REPORTS),
        errors=form.errors if form else {},
        key=new_key(),
        done=done,
    )


@get("/finance")
async def month_page(
    db: DbDep, now: NowDep, user: UserDep, month: FromQuery[str | None] = None, done: FromQuery[str | None] = None
) -> Response[str]:
    words = {
        "closed": "The month is closed. Its reports are fixed as they were at the close.",
        "explained": "The explanation is recorded.",
    }
    return await _finance_page(db, user, now, _month(month, now), done=words.get(done or ""))


@post("/finance/close")
async def close_submit(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    form = await read_form(request)
    month = parse_month(form.get("month"))  # a form names its month; the API's refusal if not one
    if not user.who.has("finance"):
        raise NotAllowed("only finance closes a month")

    async def act() -> str:
        await close.close_month(db, month=month, closed_by=close.closer(user.who.person_id), now=now)
        return f"/finance?month={month:%Y-%m}&done=closed"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except (ReportsError, ledger.LedgerError) as exc:
        status = form.refused("close", exc)
        return await _finance_page(db, user, now, month, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


async def _explain_page(
    db: AsyncSession, user: WebUser, now: datetime, month: date, key: str, form: Form | None = None, status: int = 200
) -> Response[str]:
    if not user.who.has("finance"):
        raise NotAllowed("only finance explains reconciliation exceptions")
    found = await monthly.reconcile(db, await monthly.period_for(db, month=month, now=now))
    finding = next((f for f in found.exceptions if f.key == key), None)
    if finding is None:  # the use case's refusal, so the page answers as the API does
        raise NoSuchException(f"{month:%Y-%m}'s reconciliation has no exception {key!r}")
    return page(
        "finance_explain.html.j2",
        user=user,
        status_code=status,
        title="Explain a reconciliation exception",
        current="/finance",
        back=f"/finance?month={month:%Y-%m}",
        label=f"{month:%Y-%m}",
        finding=finding,
        explanation=found.explanations.get(key, ""),
        values=form.values if form else {},
        errors=form.errors if form else {},
        key=form.get("idempotency_key") if form and form.get("idempotency_key") else new_key(),
    )


@get("/finance/explain")
async def explain_form(
    db: DbDep, now: NowDep, user: UserDep, month: FromQuery[str | None] = None, key: FromQuery[str] = ""
) -> Response[str]:
    return await _explain_page(db, user, now, _month(month, now), key)


@post("/finance/explain")
async def explain_submit(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    form = await read_form(request)
    month, key, text = parse_month(form.get("month")), form.get("finding"), form.get("explanation")[:1000]
    if not text:
        form.error("explanation", "Say why this is not a problem, or what was done about it")
        return await _explain_page(db, user, now, month, key, form, status=422)

    async def act() -> str:
        await close.explain(
            db, month=month, finding_key=key, explanation=text, explained_by=user.who.person_id, now=now
        )
        return f"/finance?month={month:%Y-%m}&done=explained"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except ReportsError as exc:
        status = form.refused("explanation", exc)
        return await _explain_page(db, user, now, month, key, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


HANDLERS = [month_page, close_submit, explain_form, explain_submit]

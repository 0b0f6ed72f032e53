"""Asking ahead, and cover: a key worker asks a manager before going to the shop; a manager
names a deputy for their days away; an admin names each team's fallback approver."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import DbDep, NowDep
from api.routes.common import PathId
from api.web.forms import (
    AlreadySent,
    Form,
    already_sent,
    ascii_digits,
    once,
    parse_day,
    parse_pounds,
    pounds_problem,
    read_form,
)
from api.web.render import new_key, page
from api.web.session import UserDep, WebUser
from approvals import cover, requests
from approvals.errors import ApprovalError
from wallet import families
from wallet.errors import NotAllowed, WalletError
from wallet.models import Family
from wallet.policies import current_policy
from wallet.taxonomy import CATEGORIES

# Asking a manager ahead ----------------------------------------------------------------------

_BUYABLE = [(code, c.label) for code, c in CATEGORIES.items() if code not in ("CASH", "GAMBLING", "ALCOHOL")]


async def _ask_page(
    db: AsyncSession, user: WebUser, family: Family, form: Form | None = None, status: int = 200
) -> Response[str]:
    needs = await families.needs_of(db, who=user.who, family_id=family.id, only_open=True)
    return page(
        "ask_ahead.html.j2",
        user=user,
        status_code=status,
        title=f"Ask your manager ahead for {family.reference}",
        current="/families",
        back=f"/families/{family.id}",
        family=family,
        needs=list(needs),
        chosen=form.lists.get("need", []) if form else [],
        categories=[("", "Choose a kind of purchase"), *_BUYABLE],
        values=form.values if form else {},
        errors=form.errors if form else {},
        key=form.get("idempotency_key") if form and form.get("idempotency_key") else new_key(),
    )


@get("/families/{family_id:int}/ask")
async def ask_form(db: DbDep, user: UserDep, family_id: PathId) -> Response[str]:
    family = await families.get_family(db, who=user.who, family_id=family_id)
    if not user.who.has("key_worker"):
        raise NotAllowed("key workers ask for approval")
    return await _ask_page(db, user, family)


@post("/families/{family_id:int}/ask")
async def ask_submit(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, family_id: PathId
) -> Response[Any]:
    family = await families.get_family(db, who=user.who, family_id=family_id)
    form = await read_form(request)
    need_ids = [int(v) for v in form.lists.get("need", []) if ascii_digits(v)]
    category, amount, reason = form.get("category"), parse_pounds(form.get("amount")), form.get("reason")[:500]
    if not need_ids:
        form.error("need", "Select the need this is for")
    if category not in CATEGORIES:
        form.error("category", "Choose what kind of purchase it is")
    if amount is None:
        form.error("amount", pounds_problem(form.get("amount"), like="180.00", empty="Enter the most it will cost"))
    if not reason:
        form.error("reason", "Say what it is and why the family needs it")
    if not form.ok or amount is None:
        return await _ask_page(db, user, family, form, status=422)
    _, policy = await current_policy(db)

    async def act() -> str:
        ask = requests.RequestAsk(
            family_id=family.id, need_ids=need_ids, category=category, amount=amount, reason=reason
        )
        await requests.raise_request(db, who=user.who, ask=ask, rules=policy.approvals, now=now)
        return f"/families/{family.id}?done=asked"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except (WalletError, ApprovalError) as exc:
        status = form.refused("need", exc)
        return await _ask_page(db, user, family, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


# A manager's deputy ------------------------------------------------------------------------


async def _approvers(db: AsyncSession, *, besides: int) -> list[tuple[str, str]]:
    """Everyone who may deputise: managers and finance officers, by name."""
    return [(str(i), n) for i, n in await cover.possible_approvers(db, besides=besides)]


async def _cover_page(
    db: AsyncSession, user: WebUser, form: Form | None = None, status: int = 200, done: str | None = None
) -> Response[str]:
    named = await cover.deputies_named_by(db, who=user.who)
    people = dict(await _approvers(db, besides=user.who.person_id))
    return page(
        "cover.html.j2",
        user=user,
        status_code=status,
        title="Cover while you are away",
        current="/approvals",
        named=[(people.get(str(d.deputy_id), "Someone"), d) for d in named],
        people=[("", "Choose a person"), *people.items()],
        done=done,
        values=form.values if form else {},
        errors=form.errors if form else {},
        key=form.get("idempotency_key") if form and form.get("idempotency_key") else new_key(),
    )


def _require_manager(user: WebUser) -> None:
    if not user.who.managed_team_ids:
        raise NotAllowed("this is for team managers")


@get("/cover")
async def cover_form(db: DbDep, user: UserDep, done: FromQuery[str | None] = None) -> Response[str]:
    _require_manager(user)
    return await _cover_page(db, user, done="Your deputy is named." if done == "named" else None)


@post("/cover")
async def cover_submit(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    _require_manager(user)
    form = await read_form(request)
    deputy, starts, ends = form.get("deputy"), parse_day(form.get("starts_on")), parse_day(form.get("ends_on"))
    if not ascii_digits(deputy):
        form.error("deputy", "Choose who will decide for you")
    if starts is None:
        form.error("starts_on", "Enter the first day, like 2026-12-21")
    if ends is None:
        form.error("ends_on", "Enter the last day, like 2027-01-02")
    elif starts is not None and ends < starts:
        form.error("ends_on", "The last day must be the same as or after the first day")
    if not form.ok or starts is None or ends is None:
        return await _cover_page(db, user, form, status=422)

    async def act() -> str:
        await cover.name_deputy(db, who=user.who, deputy_id=int(deputy), starts_on=starts, ends_on=ends, now=now)
        return "/cover?done=named"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except (WalletError, ApprovalError) as exc:
        status = form.refused("deputy", exc)
        return await _cover_page(db, user, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


# Each team's fallback approver (admin) -------------------------------------------------------


async def _fallback_page(
    db: AsyncSession, user: WebUser, form: Form | None = None, status: int = 200, done: str | None = None
) -> Response[str]:
    named = await cover.fallbacks(db)
    teams = [team for team, _ in named]
    chosen = {team.id: person_id for team, person_id in named if person_id is not None}
    people = dict(await _approvers(db, besides=0))
    return page(
        "admin_cover.html.j2",
        user=user,
        status_code=status,
        title="Fallback approvers",
        current="/admin",
        back="/admin",
        rows=[(t, people.get(str(chosen.get(t.id, "")), "None yet")) for t in teams],
        teams=[("", "Choose a team"), *[(str(t.id), t.name) for t in teams]],
        people=[("", "Choose a person"), *people.items()],
        done=done,
        values=form.values if form else {},
        errors=form.errors if form else {},
        key=form.get("idempotency_key") if form and form.get("idempotency_key") else new_key(),
    )


@get("/admin/cover")
async def fallback_form(db: DbDep, user: UserDep, done: FromQuery[str | None] = None) -> Response[str]:
    user.who.require("admin")
    return await _fallback_page(db, user, done="The fallback approver is saved." if done == "saved" else None)


@post("/admin/cover")
async def fallback_submit(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    user.who.require("admin")
    form = await read_form(request)
    team, person = form.get("team"), form.get("person")
    if not ascii_digits(team):
        form.error("team", "Choose the team")
    if not ascii_digits(person):
        form.error("person", "Choose who decides when the team's managers do not")
    if not form.ok:
        return await _fallback_page(db, user, form, status=422)

    async def act() -> str:
        await cover.set_fallback(db, who=user.who, team_id=int(team), person_id=int(person), now=now)
        return "/admin/cover?done=saved"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except (WalletError, ApprovalError) as exc:
        status = form.refused("person", exc)
        return await _fallback_page(db, user, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


HANDLERS = [ask_form, ask_submit, cover_form, cover_submit, fallback_form, fallback_submit]

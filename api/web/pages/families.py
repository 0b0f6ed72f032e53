"""Families by reference: their needs, purchases and reviews; recording a review, closing a case,
and recording its six-month check; saying "I'm buying for this family" before paying by card
(``wallet.buying_for``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery

from api.deps import DbDep, NowDep
from api.routes.common import PathId
from api.routes.families import note_checker
from api.web.forms import AlreadySent, Form, already_sent, ascii_digits, once, parse_day, read_form
from api.web.render import new_key, page
from api.web.session import UserDep, WebUser
from wallet import casefile, families, sustain_checks
from wallet.buying_for import state_buying_for, stated_family
from wallet.clock import LONDON, local_date
from wallet.errors import NoSixMonthCheck, NoteLooksPersonal, NotFound, SixMonthCheckAlreadyRecorded, WalletError
from wallet.limits import family_limits_left
from wallet.models import Family, Need
from wallet.policies import current_policy
from wallet.sustain_check_models import CHECK_RESULTS, SustainCheck
from wallet.taxonomy import CLOSURE_REASONS, REVIEW_OUTCOMES


@get("/families")
async def family_list(db: DbDep, user: UserDep) -> Response[str]:
    lines = await casefile.family_lines(db, who=user.who)
    rows = [(line.family, line.open_needs, line.spent) for line in lines]
    return page("families.html.j2", user=user, title="Your families", current="/families", rows=rows)


async def _family_context(db: DbDep, user: WebUser, family_id: int, now: datetime) -> dict[str, Any]:
    case = await casefile.case_file(db, who=user.who, family_id=family_id)
    family = case.family
    codes = {n.id: n.code for n in case.needs}
    _, policy = await current_policy(db)
    limits = await family_limits_left(
        db, policy=policy, team_id=family.team_id, worker_id=user.who.person_id, family_id=family.id, now=now
    )
    return {
        "family": family,
        "needs": case.needs,
        "reviews": case.reviews,
        "purchases": case.purchases,
        "purchase_codes": {pid: [codes.get(n, "") for n in ids] for pid, ids in case.needs_answered.items()},
        "spent": case.spent,
        "limits": limits,
        "check": await _check_or_none(db, user, family.id),
        "check_words": sustain_checks.RESULT_WORDS,
        "may_record": families.may_work_on(user.who, family),
        "buying_for_until": await _buying_for_until(db, user, family.id, now),
    }


async def _check_or_none(db: DbDep, user: WebUser, family_id: int) -> SustainCheck | None:
    try:
        return await sustain_checks.check_of(db, who=user.who, family_id=family_id)
    except NoSixMonthCheck:
        return None


async def _buying_for_until(db: DbDep, user: WebUser, family_id: int, now: datetime) -> str | None:
    """When (UK time of day) the worker's statement that their card is paying for this family
    runs out, if it does."""
    stated = await stated_family(db, worker_id=user.who.person_id, now=now)
    if stated is None or stated[0].family_id != family_id:
        return None
    return f"{stated[0].expires_at.astimezone(LONDON):%H:%M}"


@get("/families/{family_id:int}")
async def family_detail(
    request: Request[Any, Any, Any],
    db: DbDep,
    now: NowDep,
    user: UserDep,
    family_id: PathId,
    done: FromQuery[str | None] = None,
) -> Response[str]:
    context = await _family_context(db, user, family_id, now)
    words = {
        "review": "The review is recorded.",
        "closed": "The case is closed.",
        "asked": "Your manager has been asked. You will get a message when they decide.",
        "checked": "The six-month check is recorded.",
        "buying_for": "Your card is paying for this family now: the till applies its limits, needs and categories.",
    }
    return page(
        "family.html.j2",
        user=user,
        title=f"Family {context['family'].reference}",
        current="/families",
        back="/families",
        done=words.get(done or ""),
        key=new_key(),
        buying_for_minutes=int(request.app.state.settings.buying_for_minutes),
        **context,
    )


# Reviewing a need --------------------------------------------------------------------------


def _review_page(user: WebUser, family: Family, need: Need, form: Form | None, status: int = 200) -> Response[str]:
    return page(
        "review.html.j2",
        user=user,
        status_code=status,
        title=f"Review {need.code} for {family.reference}",
        back=f"/families/{family.id}",
        family=family,
        need=need,
        outcomes=[(o, o) for o in REVIEW_OUTCOMES],
        values=form.values if form else {},
        errors=form.errors if form else {},
        key=(form.get("idempotency_key") if form and form.get("idempotency_key") else new_key()),
    )


async def _need_of(db: DbDep, user: WebUser, family_id: int, need_id: int) -> tuple[Family, Need]:
    need = await families.get_need(db, who=user.who, need_id=need_id)
    family = await families.get_family(db, who=user.who, family_id=family_id)
    if need.family_id != family.id:
        raise NotFound(f"no need {need_id}")
    return family, need


@get("/families/{family_id:int}/needs/{need_id:int}/review")
async def review_form(db: DbDep, user: UserDep, family_id: PathId, need_id: PathId) -> Response[str]:
    family, need = await _need_of(db, user, family_id, need_id)
    return _review_page(user, family, need, None)


@post("/families/{family_id:int}/needs/{need_id:int}/review")
async def review_submit(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, family_id: PathId, need_id: PathId
) -> Response[Any]:
    family, need = await _need_of(db, user, family_id, need_id)
    form = await read_form(request)
    outcome, score_text = form.get("outcome"), form.get("score")
    if outcome not in REVIEW_OUTCOMES:
        form.error("outcome", "Select whether the need has improved, not changed or got worse")
    if not ascii_digits(score_text) or not 1 <= int(score_text) <= 10:
        form.error("score", "Enter a score from 1 to 10")
    if not form.ok:
        return _review_page(user, family, need, form, status=422)

    async def act() -> str:
        await families.review_need(
            db,
            who=user.who,
            need_id=need.id,
            outcome=outcome,
            score=int(score_text),
            reviewed_on=local_date(now),
            now=now,
            close_need=form.get("close_need") == "yes",
        )
        return f"/families/{family.id}?done=review"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except WalletError as exc:
        status = form.refused("outcome", exc)
        return _review_page(user, family, need, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


# Closing a case ----------------------------------------------------------------------------


def _close_page(user: WebUser, family: Family, form: Form | None, status: int = 200) -> Response[str]:
    return page(
        "close.html.j2",
        user=user,
        status_code=status,
        title=f"Close {family.reference}'s case",
        back=f"/families/{family.id}",
        family=family,
        reasons=[(r, r) for r in CLOSURE_REASONS],
        values=form.values if form else {},
        errors=form.errors if form else {},
        key=(form.get("idempotency_key") if form and form.get("idempotency_key") else new_key()),
    )


@get("/families/{family_id:int}/close")
async def close_form(db: DbDep, user: UserDep, family_id: PathId) -> Response[str]:
    return _close_page(user, await families.get_family(db, who=user.who, family_id=family_id), None)


@post("/families/{family_id:int}/close")
async def close_submit(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, family_id: PathId
) -> Response[Any]:
    family = await families.get_family(db, who=user.who, family_id=family_id)
    form = await read_form(request)
    reason = form.get("reason")
    if reason not in CLOSURE_REASONS:
        form.error("reason", "Select why the case is closing")
    if not form.ok:
        return _close_page(user, family, form, status=422)

    async def act() -> str:
        await families.close_family(
            db, who=user.who, family_id=family.id, reason=reason, closed_on=local_date(now), now=now
        )
        return f"/families/{family.id}?done=closed"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except WalletError as exc:
        status = form.refused("reason", exc)
        return _close_page(user, family, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


# Recording the six-month check -------------------------------------------------------------


def _check_page(
    user: WebUser, family: Family, check: SustainCheck, form: Form | None, now: datetime, status: int = 200
) -> Response[str]:
    values = form.values if form else {"checked_on": local_date(now).isoformat()}
    return page(
        "six_month_check.html.j2",
        user=user,
        status_code=status,
        title=f"Six-month check for {family.reference}",
        back=f"/families/{family.id}",
        family=family,
        check=check,
        results=[(r, sustain_checks.RESULT_WORDS[r], None) for r in CHECK_RESULTS],
        values=values,
        errors=form.errors if form else {},
        key=(form.get("idempotency_key") if form and form.get("idempotency_key") else new_key()),
    )


@get("/families/{family_id:int}/six-month-check")
async def check_form(db: DbDep, now: NowDep, user: UserDep, family_id: PathId) -> Response[str]:
    family = await families.get_family(db, who=user.who, family_id=family_id)
    check = await sustain_checks.check_of(db, who=user.who, family_id=family_id)
    return _check_page(user, family, check, None, now)


@post("/families/{family_id:int}/six-month-check")
async def check_submit(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, family_id: PathId
) -> Response[Any]:
    family = await families.get_family(db, who=user.who, family_id=family_id)
    check = await sustain_checks.check_of(db, who=user.who, family_id=family_id)
    form = await read_form(request)
    result, checked_on = form.get("result"), parse_day(form.get("checked_on"))
    if result not in CHECK_RESULTS:
        form.error("result", "Select what the check found")
    if checked_on is None:
        form.error("checked_on", "Enter the day of the check, for example 2027-05-20")
    if not form.ok or checked_on is None:
        return _check_page(user, family, check, form, now, status=422)
    day = checked_on

    async def act() -> str:
        await sustain_checks.record_check(
            db, who=user.who, family_id=family.id, result=result, checked_on=day, note=form.get("note"),
            looks_personal=note_checker(db, user.who), now=now,
        )  # fmt: skip
        return f"/families/{family.id}?done=checked"

    try:
        outcome = await once(request, db, user=user, now=now, act=act)
    except WalletError as exc:
        field = {NoteLooksPersonal: "note", SixMonthCheckAlreadyRecorded: "result"}.get(type(exc), "checked_on")
        status = form.refused(field, exc)
        return _check_page(user, family, check, form, now, status=status)
    return already_sent(user, outcome) if isinstance(outcome, AlreadySent) else outcome


# Buying for this family at a till -------------------------------------------------------------


@post("/families/{family_id:int}/buying-for")
async def buying_for_submit(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, family_id: PathId
) -> Response[Any]:
    """The worker's next card payments, for the council's set minutes, are for this family and
    its open needs. A refusal (not their family, no open need) is answered by the pages' error
    handler from the API's table."""
    minutes = int(request.app.state.settings.buying_for_minutes)

    async def act() -> str:
        case = await casefile.case_file(db, who=user.who, family_id=family_id)
        needs = [n.id for n in case.needs if n.status == "open"]
        await state_buying_for(db, who=user.who, family_id=family_id, need_ids=needs, minutes=minutes, now=now)
        return f"/families/{family_id}?done=buying_for"

    result = await once(request, db, user=user, now=now, act=act)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


HANDLERS = [
    family_list,
    family_detail,
    review_form,
    review_submit,
    close_form,
    close_submit,
    check_form,
    check_submit,
    buying_for_submit,
]

"""Admin pages for contact details kept up to date: a person's work mobile (Stripe texts card
codes to it) and a team's office address (where physical cards are posted). The same use cases
as the API's (``wallet.organisation``); a refused answer is shown against its field, with what
was typed kept."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from pydantic import TypeAdapter, ValidationError

from api.deps import DbDep, NowDep
from api.routes.common import PathId
from api.schemas import Postcode
from api.web.forms import Form, read_form
from api.web.pages.admin import _admin, _form_page, _submit
from api.web.session import UserDep
from wallet import organisation

_POSTCODE: TypeAdapter[str] = TypeAdapter(Postcode)
_POSTCODE_HINT = "For example, EX1 1AA"


@get("/admin/people/{person_id:int}/work-mobile")
async def work_mobile_form(db: DbDep, user: UserDep, person_id: PathId) -> Response[str]:
    _admin(user)
    person = await organisation.get_person(db, who=user.who, person_id=person_id)
    form = Form(values={"work_mobile": person.work_mobile or ""}, lists={})
    return _form_page("admin_work_mobile.html.j2", user, form, title="Work mobile", person=person)


@post("/admin/people/{person_id:int}/work-mobile")
async def work_mobile_submit(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, person_id: PathId
) -> Response[Any]:
    _admin(user)
    person = await organisation.get_person(db, who=user.who, person_id=person_id)
    form = await read_form(request)
    mobile = form.get("work_mobile")[:20]
    if not mobile:
        form.error("work_mobile", "Enter the work mobile, like 07700 900123")

    async def act() -> str:
        await organisation.set_work_mobile(db, actor=user.who, person_id=person_id, work_mobile=mobile, now=now)
        return "/admin?done=work_mobile"

    if form.ok and (done := await _submit(request, db, now, user, form, "work_mobile", act)) is not None:
        return done
    return _form_page("admin_work_mobile.html.j2", user, form, status=form.status, title="Work mobile", person=person)


@get("/admin/teams/{team_id:int}/office-address")
async def office_form(db: DbDep, user: UserDep, team_id: PathId) -> Response[str]:
    _admin(user)
    team = await organisation.get_team(db, team_id=team_id)
    values = {
        "line1": team.office_line1 or "",
        "line2": team.office_line2 or "",
        "city": team.office_city or "",
        "postal_code": team.office_postal_code or "",
    }
    return _form_page("admin_office.html.j2", user, Form(values=values, lists={}), title="Office address",
                      team=team, postcode_hint=_POSTCODE_HINT)  # fmt: skip


def _postcode(written: str) -> str | None:
    """A UK postcode, as the API takes it (``api.schemas.Postcode``), or ``None``."""
    try:
        return _POSTCODE.validate_python(written[:10])
    except ValidationError:
        return None


@post("/admin/teams/{team_id:int}/office-address")
async def office_submit(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, team_id: PathId
) -> Response[Any]:
    _admin(user)
    team = await organisation.get_team(db, team_id=team_id)
    form = await read_form(request)
    line1, line2, city = form.get("line1")[:200], form.get("line2")[:200], form.get("city")[:80]
    postal_code = _postcode(form.get("postal_code"))
    if not line1:
        form.error("line1", "Enter the first line of the office's address")
    if not city:
        form.error("city", "Enter the town or city")
    if postal_code is None:
        form.error("postal_code", "Enter a UK postcode, like EX1 1AA")

    async def act() -> str:
        await organisation.set_office_address(
            db, actor=user.who, team_id=team_id, line1=line1, line2=line2 or None, city=city,
            postal_code=postal_code or "", now=now,
        )  # fmt: skip
        return "/admin?done=office"

    if form.ok and (done := await _submit(request, db, now, user, form, "line1", act)) is not None:
        return done
    return _form_page("admin_office.html.j2", user, form, status=form.status, title="Office address",
                      team=team, postcode_hint=_POSTCODE_HINT)  # fmt: skip


HANDLERS = [work_mobile_form, work_mobile_submit, office_form, office_submit]

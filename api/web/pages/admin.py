"""Admin: people and their roles, teams, the spend policy and funding sources. Simple, but real."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import DbDep, NowDep
from api.web.forms import AlreadySent, Form, already_sent, ascii_digits, once, read_form, sentence
from api.web.render import new_key, page
from api.web.session import UserDep, WebUser
from wallet import budgets, organisation, proposals
from wallet.errors import NotAllowed, WalletError
from wallet.limits import limits_in_words
from wallet.models import ROLES
from wallet.passwords import check_password
from wallet.policies import current_policy, policy_versions

DONE = {
    "person": "The person is added and can sign in. Their role takes effect when another admin confirms it.",
    "role": "The role is proposed. It takes effect when another admin confirms it.",
    "team": "The team is added.",
    "policy": "The new spend policy is proposed. It is in force once another admin confirms it.",
    "funding": "The funding source is added.",
    "deactivated": "The person is deactivated: signed out, tokens revoked, wallet suspended and returned to the team.",
    "work_mobile": "The work mobile is saved. The person's card at Stripe is updated within a few minutes.",
    "office": "The office address is saved. New physical cards for the team are posted there.",
    "reactivated": "The person can sign in again. Their wallet's budget stays with the team until it is given again.",
}


def _admin(user: WebUser) -> None:
    if not user.who.has("admin"):
        raise NotAllowed("this is for admins")


def _form_page(template: str, user: WebUser, form: Form | None, status: int = 200, **context: Any) -> Response[str]:
    return page(
        template,
        user=user,
        status_code=status,
        current="/admin",
        back="/admin",
        values=form.values if form else {},
        errors=form.errors if form else {},
        key=form.get("idempotency_key") if form and form.get("idempotency_key") else new_key(),
        **context,
    )


async def _submit(
    request: Request[Any, Any, Any], db: AsyncSession, now: datetime, user: WebUser, form: Form, field: str, act: Any
) -> Response[Any] | None:
    """Run ``act`` once; ``None`` (with the error on ``field``) when the domain refuses it."""
    try:
        result = await once(request, db, user=user, now=now, act=act)
    except WalletError as exc:
        form.refused(field, exc)
        return None
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


@get("/admin")
async def overview(db: DbDep, user: UserDep, done: FromQuery[str | None] = None) -> Response[str]:
    _admin(user)
    staff = await organisation.staff_with_roles(db, who=user.who)
    _, policy = await current_policy(db)
    return page(
        "admin.html.j2",
        user=user,
        title="Admin",
        current="/admin",
        people=[person for person, _ in staff],
        roles={person.id: grants for person, grants in staff},
        teams=await organisation.list_teams(db),
        team_names={t.id: t.name for t in await organisation.list_teams(db)},
        sources=await budgets.list_funding_sources(db),
        limits=limits_in_words(policy, team_id=None, worker_id=None),
        done=DONE.get(done or ""),
    )


# People and roles ---------------------------------------------------------------------------


async def _team_options(db: AsyncSession) -> list[tuple[str, str]]:
    return [("", "No team (finance, admin, auditor)")] + [
        (str(t.id), t.name) for t in await organisation.list_teams(db)
    ]


ROLE_OPTIONS = [(r, r.replace("_", " ").capitalize(), None) for r in ROLES]


@get("/admin/people/new")
async def person_form(db: DbDep, user: UserDep) -> Response[str]:
    _admin(user)
    return _form_page("admin_person.html.j2", user, None, title="Add a person", teams=await _team_options(db),
                      roles=ROLE_OPTIONS)  # fmt: skip


@post("/admin/people/new")
async def person_submit(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    _admin(user)
    form = await read_form(request)
    email, name, secret, role, team = (form.get(n) for n in ("email", "display_name", "password", "role", "team"))
    if "@" not in email:
        form.error("email", "Enter an email address, like name@council.gov.uk")
    if not name:
        form.error("display_name", "Enter the person's name")
    try:
        check_password(secret, context=(email, name))
    except WalletError as exc:
        form.error("password", sentence(exc))
    if role not in ROLES:
        form.error("role", "Select the person's role")
    elif role in ("key_worker", "team_manager") and not ascii_digits(team):
        form.error("team", "Select the team for a key worker or team manager")

    async def act() -> str:
        person = await organisation.create_person(
            db, actor=user.who, email=email, display_name=name, password=secret, now=now
        )
        team_id = int(team) if ascii_digits(team) and role in ("key_worker", "team_manager") else None
        await proposals.propose_role(
            db, who=user.who, person_id=person.id, role=role, team_id=team_id, open_wallet=role == "key_worker", now=now
        )
        return "/admin?done=person"

    if form.ok and (done := await _submit(request, db, now, user, form, "email", act)) is not None:
        return done
    return _form_page("admin_person.html.j2", user, form, status=form.status, title="Add a person",
                      teams=await _team_options(db), roles=ROLE_OPTIONS)  # fmt: skip


# Teams ---------------------------------------------------------------------------------------


async def _source_options(db: AsyncSession) -> list[tuple[str, str]]:
    return [(str(s.id), s.name) for s in await budgets.list_funding_sources(db)]


@get("/admin/teams/new")
async def team_form(db: DbDep, user: UserDep) -> Response[str]:
    _admin(user)
    return _form_page("admin_team.html.j2", user, None, title="Add a team", sources=await _source_options(db))


@post("/admin/teams/new")
async def team_submit(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    _admin(user)
    form = await read_form(request)
    labels = {"name": "the team's name", "locality": "the locality", "cost_centre": "the cost centre code",
              "department": "the department it is published under"}  # fmt: skip
    for name, label in labels.items():
        if not form.get(name):
            form.error(name, f"Enter {label}")
    source = form.get("funding_source")

    async def act() -> str:
        await organisation.create_team(
            db, actor=user.who, name=form.get("name")[:120], locality=form.get("locality")[:80],
            cost_centre=form.get("cost_centre")[:40], department=form.get("department")[:120],
            default_funding_source_id=int(source) if ascii_digits(source) else None, now=now,
        )  # fmt: skip
        return "/admin?done=team"

    if form.ok and (done := await _submit(request, db, now, user, form, "name", act)) is not None:
        return done
    return _form_page("admin_team.html.j2", user, form, status=form.status, title="Add a team",
                      sources=await _source_options(db))  # fmt: skip


# The spend policy ------------------------------------------------------------------------------


async def _policy_page(db: AsyncSession, user: WebUser, form: Form | None, status: int = 200) -> Response[str]:
    _, policy = await current_policy(db)
    document = json.dumps(policy.model_dump(mode="json"), indent=2)
    if form is not None:
        form.values.setdefault("document", document)
    return _form_page("admin_policy.html.j2", user, form, status, title="Spend policy",
                      limits=limits_in_words(policy, team_id=None, worker_id=None), document=document,
                      versions=(await policy_versions(db))[:10])  # fmt: skip


@get("/admin/policy")
async def policy_form(db: DbDep, user: UserDep) -> Response[str]:
    _admin(user)
    return await _policy_page(db, user, None)


@post("/admin/policy")
async def policy_submit(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    _admin(user)
    form = await read_form(request)
    note = form.get("note")[:200]
    document: object = None
    try:
        document = json.loads(form.values.get("document", ""))
    except ValueError:
        form.error("document", "The rules are not valid JSON")
    if not note:
        form.error("note", "Say what changed, for example 'raise the per-purchase limit to £120'")

    async def act() -> str:
        await proposals.propose_policy(db, who=user.who, document=document, note=note, now=now)
        return "/admin?done=policy"

    if form.ok and (done := await _submit(request, db, now, user, form, "document", act)) is not None:
        return done
    return await _policy_page(db, user, form, status=form.status)


# Funding sources -------------------------------------------------------------------------------


@get("/admin/funding/new")
async def funding_form(user: UserDep) -> Response[str]:
    _admin(user)
    return _form_page("admin_funding.html.j2", user, None, title="Add a funding source")


@post("/admin/funding/new")
async def funding_submit(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    _admin(user)
    form = await read_form(request)
    code, name = form.get("code")[:40], form.get("name")[:120]
    if not code or not code.replace("-", "").isalnum():
        form.error("code", "Enter a short code of letters, numbers and hyphens, like public-health")
    if not name:
        form.error("name", "Enter the funding source's name")

    async def act() -> str:
        await budgets.create_funding_source(db, actor=user.who, code=code, name=name, now=now)
        return "/admin?done=funding"

    if form.ok and (done := await _submit(request, db, now, user, form, "code", act)) is not None:
        return done
    return _form_page("admin_funding.html.j2", user, form, status=form.status, title="Add a funding source")


HANDLERS = [
    overview,
    person_form,
    person_submit,
    team_form,
    team_submit,
    policy_form,
    policy_submit,
    funding_form,
    funding_submit,
]

"""SCIM 2.0 provisioning (``/scim/v2``): the identity provider creates, changes, deactivates and
deletes people, and puts them in and out of the groups mapped to roles.

It signs its requests with one bearer token, configured as its SHA-256 only
(``TIDE_SCIM_TOKEN_SHA256``). Every answer is ``application/scim+json``, refusals in SCIM's
error format (``api.scim.ScimError``), whatever went wrong: nothing here answers
problem+json, and bad input never a 500.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, TypeAlias

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException
from litestar.handlers import BaseRouteHandler
from litestar.params import JSONBody, PathParameter, QueryParameter

from api.deps import CsrfFailed, DbDep, NowDep, same_token
from api.errors import PROBLEMS
from api.errors import exception_handlers as app_exception_handlers
from api.failures import failure_of
from api.scim import (
    SCIM_JSON,
    ScimError,
    group_resource,
    list_response,
    page_of,
    read_filter,
    read_group,
    read_group_patch,
    read_user,
    read_user_patch,
    user_resource,
)
from approvals.provisioning import create_user, delete_user, update_user
from wallet.errors import DuplicateRecord
from wallet.provisioning import GroupRole, change_group, find_people, group_members, provisioned


def scim_answer(body: Any, status: int = 200) -> Response[Any]:
    return Response(body, status_code=status, media_type=SCIM_JSON)


def scim_refusal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Every refusal of a SCIM request, in SCIM's error format."""
    if isinstance(exc, ScimError):
        error = exc
    elif isinstance(exc, DuplicateRecord):
        error = ScimError(409, str(exc), "uniqueness")
    elif type(exc) in PROBLEMS:
        status, _, title = PROBLEMS[type(exc)]
        error = ScimError(status, str(exc) or title, "invalidValue" if status in (400, 422) else None)
    elif isinstance(exc, HTTPException) and exc.status_code < 500:
        error = ScimError(exc.status_code, str(exc.detail), "invalidSyntax" if exc.status_code == 400 else None)
    else:
        failure = failure_of(request, exc)  # logged once, with its traceback
        error = ScimError(failure.status, f"quote request id {failure.request_id} if you report it")
    return scim_answer(error.body(), error.status)


def provider_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The identity provider's bearer token, checked against its configured SHA-256."""
    expected = connection.app.state.settings.scim_token_sha256
    sent = connection.headers.get("authorization", "")
    if not expected:
        raise ScimError(401, "SCIM provisioning is not set up (TIDE_SCIM_TOKEN_SHA256)")
    if not sent.lower().startswith("bearer ") or not same_token(
        hashlib.sha256(sent[7:].strip().encode()).hexdigest(), expected
    ):
        raise ScimError(401, "the bearer token is not the identity provider's")


def _base(request: Request[Any, Any, Any]) -> str:
    return str(request.app.state.settings.base_url)


def _user_id(user_id: str) -> int:
    if not user_id.isdigit():
        raise ScimError(404, f"no user {user_id}")
    return int(user_id)


def _mapping(request: Request[Any, Any, Any], group_id: ScimId) -> GroupRole:
    mappings: list[GroupRole] = request.app.state.settings.group_mappings
    found = next((m for m in mappings if m.group == group_id), None)
    if found is None:
        raise ScimError(404, f"no group {group_id} is mapped to a role (TIDE_GROUP_ROLES)")
    return found


Start: TypeAlias = Annotated[int | None, QueryParameter(name="startIndex", ge=1, le=1_000_000)]
Count: TypeAlias = Annotated[int | None, QueryParameter(ge=0, le=1_000_000)]
ScimId: TypeAlias = Annotated[str, PathParameter(max_length=200)]
Filter: TypeAlias = Annotated[str | None, QueryParameter(name="filter", max_length=1000)]


class ScimController(Controller):
    path = "/scim/v2"
    tags = ["SCIM provisioning"]
    guards = [provider_only]
    #: Every class the app maps to problem+json, and anything else, answered in SCIM's format
    #: here (Litestar picks the most specific class across layers, so each is named).
    exception_handlers = {
        **dict.fromkeys(app_exception_handlers(), scim_refusal),
        CsrfFailed: scim_refusal,
        Exception: scim_refusal,
    }
    include_in_schema = False

    @get("/ServiceProviderConfig")
    async def service_provider_config(self) -> Response[Any]:
        return scim_answer({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": True}, "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": True, "maxResults": 200}, "changePassword": {"supported": False},
            "sort": {"supported": False}, "etag": {"supported": False},
            "authenticationSchemes": [{"type": "oauthbearertoken", "name": "Bearer token", "description": "One token"}],
        })  # fmt: skip

    @get("/Users")
    async def list_users(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        filter_: Filter = None,
        start_index: Start = None,
        count: Count = None,
    ) -> Response[Any]:
        attribute, value = read_filter(filter_, attributes=("userName", "externalId", "id"))
        start, size = page_of(start_index, count)
        total, people = await find_people(db, attribute=attribute, value=value, start=start, count=size)
        resources = [user_resource(p, _base(request)) for p in people]
        return scim_answer(list_response(resources, total=total, start=start))

    @post("/Users")
    async def create(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, data: JSONBody[Any]
    ) -> Response[Any]:
        sent = read_user(data)
        person = await create_user(db, details=sent.details, active=sent.active is not False, now=now)
        return scim_answer(user_resource(person, _base(request)), 201)

    @get("/Users/{user_id:str}")
    async def read(self, request: Request[Any, Any, Any], db: DbDep, user_id: ScimId) -> Response[Any]:
        person = await provisioned(db, person_id=_user_id(user_id))
        return scim_answer(user_resource(person, _base(request)))

    @put("/Users/{user_id:str}")
    async def replace(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, user_id: ScimId, data: JSONBody[Any]
    ) -> Response[Any]:
        sent = read_user(data)
        person = await update_user(db, person_id=_user_id(user_id), details=sent.details, active=sent.active, now=now)
        return scim_answer(user_resource(person, _base(request)))

    @patch("/Users/{user_id:str}")
    async def change(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, user_id: ScimId, data: JSONBody[Any]
    ) -> Response[Any]:
        sent = read_user_patch(data)
        person = await update_user(db, person_id=_user_id(user_id), details=sent.details, active=sent.active, now=now)
        return scim_answer(user_resource(person, _base(request)))

    @delete("/Users/{user_id:str}", status_code=204)
    async def remove(self, db: DbDep, now: NowDep, user_id: ScimId) -> None:
        await delete_user(db, person_id=_user_id(user_id), now=now)

    @get("/Groups")
    async def list_groups(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        filter_: Filter = None,
        start_index: Start = None,
        count: Count = None,
    ) -> Response[Any]:
        attribute, value = read_filter(filter_, attributes=("displayName", "id", "externalId"))
        mappings = [m for m in request.app.state.settings.group_mappings if attribute is None or m.group == value]
        start, size = page_of(start_index, count)
        chosen = mappings[start - 1 : start - 1 + size]
        resources = [group_resource(m, await group_members(db, mapping=m), _base(request)) for m in chosen]
        return scim_answer(list_response(resources, total=len(mappings), start=start))

    @post("/Groups")
    async def create_group(self, request: Request[Any, Any, Any], db: DbDep, data: JSONBody[Any]) -> Response[Any]:
        mapping = _mapping(request, read_group(data))
        return scim_answer(group_resource(mapping, await group_members(db, mapping=mapping), _base(request)), 201)

    @get("/Groups/{group_id:str}")
    async def read_one_group(self, request: Request[Any, Any, Any], db: DbDep, group_id: ScimId) -> Response[Any]:
        mapping = _mapping(request, group_id)
        return scim_answer(group_resource(mapping, await group_members(db, mapping=mapping), _base(request)))

    @patch("/Groups/{group_id:str}", status_code=204)
    async def change_members(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, group_id: ScimId, data: JSONBody[Any]
    ) -> None:
        mapping = _mapping(request, group_id)
        add, remove = read_group_patch(data)
        await change_group(db, mapping=mapping, add=add, remove=remove, now=now)

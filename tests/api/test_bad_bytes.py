"""Bad bytes, sent to every operation of the OpenAPI, are answered 4xx problem+json: never a 500.

What the fuzzer draws rarely lands on the classes that used to crash the app on PostgreSQL, so
each is sent on purpose, to every operation, by an admin (who may reach them all): a NUL byte
in every text field of the operation's own example body, in each query parameter and in each
path parameter; a body that is not UTF-8; JSON nested deeper than any parser should follow;
digits that are digits only outside ASCII (superscript two, Arabic-Indic and fullwidth
digits) where a number is asked. Each class
is answered by one rule in one place (``api.request_guard``: how text, digits and JSON are read
before any handler sees them), so a new operation is covered the day it is added to the OpenAPI.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from tests import databases
from tests.api.conftest import SMALL_COUNTY, settings_for, sign_in
from tests.conftest import IN_CI

pytestmark = pytest.mark.postgresql

BAD_DIGITS = (
    "\u00b2",
    "\u0661",
    "\uff11",
    "\u0663\u0664",
)  # superscript two, Arabic-Indic one, fullwidth one, Arabic-Indic 34
NESTED = ("[" * 100_000 + "]" * 100_000).encode()
NESTED_OBJECT = ('{"a":' * 5_000 + "1" + "}" * 5_000).encode()
NOT_UTF8 = b'{"name": "\xff\xfe\xc3\x28", "email": "\xed\xa0\x80@x.org"}'


def _openapi() -> dict[str, Any]:
    return create_app(settings_for("sqlite+aiosqlite:///unused.db")).openapi_schema.to_schema()


SCHEMA = _openapi()
OPERATIONS = [
    (method.upper(), path, operation)
    for path, item in SCHEMA["paths"].items()
    for method, operation in item.items()
    if method in {"get", "post", "put", "delete", "patch"}
]


def _example(operation: dict[str, Any]) -> Any:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return None
    examples = content.get("schema", {}).get("examples") or [{}]
    return examples[0]


def _with_nul(value: Any) -> Any:
    """Every text in ``value`` with a NUL byte inside it."""
    if isinstance(value, str):
        return f"a\x00{value}"
    if isinstance(value, list):
        return [_with_nul(item) for item in value]
    if isinstance(value, dict):
        return {key: _with_nul(item) for key, item in value.items()}
    return value


def _with_bad_digits(value: Any, digits: str) -> Any:
    """Every number in ``value`` written as a string of non-ASCII digits."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return digits
    if isinstance(value, list):
        return [_with_bad_digits(item, digits) for item in value]
    if isinstance(value, dict):
        return {key: _with_bad_digits(item, digits) for key, item in value.items()}
    return value


def _params(operation: dict[str, Any], where: str) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p["in"] == where]


def _path(path: str, operation: dict[str, Any], value: str) -> str:
    for name in _params(operation, "path"):
        path = path.replace(f"{{{name}}}", quote(value, safe=""))
    return path


def requests(method: str, path: str, operation: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what is bad, the keyword arguments of the request) for each class of bad bytes."""
    ok_path = _path(path, operation, "1")
    example = _example(operation)
    json_headers = {"content-type": "application/json"}
    if example is not None:
        yield "NUL in the body's text", {"url": ok_path, "json": _with_nul(example)}
        for digits in BAD_DIGITS:
            yield f"{digits} as the body's numbers", {"url": ok_path, "json": _with_bad_digits(example, digits)}
    if method != "GET":
        yield "a body that is not UTF-8", {"url": ok_path, "content": NOT_UTF8, "headers": json_headers}
        yield "JSON nested 100,000 deep", {"url": ok_path, "content": NESTED, "headers": json_headers}
        yield "an object nested 5,000 deep", {"url": ok_path, "content": NESTED_OBJECT, "headers": json_headers}
    if _params(operation, "path"):
        yield "NUL in the path", {"url": _path(path, operation, "1\x00")}
        for digits in BAD_DIGITS:
            yield f"{digits} in the path", {"url": _path(path, operation, digits)}
    for name in _params(operation, "query"):
        yield f"NUL in ?{name}", {"url": ok_path, "params": {name: "a\x00b"}}
        for digits in BAD_DIGITS:
            yield f"{digits} in ?{name}", {"url": ok_path, "params": {name: digits}}
        yield f"bytes that are not UTF-8 in ?{name}", {"url": f"{ok_path}?{name}=%ff%fe"}


@pytest.fixture(scope="module")
def county() -> Iterator[str]:
    yield from databases.seeded_postgres("tide_bad_bytes_test", SMALL_COUNTY, in_ci=IN_CI)


@pytest.fixture(scope="module")
def admin_token(county: str) -> str:
    async def create() -> str:
        async with AsyncTestClient(app=create_app(settings_for(county))) as client:
            signed_in = await sign_in(client, "admin")
            made = await client.post("/api/v1/me/tokens", json={"name": "bad bytes"}, headers=signed_in.headers)
            return str(made.json()["token"])

    return asyncio.run(create())


@pytest.mark.parametrize(
    ("method", "path", "operation"), OPERATIONS, ids=[f"{method} {path}" for method, path, _ in OPERATIONS]
)
async def test_bad_bytes_are_answered_with_a_problem_never_a_server_error(
    county: str, admin_token: str, method: str, path: str, operation: dict[str, Any]
) -> None:
    crashed: list[str] = []
    async with AsyncTestClient(app=create_app(settings_for(county))) as client:
        for what, request in requests(method, path, operation):
            headers = {
                "authorization": f"Bearer {admin_token}",
                "idempotency-key": uuid.uuid4().hex,
                **request.pop("headers", {}),
            }
            response = await client.request(method, headers=headers, **request)
            if response.status_code >= 500 or (
                response.status_code >= 400
                and not response.headers.get("content-type", "").startswith("application/problem+json")
            ):
                crashed.append(f"{what}: {response.status_code} {response.text[:200]}")
    assert crashed == [], "\n".join(crashed)


PAGE_FORMS = [
    ("/cover", {"deputy": "\u00b2", "starts_on": "2026-12-21", "ends_on": "2027-01-02"}),
    ("/cover", {"deputy": "3\x00", "starts_on": "2026-12-21", "ends_on": "2027-01-02"}),
]


@pytest.mark.parametrize(("path", "form"), PAGE_FORMS, ids=["superscript two as an id", "NUL in an id"])
async def test_a_page_form_with_bad_bytes_is_answered_4xx_never_a_server_error(
    county: str, path: str, form: dict[str, str]
) -> None:
    """A form's number is ASCII digits: "²".isdigit() is true, and int("²") was a 500."""
    async with AsyncTestClient(app=create_app(settings_for(county))) as client:
        me = await sign_in(client, "manager.exeter")
        fields = {**form, "csrf_token": me.headers["x-csrf-token"], "idempotency_key": uuid.uuid4().hex}
        response = await client.post(path, data=fields)

    assert 400 <= response.status_code < 500, response.text[:300]


async def test_a_nul_in_a_text_is_a_422_naming_the_field(county: str, admin_token: str) -> None:
    body = {"team_id": 1, "locality": "Exe\x00ter", "age_bands": ["5-10"]}
    async with AsyncTestClient(app=create_app(settings_for(county))) as client:
        response = await client.post("/api/v1/families", json=body, headers={"authorization": f"Bearer {admin_token}"})

    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "locality", "message": "the text holds a NUL character"}]

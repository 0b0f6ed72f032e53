"""Schemathesis fuzzes every operation in the OpenAPI, signed in with an API token.

A key worker's token and an admin's token each drive every operation with generated
requests, valid and invalid. Every answer must be a documented status, of the documented
media type, matching the documented schema, and never a server error. The fuzzing runs on a
county of its own (a SQLite file seeded for this module), because what it generates changes
things freely: teams, people, roles, the spend policy.

The requests go in-process to the real app, its lifespan running (Schemathesis's ASGI
transport starts it and the plugin stops it after each test). Every phase runs: the
schema's examples, the coverage phase's boundary and invalid values, then ``MAX_EXAMPLES``
generated cases per operation; only the probing of undocumented methods is left out, to keep
the file near a minute. A 401 fails the test: it would mean the fuzzer lost its token and
was proving nothing. Runs are reproducible: each operation's seed derives from ``SEED``.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from litestar import Litestar
from litestar.testing import AsyncTestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from tests import databases
from tests.api.conftest import SMALL_COUNTY, settings_for, sign_in
from tests.conftest import IN_CI

SEED = 20261122
MAX_EXAMPLES = 10
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CALLERS = ("kw.exeter.01", "admin")
REVOKE_PATH = "/api/v1/me/tokens/{token_id}"
SIGN_IN_PATH = "/api/v1/auth/sign-in"


@dataclass(frozen=True)
class Caller:
    """A demo account signed in with a personal API token of its own."""

    name: str
    token_id: int
    token: str


async def _create_token(url: str, name: str) -> Caller:
    async with AsyncTestClient(app=create_app(settings_for(url))) as client:
        signed_in = await sign_in(client, name)
        created = await client.post("/api/v1/me/tokens", json={"name": "schemathesis"}, headers=signed_in.headers)
        assert created.status_code == 201, created.text
        body = created.json()
        return Caller(name=name, token_id=int(body["id"]), token=str(body["token"]))


@pytest.fixture(scope="module")
def fuzz_county() -> Iterator[str]:
    """A seeded county on PostgreSQL for fuzzing alone: what the fuzzer changes touches no other
    test. PostgreSQL, because it refuses what SQLite lets by (NUL bytes, out-of-range integers)."""
    yield from databases.seeded_postgres("tide_fuzz_test", SMALL_COUNTY, in_ci=IN_CI)


@pytest.fixture(scope="module")
def callers(fuzz_county: str) -> dict[str, Caller]:
    return {name: asyncio.run(_create_token(fuzz_county, name)) for name in CALLERS}


@pytest.fixture(scope="module", params=CALLERS)
def caller(request: pytest.FixtureRequest, callers: dict[str, Caller]) -> Caller:
    return callers[str(request.param)]


@pytest.fixture(scope="module")
def fuzz_app(fuzz_county: str) -> Litestar:
    """The app on the fuzzing county; Schemathesis runs its lifespan around each test."""
    return create_app(settings_for(fuzz_county))


def _openapi() -> dict[str, Any]:
    """The app's OpenAPI document, as served at /schema/openapi.json (no database needed)."""
    app = create_app(settings_for("sqlite+aiosqlite:///unused.db"))
    return app.openapi_schema.to_schema()


schema = schemathesis.openapi.from_dict(
    _openapi(),
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "with-security-parameters": False},
            "phases": {"coverage": {"unexpected-methods": []}},
        }
    ),
)


def _revokes_own_token(case: schemathesis.Case[Any], caller: Caller) -> bool:
    """Whether ``case`` would revoke the token the fuzzer signs in with (``int`` reads the id as Litestar does)."""
    if case.operation.path != REVOKE_PATH:
        return False
    try:
        return int(str(case.path_parameters.get("token_id"))) == caller.token_id
    except ValueError:
        return False


@schema.parametrize()
def test_every_operation_answers_as_documented_and_never_with_a_server_error(
    case: schemathesis.Case[Any], caller: Caller, fuzz_app: Litestar
) -> None:
    if _revokes_own_token(case, caller):
        case.path_parameters = {"token_id": caller.token_id + 1_000_000}
    headers: dict[str, Any] = {"authorization": f"Bearer {caller.token}"}
    if case.method.upper() == "POST":
        headers["idempotency-key"] = uuid.uuid4().hex
    response = case.call_and_validate(app=fuzz_app, headers=headers, checks=CHECKS)
    if case.operation.path != SIGN_IN_PATH:
        assert response.status_code != 401, f"the {caller.name} token stopped working: the fuzzing would prove nothing"


#: Requests the fuzzer cannot be expected to guess: a forged cursor (base64 of ``id:<n>``)
#: past the databases' 64-bit ids, and the first and last days a date can name.
FORGED_CURSOR = base64.urlsafe_b64encode(b"id:99999999999999999999").decode().rstrip("=")
EDGES = [
    ("/api/v1/purchases", {"cursor": FORGED_CURSOR}, 422),
    ("/api/v1/families", {"cursor": FORGED_CURSOR}, 422),
    ("/api/v1/audit", {"cursor": FORGED_CURSOR}, 422),
    ("/api/v1/purchases", {"date_to": "9999-12-31"}, 200),
    ("/api/v1/purchases", {"date_from": "0001-01-01", "date_to": "0001-01-01"}, 200),
    ("/api/v1/families/9007199254740993", {}, 422),
]


@pytest.mark.parametrize(("path", "query", "status"), EDGES)
async def test_edges_the_fuzzer_cannot_guess_are_answered_without_a_server_error(
    fuzz_county: str, callers: dict[str, Caller], path: str, query: dict[str, str], status: int
) -> None:
    async with AsyncTestClient(app=create_app(settings_for(fuzz_county))) as client:
        response = await client.get(path, params=query, headers={"authorization": f"Bearer {callers['admin'].token}"})
    assert response.status_code == status, response.text

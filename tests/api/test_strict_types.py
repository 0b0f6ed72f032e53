"""No coercion: ``"150"`` and ``true`` are never money, an id or a count; ``1`` and ``"true"``
are never a yes/no; a number is never a date.

Litestar validates bodies with Pydantic's ``strict=False``, which overrides ``Field(strict=True)``,
so once ``"150"`` was 150 pence and ``true`` was 1p. The test walks every request body in the
OpenAPI, puts each wrong kind of value in each integer, boolean and date field (in lists too),
and requires a 422 problem+json naming the field, every time. A second test holds every
request model to the strict types of ``api.schemas``, so a new field cannot forget them.
"""

from __future__ import annotations

import copy
import tempfile
import typing
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from pydantic import BaseModel

from api.app import create_app
from api.schemas import WHOLE_NUMBER
from tests.api.conftest import settings_for, sign_in

WRONG: dict[str, list[object]] = {
    "integer": ["150", True, 150.0, "1"],
    "boolean": ["true", 1, 0, "yes"],
    "date": [1_700_000_000, True],
}


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema or len(schema.get("allOf", [])) == 1:
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        else:
            schema = schema["allOf"][0]
    return schema


def _kind(schema: dict[str, Any], spec: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The leaf kind of a property (``integer``, ``boolean``, ``date``, ``array``), through ``anyOf`` with null."""
    schema = _resolve(schema, spec)
    for choice in schema.get("anyOf", schema.get("oneOf", [])):
        option = _resolve(choice, spec)
        if option.get("type") != "null":
            return _kind(option, spec)
    kinds = schema.get("type")
    kind = next((k for k in kinds if k != "null"), None) if isinstance(kinds, list) else kinds
    if kind == "string" and schema.get("format") == "date":
        return "date", schema
    return kind, schema


def _typed_fields(schema: dict[str, Any], spec: dict[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """(field, kind, in a list) for each integer, boolean and date field of a request body."""
    for name, prop in _resolve(schema, spec).get("properties", {}).items():
        kind, found = _kind(prop, spec)
        if kind == "array":
            item_kind, _ = _kind(found.get("items", {}), spec)
            if item_kind in WRONG:
                yield name, item_kind, True
        elif kind in WRONG:
            yield name, kind, False


def _example(operation: dict[str, Any]) -> dict[str, Any]:
    """The body's documented example (the other fields right, so only the one field is wrong)."""
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    for example in schema.get("examples") or []:
        if isinstance(example, dict):
            return dict(example)
    return {}


def _cases(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], str, object]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if method not in ("post", "put", "patch") or body is None:
                continue
            concrete = path.replace("{", "").replace("}", "")
            concrete = "/".join("1" if part.endswith("_id") or part == "id" else part for part in concrete.split("/"))
            for field, kind, in_list in _typed_fields(body["schema"], spec):
                for wrong in WRONG[kind]:
                    sent = copy.deepcopy(_example(operation))
                    sent[field] = [wrong] if in_list else wrong
                    yield method, concrete, sent, field, wrong


async def test_no_request_body_takes_text_a_decimal_or_true_for_a_number_a_yes_no_or_a_date(
    county_sqlite: str,
) -> None:
    async with AsyncTestClient(app=create_app(settings_for(county_sqlite))) as client:
        spec = (await client.get("/schema/openapi.json")).json()
        admin = await sign_in(client, "admin")
        cases = list(_cases(spec))
        assert len(cases) > 60, "the walk found too few fields to prove anything"
        coerced = []
        for method, path, sent, field, wrong in cases:
            headers = {**admin.headers, "idempotency-key": str(uuid.uuid4())}
            answer = await client.request(method.upper(), path, json=sent, headers=headers)
            is_problem = answer.headers.get("content-type", "").startswith("application/problem+json")
            problem = answer.json() if is_problem else {}
            named = field in str(problem.get("errors")) or field in str(problem.get("detail"))
            if answer.status_code != 422 or problem.get("type") != "urn:tide:problem:validation-error" or not named:
                coerced.append(f"{method.upper()} {path} {field}={wrong!r} → {answer.status_code} {answer.text[:120]}")
        assert not coerced, "\n".join(coerced)


def _request_models() -> list[type[BaseModel]]:
    """Every model a route takes as its body, found from the app's handlers themselves."""
    found: dict[str, type[BaseModel]] = {}
    # A file in a folder that exists (the settings refuse any other), never opened: only the routes are read.
    never_opened = f"sqlite+aiosqlite:///{tempfile.gettempdir()}/tide-never-opened.db"
    for route in create_app(settings_for(never_opened)).routes:
        for handler in getattr(route, "route_handlers", []):
            data = handler.parsed_fn_signature.parameters.get("data")
            model = data.annotation if data is not None else None
            while typing.get_origin(model) is typing.Annotated:
                model = typing.get_args(model)[0]
            if isinstance(model, type) and issubclass(model, BaseModel):
                found[model.__name__] = model
    return [found[name] for name in sorted(found)]


def test_the_walk_finds_the_request_models() -> None:
    found = {m.__name__ for m in _request_models()}
    assert {"PurchaseCreate", "AllocationCreate", "PurchaseLink", "TokenCreate"} <= found


@pytest.mark.parametrize("model", _request_models(), ids=lambda m: m.__name__)
def test_every_number_yes_no_and_date_a_request_model_takes_is_one_of_the_strict_types(model: type[BaseModel]) -> None:
    for name, field in model.model_fields.items():
        leaves = [a for a in typing.get_args(field.annotation) if a is not type(None)] or [field.annotation]
        for leaf in leaves:
            inner = typing.get_args(leaf)[0] if typing.get_origin(leaf) is list else leaf
            base = typing.get_args(inner)[0] if typing.get_origin(inner) is typing.Annotated else inner
            if base not in (int, bool, date):
                continue
            checks = [*field.metadata, *(getattr(inner, "__metadata__", ()))]
            assert any(getattr(c, "func", None) is not None for c in checks), (
                f"{model.__name__}.{name} is a plain {base.__name__}: use api.schemas' Pence, Id, Score, Flag, Day"
                " or WHOLE_NUMBER"
            )
    assert WHOLE_NUMBER.func is not None


@pytest.mark.parametrize("wrong", ["15000", True, 150.5])
async def test_a_policy_limit_is_a_whole_number_of_pence_not_text_or_true(
    client: AsyncTestClient[Any], wrong: object
) -> None:
    admin = await sign_in(client, "admin")
    policy = {"rules": [{"kind": "purchase_over", "limit": wrong, "effect": "deny"}], "note": "strict limits"}
    refused = await client.put("/api/v1/policy", json=policy, headers=admin.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"] == "urn:tide:problem:invalid-policy"
    assert "limit" in refused.json()["detail"]

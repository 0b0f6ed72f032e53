"""``Idempotency-Key``: a retried POST lands once.

Every POST made by a signed-in caller honours the header; those that move money require it.
The key is claimed in the request's own transaction before the work is done, so two copies of
one request racing each other cannot both act: the second waits for the first to commit and
then answers with the first's stored response (marked ``Idempotent-Replayed: true``). The
same key with a different body is refused with 409. A request that fails with an error
stores nothing (its transaction rolls back), so retrying it simply tries again.

No secret is kept in a record: a response's secret fields (``SECRET_FIELDS``: a new API
token, say) are left out of what is stored, so a replay answers ``200`` with the rest (the
token's id and metadata) and never shows the secret again; and a request's secret fields (a
new person's password) are left out of its fingerprint, which would otherwise be a fast,
unsalted hash of the password.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import Any, ParamSpec, TypeVar

from litestar import Request, Response
from litestar.datastructures import UploadFile
from litestar.serialization import encode_json
from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import IDEMPOTENCY_KEY_INVALID, IDEMPOTENCY_KEY_REUSED, problem
from ledger.operations import insert_ignoring_conflict
from wallet.access import Principal
from wallet.idempotency_models import IdempotencyRecord

HEADER = "idempotency-key"
REPLAYED_HEADER = "idempotent-replayed"
#: Fields that hold a secret, in a request or a response: never stored, never fingerprinted.
SECRET_FIELDS = frozenset({"password", "token", "secret", "session_token", "csrf_token"})
P = ParamSpec("P")
R = TypeVar("R")


def transfer_id_for(who: Principal, request: Request[Any, Any, Any], purpose: str) -> str:
    """A ledger transfer id derived from the caller and their key: a retry makes the same transfer."""
    key = request.headers.get(HEADER, "")
    digest = hashlib.sha256(f"{who.person_id}:{key}".encode()).hexdigest()[:32]
    return f"{purpose}:{digest}"


def idempotent(
    *, required: bool = False, status_code: int = 201
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Make a POST handler answer retries with its first response.

    The handler must take ``request``, ``db``, ``who`` and ``now``. ``status_code`` is the
    status of a handler's plain (non-``Response``) return value.
    """

    def decorate(handler: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        missing = {"request", "db", "who", "now"} - set(inspect.signature(handler).parameters)
        if missing:
            raise TypeError(f"{handler.__qualname__} must take {', '.join(sorted(missing))} to be idempotent")

        @functools.wraps(handler)
        async def run(*args: P.args, **kwargs: P.kwargs) -> R:
            request: Request[Any, Any, Any] = kwargs["request"]  # type: ignore[assignment]
            db: AsyncSession = kwargs["db"]  # type: ignore[assignment]
            who: Principal = kwargs["who"]  # type: ignore[assignment]
            now: datetime = kwargs["now"]  # type: ignore[assignment]
            key = request.headers.get(HEADER)
            if key is None:
                if required:
                    return problem(*IDEMPOTENCY_KEY_INVALID, "this request moves money: send an Idempotency-Key")  # type: ignore[return-value]
                return _as_response(await handler(*args, **kwargs), status_code)  # type: ignore[return-value]
            if not 1 <= len(key) <= 100 or not key.isprintable():
                return problem(*IDEMPOTENCY_KEY_INVALID, "an Idempotency-Key is 1 to 100 printable characters")  # type: ignore[return-value]
            fingerprint = await _fingerprint(request, kwargs.get("data"))
            record_id = await _claim(db, who=who, key=key, request=request, fingerprint=fingerprint, now=now)
            if record_id is None:
                return await _replay(db, who=who, key=key, fingerprint=fingerprint)  # type: ignore[return-value]
            response = _as_response(await handler(*args, **kwargs), status_code)
            await _store(db, record_id, response)
            return response  # type: ignore[return-value]

        return run

    return decorate


def _as_response(result: object, status_code: int) -> Response[Any]:
    if isinstance(result, Response):
        if isinstance(result.content, BaseModel):
            result.content = result.content.model_dump(mode="json")
        return result
    if isinstance(result, BaseModel):
        return Response(result.model_dump(mode="json"), status_code=status_code)
    if result is None:
        return Response(None, status_code=204)
    return Response(result, status_code=status_code)


async def _fingerprint(request: Request[Any, Any, Any], data: object) -> str:
    """What the request asks for: method, path, query and the parsed body (an upload's bytes)."""
    if isinstance(data, UploadFile):
        body = await data.read()
        await data.seek(0)
    elif isinstance(data, BaseModel):
        body = data.model_dump_json(exclude=set(SECRET_FIELDS & set(type(data).model_fields))).encode()
    else:
        body = await request.body()
    target = f"{request.method} {request.url.path}?{request.url.query}\n".encode()
    return hashlib.sha256(target + body).hexdigest()


async def _claim(
    db: AsyncSession, *, who: Principal, key: str, request: Request[Any, Any, Any], fingerprint: str, now: datetime
) -> int | None:
    table = IdempotencyRecord.__table__
    statement = insert_ignoring_conflict(db, table, index_elements=["person_id", "key"]).values(
        person_id=who.person_id,
        key=key,
        method=request.method,
        path=request.url.path[:300],
        request_hash=fingerprint,
        status_code=0,
        response_body=b"",
        content_type="",
        replays=0,
        created_at=now,
    )
    claimed = (await db.execute(statement.returning(table.c.id))).first()
    return None if claimed is None else int(claimed[0])


def without_secrets(content: object) -> tuple[object, bool]:
    """``content`` with every secret field left out, at any depth; and whether one was."""
    if isinstance(content, dict):
        kept: dict[object, object] = {}
        found = False
        for name, value in content.items():
            if name in SECRET_FIELDS:
                found = True
                continue
            kept[name], inner = without_secrets(value)
            found = found or inner
        return kept, found
    if isinstance(content, list):
        items = [without_secrets(item) for item in content]
        return [item for item, _ in items], any(inner for _, inner in items)
    return content, False


async def _store(db: AsyncSession, record_id: int, response: Response[Any]) -> None:
    kept, withheld = without_secrets(response.content)
    content = b"" if kept is None else encode_json(kept)
    declared = response.media_type
    media_type = declared.value if isinstance(declared, Enum) else str(declared or "application/json")
    # A replay of a response that carried a secret is not the response itself: a 200 without it.
    status = 200 if withheld else (response.status_code or 200)
    await db.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(status_code=status, response_body=content, content_type=media_type)
    )


async def _replay(db: AsyncSession, *, who: Principal, key: str, fingerprint: str) -> Response[Any]:
    record = (
        await db.execute(
            select(IdempotencyRecord).where(IdempotencyRecord.person_id == who.person_id, IdempotencyRecord.key == key)
        )
    ).scalar_one()
    if record.request_hash != fingerprint:
        return problem(*IDEMPOTENCY_KEY_REUSED, f"that key was first used for {record.method} {record.path}")
    record.replays += 1
    return Response(
        content=record.response_body or None,
        status_code=record.status_code,
        media_type=record.content_type,
        headers={REPLAYED_HEADER: "true"},
    )

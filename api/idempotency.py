"""``Idempotency-Key``: a retried POST lands once.

The key is claimed in the request's own transaction before the work is done, so two
copies of one request racing each other cannot both act: the second waits for the first to
commit and then answers with the first's stored response. The same key with a different
body is refused with 409. A request that fails with an error stores nothing (its transaction
rolls back), so retrying it simply tries again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import Any

from litestar import Request, Response
from litestar.serialization import encode_json
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import IDEMPOTENCY_KEY_INVALID, IDEMPOTENCY_KEY_REUSED, problem
from ledger.operations import insert_ignoring_conflict
from wallet.access import Principal
from wallet.models import IdempotencyRecord

HEADER = "idempotency-key"
REPLAYED_HEADER = "idempotent-replayed"


def transfer_id_for(who: Principal, key: str, purpose: str) -> str:
    """A ledger transfer id derived from the client's key: the same retry, the same transfer."""
    digest = hashlib.sha256(f"{who.person_id}:{key}".encode()).hexdigest()[:32]
    return f"{purpose}:{digest}"


async def idempotent(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    who: Principal,
    now: datetime,
    work: Callable[[str | None], Awaitable[Response[Any]]],
    *,
    required: bool = False,
) -> Response[Any]:
    """Run ``work`` once per ``Idempotency-Key`` (passed to it), replaying its response to retries."""
    key = request.headers.get(HEADER)
    if key is None:
        if required:
            return problem(*IDEMPOTENCY_KEY_INVALID, "this request moves money: send an Idempotency-Key header")
        return await work(None)
    if not 1 <= len(key) <= 100 or not key.isprintable():
        return problem(*IDEMPOTENCY_KEY_INVALID, "an Idempotency-Key is 1 to 100 printable characters")
    body = await request.body()
    fingerprint = hashlib.sha256(request.method.encode() + b" " + request.url.path.encode() + b"\n" + body).hexdigest()
    claim = insert_ignoring_conflict(db, IdempotencyRecord.__table__, index_elements=["person_id", "key"]).values(
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
    claimed = (await db.execute(claim.returning(IdempotencyRecord.__table__.c.id))).first()
    if claimed is None:
        return await _replay(db, who=who, key=key, fingerprint=fingerprint)
    response = await work(key)
    content = encode_json(response.content)
    declared = response.media_type
    media_type = declared.value if isinstance(declared, Enum) else str(declared or "application/json")
    await db.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == claimed[0])
        .values(status_code=response.status_code, response_body=content, content_type=media_type)
    )
    return response


async def _replay(db: AsyncSession, *, who: Principal, key: str, fingerprint: str) -> Response[Any]:
    record = (
        await db.execute(
            select(IdempotencyRecord).where(IdempotencyRecord.person_id == who.person_id, IdempotencyRecord.key == key)
        )
    ).scalar_one()
    if record.request_hash != fingerprint:
        return problem(*IDEMPOTENCY_KEY_REUSED, f"the key {key!r} was first used for {record.method} {record.path}")
    record.replays += 1
    return Response(
        content=record.response_body,
        status_code=record.status_code,
        media_type=record.content_type,
        headers={REPLAYED_HEADER: "true"},
    )

"""The request id: the caller's ``X-Request-Id`` when it is a sane one, else a fresh one.

A request id travels into the audit trail (at most 64 characters there) and into logs, so
what a caller sends is taken only when it is 1 to 64 of ``A-Z a-z 0-9 . _ -``; anything
else (too long, spaces, control characters, non-ASCII, several headers) is replaced by a
fresh id rather than refused: no header ever fails a request.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar import Request

HEADER = "x-request-id"
MAX_LENGTH = 64
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def sane_request_id(sent: str | None) -> str:
    """``sent`` when it is a sane id, else a fresh random one (32 hex digits)."""
    if sent is not None and _SANE.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


def request_id_of(request: Request[Any, Any, Any]) -> str:
    """The request's id, decided once per request and remembered in its scope's state."""
    known = getattr(request.state, "request_id", None)
    if isinstance(known, str):
        return known
    sent = request.headers.getall(HEADER, [])
    chosen = sane_request_id(sent[0] if len(sent) == 1 else None)
    request.state.request_id = chosen
    return chosen

"""What every request must be before a handler sees it: from our own pages if a browser sent a
change, of the media type the handler reads, and made of well-formed text.

- **Cross-site changes** (login CSRF included): a browser's unsafe request (POST, PUT, PATCH,
  DELETE) whose ``Origin`` is neither Tide's configured origin (``TIDE_BASE_URL``) nor the
  origin it was sent to, or whose ``Sec-Fetch-Site`` says another site sent it, is refused 403.
  A client that is not a browser sends neither header and is not affected.
- **Media types**: a handler that reads JSON takes only ``application/json`` (or ``…+json``),
  one that reads a multipart form only that; anything else is 415, so a ``text/plain`` form
  post from another site never reaches the JSON reader.
- **Bad bytes**: a JSON body that is not UTF-8, not JSON, or nested deeper than any parser
  should follow is 400; a text in it holding a NUL or a lone surrogate (which PostgreSQL cannot
  store) is 422 naming the field. A path or query that is not UTF-8 or holds a NUL is 400, and
  an address holding digits that are digits only outside ASCII (superscript two, Arabic-Indic
  one) is 400: ids and numbers are ASCII digits. A form posted to the pages must be UTF-8 without NULs too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes, urlsplit

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, HTTPException, ValidationException

from api.deps import SAFE_METHODS, CsrfFailed
from api.hosts import council_state

FORM = "application/x-www-form-urlencoded"
#: What a browser's ``Sec-Fetch-Site`` says when the request did not come from our own pages.
CROSS_SITE = frozenset({"cross-site", "same-site"})


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _same_origin(request: Request[Any, Any, Any]) -> None:
    sent = request.headers.get("origin")
    fetch_site = request.headers.get("sec-fetch-site", "").lower()
    if sent is not None:
        settings = council_state(request).settings
        ours = {origin_of(settings.base_url), origin_of(str(request.base_url))}
        if sent.lower() not in ours:
            raise CsrfFailed("a change sent from another site is refused")
    elif fetch_site in CROSS_SITE:
        raise CsrfFailed("a change sent from another site is refused")


def _media_type(request: Request[Any, Any, Any]) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _expected(request: Request[Any, Any, Any]) -> RequestEncodingType | str | None:
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    kwarg = data.kwarg_definition
    return getattr(kwarg, "media_type", None) or RequestEncodingType.JSON


def _has_body(request: Request[Any, Any, Any]) -> bool:
    length = request.headers.get("content-length")
    return bool(length and length != "0") or "transfer-encoding" in request.headers


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


async def _right_media_type(request: Request[Any, Any, Any], expected: RequestEncodingType | str) -> None:
    media_type = _media_type(request)
    if expected == RequestEncodingType.JSON:
        if (media_type or _has_body(request)) and not _is_json(media_type):
            raise HTTPException(status_code=415, detail="Send the body as application/json")
        await _sound_json(await request.body())
    elif expected == RequestEncodingType.MULTI_PART and media_type != "multipart/form-data":
        raise HTTPException(status_code=415, detail="Send the body as multipart/form-data")


def _fault_in(text: str) -> str | None:
    if "\x00" in text:
        return "holds a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "holds an unpaired surrogate"
    return None


def _text_faults(value: Any) -> list[dict[str, str]]:
    """Each text (key or value) in a decoded JSON document that cannot be stored, by its field."""
    faults: list[dict[str, str]] = []
    todo: list[tuple[str, Any]] = [("", value)]
    while todo:
        where, item = todo.pop()
        if isinstance(item, str):
            fault = _fault_in(item)
            if fault:
                faults.append({"key": where or "body", "message": f"the text {fault}"})
        elif isinstance(item, dict):
            for key, inner in item.items():
                todo.append((f"{where}.{key}" if where else str(key), key))
                todo.append((f"{where}.{key}" if where else str(key), inner))
        elif isinstance(item, list):
            todo.extend((f"{where}[{n}]", inner) for n, inner in enumerate(item))
    return faults


async def _sound_json(body: bytes) -> None:
    if not body:
        return
    try:
        body.decode("utf-8")
        value = msgspec.json.decode(body)
    except (UnicodeDecodeError, msgspec.DecodeError, RecursionError) as exc:
        reason = "is not UTF-8" if isinstance(exc, UnicodeDecodeError) else "is not JSON Tide can read"
        raise ClientException(detail=f"The body {reason}") from None
    faults = _text_faults(value)
    if faults:
        raise ValidationException(detail="A text cannot hold that character", extra=faults)


def _sound_text(raw: bytes, what: str) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ClientException(detail=f"The {what} is not UTF-8") from None
    if "\x00" in text:
        raise ClientException(detail=f"The {what} holds a NUL character")
    return text


def _sound_address(request: Request[Any, Any, Any]) -> None:
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode("utf-8", "surrogateescape")
    path = _sound_text(unquote_to_bytes(raw_path), "address")
    if any(ch.isdigit() and not ch.isascii() for ch in path):
        raise ClientException(detail="Ids and numbers in an address are ASCII digits")
    query = request.scope.get("query_string", b"")
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
        for part in (key, value):
            text = _sound_text(part.encode("latin-1"), "query")
            if any(ch.isdigit() and not ch.isascii() for ch in text):
                raise ClientException(detail="Numbers in the query are ASCII digits")


async def _sound_form(request: Request[Any, Any, Any]) -> None:
    if _media_type(request) == FORM:
        body = await request.body()
        for key, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
            _sound_text(key.encode("latin-1"), "form")
            _sound_text(value.encode("latin-1"), "form")


async def guard_request(request: Request[Any, Any, Any]) -> None:
    """The ``before_request`` hook: refuse what no handler should see (raised, so the API answers
    problem+json and the pages their error page)."""
    _sound_address(request)
    if request.method in SAFE_METHODS:
        return
    _same_origin(request)
    expected = _expected(request)
    if expected is not None:
        await _right_media_type(request, expected)
    else:
        await _sound_form(request)

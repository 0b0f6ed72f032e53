"""The security headers hook (``api.web.security.security_headers``) on the messages it is given:
every header once, a response's own Content-Security-Policy kept, HSTS when cookies are secure."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from api.web.security import CONTENT_SECURITY_POLICY, HEADERS, HSTS, security_headers


def _start(*headers: tuple[bytes, bytes]) -> Any:
    return {"type": "http.response.start", "status": 200, "headers": list(headers)}


def _scope(path: str = "/", *, secure: bool = False) -> Any:
    return {"path": path, "litestar_app": SimpleNamespace(state=SimpleNamespace(secure_cookies=secure))}


def _names(message: dict[str, Any]) -> list[str]:
    return [name.decode() for name, _ in message["headers"]]


def _value(message: dict[str, Any], name: str) -> str:
    (value,) = [v.decode() for n, v in message["headers"] if n.decode().lower() == name]
    return str(value)


async def test_a_response_gets_every_security_header_once_and_the_policy() -> None:
    message = _start((b"content-type", b"application/json"))
    await security_headers(message, _scope())
    for name, value in HEADERS.items():
        assert _value(message, name) == value
    assert _value(message, "content-security-policy") == CONTENT_SECURITY_POLICY
    assert _value(message, "cache-control") == "no-store"  # JSON holds people's data: never cached
    assert len(_names(message)) == len(set(_names(message))) == len(HEADERS) + 3
    assert "strict-transport-security" not in _names(message)


async def test_a_response_keeps_its_own_policy_and_headers_it_set_itself() -> None:
    message = _start((b"Content-Security-Policy", b"default-src 'self'"), (b"x-frame-options", b"SAMEORIGIN"))
    await security_headers(message, _scope())
    assert _value(message, "content-security-policy") == "default-src 'self'"
    assert _value(message, "x-frame-options") == "SAMEORIGIN"
    assert _value(message, "referrer-policy") == "same-origin"


async def test_hsts_is_sent_once_when_cookies_are_secure_even_over_a_value_of_the_response() -> None:
    message = _start((b"strict-transport-security", b"max-age=60"))
    await security_headers(message, _scope(secure=True))
    assert _value(message, "strict-transport-security") == HSTS


async def test_the_openapi_viewer_gets_no_policy_and_other_messages_are_left_alone() -> None:
    schema = _start()
    await security_headers(schema, _scope("/schema/swagger"))
    assert "content-security-policy" not in _names(schema)
    assert "x-content-type-options" in _names(schema)
    body: Any = {"type": "http.response.body", "body": b"{}"}
    await security_headers(body, _scope())
    assert body == {"type": "http.response.body", "body": b"{}"}

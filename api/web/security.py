"""Security headers on every response, and a Content-Security-Policy with no ``unsafe-inline``.

Everything the pages load comes from Tide itself: no third-party host is ever contacted. The
OpenAPI viewer under ``/schema`` is the one exception to the policy (it is Litestar's, and
loads its own viewer), so it is left without a CSP rather than half-broken.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)

HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "geolocation=(), microphone=(), payment=(), usb=()",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


_ENCODED = tuple((name.encode("latin-1"), value.encode("latin-1")) for name, value in HEADERS.items())
_CSP = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("latin-1"))
_HSTS = (b"strict-transport-security", HSTS.encode("latin-1"))


async def security_headers(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook (a coroutine: a plain function would be run on a worker thread for
    every response): the headers on every response the app sends, whichever route
    (or none) answered it, and HSTS when cookies are secure. A response that set its own
    Content-Security-Policy keeps it. (The raw header list is read once and extended: this runs
    on every answer to Stripe's till too, where each microsecond is queued behind.)"""
    if message["type"] != "http.response.start":
        return
    raw = MutableScopeHeaders.from_message(message).headers
    present = {name.lower() for name, _ in raw}
    raw.extend(header for header in _ENCODED if header[0] not in present)
    if _CSP[0] not in present and not scope["path"].startswith("/schema"):
        raw.append(_CSP)
    state = getattr(scope.get("litestar_app"), "state", None)
    if getattr(state, "secure_cookies", False):
        if _HSTS[0] in present:
            raw[:] = [header for header in raw if header[0].lower() != _HSTS[0]]
        raw.append(_HSTS)

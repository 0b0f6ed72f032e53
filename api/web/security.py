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
#: What the API answers (and any JSON) holds people's and families' data: no cache, shared or
#: the browser's, keeps a copy (a response that says otherwise, like the web app's manifest, keeps its own).
API_PREFIX = "/api/"
API_CACHE_CONTROL = "no-store"


async def security_headers(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook (a coroutine: a plain function would be run on a worker thread for
    every response): the headers on every response the app sends, whichever route
    (or none) answered it, ``Cache-Control: no-store`` on the API's, and HSTS when cookies are
    secure. A response that set its own Content-Security-Policy or Cache-Control keeps it."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in HEADERS.items():
        if name not in headers:
            headers[name] = value
    is_json = headers.get("content-type", "").split(";")[0].strip().endswith("json")
    if (scope["path"].startswith(API_PREFIX) or is_json) and "cache-control" not in headers:
        headers["cache-control"] = API_CACHE_CONTROL
    if "content-security-policy" not in headers and not scope["path"].startswith("/schema"):
        headers["content-security-policy"] = CONTENT_SECURITY_POLICY
    state = getattr(scope.get("litestar_app"), "state", None)
    if getattr(state, "secure_cookies", False):
        headers["strict-transport-security"] = HSTS

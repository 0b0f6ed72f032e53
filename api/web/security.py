"""Security headers on every response, and a Content-Security-Policy with no ``unsafe-inline``.

Everything the pages load comes from Tide itself: no third-party host is ever contacted. The
OpenAPI viewer under ``/schema`` is the one exception to the policy (it is Litestar's, and
loads its own viewer), so it is left without a CSP rather than half-broken.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

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


def security_headers(app: ASGIApp) -> ASGIApp:
    """ASGI middleware adding the security headers (and HSTS when cookies are secure)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        path = scope["path"]
        litestar_app = scope.get("app")
        secure = bool(getattr(getattr(litestar_app, "state", None), "secure_cookies", False))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if not path.startswith("/schema"):
                    headers["content-security-policy"] = CONTENT_SECURITY_POLICY
                if secure:
                    headers["strict-transport-security"] = HSTS
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware

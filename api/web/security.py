"""Security headers on every response, and a Content-Security-Policy with no ``unsafe-inline``.

Everything the pages load comes from Tide itself: no third-party host is ever contacted, but
on the one page that shows a key worker their card, where Stripe.js and Stripe's iframes show
it (``policy_allowing_stripe``; that page sets its own header, which is kept). The OpenAPI
viewer under ``/schema`` is the one exception to the policy (it is Litestar's, and loads its
own viewer), so it is left without a CSP rather than half-broken.
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

#: Where Stripe.js calls Stripe (``createEphemeralKeyNonce``) from the card details page.
STRIPE_API_ORIGIN = "https://api.stripe.com"


def origin_of(url: str) -> str:
    """``https://js.stripe.com/v3/`` → ``https://js.stripe.com``."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def policy_allowing_stripe(stripe_js_url: str) -> str:
    """The policy of the one page that shows a card's details: everything else's, plus Stripe.js
    (``TIDE_STRIPE_JS_URL``'s host) as a script and as the frames that show the card, and
    Stripe's API for Stripe.js to call. No other page allows any Stripe host."""
    stripe_js = origin_of(stripe_js_url)
    directives = dict(directive.split(" ", 1) for directive in CONTENT_SECURITY_POLICY.split("; "))
    directives["script-src"] = f"'self' {stripe_js}"
    directives["frame-src"] = stripe_js
    directives["connect-src"] = f"'self' {STRIPE_API_ORIGIN}"
    return "; ".join(f"{name} {value}" for name, value in directives.items())


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


_ENCODED = tuple((name.encode("latin-1"), value.encode("latin-1")) for name, value in HEADERS.items())
_CSP = (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("latin-1"))
_HSTS = (b"strict-transport-security", HSTS.encode("latin-1"))
_CACHE = (b"cache-control", API_CACHE_CONTROL.encode("latin-1"))


def _is_json(present: dict[bytes, bytes]) -> bool:
    media = present.get(b"content-type", b"").split(b";")[0].strip()
    return media.endswith(b"json")


async def security_headers(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook (a coroutine: a plain function would be run on a worker thread for
    every response): the headers on every response the app sends, whichever route
    (or none) answered it, ``Cache-Control: no-store`` on the API's (and any JSON), and HSTS
    when cookies are secure. A response that set its own Content-Security-Policy or
    Cache-Control keeps it. (The raw header list is read once and extended: this runs on every
    answer to Stripe's till too, where each microsecond is queued behind.)"""
    if message["type"] != "http.response.start":
        return
    raw = MutableScopeHeaders.from_message(message).headers
    present = {name.lower(): value for name, value in raw}
    raw.extend(header for header in _ENCODED if header[0] not in present)
    if _CACHE[0] not in present and (scope["path"].startswith(API_PREFIX) or _is_json(present)):
        raw.append(_CACHE)
    if _CSP[0] not in present and not scope["path"].startswith("/schema"):
        raw.append(_CSP)
    state = getattr(scope.get("litestar_app"), "state", None)
    if getattr(state, "secure_cookies", False):
        if _HSTS[0] in present:
            raw[:] = [header for header in raw if header[0].lower() != _HSTS[0]]
        raw.append(_HSTS)

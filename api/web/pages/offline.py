"""Installing Tide as a web app: the manifest and the service worker (served from the root so
that its scope is the whole app)."""

from __future__ import annotations

import json
from functools import cache

from litestar import Response, get

from api.web.render import STATIC, static_url


@cache
def _manifest() -> str:
    return json.dumps(
        {
            "name": "Tide: early help budget wallet",
            "short_name": "Tide",
            "start_url": "/",
            "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#0b3d5c",
            "icons": [
                {"src": static_url("icon-192.png"), "sizes": "192x192", "type": "image/png"},
                {"src": static_url("icon-512.png"), "sizes": "512x512", "type": "image/png"},
                {"src": static_url("icon.svg"), "sizes": "any", "type": "image/svg+xml"},
            ],
        }
    )


@get("/manifest.webmanifest", sync_to_thread=False)
def manifest() -> Response[str]:
    return Response(
        _manifest(), media_type="application/manifest+json", headers={"cache-control": "public, max-age=3600"}
    )


@get("/sw.js", sync_to_thread=False)
def service_worker() -> Response[bytes]:
    """Never cached by HTTP, so a new version reaches phones on their next visit."""
    return Response(
        (STATIC / "sw.js").read_bytes(),
        media_type="text/javascript",
        headers={"cache-control": "no-cache", "service-worker-allowed": "/"},
    )


HANDLERS = [manifest, service_worker]

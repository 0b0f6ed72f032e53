"""Who the client is, when Tide sits behind a proxy: ``X-Forwarded-For`` believed only from
the proxies named in ``TIDE_FORWARDED_ALLOW_IPS``.

With no proxy named (the default) the header is ignored, and the client is the address the
connection came from: anyone may write ``X-Forwarded-For``, and a sign-in limit per client
that believed it would be a limit per guess. Behind named proxies the client is the nearest
address in the header that is not one of them (the proxies append, so the left end is the
client's say and the right end the proxies'). uvicorn's own handling of the header is turned
off (``wallet serve``), so this is the one place it is read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(allow: str) -> tuple[Network, ...]:
    """The proxies to believe, from a comma-separated list of addresses and networks (``*``: all)."""
    found: list[Network] = []
    for item in (part.strip() for part in allow.split(",")):
        if item == "*":
            found.extend([ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")])
        elif item:
            found.append(ipaddress.ip_network(item, strict=False))
    return tuple(found)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == net.version and ip in net for net in proxies)


def client_address(peer: str, forwarded_for: str | None, proxies: tuple[Network, ...]) -> str:
    """The client's address: ``peer`` unless it is a trusted proxy that forwarded for someone."""
    if not forwarded_for or not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # not an address: the proxy's chain cannot be read
    return hops[0] if hops else peer


def forwarded_client(allow: str) -> Callable[[ASGIApp], ASGIApp]:
    """The middleware for ``allow`` (``TIDE_FORWARDED_ALLOW_IPS``): rewrites the scope's client."""
    proxies = networks(allow)

    def middleware_for(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            client = scope.get("client")
            if proxies and scope["type"] == ScopeType.HTTP and client:
                sent = b",".join(value for name, value in scope.get("headers", ()) if name == b"x-forwarded-for")
                address = client_address(client[0], sent.decode("latin-1") or None, proxies)
                if address != client[0]:
                    scope["client"] = (address, 0)
            await app(scope, receive, send)

        return middleware

    return middleware_for

"""A small OpenID Connect provider on loopback, for the tests: real RS256 keys made in the test
(Authlib's JOSE library, joserfc), a JWKS endpoint, a discovery document, ``/authorize`` that
sends the browser straight back with a code (whoever ``user`` is, as if they had signed in
with their multi-factor authentication), and ``/token``, which checks the code, the redirect
URI, the client's secret and the PKCE verifier before it issues the ID token.

Its faults are the ones Tide must refuse, switched on per test: a ``tampered`` token, another
``audience``, ``issuer`` or ``tenant``, a token already expired, one signed by a key the JWKS
does not publish, or the nonce left out.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "tide-test-client"
CLIENT_SECRET = "tide-test-client-secret"  # noqa: S105 - a test secret
TENANT = "6f1b2c3d-0000-4000-8000-00000000c0c0"


@dataclass
class TestProvider:
    """The provider; ``start`` serves it on a free loopback port."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    redirect_uri: str = ""
    user: dict[str, Any] = field(default_factory=dict)
    tampered: bool = False
    audience: str | None = None
    issuer_claim: str | None = None
    tenant: str = TENANT
    lifetime: int = 300
    foreign_key: bool = False
    leave_out_nonce: bool = False
    token_requests: int = 0
    _codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "tide-test-1"}))
    _server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> TestProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def do_GET(self) -> None:
                provider._get(self)

            def do_POST(self) -> None:
                provider._post(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def reset(self) -> None:
        self.tampered, self.audience, self.issuer_claim, self.tenant = False, None, None, TENANT
        self.lifetime, self.foreign_key, self.leave_out_nonce = 300, False, False

    # The endpoints -----------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile", "email"],
        }

    def _get(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        if parts.path == "/.well-known/openid-configuration":
            _json(request, 200, self.discovery())
        elif parts.path == "/jwks":
            _json(request, 200, KeySet([self._key]).as_dict(private=False))
        elif parts.path == "/authorize":
            self._authorize(request, {k: v[0] for k, v in parse_qs(parts.query).items()})
        else:
            _json(request, 404, {"error": "not_found"})

    def _authorize(self, request: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if query.get("client_id") != CLIENT_ID or query.get("redirect_uri") != self.redirect_uri:
            _json(request, 400, {"error": "invalid_request", "error_description": "unknown client or redirect URI"})
            return
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
            _json(request, 400, {"error": "invalid_request", "error_description": "code flow with PKCE S256 only"})
            return
        code = secrets.token_urlsafe(24)
        self._codes[code] = {
            "challenge": query.get("code_challenge", ""), "nonce": query.get("nonce"),
            "redirect_uri": query["redirect_uri"], "user": dict(self.user),
        }  # fmt: skip
        request.send_response(302)
        request.send_header("location", f"{self.redirect_uri}?{urlencode({'code': code, 'state': query['state']})}")
        request.end_headers()

    def _post(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("content-length") or 0)
        form = {k: v[0] for k, v in parse_qs(request.rfile.read(length).decode()).items()}
        if urlsplit(request.path).path != "/token":
            _json(request, 404, {"error": "not_found"})
            return
        self.token_requests += 1
        grant = self._codes.pop(form.get("code", ""), None)  # a code is used once
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if (
            grant is None
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
            or form.get("redirect_uri") != grant["redirect_uri"]
            or not secrets.compare_digest(challenge, grant["challenge"])
        ):
            _json(request, 400, {"error": "invalid_grant"})
            return
        _json(request, 200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                             "expires_in": 300, "id_token": self.id_token(grant)})  # fmt: skip

    def id_token(self, grant: dict[str, Any]) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer_claim or self.issuer, "aud": self.audience or CLIENT_ID, "iat": now - 5,
            "nbf": now - 5, "exp": now + self.lifetime, "tid": self.tenant, **grant["user"],
        }  # fmt: skip
        if not self.leave_out_nonce:
            claims["nonce"] = grant["nonce"]
        key = RSAKey.generate_key(2048, parameters={"kid": "tide-test-1"}) if self.foreign_key else self._key
        token = jwt.encode({"alg": "RS256", "kid": "tide-test-1"}, claims, key)
        if self.tampered:  # the payload changed after signing: another subject, the same signature
            header, payload, signature = token.split(".")
            decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            decoded["oid"] = decoded["sub"] = "someone-else"
            payload = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
            token = f"{header}.{payload}.{signature}"
        return token


def _json(request: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    data = json.dumps(body).encode()
    request.send_response(status)
    request.send_header("content-type", "application/json")
    request.send_header("content-length", str(len(data)))
    request.end_headers()
    request.wfile.write(data)

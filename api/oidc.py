"""OpenID Connect, the protocol: Tide as a client of the council's identity provider.

The authorization code flow with PKCE (S256), built with Authlib: the provider's endpoints
come from discovery (``{issuer}/.well-known/openid-configuration``, whose ``issuer`` must be
the one configured); the request carries a fresh ``state`` and ``nonce``; the code is swapped
at the token endpoint with the PKCE verifier; the ID token is checked with Authlib's JOSE
library (``joserfc``) against the provider's published keys (JWKS, RS256 only) and its claims
validated: ``iss``, ``aud`` (Tide's client id), ``exp`` (and ``iat``), ``nonce`` (the one this
browser was given) and, for Entra ID, ``tid`` (the council's tenant). Anything wrong is
``SingleSignOnFailed``; the reason goes in the message, never the token.

What to do with the identity (match by subject, roles from groups, a session) is
``wallet.single_sign_on``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from api.settings import Settings
from wallet.errors import SingleSignOnFailed
from wallet.single_sign_on import ProviderIdentity

CALLBACK_PATH = "/sign-in/sso/callback"
SCOPES = "openid profile email"
#: Seconds of clock difference tolerated between Tide and the identity provider.
LEEWAY = 60
TIMEOUT = httpx.Timeout(10.0)


@dataclass(frozen=True, slots=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    tenant_id: str
    groups_claim: str
    redirect_uri: str

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig | None:
        """The configuration, or ``None`` when single sign-on is not set up."""
        if not settings.oidc_issuer or not settings.oidc_client_id:
            return None
        return cls(
            issuer=settings.oidc_issuer.rstrip("/"),
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret.get_secret_value(),
            tenant_id=settings.oidc_tenant_id,
            groups_claim=settings.oidc_groups_claim,
            redirect_uri=settings.base_url + CALLBACK_PATH,
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """One sign-in attempt's secrets: they ride in the browser's cookie, only hashes are stored."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Attempt:
        return cls(state=generate_token(43), nonce=generate_token(43), verifier=generate_token(64))


async def _get_json(url: str, *, what: str) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.get(url, headers={"accept": "application/json"})
            response.raise_for_status()
            found = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SingleSignOnFailed(f"the identity provider's {what} could not be read") from exc
    if not isinstance(found, dict):
        raise SingleSignOnFailed(f"the identity provider's {what} is not a JSON object")
    return found


async def discover(config: OidcConfig) -> dict[str, Any]:
    """The provider's metadata, from discovery; its issuer must be the configured one."""
    metadata = await _get_json(f"{config.issuer}/.well-known/openid-configuration", what="discovery document")
    if str(metadata.get("issuer", "")).rstrip("/") != config.issuer:
        raise SingleSignOnFailed("the discovery document names another issuer")
    for needed in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(needed), str):
            raise SingleSignOnFailed(f"the discovery document has no {needed}")
    return metadata


def authorization_url(metadata: dict[str, Any], config: OidcConfig, attempt: Attempt) -> str:
    """Where the browser goes to sign in: the code flow, with state, nonce and the PKCE challenge."""
    url: str = prepare_grant_uri(
        metadata["authorization_endpoint"],
        config.client_id,
        "code",
        redirect_uri=config.redirect_uri,
        scope=SCOPES,
        state=attempt.state,
        nonce=attempt.nonce,
        code_challenge=create_s256_code_challenge(attempt.verifier),
        code_challenge_method="S256",
    )
    return url


async def exchange_code(metadata: dict[str, Any], config: OidcConfig, *, code: str, verifier: str) -> str:
    """Swap the authorization code (and the PKCE verifier) for the ID token."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": config.redirect_uri,
        "client_id": config.client_id,
        "client_secret": config.client_secret,
        "code_verifier": verifier,
    }
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.post(metadata["token_endpoint"], data=form, headers={"accept": "application/json"})
            answer = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SingleSignOnFailed("the identity provider's token endpoint could not be reached") from exc
    if response.status_code != 200 or not isinstance(answer, dict) or not isinstance(answer.get("id_token"), str):
        raise SingleSignOnFailed("the identity provider refused the code")
    return str(answer["id_token"])


async def validated_identity(
    metadata: dict[str, Any], config: OidcConfig, *, id_token: str, nonce: str, now: datetime
) -> ProviderIdentity:
    """The ID token's identity, once its signature and every claim Tide relies on are checked."""
    keys = KeySet.import_key_set(await _get_json(metadata["jwks_uri"], what="keys (JWKS)"))  # type: ignore[arg-type]
    claims_rules: dict[str, Any] = {
        "iss": {"essential": True, "value": config.issuer},
        "aud": {"essential": True, "value": config.client_id},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "sub": {"essential": True},
        "nonce": {"essential": True, "value": nonce},
    }
    if config.tenant_id:
        claims_rules["tid"] = {"essential": True, "value": config.tenant_id}
    try:
        token = jwt.decode(id_token, keys, algorithms=["RS256"])
        JWTClaimsRegistry(now=int(now.timestamp()), leeway=LEEWAY, **claims_rules).validate(token.claims)
    except (JoseError, ValueError, TypeError) as exc:
        raise SingleSignOnFailed(f"the ID token was refused ({type(exc).__name__})") from exc
    claims = token.claims
    groups = claims.get(config.groups_claim) or []
    subject = claims.get("oid") or claims["sub"]  # Entra's object id is stable across its apps
    email = claims.get("email") or claims.get("preferred_username")
    return ProviderIdentity(
        subject=str(subject),
        email=str(email) if email else None,
        display_name=str(claims["name"]) if claims.get("name") else None,
        groups=frozenset(str(g) for g in groups) if isinstance(groups, list) else frozenset(),
    )

"""Single sign-on: the domain's side of signing in through the council's identity provider.

The protocol (OpenID Connect's authorization code flow with PKCE, the ID token's signature
and claims) is ``api.oidc``'s. Here: each attempt is recorded by its state's and nonce's
SHA-256 and used at most once (a replayed state is refused, an attempt older than
``FLOW_LIFETIME`` too), and a checked identity becomes a session. People are matched by the
provider's stable subject (``Person.external_id``: Entra's ``oid``, else ``sub``), never by
name or email. Someone the provider vouches for but Tide does not know is let in only when a
group of theirs maps to a role (they are then provisioned, with those roles); with group
mappings set, each sign-in makes their mapped roles those of their groups. A deactivated
person is refused, whatever the provider says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wallet.errors import NoRoleMapped, SignInFailed, SingleSignOnFailed
from wallet.identity import SignedIn, fingerprint, open_session
from wallet.models import Person, RoleGrant
from wallet.provisioning import GroupRole, PersonDetails, provision_person, roles_from_groups
from wallet.sign_in_models import SignInFlow

#: How long a person has at the identity provider before the attempt is refused.
FLOW_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class ProviderIdentity:
    """Who the identity provider says signed in, from a validated ID token."""

    subject: str
    email: str | None
    display_name: str | None
    groups: frozenset[str]


async def start_flow(db: AsyncSession, *, state: str, nonce: str, now: datetime) -> None:
    """Record a new attempt by its secrets' hashes (the secrets go to the browser's cookie)."""
    db.add(SignInFlow(state_hash=fingerprint(state), nonce_hash=fingerprint(nonce), created_at=now))
    await db.flush()


async def check_flow(db: AsyncSession, *, state: str, now: datetime) -> None:
    """Refuse, before the provider is asked anything, a state Tide did not issue, one already
    used (a replay) or one too old."""
    flow = (
        await db.execute(select(SignInFlow).where(SignInFlow.state_hash == fingerprint(state)))
    ).scalar_one_or_none()
    if flow is None or flow.used_at is not None or flow.created_at < now - FLOW_LIFETIME:
        raise SingleSignOnFailed("the sign-in attempt is unknown, already used or too old: start again")


async def finish_flow(db: AsyncSession, *, state: str, nonce: str, now: datetime) -> None:
    """Use the attempt up (once, atomically: of two racing replays one wins) and check its nonce."""
    used = await db.execute(
        update(SignInFlow)
        .where(
            SignInFlow.state_hash == fingerprint(state),
            SignInFlow.nonce_hash == fingerprint(nonce),
            SignInFlow.used_at.is_(None),
            SignInFlow.created_at >= now - FLOW_LIFETIME,
        )
        .values(used_at=now)
        .returning(SignInFlow.id)
    )
    if used.first() is None:
        raise SingleSignOnFailed("the sign-in attempt is unknown, already used or too old: start again")


async def sign_in_with_provider(
    db: AsyncSession, *, identity: ProviderIdentity, mappings: list[GroupRole], now: datetime
) -> SignedIn:
    """A session for the person the provider vouched for (see the module's docstring)."""
    groups = [m for m in mappings if m.group in identity.groups]
    person = (await db.execute(select(Person).where(Person.external_id == identity.subject))).scalar_one_or_none()
    if person is None:
        if not groups:
            raise NoRoleMapped("your council account is not set up in Tide: ask an admin, or for a mapped group")
        details = PersonDetails(
            email=identity.email or f"{identity.subject}@identity-provider.invalid",
            display_name=identity.display_name,
            external_id=identity.subject,
        )
        person = await provision_person(db, details=details, now=now)
    if not person.active:
        raise SignInFailed("this account has been deactivated")
    if mappings:
        await roles_from_groups(db, person_id=person.id, groups=groups, mappings=mappings, now=now)
    if (await db.execute(select(RoleGrant.id).where(RoleGrant.person_id == person.id).limit(1))).first() is None:
        raise NoRoleMapped("your council account has no role in Tide: ask an admin")
    return await open_session(db, person_id=person.id, now=now)

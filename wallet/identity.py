"""Signing in: argon2 password hashes, server-side sessions and personal API tokens.

Secrets handed to a browser or client (session cookies, API tokens) are stored only as
their SHA-256, so a copy of the database cannot sign anyone in. A session ends after
``SESSION_IDLE`` unused or ``SESSION_LIFETIME`` after sign-in, whichever is first, and a
person can end all of theirs at once; an API token ends when it expires (``TOKEN_LIFETIME``
unless chosen) and a ``read`` token may only read. Sign-in limits are kept in the database
(``wallet.sign_in_limits``), so they hold across every app process; passwords are checked
off the event loop (``wallet.password_hashing``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wallet.errors import NotSignedIn, PasswordSignInOff, SignInFailed, TokenIsReadOnly
from wallet.models import Person
from wallet.password_hashing import hash_now, matches
from wallet.sign_in_limits import ACCOUNT, CLIENT, give_back, take_turn
from wallet.sign_in_models import ApiToken, BrowserSession, SignInAttempt

SESSION_LIFETIME = timedelta(hours=12)  # the absolute end of a session, however busy
SESSION_IDLE = timedelta(minutes=30)  # a session unused this long has ended
#: A session's last use is written at most this often (not on every request).
SESSION_SEEN_EVERY = timedelta(minutes=1)
TOKEN_LIFETIME = timedelta(days=90)  # an API token's default life
TOKEN_LONGEST = timedelta(days=366)
TOKEN_PREFIX = "tide_pat_"  # noqa: S105 - a public prefix that marks the secret, not a secret

#: The argon2 hash of a password, on the calling thread (set-up scripts; requests use
#: ``wallet.password_hashing.hashed``, off the event loop).
hash_password = hash_now
# Spent on unknown emails too, so timing does not tell which accounts exist.
_DUMMY_HASH = hash_now("not a real password")


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token_for(session_token: str) -> str:
    """A session's CSRF token, derived from its secret token (so it is stored nowhere, and
    cannot be worked out from what the database keeps: the token's own fingerprint)."""
    return hashlib.sha256(f"tide-csrf:{session_token}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedIn:
    person_id: int
    session_token: str
    csrf_token: str
    expires_at: datetime


async def sign_in(
    db: AsyncSession, *, email: str, password: str, ip: str, now: datetime, passwords_allowed: bool = True
) -> SignedIn:
    """Check the password and open a session. The attempt first takes its turn under the
    account's and the client's limits (``wallet.sign_in_limits``: ``TooManySignInAttempts``
    when it must wait); every attempt that gets a turn is recorded. The caller must commit
    even when this raises ``SignInFailed``, so the failure counts. A council that signs in
    only through its identity provider (``passwords_allowed`` false) refuses every password."""
    if not passwords_allowed:
        raise PasswordSignInOff("this council signs in through its identity provider: use that")
    email = email.strip().lower()
    await take_turn(db, limit=ACCOUNT, value=email, now=now)
    await take_turn(db, limit=CLIENT, value=ip, now=now)
    person = (await db.execute(select(Person).where(Person.email == email))).scalar_one_or_none()
    ok = (
        await matches(person.password_hash if person else _DUMMY_HASH, password)
        and person is not None
        and person.active
    )
    db.add(SignInAttempt(email=email, ip=ip, succeeded=ok, at=now))
    await db.flush()
    if not ok or person is None:
        raise SignInFailed("the email or password is not right")
    await give_back(db, limit=ACCOUNT, value=email, now=now, forget=True)
    await give_back(db, limit=CLIENT, value=ip, now=now, forget=False)
    return await open_session(db, person_id=person.id, now=now)


async def open_session(db: AsyncSession, *, person_id: int, now: datetime) -> SignedIn:
    """A new browser session for a person whose identity has been checked (a password here, or
    the identity provider's signed ID token in ``wallet.single_sign_on``)."""
    token = secrets.token_urlsafe(32)
    csrf = csrf_token_for(token)
    expires = now + SESSION_LIFETIME
    db.add(
        BrowserSession(
            token_hash=fingerprint(token),
            person_id=person_id,
            csrf_token=fingerprint(csrf),  # only its hash at rest, as every secret
            created_at=now,
            expires_at=expires,
            last_seen_at=now,
        )
    )
    await db.flush()
    return SignedIn(person_id=person_id, session_token=token, csrf_token=csrf, expires_at=expires)


async def session_person(db: AsyncSession, *, token: str, now: datetime) -> tuple[int, str]:
    """The person and CSRF token of a live session, or ``NotSignedIn``: a session lives until
    it is revoked, idle for ``SESSION_IDLE`` or ``SESSION_LIFETIME`` old. Using it keeps it alive."""
    row = (
        await db.execute(
            select(BrowserSession.id, BrowserSession.person_id, BrowserSession.last_seen_at)
            .where(
                BrowserSession.token_hash == fingerprint(token),
                BrowserSession.revoked_at.is_(None),
                BrowserSession.expires_at > now,
                BrowserSession.last_seen_at > now - SESSION_IDLE,
            )
            .limit(1)
        )
    ).first()
    if row is None:
        raise NotSignedIn("the session has ended; sign in again")
    session_id, person_id, last_seen = row
    if now - last_seen >= SESSION_SEEN_EVERY:
        await db.execute(
            update(BrowserSession).where(BrowserSession.id == session_id).values(last_seen_at=max(now, last_seen))
        )
    return int(person_id), csrf_token_for(token)


async def session_signed_in_at(db: AsyncSession, *, token: str) -> datetime | None:
    """When the browser session with this token signed in (``None``: no such session). A
    recent sign-in is asked again before anything as sensitive as a card's number is shown."""
    found = await db.execute(
        select(BrowserSession.created_at).where(
            BrowserSession.token_hash == fingerprint(token), BrowserSession.revoked_at.is_(None)
        )
    )
    return found.scalar_one_or_none()


async def sign_out(db: AsyncSession, *, token: str, now: datetime) -> None:
    """Revoke the session: the cookie no longer signs anyone in, anywhere."""
    await db.execute(
        update(BrowserSession)
        .where(BrowserSession.token_hash == fingerprint(token), BrowserSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def sign_out_everywhere(db: AsyncSession, *, person_id: int, now: datetime) -> int:
    """Revoke every live session of the person (every browser, this one too); how many ended.
    API tokens are not sessions: each is revoked on its own."""
    result = await db.execute(
        update(BrowserSession)
        .where(BrowserSession.person_id == person_id, BrowserSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(BrowserSession.id)
    )
    return len(result.all())


async def create_token(
    db: AsyncSession,
    *,
    person_id: int,
    name: str,
    now: datetime,
    lifetime: timedelta = TOKEN_LIFETIME,
    read_only: bool = False,
) -> tuple[ApiToken, str]:
    """A new personal API token; the secret is returned once and never stored. It expires
    after ``lifetime`` (at most ``TOKEN_LONGEST``); a ``read_only`` one may only read."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        token_hash=fingerprint(secret),
        person_id=person_id,
        name=name,
        created_at=now,
        expires_at=now + min(lifetime, TOKEN_LONGEST),
        scope="read" if read_only else "read_write",
    )
    db.add(token)
    await db.flush()
    return token, secret


async def tokens_of(db: AsyncSession, *, person_id: int) -> list[ApiToken]:
    """A person's API tokens (their hashes and names; the secrets are never kept)."""
    rows = await db.execute(select(ApiToken).where(ApiToken.person_id == person_id).order_by(ApiToken.id))
    return list(rows.scalars())


async def token_person(db: AsyncSession, *, secret: str, now: datetime, changes: bool = False) -> int:
    """The person a live (unrevoked, unexpired) API token belongs to, or ``NotSignedIn``; a
    read-only token asked to make ``changes`` is refused with ``TokenIsReadOnly``."""
    token = (
        await db.execute(
            select(ApiToken).where(
                ApiToken.token_hash == fingerprint(secret), ApiToken.revoked_at.is_(None), ApiToken.expires_at > now
            )
        )
    ).scalar_one_or_none()
    if token is None:
        raise NotSignedIn("the API token is not valid, or has expired")
    if changes and token.scope != "read_write":
        raise TokenIsReadOnly("this API token may only read: use a token that may change things")
    token.last_used_at = now
    return token.person_id


async def revoke_token(db: AsyncSession, *, person_id: int, token_id: int, now: datetime) -> bool:
    """Revoke one of the person's own tokens; ``False`` if there is no such live token."""
    result = await db.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.person_id == person_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(ApiToken.id)
    )
    return result.first() is not None


async def revoke_all_tokens(db: AsyncSession, *, person_id: int, now: datetime) -> int:
    """Revoke every live API token of the person (a leaver's); how many were revoked."""
    result = await db.execute(
        update(ApiToken)
        .where(ApiToken.person_id == person_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(ApiToken.id)
    )
    return len(result.all())

"""What start-up checks beyond each setting's own value: settings that only make sense together
(the Tide card and Stripe's three secrets, SMTP's user and password, production's https
address), whether the databases answer within the connect timeout, and the effective settings
with every secret masked (``wallet config check``). Each problem is one line naming its variable.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from api.engines import database_limits
from api.settings import Settings, env_name
from cards.issuing import cards_not_cancelled
from ledger.database import create_engine

STRIPE_SECRETS = ("stripe_api_key", "stripe_authorization_secret", "stripe_webhook_secret")
#: Time a database's check may take beyond the connect timeout.
QUERY_ALLOWANCE_SECONDS = 2.0


def _secret_set(settings: Settings, field: str) -> bool:
    value = getattr(settings, field)
    return isinstance(value, SecretStr) and bool(value.get_secret_value())


def _address_problem(variable: str, url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return f"{variable} must be an http:// or https:// address with a host"
    return None


def settings_problems(settings: Settings) -> list[str]:
    """The settings that do not fit together, one line each."""
    problems: list[str] = []
    if settings.uses_cards:
        why = "TIDE_CARDS_ENABLED is true" if settings.cards_enabled else "TIDE_STRIPE_API_KEY is set"
        problems += [
            f"{env_name(field)} is required when the Tide card is in use ({why})"
            for field in STRIPE_SECRETS
            if not _secret_set(settings, field)
        ]
    if settings.smtp_username and not _secret_set(settings, "smtp_password"):
        problems.append("TIDE_SMTP_PASSWORD is required when TIDE_SMTP_USERNAME is set")
    if _secret_set(settings, "smtp_password") and not settings.smtp_username:
        problems.append("TIDE_SMTP_USERNAME is required when TIDE_SMTP_PASSWORD is set")
    if not settings.smtp_host and (settings.smtp_username or settings.smtp_starttls):
        problems.append("TIDE_SMTP_HOST is required when TIDE_SMTP_USERNAME or TIDE_SMTP_STARTTLS is set")
    for variable, url in (("TIDE_BASE_URL", settings.base_url), ("TIDE_STRIPE_API_BASE", settings.stripe_api_base)):
        found = _address_problem(variable, url) if url else None
        problems += [found] if found else []
    if settings.environment == "production" and not settings.base_url.startswith("https://"):
        problems.append("TIDE_BASE_URL must be an https:// address in production (the session cookie is Secure)")
    return problems


async def _database_problem(settings: Settings, variable: str, url: str) -> str | None:
    engine = create_engine(url, pool_size=1, limits=database_limits(settings))
    seconds = settings.db_connect_timeout_seconds
    try:
        async with asyncio.timeout(seconds + QUERY_ALLOWANCE_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            if variable != "DATABASE_URL" or settings.uses_cards:
                return None
            try:
                async with AsyncSession(bind=connection) as db:
                    live = await cards_not_cancelled(db)
            except SQLAlchemyError:
                return None  # not migrated yet: `wallet db upgrade` says so
            if live:
                return f"TIDE_STRIPE_API_KEY is required: the database holds {live} card(s) not cancelled at Stripe"
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        return f"{variable}: the database cannot be reached within {seconds:g} s ({one_line(exc)})"
    finally:
        await engine.dispose()
    return None


def one_line(exc: BaseException) -> str:
    """An error as one line without its SQL or the URL: its kind and the driver's first line."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first}" if first else type(cause).__name__


async def database_problems(settings: Settings) -> list[str]:
    """Whether the primary (and the replica, when set) answer; and a database holding live cards
    refuses to run without Stripe (its suspended wallets' cards would stay active)."""
    found = []
    for variable, url in (
        ("DATABASE_URL", settings.database_url),
        ("TIDE_READ_DATABASE_URL", settings.read_database_url),
    ):
        problem = await _database_problem(settings, variable, url) if url else None
        found += [problem] if problem else []
    return found


def effective_settings(settings: Settings) -> list[tuple[str, str]]:
    """Every setting's variable and value as this process sees it, secrets and passwords masked."""
    shown = []
    for field in Settings.model_fields:
        value = getattr(settings, field)
        if isinstance(value, SecretStr):
            text_value = "(set, hidden)" if value.get_secret_value() else "(not set)"
        elif field in {"database_url", "read_database_url"} and value:
            text_value = make_url(value).render_as_string(hide_password=True)
        elif value is None or value == "":
            text_value = "(not set)"
        else:
            text_value = str(value).lower() if isinstance(value, bool) else str(value)
        shown.append((env_name(field), text_value))
    return shown

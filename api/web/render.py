"""Rendering pages: one Jinja2 environment (autoescaped), the words and numbers pages show."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import MediaType, Response

from api.web.session import WebUser
from ledger.money import pounds_display
from wallet.access import shows
from wallet.clock import LONDON
from wallet.taxonomy import CATEGORIES, NEEDS
from wallet.visibility import shown_to

HERE = Path(__file__).parent
STATIC = HERE / "static"

STATUS_WORDS = {
    "draft": "Draft",
    "declined": "Declined",
    "needs_approval": "Needs approval",
    "held": "Money set aside",
    "captured": "Paid",
    "partly_refunded": "Partly refunded",
    "refunded": "Refunded",
    "cancelled": "Cancelled",
}
STATUS_COLOURS = {
    "declined": "red",
    "needs_approval": "yellow",
    "held": "blue",
    "captured": "green",
    "cancelled": "grey",
    "refunded": "grey",
    "partly_refunded": "grey",
}
WORDS = {
    "child": "Child",
    "parent": "Parent or carer",
    "household": "Someone else in the household",
    "school": "School",
    "police": "Police",
    "housing": "Housing",
    "health": "Health",
    "self_report": "The family told us",
    "other_agency": "Another agency",
    "practitioner": "Key worker's assessment",
    "improved": "Improved",
    "no_change": "No change",
    "worse": "Worse",
    "outcomes_met": "Outcomes met",
    "step_up_to_social_care": "Stepped up to social care",
    "step_down_to_universal": "Stepped down to universal services",
    "disengaged": "The family disengaged",
    "moved_away": "The family moved away",
    "card": "Tide card",
    "invoice": "Invoice to the council",
    "reimbursement": "I paid and will reclaim it",
    "key_worker": "Key worker",
    "team_manager": "Team manager",
    "finance": "Finance",
    "admin": "Admin",
    "auditor": "Auditor",
    "open": "Open",
    "closed": "Closed",
    "active": "Active",
    "suspended": "Suspended",
}


def money(pence: int | Decimal | None) -> str:
    """Whole pence as pounds: 123456 → £1,234.56 (negative with a minus sign). PostgreSQL's
    ``SUM`` of whole pence comes back as a ``Decimal`` of whole pence: taken as it is."""
    return "" if pence is None else pounds_display(pence)


def long_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(LONDON).date()
    return f"{value.day} {value:%B %Y}"


def need_label(code: str) -> str:
    found = NEEDS.get(code)
    return found.label if found else code


def category_label(code: str) -> str:
    found = CATEGORIES.get(code)
    return found.label.removeprefix("Family support - ").capitalize() if found else code


def word(value: str | None) -> str:
    return WORDS.get(value or "", (value or "").replace("_", " ").capitalize())


@cache
def static_url(name: str) -> str:
    """An asset's URL with its content's hash, so it can be cached for a year."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


def new_key() -> str:
    """A fresh idempotency key for a form."""
    return secrets.token_urlsafe(18)


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=money,
        long_date=long_date,
        need_label=need_label,
        category_label=category_label,
        word=word,
        status_word=lambda s: STATUS_WORDS.get(s, s),
        status_colour=lambda s: STATUS_COLOURS.get(s, "grey"),
    )
    env.globals.update(static_url=static_url, new_key=new_key)
    return env


def nav_for(user: WebUser | None) -> list[tuple[str, str]]:
    """The header's links for what the person's roles reach."""
    if user is None:
        return []
    who = user.who
    links: list[tuple[str, str]] = []
    if who.has("key_worker"):
        links += [("/", "Home"), ("/families", "Families"), ("/buy", "Buy")]
    if who.managed_team_ids:
        links += [("/approvals", "Approvals"), ("/team", "Team"), ("/reviews", "Receipts")]
    if who.has("finance", "auditor"):
        links += [("/finance", "Month")]
    if who.has("team_manager", "finance", "auditor", "admin"):
        links += [("/evidence", "Evidence")]
    if who.has("admin"):
        links += [("/admin", "Admin")]
    if who.has("admin", "finance"):
        links += [("/proposals", "To confirm")]
    links.append(("/messages", "Messages"))
    return links


def render(template: str, *, user: WebUser | None, **context: Any) -> str:
    """The template with the person, their menu, and ``shown``: which field classes their roles
    see on pages (``wallet.visibility``'s one table; templates ask it, never a role)."""
    shown = shows(user.who, "pages") if user is not None else shown_to((), "pages")
    return environment().get_template(template).render(user=user, nav=nav_for(user), shown=shown, **context)


def page(
    template: str,
    *,
    user: WebUser | None,
    status_code: int = 200,
    cookies: list[Any] | None = None,
    **context: Any,
) -> Response[str]:
    """A whole HTML page. Pages about people's money and families are never cached."""
    return Response(
        render(template, user=user, **context),
        status_code=status_code,
        media_type=MediaType.HTML,
        headers={"cache-control": "no-store"},
        cookies=cookies or [],
    )

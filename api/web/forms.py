"""Forms: reading answers, the errors shown against them, and landing each form exactly once.

Every form that changes something carries an idempotency key (a hidden ``idempotency_key``
field, also sent as the ``Idempotency-Key`` header by the offline outbox). It is claimed in
the API's ``idempotency_records`` table, in the request's own transaction and inside a
savepoint with the change itself: a double tap, a resend or the service worker's replay
lands once and is answered with a redirect to what the first one made; a failed attempt
leaves no claim, so it can simply be tried again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from litestar import Request, Response
from litestar.datastructures import UploadFile
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import problem_of
from api.idempotency import HEADER, REPLAYED_HEADER, SECRET_FIELDS, _claim, _store
from api.web.render import page
from api.web.session import CSRF_FIELD, WebUser
from ledger.money import AmountUnclear, pence_as_typed, pounds_display
from wallet.idempotency_models import IdempotencyRecord

KEY_FIELD = "idempotency_key"
MAX_PENCE = 10_000_000_00


def ascii_digits(text: str) -> bool:
    """Whether ``text`` is a whole number written in ASCII digits (``str.isdigit`` also takes
    superscript two and Arabic-Indic digits, which ``int`` then refuses or reads as ASCII)."""
    return text.isascii() and text.isdigit()


@dataclass
class Form:
    """A submitted form's text answers (files are read separately) and the errors found."""

    values: dict[str, str]
    lists: dict[str, list[str]]
    errors: dict[str, str] = field(default_factory=dict)
    #: What the form answers when shown again: 422 for its own field errors, the API's status
    #: for a domain refusal (``refused``).
    status: int = 422

    def get(self, name: str) -> str:
        return self.values.get(name, "").strip()

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def refused(self, name: str, exc: Exception) -> int:
        """Show a domain refusal against ``name``; the status to answer with (``refusal_status``)."""
        self.status = refusal_status(exc)
        self.error(name, sentence(exc))
        return self.status

    @property
    def ok(self) -> bool:
        return not self.errors


#: Refusals that are not about what was typed: the thing is not there or not yours, or nobody
#: is signed in. A page answers them with the error page, as the API answers its problem.
NOT_ABOUT_THE_FORM = frozenset({401, 403, 404})


def sentence(exc: Exception) -> str:
    """A domain refusal as a sentence: its first letter raised, the rest as written
    (``str.capitalize`` would lower "PDF", "JPEG" and names)."""
    text = str(exc)
    return f"{text[:1].upper()}{text[1:]}."


def refusal_status(exc: Exception) -> int:
    """The status a form shown again with a domain refusal answers: the API's, from the one table.

    A refusal that is not about the form (``NOT_ABOUT_THE_FORM``), or an error the table does not
    know, is raised again, for the pages' error handler to answer just as the API does."""
    found = problem_of(exc)
    if found is None or found.status in NOT_ABOUT_THE_FORM:
        raise exc
    return found.status


async def read_form(request: Request[Any, Any, Any]) -> Form:
    form = await request.form()
    values: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            values.setdefault(name, value)
            lists.setdefault(name, []).append(value)
    return Form(values=values, lists=lists)


def parse_pounds(text: str) -> int | None:
    """An amount in pounds as typed ("2,50", "£2.50", "2.5", "£1,234.56", "1 234,56") as whole
    pence, else ``None`` (then ``pounds_problem`` says why). Every page that takes money reads
    it here, by the rules of ``ledger.money.pence_as_typed``: unclear input is queried, never
    multiplied; a float is never involved."""
    try:
        pence = pence_as_typed(text)
    except AmountUnclear:
        return None
    return pence if 0 < pence <= MAX_PENCE else None


def pounds_problem(text: str, *, like: str, empty: str | None = None) -> str:
    """What to tell the person whose amount ``parse_pounds`` could not take; ``like`` is an
    example amount that fits the question ("12.50"), ``empty`` what to ask for when nothing was
    typed (the question's own words, "Enter the most it will cost")."""
    if empty is not None and not text.strip():
        return f"{empty} in pounds, like {like}"
    try:
        pence = pence_as_typed(text)
    except AmountUnclear as why:
        return str(why).replace("like 12.50", f"like {like}")
    if pence <= 0:
        return f"Enter an amount more than £0.00, like {like}"
    return f"Enter an amount no more than {pounds_display(MAX_PENCE)}, like {like}"


def parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def valid_key(key: str) -> bool:
    return 1 <= len(key) <= 100 and key.isprintable()


async def fingerprint(request: Request[Any, Any, Any]) -> str:
    """What the form asks for: its path and its answers (files by their content), not its token."""
    form = await request.form()
    parts: list[str] = [f"{request.method} {request.url.path}"]
    for name, value in sorted(form.multi_items(), key=lambda item: item[0]):
        if name == CSRF_FIELD or name in SECRET_FIELDS:
            continue
        if isinstance(value, UploadFile):
            content = await value.read()
            await value.seek(0)
            parts.append(f"{name}=file:{hashlib.sha256(content).hexdigest()}")
        else:
            parts.append(f"{name}={value}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AlreadySent:
    """The key was used before for a different form: where the first one's result is."""

    location: str | None


async def once(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    *,
    user: WebUser,
    now: datetime,
    act: Callable[[], Awaitable[str]],
) -> Response[Any] | AlreadySent:
    """Do ``act`` (which returns where to go next) once for the form's idempotency key.

    The answer is a 303 redirect there; a retry of the same form gets the first's redirect
    (``Idempotent-Replayed: true``); the same key with other answers gets ``AlreadySent``.
    Domain errors raised by ``act`` propagate, with the claim rolled back.
    """
    form = await request.form()
    raw = form.get(KEY_FIELD)
    key = raw if isinstance(raw, str) and raw else request.headers.get(HEADER, "")
    if not valid_key(key):
        return page(
            "error.html.j2",
            user=user,
            status_code=400,
            title="The form is incomplete",
            message="Go back, reload the page and send the form again. Nothing was saved.",
        )
    digest = await fingerprint(request)
    async with db.begin_nested():
        record_id = await _claim(db, who=user.who, key=key, request=request, fingerprint=digest, now=now)
        if record_id is not None:
            location = await act()
            await _store(db, record_id, Response({"location": location}, status_code=303))
            return Redirect(location, status_code=303)
    record = (
        await db.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.person_id == user.who.person_id, IdempotencyRecord.key == key
            )
        )
    ).scalar_one()
    stored = _stored_location(record.response_body)
    if record.request_hash != digest:
        return AlreadySent(location=stored)
    record.replays += 1
    return Redirect(stored or "/", status_code=303, headers={REPLAYED_HEADER: "true"})


def _stored_location(body: bytes) -> str | None:
    try:
        found = json.loads(body or b"null")
    except ValueError:
        return None
    location = found.get("location") if isinstance(found, dict) else None
    return location if isinstance(location, str) and location.startswith("/") else None


def already_sent(user: WebUser, sent: AlreadySent) -> Response[str]:
    """The page for a form whose key was already used for different answers (or is not valid)."""
    return page(
        "already_sent.html.j2",
        user=user,
        status_code=409,
        title="This form was already sent",
        location=sent.location,
    )

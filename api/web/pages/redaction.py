"""Admin: the council's redaction lists (one use case with the JSON API: ``reports.redaction_lists``)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery

from api.deps import DbDep, NowDep
from api.web.forms import AlreadySent, Form, already_sent, once, read_form
from api.web.render import new_key, page
from api.web.session import UserDep, WebUser
from reports import redaction_lists
from wallet.errors import WalletError

LIST_LABELS = {
    "personal_payees": "Payees who are people",
    "sensitive_merchants": "Names that reveal a need",
    "vulnerability_words": "Words that reveal a need",
    "forenames": "Forenames",
    "surnames": "Surnames",
    "known_businesses": "Shops named after a person (published as they are)",
}


async def _page(db: DbDep, user: WebUser, form: Form | None, status: int = 200, done: bool = False) -> Response[str]:
    terms = await redaction_lists.list_redaction_terms(db, who=user.who)
    return page(
        "admin_redaction.html.j2", user=user, status_code=status, current="/admin", back="/admin",
        title="Redaction lists", terms=terms, labels=LIST_LABELS, done=done,
        lists=[(name, label, None) for name, label in LIST_LABELS.items()],
        values=form.values if form else {}, errors=form.errors if form else {},
        key=form.get("idempotency_key") if form and form.get("idempotency_key") else new_key(),
    )  # fmt: skip


@get("/admin/redaction")
async def redaction_page(db: DbDep, user: UserDep, done: FromQuery[str | None] = None) -> Response[str]:
    return await _page(db, user, None, done=done is not None)


@post("/admin/redaction")
async def redaction_submit(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    form = await read_form(request)
    remove = form.get("remove")

    async def act() -> str:
        if remove:
            await redaction_lists.remove_redaction_term(db, who=user.who, term_id=int(remove), now=now)
        else:
            await redaction_lists.add_redaction_term(
                db, who=user.who, list_name=form.get("list_name"), term=form.get("term")[:120], now=now
            )
        return "/admin/redaction?done=1"

    if remove and not remove.isdigit():
        form.error("term", "That entry is not on the lists")
    if not remove and not form.get("term"):
        form.error("term", "Enter a name or word")
    if form.ok:
        try:
            result = await once(request, db, user=user, now=now, act=act)
        except WalletError as exc:
            form.refused("term", exc)
        else:
            return already_sent(user, result) if isinstance(result, AlreadySent) else result
    return await _page(db, user, form, status=form.status)


HANDLERS = [redaction_page, redaction_submit]
